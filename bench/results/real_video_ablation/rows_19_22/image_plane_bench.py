"""Row 20: the real-video bench with the live skeleton rebuilt from MediaPipe's image landmarks.

x, y: the image landmarks (NTU axes, image heights; ``PoseResult.joints_for("image")``), scaled to metres by
the ratio of the world landmarks' bone lengths in their x-y plane to the image's, placed on the world
spine mid; z by MODE:

* ``mpz``: MediaPipe's world z (row 20);
* ``boneF``: each bone's depth change from its 3-D length in the world landmarks (the image scale times F),
  its sign from the world landmarks; walked down the tree from the spine base;
* ``zero``: none.

    python image_plane_bench.py MODE OUT.json [bench options]     (PAIRED=1 keeps the A001 paired report)"""
import dataclasses
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

from dvta_live.skeleton.retarget import CHILD, PARENT

mode, out = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("bench_real_video", Path("bench/bench_real_video.py"))
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_real_video"] = bench
spec.loader.exec_module(bench)


def rebuilt(r):
    if r.image_size is None or not any(r.present):
        return r
    world, image = np.array(r.joints), np.array(r.joints_for("image"))
    joints = np.zeros_like(world)
    for m in range(world.shape[-1]):
        if not r.present[m]:
            continue
        w, im = world[..., m].T, image[..., m].T  # [25, 3]
        bone_image = np.linalg.norm((im[CHILD] - im[PARENT])[:, :2], axis=1)
        bone_world = np.linalg.norm((w[CHILD] - w[PARENT])[:, :2], axis=1)
        lengths = np.linalg.norm(w[CHILD] - w[PARENT], axis=1)
        scale = np.sqrt((bone_world ** 2).sum() / max((bone_image ** 2).sum(), 1e-12))
        if mode.startswith("bone"):
            scale = np.sqrt((lengths ** 2).sum() / max((bone_image ** 2).sum(), 1e-12)) * float(mode[4:] or 1.0)
        p = np.zeros((25, 3), np.float32)
        p[:, :2] = (im[:, :2] - im[1, :2]) * scale + w[1, :2]  # on the world spine mid
        if mode == "mpz":
            p[:, 2] = w[:, 2]
        elif mode.startswith("bone"):
            p[0, 2] = w[0, 2]
            for b in range(len(CHILD)):  # parents come first
                c, q = CHILD[b], PARENT[b]
                dz = np.sqrt(max(lengths[b] ** 2 - ((p[c, :2] - p[q, :2]) ** 2).sum(), 0.0))
                p[c, 2] = p[q, 2] + (np.sign(w[c, 2] - w[q, 2]) or 1.0) * dz
        joints[..., m] = p.T
    return dataclasses.replace(r, joints=joints.astype(np.float32))


estimate = bench.CachedPose.estimate
bench.CachedPose.estimate = lambda self, frame: rebuilt(estimate(self, frame))
sys.argv = (["bench_real_video.py", "--pose-cache"] + ([] if os.environ.get("PAIRED") else ["--no-paired"])
            + ["--out", out] + sys.argv[3:])
bench.main()
