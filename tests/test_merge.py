"""Merging datasets' features folders into one labels file's classes (`dvta merge-features`), a head
trained on every class (empty zero-shot test set), `extract-features --all-seen`, and frame-rate
resampling of skeleton sequences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from dvta_live.cli.head import register
from dvta_live.dvta.features import class_texts_from_labels, load_features, save_features
from dvta_live.dvta.headfile import load_head, save_head
from dvta_live.dvta.merge import merge_features
from dvta_live.dvta.train import HeadTrainConfig, train_head
from dvta_live.errors import UserError
from dvta_live.labels import load_labels
from dvta_live.skeleton.resample import resample_dataset, resample_sequence
from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence

torch.set_num_threads(1)

LABELS = """\
text_model: all-MiniLM-L6-v2
actions:
  - name: clap
    context: Both palms strike each other in front of the chest.
    aliases: [hand clap, two hand front clap]
  - name: walk
    context: The person walks forward with alternating steps.
    aliases: [walk around]
  - name: bow
    context: The upper body bends forward from the hips and comes back up.
  - name: punch
    context: A fist drives straight forward from the shoulder.
    aliases: [front boxing, forward punch]
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVTA_CACHE", str(tmp_path_factory.getbasetemp() / "dvta-cache"))


def _source(folder: Path, names: list[str], labels: list[int], seed: int, backbone: str = "shiftgcn") -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(labels), 256)).astype(np.float32)
    y = np.asarray(labels, dtype=np.int64)
    save_features(folder, x, y, np.zeros((0, 256), np.float32), np.zeros(0, np.int64),
                  metadata={"dataset": folder.name, "class_names": names, "backbone_architecture": backbone,
                            "recipe": {"name": "shiftgcn64"}, "backbone": "b.safetensors"})
    return folder


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path, Path]:
    labels = tmp_path / "merged.yaml"
    labels.write_text(LABELS, encoding="utf-8")
    # dataset A: 3 classes, "unused" has no sample (ignored); dataset B names synonyms differently
    a = _source(tmp_path / "a", ["hand clap", "forward punch", "unused class"], [0, 0, 1, 1, 1], 1)
    b = _source(tmp_path / "b", ["walk around", "two hand front clap", "bow", "front boxing"],
                [0, 1, 2, 2, 3, 0], 2)
    return labels, a, b


def test_merge_maps_synonyms_to_one_class(sources: tuple[Path, Path, Path], tmp_path: Path) -> None:
    labels, a, b = sources
    result = merge_features([a, b], labels, tmp_path / "all")
    feats = load_features(tmp_path / "all")
    # clap 0, walk 1, bow 2, punch 3
    assert feats.train_labels.tolist() == [0, 0, 3, 3, 3, 1, 0, 2, 2, 3, 1]
    assert np.allclose(feats.train[:5], np.load(a / "train.npy"))
    assert len(feats.z_labels) == 0 and feats.unseen_classes == ()
    assert result.train == 11 and result.ztest == 0
    meta = json.loads((tmp_path / "all" / "features.json").read_text())
    assert meta["class_names"] == ["clap", "walk", "bow", "punch"]
    assert meta["merged_from"][1]["classes"] == {"walk around": "walk", "two hand front clap": "clap",
                                                 "bow": "bow", "front boxing": "punch"}


def test_merge_unseen_goes_to_ztest(sources: tuple[Path, Path, Path], tmp_path: Path) -> None:
    labels, a, b = sources
    merge_features([a, b], labels, tmp_path / "held", unseen="clap,bow")
    feats = load_features(tmp_path / "held")
    assert sorted(set(feats.z_labels.tolist())) == [0, 2]
    assert len(feats.z_labels) == 5 and set(feats.train_labels.tolist()) == {1, 3}


def test_merge_refusals(sources: tuple[Path, Path, Path], tmp_path: Path) -> None:
    labels, a, _ = sources
    c = _source(tmp_path / "c", ["jump"], [0, 0], 3)
    with pytest.raises(UserError, match="'jump'.*not in the merged labels"):
        merge_features([a, c], labels, tmp_path / "x")
    d = _source(tmp_path / "d", ["bow"], [0], 4, backbone="stgcn")
    with pytest.raises(UserError, match="another backbone"):
        merge_features([a, d], labels, tmp_path / "x")
    with pytest.raises(UserError, match="no sample"):
        merge_features([a], labels, tmp_path / "x", unseen="bow")


