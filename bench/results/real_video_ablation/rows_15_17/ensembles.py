"""Ensembles (text under row 18): equal-weight ensembles of the heads already built (rows 10, 13, 14 and the seed runs), offline on the
bench's windows: the mean of the window probabilities."""
import sys, numpy as np
sys.path.insert(0,'bench/results/real_video_ablation/rows_15_17')
import offline_eval as E
from dvta_live.realtime.live import softmax
M={'r10':'dvta_live/assets/model','r10s1':'runs/seeds/recorded-1/model','r10s2':'runs/seeds/recorded-2/model',
   'r13':'runs/build-cam1/model','r13s1':'runs/seeds/camera1-1/model','r13s2':'runs/seeds/camera1-2/model','r14':'runs/build-cam2/model'}
S={k:E.model_scores(v) for k,v in M.items()}
def ens(keys):
    # average the window probabilities: log of the mean softmax as scores
    out={}
    for clip in S[keys[0]]:
        s0,names,ctx,exp=S[keys[0]][clip]
        p=np.mean([np.stack([softmax(r.astype(np.float64)) for r in S[k][clip][0]]) for k in keys],axis=0)
        out[clip]=(np.log(p+1e-12),names,ctx,exp)
    return out
for keys in (['r10'],['r10','r10s1','r10s2'],['r13','r13s1','r13s2'],['r10','r13'],['r10','r10s1','r10s2','r13','r13s1','r13s2'],['r10','r13','r14']):
    print(keys, E.evaluate(ens(keys)))
