"""Stage 1: recipe windows of every training clip (recorded or camera view 0) -> frozen Shift-GCN up to l8;
cache l8 outputs (fp16), final features and logits, labels, names."""
import sys, numpy as np, torch
from pathlib import Path
from dvta_live.backbone.extract import read_data, zero_shot_parts, other_views
from dvta_live.backbone.checkpoint import load_backbone
from dvta_live.labels import load_labels
torch.set_num_threads(1)
S=Path('../shared').resolve(); B=Path('runs/build-lw')
SRC={'ntu':S/'data/ntu','utd-mhad':S/'data/utd-mhad','nw-ucla':S/'data/nw-ucla','msr-action3d':S/'data/msr-action3d','bandai-namco':S/'data/bandai-namco','cmu-mocap':B/'cmu-train','cmu-described':B/'cmu-described.dvta.safetensors','standing-still':B/'standing-still.dvta.safetensors'}
mode=sys.argv[1]
model, info = load_backbone(B/'teacher.safetensors'); recipe=info.make_recipe(); model.eval()
merged=load_labels(Path('dvta_live/assets/labels/default-training.yaml')); names=tuple(merged.names)
def upto8(x):
    n,c,t,v,m=x.shape
    x=x.permute(0,4,3,1,2).reshape(n,m*v*c,t); x=model.data_bn(x)
    x=x.view(n,m,v,c,t).permute(0,1,3,4,2).reshape(n*m,c,t,v)
    for l in (model.l1,model.l2,model.l3,model.l4,model.l5,model.l6,model.l7,model.l8): x=l(x)
    return x
for k,p in SRC.items():
    path=p if mode=='rec' else Path(f'runs/build-cam1/camera/{k}.view0.dvta.safetensors')
    ds=read_data([path]); seqs=zero_shot_parts(ds,[],set())['train']
    ws=other_views(seqs,0,0,3.0)
    H,F,Lg=[],[],[]
    with torch.inference_mode():
        for s in range(0,len(ws),32):
            x=torch.from_numpy(np.stack([recipe.apply(q.data) for q in ws[s:s+32]]))
            h=upto8(x); H.append(h.half().numpy())
            f,lg=model(x); F.append(f.numpy()); Lg.append(lg.numpy())
    y=[names.index(merged.find(ds.class_names[q.label]).name) for q in ws]
    np.savez(f'runs/rows15_17/{mode}_{k}.npz',H=np.concatenate(H),F=np.concatenate(F),L=np.concatenate(Lg),Y=np.array(y),N=np.array([q.name for q in ws]))
    print(k,len(ws),flush=True)