def test_head_trains_on_every_class(sources: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """No unseen class: the checkpoint is still chosen on pseudo-unseen seen classes; no ZSL figures."""
    labels, a, b = sources
    merge_features([a, b], labels, tmp_path / "all")
    feats = load_features(tmp_path / "all")
    texts = class_texts_from_labels(labels)
    result = train_head(feats, texts, None, HeadTrainConfig(epochs=3, batch_size=4, val_count=1, seed=0,
                                                        device="cpu", metric_hidden=32))
    info = result.info
    assert info.classes.unseen == () and info.classes.seen == (0, 1, 2, 3)
    assert len(info.classes.validation_unseen or ()) == 1
    assert info.metrics["zsl"] is None and 1 <= info.selection["best_epoch"] <= 3
    path, _ = save_head(tmp_path / "h.safetensors", result.head, info)
    head, back = load_head(path)
    assert back.classes.unseen == () and head.text_dim == texts.dim
    # float16 storage: half the file, loaded back as a float32 head scoring the same within fp16 rounding
    small, _ = save_head(tmp_path / "h16.safetensors", result.head, info, half=True)
    head16, back16 = load_head(small)
    assert back16.storage_dtype == "float16" and back.storage_dtype == "float32"
    assert small.stat().st_size < 0.6 * path.stat().st_size
    assert all(p.dtype == torch.float32 for p in head16.parameters())
    from dvta_live.dvta.evaluate import class_scores

    a = class_scores(head, feats.train, texts.embeddings, [0, 1, 2, 3])
    b = class_scores(head16, feats.train, texts.embeddings, [0, 1, 2, 3])
    assert np.abs(a - b).max() < 2e-2 * max(1.0, np.abs(a).max())
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.9


def test_merge_and_train_cli(sources: tuple[Path, Path, Path], tmp_path: Path) -> None:
    labels, a, b = sources
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "all"
    result = runner.invoke(app, ["merge-features", str(a), str(b), "--labels", str(labels), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 classes" in result.output and "train 11" in result.output
    head = tmp_path / "head.safetensors"
    result = runner.invoke(app, ["train-head", str(out), "--labels", str(labels), "--epochs", "2",
                                 "--batch-size", "4", "--val-count", "1", "--metric-hidden", "16",
                                 "--device", "cpu", "-o", str(head)])
    assert result.exit_code == 0, result.output
    assert "no unseen class" in result.output
    result = runner.invoke(app, ["evaluate", str(head), str(out)])
    assert result.exit_code != 0 and "no unseen classes" in str(result.exception)


def test_default_training_labels_cover_every_dataset_class() -> None:
    """The bundled merged class list names every class of the datasets the default model trains on."""
    from dvta_live.labels import bundled_labels
    from dvta_live.skeleton import classnames as cn

    merged = load_labels(bundled_labels()["default-training"])
    names = [*cn.UTD_MHAD_CLASSES, *cn.NW_UCLA_CLASSES, *cn.MSR_ACTION3D_CLASSES,
             *(cn.NTU120_CLASSES[i - 1] for i in (1, 3, 11, 17, 34, 58)),
             "walk", "run", "bow", "bye", "byebye", "call", "dance short", "dash", "guide", "kick", "punch",
             "respond", "slash", "walk back", "walk left", "walk right", "raise up both hands",
             "raise up left hand", "raise up right hand", "walk turn left", "walk turn right",
             "wave both hands", "wave left hand", "wave right hand", "look around", "clap", "stand and clap"]
    missing = [n for n in names if merged.find(n) is None]
    assert not missing
    assert merged.text_model == "all-MiniLM-L6-v2"


def _seq(frames: int, fps: float | None) -> SkeletonSequence:
    data = np.zeros((3, frames, 25, 2), np.float32)
    data[0, :, :, 0] = np.arange(frames, dtype=np.float32)[:, None]
    return SkeletonSequence(data=data, label=1, name="s", fps=fps, meta={"take": 1})


def test_resample_integer_ratio_picks_frames() -> None:
    seq = _seq(121, 120.0)
    out = resample_sequence(seq, 30.0)
    assert out.fps == 30.0 and out.num_frames == 31 and out.meta["resampled_from_fps"] == 120.0
    assert np.array_equal(out.data[0, :, 0, 0], np.arange(0, 121, 4, dtype=np.float32))
    assert not out.data[..., 1].any()  # the absent second body stays absent
    assert out.label == 1 and out.meta["take"] == 1


def test_resample_interpolates_and_never_upsamples() -> None:
    out = resample_sequence(_seq(11, 25.0), 10.0)  # times 0, .1, ..., .4 s -> frames 0, 2.5, 5, 7.5, 10
    assert np.allclose(out.data[0, :, 0, 0], [0, 2.5, 5, 7.5, 10])
    same = _seq(10, 30.0)
    assert resample_sequence(same, 60.0) is same and resample_sequence(_seq(5, None), 10.0).num_frames == 5
    ds = resample_dataset(SkeletonDataset("d", ("a", "b"), (_seq(9, 120.0), same)), 30.0)
    assert [s.num_frames for s in ds] == [3, 10]
    with pytest.raises(UserError):
        resample_sequence(same, 0)
