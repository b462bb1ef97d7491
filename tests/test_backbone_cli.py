"""The backbone commands as a user runs them: import + predict official weights, train, resume, extract features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dvta_live.cli import app

from conftest import shared_path

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args), catch_exceptions=True)
    return result


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):  # type: ignore[no-untyped-def]
    yield


def test_import_then_predict_official_ntu120(tmp_path: Path) -> None:
    weights = shared_path("weights", "shift-gcn", "ntu120_ShiftGCN_joint_xsub.pt")
    samples = sorted(shared_path("data", "ntu").glob("*.skeleton"))
    imported = invoke("backbone", "import", str(weights), "--out", str(tmp_path))
    assert imported.exit_code == 0, imported.output
    model = tmp_path / "ntu120_ShiftGCN_joint_xsub.safetensors"
    result = invoke("backbone", "predict", str(model), *map(str, samples), "--top", "5", "--json")
    assert result.exit_code == 0, result.output
    predictions = json.loads(result.stdout)
    assert len(predictions) == len(samples) == 6
    for entry in predictions:
        true_class = int(Path(entry["file"]).stem.split("A")[-1]) - 1
        assert entry["top"][0]["index"] == true_class, entry
        assert len(entry["top"]) == 5 and entry["top"][0]["score"] >= entry["top"][1]["score"]


def test_train_resume_and_extract_features(tmp_path: Path) -> None:
    """Over-fitting six real samples shows the trainer learns; resuming continues the same run."""
    samples = sorted(shared_path("data", "ntu").glob("*.skeleton"))
    run = tmp_path / "run"
    common = ["train-backbone", *map(str, samples), "-o", str(run), "--no-augment", "--batch-size", "8",
              "--lr", "0.2", "--unseen", "33"]  # A034 "rub two hands" is held out
    first = invoke(*common, "--epochs", "25")
    assert first.exit_code == 0, first.output
    second = invoke(*common, "--epochs", "60", "--resume")
    assert second.exit_code == 0, second.output
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(60))
    # Five sequences of five classes are memorised (train mode, as the trainer records it).
    assert history[-1]["train_accuracy"] == 1.0
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]  # train mode: dropout keeps it well above 0
    info = json.loads(invoke("backbone", "predict", str(run / "backbone.safetensors"), str(samples[0]),
                             "--json").stdout)
    assert {entry["name"] for entry in info[0]["top"]} == {"drink water", "brushing teeth", "reading",
                                                            "take off a shoe", "handshaking"}

    features = tmp_path / "features"
    extracted = invoke("extract-features", "-b", str(run / "backbone.safetensors"), *map(str, samples),
                       "--unseen", "33", "-o", str(features))
    assert extracted.exit_code == 0, extracted.output
    train = np.load(features / "train.npy")
    assert train.shape == (5, 256) and np.isfinite(train).all()
    assert np.load(features / "z_label.npy").tolist() == [33]
    assert set(np.load(features / "train_label.npy").tolist()) == {0, 2, 10, 16, 57}

    # Features of a class the backbone trained on cannot be called zero-shot.
    leaky = invoke("extract-features", "-b", str(run / "backbone.safetensors"), *map(str, samples),
                   "--unseen", "0", "-o", str(tmp_path / "leaky"))
    assert leaky.exit_code != 0
    assert "trained on classes [0]" in str(leaky.exception)


def test_lift_then_extract_features_from_several_views(tmp_path: Path) -> None:
    """`dvta backbone lift` makes an image-plane backbone (lift64) from a Shift-GCN teacher; its training
    features come from virtual cameras (2-D, lifted) or from the recorded view (3-D, straight through)."""
    weights = shared_path("weights", "shift-gcn", "ntu120_ShiftGCN_joint_xsub.pt")
    samples = sorted(shared_path("data", "ntu").glob("*.skeleton"))
    teacher = tmp_path / "teacher.safetensors"
    assert invoke("backbone", "import", str(weights), "--recipe", "shiftgcn64", "-o", str(teacher)).exit_code == 0
    lifted = tmp_path / "lifted.safetensors"
    result = invoke("backbone", "lift", str(teacher), *map(str, samples), "-o", str(lifted), "--epochs", "1",
                    "--width", "16")
    assert result.exit_code == 0, result.output
    assert "joint error" in result.output and lifted.is_file()
    from dvta_live.backbone.checkpoint import read_backbone_info
    assert read_backbone_info(lifted).extra["lift"]["loss"] > 0  # it trained on the 5 clips not held out
    views = tmp_path / "views"
    result = invoke("extract-features", "-b", str(lifted), *map(str, samples), "--all-seen", "--views", "2",
                    "-o", str(views))
    assert result.exit_code == 0, result.output
    train, labels = np.load(views / "train.npy"), np.load(views / "train_label.npy")
    assert train.shape == (12, 256) and np.isfinite(train).all() and (labels[:6] == labels[6:]).all()
    # without --views the recorded 3-D view goes to the teacher without the lifter: NTU skeletons already
    # have the NTU proportions lift64 gives 3-D input, so their features are nearly the teacher's own
    recorded, one = tmp_path / "recorded", tmp_path / "one"
    assert invoke("extract-features", "-b", str(lifted), *map(str, samples), "--all-seen", "-o",
                  str(recorded)).exit_code == 0
    assert invoke("extract-features", "-b", str(teacher), *map(str, samples), "--all-seen", "-o",
                  str(one)).exit_code == 0
    a, b = np.load(recorded / "train.npy"), np.load(one / "train.npy")
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.9, cosine  # measured 0.94-0.99
    # --live-window: 3-s stretches of each clip, as the live loop's window holds them (any backbone)
    windows = tmp_path / "windows"
    assert invoke("extract-features", "-b", str(teacher), *map(str, samples), "--all-seen", "--live-window", "3",
                  "-o", str(windows)).exit_code == 0
    w = np.load(windows / "train.npy")
    assert w.shape == b.shape and (np.load(windows / "train_label.npy") == np.load(one / "train_label.npy")).all()
    assert not np.allclose(w, b, atol=1e-2)  # the NTU samples last 3.4-6 s: not the whole clip
    assert json.loads((windows / "features.json").read_text())["live_window_s"] == 3.0
    # the virtual views are 2-D, lifted: other features
    assert not np.allclose(train[:6], a, atol=1e-2) and not np.allclose(train[:6], train[6:], atol=1e-2)
    # a 3-D backbone normalises the view itself: --views is refused, naming the file
    refused = invoke("extract-features", "-b", str(teacher), *map(str, samples), "--all-seen", "--views", "2",
                     "-o", str(tmp_path / "refused"))
    assert refused.exit_code != 0 and "image-plane backbone" in str(refused.exception)
