"""The camera model (scripts/build_camera_model.py: PoseC3D X3D + DVTA head over camera-training.yaml).

The model is built, never committed (its weights derive from research-only data): the checks skip when it
is absent (``DVTA_CAMERA_MODEL`` or models/camera) or ../shared is. The labels file is checked always.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, shared_path

LABELS = REPO / "dvta_live" / "assets" / "labels" / "camera-training.yaml"
DEFAULT_LABELS = REPO / "dvta_live" / "assets" / "labels" / "default-training.yaml"


def model_path() -> Path:
    path = Path(os.environ.get("DVTA_CAMERA_MODEL", REPO / "models" / "camera"))
    if not (path / "backbone.safetensors").is_file() or not (path / "head.safetensors").is_file():
        pytest.skip(f"needs the built camera model in {path} (make camera-model; or set DVTA_CAMERA_MODEL)")
    return path


def test_labels_cover_every_training_class() -> None:
    """Every class of the default model's datasets and of the real-video 2-D datasets maps to one action,
    and each default-training action keeps its name and context."""
    from dvta_live.labels import load_labels
    from dvta_live.skeleton.readers2d import BERKELEY_MHAD_CLASSES, PENN_ACTION_CLASSES, UTD_OPENPOSE_CLASSES

    labels, default = load_labels(LABELS), load_labels(DEFAULT_LABELS)
    assert len(set(labels.names)) == len(labels.names)
    for action in default.actions:
        mine = labels.find(action.name)
        assert mine is not None and mine.name == action.name and mine.context == action.context
        assert set(action.aliases) <= set(mine.aliases)
    jhmdb = ("catch", "clap", "golf swing", "jump", "pick up", "pour", "pull up", "push", "run", "sit down",
             "stand up", "throw", "walk", "wave")
    for name in (*PENN_ACTION_CLASSES, *BERKELEY_MHAD_CLASSES, *UTD_OPENPOSE_CLASSES, *jhmdb, "push up",
                 "falling"):
        assert labels.find(name) is not None, name
    same = {"squat": "squat (two arms stretch out)", "tennis forehand": "tennis right hand forehand swing",
            "jumping in place": "jump", "clapping hands": "two hand front clap", "falling": "fall"}
    for a, b in same.items():  # synonymous dataset classes are one action
        assert labels.find(a).name == labels.find(b).name, (a, b)


def ntu_colour_coco17(path: Path) -> np.ndarray:
    """NTU's own colour-image joints (the mirrored RGB video's pixels) as COCO-17 [3, T, 17, 2]: body
    joints from their NTU twins, the head joint as the nose, eyes and ears missing."""
    from dvta_live.skeleton.coco17 import COCO17
    from dvta_live.skeleton.layouts import NTU25
    from dvta_live.skeleton.readers import read_ntu_skeleton

    xy = read_ntu_skeleton(path).meta["color_xy"]  # [2, T, 25, M]
    t, m = xy.shape[1], xy.shape[3]
    kp = np.zeros((3, t, 17, 2), np.float32)
    pairs = [(COCO17.index("nose"), NTU25.index("head"))] + [
        (COCO17.index(f"{s}_{j}"), NTU25.index(f"{s}_{j}"))
        for s in ("left", "right") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
    for c, n in pairs:
        kp[:2, :, c, :m] = xy[:, :, n, :2]
        kp[2, :, c, :m] = np.any(xy[:, :, n, :2] != 0, axis=0)
    return kp


def test_camera_model_names_drink_water_on_ntu_colour_joints(one_torch_thread: None) -> None:
    """NTU A001's Kinect colour-space 2-D joints (what the X3D reads well: it was trained on NTU's RGB)
    -> "drink water" among the top 3 of the camera-training classes."""
    import dvta_live

    path = model_path()
    sample = shared_path("data", "ntu", "S001C001P001R001A001.skeleton")
    window = ntu_colour_coco17(sample)
    with dvta_live.load(path, labels=LABELS, runtime="torch") as rec:
        scores = np.asarray(rec.scores(window))
        names = rec.names
    assert scores.shape == (len(names),) and np.isfinite(scores).all()
    top3 = [names[i] for i in np.argsort(-scores)[:3]]
    assert "drink water" in top3, top3
