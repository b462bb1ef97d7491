"""Rows 21-22: a second held-out check for the bridge, on the 8 training classes whose contexts the NTU-120
class texts resemble least (cosine 0.52-0.67; the build's HELD_OUT classes are mostly NTU actions). The
head is trained as scripts/build_default_model.py trains the held-out head, on runs/build-lw's features.
Then, with 21_bridge_coverage.patch applied (it adds --coverages):

    python bench/bench_bridge_weight.py --features runs/tta/ho2/features --head runs/tta/ho2/head.safetensors \\
        --backbone runs/build-lw/teacher.safetensors --labels dvta_live/assets/labels/default-training.yaml \\
        --coverages 0,0.25,0.5,0.75,1 --weights 0,0.5,1,1.5,2,3 --temperatures 0.05,0.1 --out OUT.json

and the same on the build's held-out check (runs/build-lw/features/held-out, held-out-head.safetensors)."""
import importlib.util
import sys
from pathlib import Path

from dvta_live.dvta.merge import merge_features

spec = importlib.util.spec_from_file_location("build", Path("scripts/build_default_model.py"))
build = importlib.util.module_from_spec(spec)
sys.modules["build"] = build
spec.loader.exec_module(build)
B = Path("runs/build-lw")
SOURCES = ["ntu", "utd-mhad", "nw-ucla", "msr-action3d", "bandai-namco", "cmu-mocap", "cmu-described",
           "standing-still"]
UNCOVERED = ("dance", "sword slash", "bowling", "baseball swing", "carry a box", "draw a tick", "sprint", "hammer")
out = Path("runs/tta/ho2")
out.mkdir(parents=True, exist_ok=True)
merge_features([B / "features" / s for s in SOURCES], build.LABELS, out / "features", ",".join(UNCOVERED))
info = build.train_and_save_head(out / "features", build.LABELS, out / "head.safetensors", build.EPOCHS, build.SEED)
print("held out:", [info.text.classes[c].name for c in info.classes.unseen])
