"""Offline real-video scoring of the windows dump_windows.py kept: the bench's clip top-1 / top-3 / window accuracy,
with an optional second expert's scores added (``evaluate(..., extra, w)``)."""
import sys, pickle, numpy as np, torch, importlib.util
sys.path.insert(0,'bench/results/real_video_ablation/rows_15_17'); 
from dvta_live.runtimes import open_runtime
from dvta_live.labels.loader import load_labels
from dvta_live.labels.encoder import get_encoder
from dvta_live.realtime.live import softmax
spec=importlib.util.spec_from_file_location('brv','bench/bench_real_video.py'); B=importlib.util.module_from_spec(spec); spec.loader.exec_module(B)
W=pickle.load(open('runs/rows15_17/windows.pkl','rb'))
enc=get_encoder(None)
seen={}
cl=[]
for p,_,key,exp in B.CLIPS:
    n=p.split('/')[-1]; i=seen.get(n,0); seen[n]=i+1; cl.append((n,i,key,exp))
_rt={}
def model_scores(model):
    rt=_rt.get(model) or open_runtime(model,'torch',threads=1); _rt[model]=rt
    out={}
    for n,i,key,exp in cl:
        lab=load_labels(B.labels_file(key)); text=enc.encode_labels(lab)
        prep=rt.prepare_text(text.embeddings)
        s=rt.scores(W[n][i],prep)
        ctx=torch.nn.functional.normalize(torch.from_numpy(text.embeddings[:,1].copy()).float(),dim=-1).numpy()
        out[(n,i)]=(s,list(lab.names),ctx,exp)
    return out
def evaluate(ms, extra=None, w=0.0, verbose=False):
    res=[]
    for (n,i),(s,names,ctx,exp) in ms.items():
        sc=s.astype(np.float64)
        if extra is not None and w:
            sc=sc+w*extra(n,i,ctx)
        probs=np.stack([softmax(r) for r in sc]); summed=probs.sum(0)
        t=[B._norm(x) for x in names].index(B._norm(exp)); order=list(np.argsort(-summed)); rank=order.index(t)+1
        wa=float(np.mean(probs.argmax(1)==t)); res.append((n,i,rank,wa,names[order[0]]))
    ra=[r for r in res if r[0] in B.REAL_ACTIONS]
    top1=sum(r[2]==1 for r in ra); top3=sum(r[2]<=3 for r in ra); wa=np.mean([r[3] for r in ra])
    other=[r[2] for r in res if r[0] not in B.REAL_ACTIONS]
    if verbose:
        for r in res: print(f'  {r[0][:28]:28s} rank {r[2]:3d} win {r[3]:.2f} -> {r[4]}')
    return top1,top3,round(wa,3),other
if __name__=='__main__':
    ms=model_scores('dvta_live/assets/model'); print(evaluate(ms,verbose=True))
