"""Row 19, step 1: (camera-path window, recorded window) pairs in shiftgcn64 recipe space, body 0.

The camera stores of runs/build-cam2 (`build_default_model.py --camera-views 2`) hold, per view, a 3-s live
window of every training clip drawn as a mannequin and passed through MediaPipe; the recorded window is
the same stretch of the recorded clip (`mannequin.camera_dataset` draws it from the same seed). Checked:
the joint error between the two is smallest at zero time offset. Writes runs/refine/pairs.npz."""
from pathlib import Path

import numpy as np

from dvta_live.backbone.config import DEFAULT_FPS
from dvta_live.backbone.extract import read_data
from dvta_live.pose.mannequin import CAMERA_STREAM
from dvta_live.skeleton.recipe import get_recipe
from dvta_live.skeleton.views import live_window

S = Path("../shared").resolve()
B = Path("runs/build-cam2")
SOURCES = {"ntu": S / "data/ntu", "utd-mhad": S / "data/utd-mhad", "nw-ucla": S / "data/nw-ucla",
           "msr-action3d": S / "data/msr-action3d", "bandai-namco": S / "data/bandai-namco",
           "cmu-mocap": B / "cmu-train", "cmu-described": B / "cmu-described.dvta.safetensors",
           "standing-still": B / "standing-still.dvta.safetensors"}
recipe = get_recipe("shiftgcn64")
X, Y, G = [], [], []
for name, path in SOURCES.items():
    recorded = read_data([path])
    for view in (0, 1):
        camera = read_data([B / f"camera/{name}.view{view}.dvta.safetensors"])
        assert len(camera.sequences) == len(recorded.sequences), name
        xs, ys = [], []
        for i, (s, c) in enumerate(zip(recorded.sequences, camera.sequences, strict=True)):
            assert s.name == c.name
            rng = np.random.default_rng((0, CAMERA_STREAM + view, i))  # the stretch the camera path drew
            ys.append(recipe.apply(live_window(s.data, s.fps or DEFAULT_FPS, 3.0, rng))[..., 0])
            xs.append(recipe.apply(c.data)[..., 0])
        X.append(np.stack(xs))
        Y.append(np.stack(ys))
        G += [f"{name}/{s.name}" for s in recorded.sequences]
        err = np.linalg.norm(X[-1] - Y[-1], axis=1).mean(axis=(1, 2))
        print(name, view, len(xs), f"mean joint error {err.mean():.3f} m", flush=True)
Path("runs/refine").mkdir(parents=True, exist_ok=True)
np.savez("runs/refine/pairs.npz", X=np.concatenate(X), Y=np.concatenate(Y), G=np.array(G))
