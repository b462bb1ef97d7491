"""Row 23's check before building: NTU A001's Kinect skeleton drawn from Kinect's view (flat colours, as
rows 12-14 drew it, or shaded, as `mannequin.draw` draws now) and passed through MediaPipe. Prints the
joint error to the drawn skeleton about the spine mid (4 looks), and the cosine of the bundled backbone's
feature of the estimate with that of the real RGB video's MediaPipe skeleton and of the Kinect skeleton
(8 looks), with the official classifier's top class. Needs the bench's pose cache of the A001 video."""
import pickle
from pathlib import Path

import numpy as np
import torch

import dvta_live.pose.mannequin as mannequin
from dvta_live.backbone.checkpoint import load_backbone
from dvta_live.pose.estimator import PoseEstimator
from dvta_live.skeleton.readers import read_ntu_skeleton

torch.set_num_threads(1)
SHARED = Path("../shared/data/ntu")
kinect = read_ntu_skeleton(SHARED / "S001C001P001R001A001.skeleton").data
cache = pickle.loads(Path("bench/results/real_video_work/S001C001P001R001A001_rgb.avi.lite.2.pkl").read_bytes())
real = np.stack([np.asarray(cache[i].joints) for i in sorted(cache)], axis=1)
model, info = load_backbone("dvta_live/assets/model/backbone.safetensors")
model.eval()
recipe = info.make_recipe()
names = (SHARED / "label_map_ntu120.txt").read_text().splitlines()


def feature(data):
    with torch.inference_mode():
        f, logits = model(torch.from_numpy(recipe.apply(data)[None]))
    return f[0].numpy(), names[int(logits[0].argmax())]


def cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


f_real, _ = feature(real)
f_kinect, _ = feature(kinect)
print(f"Kinect vs real video: cosine {cos(f_kinect, f_real):.3f}")
camera = mannequin.Camera(yaw=0.0, pitch=0.0, distance=3.0)
shaded = mannequin._SHADES
with PoseEstimator("lite", num_people=1) as estimator:
    for name, shades in (("flat", ((1.0, 1.0),)), ("shaded", shaded)):
        mannequin._SHADES = shades
        errors, to_real, to_kinect, tops = [], [], [], []
        for i in range(8):
            look = mannequin.random_look(np.random.default_rng(i))
            seen = mannequin.through_pose_estimator(kinect, 30.0, camera, look, estimator, out_fps=30.0)
            if i < 4:
                truth = mannequin.place(kinect, camera)[: seen.shape[1]]
                joints = seen[..., 0].transpose(1, 2, 0)
                found = np.abs(joints).sum(axis=(1, 2)) > 0
                d = np.linalg.norm((joints[found] - joints[found, 1:2]) - (truth[found] - truth[found, 1:2]), axis=-1)
                errors.append(np.delete(d, 1, axis=1).mean())
            f, top = feature(seen)
            to_real.append(cos(f, f_real))
            to_kinect.append(cos(f, f_kinect))
            tops.append(top)
        print(f"{name}: joints {np.mean(errors):.3f} m; cosine with the real video {np.mean(to_real):.3f}, "
              f"with Kinect {np.mean(to_kinect):.3f}; official top-1 {tops}")
