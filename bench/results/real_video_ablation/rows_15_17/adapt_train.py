"""Stage 2: fine-tune Shift-GCN l9-l10 so MediaPipe-estimate (camera view) windows give the teacher's
feature of the clean recorded window (and recorded windows keep theirs)."""
import sys, copy, numpy as np, torch, torch.nn.functional as F, time
from pathlib import Path
from dvta_live.backbone.checkpoint import load_backbone
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv)>2 else 1); torch.manual_seed(0)
EPOCHS=int(sys.argv[1]) if len(sys.argv)>1 else 6
KS=['ntu','utd-mhad','nw-ucla','msr-action3d','bandai-namco','cmu-mocap','cmu-described','standing-still']
model,info=load_backbone('runs/build-lw/teacher.safetensors'); model.eval()
rec={k:dict(np.load(f'runs/rows15_17/rec_{k}.npz')) for k in KS}; cam={k:dict(np.load(f'runs/rows15_17/cam_{k}.npz')) for k in KS}
HR,HC,T,TL=[],[],[],[]
for k in KS:
    rn=list(rec[k]['N']); idx={n:i for i,n in enumerate(rn)}
    for j,n in enumerate(cam[k]['N']):
        i=idx.get(n)
        if i is None: continue
        HR.append(rec[k]['H'][2*i:2*i+2]); HC.append(cam[k]['H'][2*j:2*j+2]); T.append(rec[k]['F'][i]); TL.append(rec[k]['L'][i])
HR,HC,T,TL=np.stack(HR),np.stack(HC),np.stack(T),np.stack(TL); del rec, cam
N=len(T); rng=np.random.default_rng(0); perm=rng.permutation(N); val=perm[:N//10]; tr=perm[N//10:]
print('pairs',N,flush=True)
l9,l10=copy.deepcopy(model.l9),copy.deepcopy(model.l10)
for m in (l9,l10): m.eval()
params=[p for m in (l9,l10) for p in m.parameters()]
opt=torch.optim.Adam(params,lr=1e-4)
fc=model.fc
def feat(H):
    x=torch.from_numpy(H.astype(np.float32)).reshape(-1,256,16,25)
    x=l10(l9(x)); return x.reshape(-1,2,256,16*25).mean(3).mean(1)
def evalv():
    with torch.no_grad():
        cs=[];cr=[];ag=[]
        for s in range(0,len(val),64):
            b=val[s:s+64]; t=torch.from_numpy(T[b])
            fcam=feat(HC[b]); frec=feat(HR[b])
            cs.append(F.cosine_similarity(fcam,t).numpy()); cr.append(F.cosine_similarity(frec,t).numpy())
            ag.append((fc(fcam).argmax(1)==torch.from_numpy(TL[b]).argmax(1)).numpy())
    return round(float(np.concatenate(cs).mean()),4),round(float(np.concatenate(cr).mean()),4),round(float(np.concatenate(ag).mean()),4)
print('before: val cos(cam,teacher) / cos(rec,teacher) / NTU top-1 agreement', evalv(),flush=True)
start=0
ck=Path('runs/rows15_17/l9l10.pt')
if ck.is_file():
    st=torch.load(ck); l9.load_state_dict(st['l9']); l10.load_state_dict(st['l10']); opt.load_state_dict(st['opt']); start=st['epoch']
for ep in range(start,EPOCHS):
    t0=time.time(); order=rng.permutation(tr); tot=0
    for s in range(0,len(order),32):
        b=order[s:s+32]; t=torch.from_numpy(T[b])
        fcam=feat(HC[b]); frec=feat(HR[b])
        loss=F.mse_loss(fcam,t)+F.mse_loss(frec,t)+0.5*F.kl_div(F.log_softmax(fc(fcam)/2,1),F.softmax(torch.from_numpy(TL[b])/2,1),reduction='batchmean')
        opt.zero_grad(); loss.backward(); opt.step(); tot+=loss.item()*len(b)
    torch.save({'l9':l9.state_dict(),'l10':l10.state_dict(),'opt':opt.state_dict(),'epoch':ep+1},ck)
    print('epoch',ep+1,'loss',round(tot/len(tr),4),'val',evalv(),round(time.time()-t0),'s',flush=True)
