"""Write runs/rows15_17/model(-tag): the bundled model with l9/l10 from a checkpoint."""
import sys, shutil, torch
from pathlib import Path
from dvta_live.backbone.checkpoint import load_backbone, save_backbone
ck=sys.argv[1]; out=Path(sys.argv[2]); head_dir=Path(sys.argv[3]) if len(sys.argv)>3 else Path('dvta_live/assets/model')
model,info=load_backbone('dvta_live/assets/model/backbone.safetensors')
st=torch.load(ck); model.l9.load_state_dict(st['l9']); model.l10.load_state_dict(st['l10'])
if out.exists(): shutil.rmtree(out)
shutil.copytree(head_dir,out)
save_backbone(out/'backbone.safetensors',model,info.recipe,info.class_names,source=info.source+' + l9-l10 adapted',extra=dict(info.extra))
print('wrote',out)
