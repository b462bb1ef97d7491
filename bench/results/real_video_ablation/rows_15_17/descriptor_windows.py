"""Row 15: descriptors of the training windows (recorded: rec; camera view 0: cam), 3 live windows per clip."""
import sys, numpy as np
sys.path.insert(0,'bench/results/real_video_ablation/rows_15_17'); from pose_descriptors import describe
from pathlib import Path
from dvta_live.backbone.extract import read_data, zero_shot_parts, other_views
from dvta_live.backbone.checkpoint import load_backbone
from dvta_live.labels import load_labels
S=Path('../shared').resolve(); B=Path('runs/build-lw')
src={'ntu':S/'data/ntu','utd-mhad':S/'data/utd-mhad','nw-ucla':S/'data/nw-ucla','msr-action3d':S/'data/msr-action3d','bandai-namco':S/'data/bandai-namco','cmu-mocap':B/'cmu-train','cmu-described':B/'cmu-described.dvta.safetensors','standing-still':B/'standing-still.dvta.safetensors'}
mode=sys.argv[1]  # rec or cam
if mode=='cam':
    src={k+'-camera0':Path(f'runs/build-cam1/camera/{k}.view0.dvta.safetensors') for k in src}
_, info = load_backbone(B/'teacher.safetensors'); recipe=info.make_recipe()
merged=load_labels(Path('dvta_live/assets/labels/default-training.yaml')); names=tuple(merged.names)
X,Y,G=[],[],[]
for k,p in src.items():
    ds=read_data([p]); parts=zero_shot_parts(ds,[],set()); seqs=parts['train']
    for v in range(3):
        ws=other_views(seqs,0,v,3.0)
        win=np.stack([recipe.apply(s.data) for s in ws])
        X.append(describe(win)); Y+= [names.index(merged.find(ds.class_names[s.label]).name) for s in ws]; G+=[k]*len(ws)
    print(k,len(seqs),flush=True)
np.savez(f'runs/rows15_17/desc_{mode}.npz',X=np.concatenate(X),Y=np.array(Y),G=np.array(G))
