"""The bundled camera model (dvta_live/assets/camera-model): the project's own KeypointGCN, trained here with
the PoseC3D X3D as a teacher, + a DVTA head + its NTU-60 classifier as the bridge. It loads and says what it
is, holds no third-party weights, and recognises people on real video through `dvta run`.

Thresholds come from scripts/build_bundled_camera_model.py's measurements (its metrics.json, MODEL_CARD.md and
bench/results/bundled_camera_model/), with a margin."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from dvta_live.backbone import KeypointGCN
from dvta_live.model import bundled_model_path, load_model_net

from conftest import REPO, dvta, shared_path

CAMERA = bundled_model_path("camera")
METRICS = json.loads((CAMERA / "metrics.json").read_text(encoding="utf-8"))
# measured at the packed bridge weight (bench/results/bundled_camera_model/build.md): 66.4 and 68.9 %
SEEN_TOP1_MIN, ZERO_SHOT_TOP1_MIN = 60.0, 60.0
# measured (bench/results/bundled_camera_model/real_video_bundled_camera.md): jump 24 of 26 windows, push-up
# 20 of 20 (the skeleton model: jump, but push-up 0 windows)
CLIPS = [("jump__darebee__1.mp4", "jump"), ("push_up__darebee__1.mp4", "push-up")]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):  # type: ignore[no-untyped-def]
    yield


def test_the_bundled_camera_model_is_the_projects_keypoint_gcn_with_its_bridge() -> None:
    model, info = load_model_net(CAMERA)
    assert isinstance(model.backbone, KeypointGCN) and info.architecture == "keypoint-gcn"
    assert (info.recipe.name, info.recipe.plane, info.recipe.layout) == ("posec3d48", "keypoints2d", "coco17")
    bridge = model.head.bridge
    assert bridge is not None and bridge.num_classes == 60 and float(bridge.weight) == METRICS["bridge_weight"]
    assert torch.equal(bridge.classifier_weight, model.backbone.fc.weight.detach())  # its own classifier
    assert info.head_info.head.bridge.class_names[0] == "drink water"
    # every backbone tensor is KeypointGCN's own: nothing of the X3D's (a 3-D CNN) is inside
    assert set(model.backbone.state_dict()) == set(KeypointGCN(**model.backbone.hparams()).state_dict())
    card = (CAMERA / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "non-commercial" in card and "KeypointGCN" in card


def test_held_out_figures_of_the_build() -> None:
    """Seen classes on held-out subjects / scenes and zero-shot on held-out classes, at the packed bridge
    weight, as the build measured them (the backbone never saw those clips)."""
    w = str(METRICS["bridge_weight"])
    assert METRICS["seen_check"][w]["all"]["top1"] >= SEEN_TOP1_MIN
    assert METRICS["zero_shot"][w]["top1"] >= ZERO_SHOT_TOP1_MIN


@pytest.mark.parametrize(("clip", "action"), CLIPS)
def test_real_people_on_video_with_the_bundled_camera_model(clip: str, action: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Real RGB clips of people (measurement only, never trained on): `dvta run` on a video picks the
    bundled camera model, says so, and names the action in most windows."""
    video = shared_path("data", "videos", "real-actions", clip)
    code, out, err = dvta(capsys, "run", "-s", str(video), "-l", str(REPO / "bench" / "labels" / "real-actions.yaml"),
                          "--no-realtime", "-q", "--jsonl", "-")
    assert code == 0, err[-2000:]
    assert "model: the bundled camera model (2-D keypoints: a video gives images)" in err
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    top = Counter(r["top"][0]["name"] for r in records if r["event"] == "prediction" and r["top"])
    assert top and top.most_common(1)[0][0] == action, top
