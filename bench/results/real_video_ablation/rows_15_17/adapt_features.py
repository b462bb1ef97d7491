"""Features of every recorded training window through the adapted l9-l10 -> runs/build-adapt/features/<src>/train.npy."""
import sys, shutil, numpy as np, torch
from pathlib import Path
from dvta_live.backbone.checkpoint import load_backbone
torch.set_num_threads(1)
ck=sys.argv[1]; out=Path('runs/build-adapt')
KS=['ntu','utd-mhad','nw-ucla','msr-action3d','bandai-namco','cmu-mocap','cmu-described','standing-still']
model,info=load_backbone('runs/build-lw/teacher.safetensors'); st=torch.load(ck); model.l9.load_state_dict(st['l9']); model.l10.load_state_dict(st['l10']); model.eval()
if out.exists(): shutil.rmtree(out)
out.mkdir(parents=True)
for f in ('cmu-described.dvta.safetensors','standing-still.dvta.safetensors'): shutil.copy(f'runs/build-lw/{f}',out/f)
shutil.copytree('runs/build-lw/cmu-train',out/'cmu-train',symlinks=True)
for k in KS:
    shutil.copytree(f'runs/build-lw/features/{k}',out/'features'/k)
    H=np.load(f'runs/rows15_17/rec_{k}.npz')['H']; fs=[]
    with torch.no_grad():
        for s in range(0,len(H),128):
            x=torch.from_numpy(H[s:s+128].astype(np.float32)); x=model.l10(model.l9(x)); fs.append(x.reshape(-1,2,256,400).mean(3).mean(1).numpy())
    f=np.concatenate(fs); old=np.load(out/'features'/k/'train.npy'); assert f.shape==old.shape
    np.save(out/'features'/k/'train.npy',f.astype(np.float32)); print(k,f.shape,'cos to teacher',float((f*old).sum(1).mean()/ (np.linalg.norm(f,axis=1)*np.linalg.norm(old,axis=1)).mean()),flush=True)
