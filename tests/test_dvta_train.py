"""DVTA head training and evaluation: learning on synthetic features with real text embeddings, exact GZSL
metrics, the splits registry against the published split files, the train-head -> evaluate CLI round
trip, bad features folders as one clear error, and the bundled UTD-MHAD / NW-UCLA / MSR Action3D labels."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from dvta_live.cli.head import register
from dvta_live.dvta.evaluate import (
    calibrated_stacking,
    choose_calibration,
    class_scores,
    gzsl_metrics,
    harmonic_mean,
    per_batch_mean_accuracy,
    predict,
    sample_accuracy,
)
from dvta_live.dvta.features import (
    FeatureSet,
    class_texts_from_labels,
    class_texts_from_names,
    load_features,
    save_features,
)
from dvta_live.dvta.headfile import HeadInfo, load_head, save_head
from dvta_live.dvta.splits import SPLITS, get_split, list_splits
from dvta_live.dvta.train import (
    RELEASED_LR,
    SELECTION_RULE,
    HeadTrainConfig,
    lr_at,
    new_head,
    released_lr,
    train_head,
    train_run,
)
from dvta_live.errors import UserError
from dvta_live.labels import bundled_labels_path, encode_labels, load_labels
from dvta_live.skeleton import classnames

from conftest import shared_path

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVTA_CACHE", str(tmp_path_factory.getbasetemp() / "dvta-cache"))


# --------------------------------------------------------------------------------- synthetic features


def synthetic_features(embeddings: np.ndarray, seen: list[int], unseen: list[int], *, n_train: int,
                       n_test: int, sigma: float = 0.05, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Features of class c = unit(W [name_c ; context_c]) + noise, with one fixed random linear map W.

    Because unseen classes' features come from the same map of their text, zero-shot transfer is
    genuinely possible: a head that learns to invert W on the seen classes generalises.
    """
    rng = np.random.default_rng(seed)
    flat = embeddings.reshape(len(embeddings), -1)
    w = rng.normal(size=(256, flat.shape[1])) / np.sqrt(flat.shape[1])
    centers = flat @ w.T
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)

    def draw(classes: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat(np.asarray(classes), n)
        return (centers[y] + sigma * rng.normal(size=(len(y), 256))).astype(np.float32), y

    x_train, y_train = draw(seen, n_train)
    x_z, y_z = draw(unseen, n_test)
    x_s, y_s = draw(seen, n_test)
    return x_train, y_train, x_z, y_z, np.concatenate([x_s, x_z]), np.concatenate([y_s, y_z])


def test_training_learns_seen_classes_and_transfers_to_unseen(tmp_path: Path) -> None:
    """A learning test: high seen accuracy, and zero-shot accuracy well above chance on the unseen split."""
    texts = class_texts_from_labels("utd-mhad")  # our own written contexts, real MiniLM embeddings
    split = get_split("utd-mhad-22/5")
    x, y, xz, yz, xg, yg = synthetic_features(texts.embeddings, list(split.seen), list(split.unseen),
                                              n_train=16, n_test=12)
    feats = FeatureSet(tmp_path, x, y, xz, yz, xg, yg)
    config = HeadTrainConfig(epochs=6, batch_size=32, lr=1e-3, metric_hidden=None, seed=0)
    logs = []
    result = train_head(feats, texts, split, config, on_epoch=logs.append)
    head, info = result.head, result.info

    # it learned: the loss fell, and held-out seen samples are recognised among the seen classes
    final = [g for g in logs if g.run == "final"]
    assert final[-1].loss < 0.2 * final[1].loss  # epoch 1 trains at lr 0 (released warm-up starts at 0)
    seen_ids = list(split.seen)
    is_seen = np.isin(yg, seen_ids)
    seen_pred = predict(class_scores(head, xg[is_seen], texts.embeddings, seen_ids), seen_ids)
    # (not 1.0: the two UTD-MHAD circle classes differ only in direction, so their texts and hence their
    # synthetic features nearly coincide)
    assert sample_accuracy(seen_pred, yg[is_seen]) >= 0.85
    # ... and transfers: zero-shot top-1 on the 5 unseen classes far above chance (20 %)
    zsl = info.metrics["zsl"]
    assert zsl["chance"] == pytest.approx(20.0)
    assert zsl["top1"] >= 50.0, zsl
    # selection happened on validation classes drawn from the seen ones, never on the test classes
    sel, cls = info.selection, info.classes
    assert set(cls.validation_unseen) <= set(split.seen) and len(cls.validation_unseen) == 5
    # ... among the epochs after the warm-up (1 of 6 epochs): epoch 1 trains at lr 0
    assert sel["candidate_epochs"] == [2, 6] and 2 <= sel["best_epoch"] <= 6
    assert sel["validation_top1"] > 20.0 and sel["validation_balanced_top1"] > 20.0
    assert sel["calibration_source"].startswith("validation")
    assert info.metrics["test_selected_as_released"]["note"].startswith("best per-batch-mean")
    gz = info.metrics["gzsl"]
    assert gz["harmonic"] == pytest.approx(harmonic_mean(gz["seen"], gz["unseen"]), abs=1e-3)
    assert gz["calibration"] == sel["calibration"]
    assert info.training["lr"] == 1e-3 and info.training["lr_source"] == "given"
    meta = info.to_dict()
    assert "recipe" not in meta  # a recipe is the skeleton preprocessing; these are training settings
    old = {k if k != "training" else "recipe": v for k, v in meta.items()}  # a head written before the rename
    assert HeadInfo.from_dict(old).training == info.training
    # HeadInfo round-trips: through its dict and through the JSON a head file holds
    assert HeadInfo.from_dict(meta) == info and HeadInfo.from_json(info.to_json()) == info
    assert HeadInfo.from_dict(old).to_dict() == meta


# ------------------------------------------------------------------------------------- exact metrics

# 4 candidate classes: 0, 1 seen; 2, 3 unseen. Rows: samples; true labels below.
SCORES = np.array([
    [5.0, 1.0, 3.0, 0.0],   # true 0: seen arg-max 0 (right); with gamma 1 still 0
    [1.0, 3.0, 0.0, 0.0],   # true 0: predicts 1 (wrong) at any gamma below 3
    [0.0, 2.0, 0.5, 0.0],   # true 1: right; with gamma 1: [-1, 1, 0.5, 0] -> 1, right
    [3.0, 0.0, 2.5, 0.0],   # true 2: predicts 0 (wrong); with gamma 1: [2, -1, 2.5, 0] -> 2, right
    [0.0, 0.0, 1.0, 2.0],   # true 3: right at both
    [2.0, 0.0, 0.0, 1.5],   # true 3: predicts 0 (wrong); with gamma 1: [1, -1, 0, 1.5] -> 3, right
])
LABELS = np.array([0, 0, 1, 2, 3, 3])


def test_gzsl_harmonic_mean_on_a_hand_made_score_matrix() -> None:
    # gamma 0: seen right 2 of 3, unseen right 1 of 3 -> H = 2 (2/3)(1/3) / (2/3 + 1/3) = 4/9
    raw = gzsl_metrics(SCORES, LABELS, [0, 1, 2, 3], seen=[0, 1])
    assert (raw.seen, raw.unseen) == (pytest.approx(2 / 3), pytest.approx(1 / 3))
    assert raw.harmonic == pytest.approx(4 / 9)
    assert (raw.num_seen_samples, raw.num_unseen_samples) == (3, 3)
    # per-class means: seen (1/2 + 1/1) / 2 = 0.75, unseen (0/1 + 1/2) / 2 = 0.25 -> H = 0.375
    assert raw.seen_per_class_mean == pytest.approx(0.75)
    assert raw.unseen_per_class_mean == pytest.approx(0.25)
    assert raw.harmonic_per_class_mean == pytest.approx(0.375)
    # gamma 1: seen 2/3, unseen 3/3 -> H = 2 (2/3)(1) / (5/3) = 0.8
    cal = gzsl_metrics(SCORES, LABELS, [0, 1, 2, 3], seen=[0, 1], calibration=1.0)
    assert (cal.seen, cal.unseen, cal.harmonic) == (pytest.approx(2 / 3), 1.0, pytest.approx(0.8))
    # margins max(seen) - max(unseen) = 2, 3, 1.5, 0.5, -2, 0.5: H is 0.8 on (0.5, 1.5), the best interval,
    # whose midpoint is 1.0
    best = choose_calibration(SCORES, LABELS, [0, 1, 2, 3], seen=[0, 1])
    assert best.calibration == pytest.approx(1.0) and best.harmonic == pytest.approx(0.8)
    assert harmonic_mean(0.0, 0.0) == 0.0


def test_choose_calibration_is_the_exact_optimum() -> None:
    rng = np.random.default_rng(3)
    candidates = list(range(8))
    seen = [0, 1, 2, 3, 4]
    scores = rng.normal(size=(300, 8)).astype(np.float32)
    labels = rng.integers(0, 8, size=300)
    scores[np.arange(300), labels] += 1.0  # some signal
    scores[:, :5] += 0.7  # seen bias, as a head trained on seen classes has
    best = choose_calibration(scores, labels, candidates, seen)
    grid = np.linspace(-3, 4, 1401)
    brute = max(gzsl_metrics(scores, labels, candidates, seen, g).harmonic for g in grid)
    assert best.harmonic >= brute - 1e-12
    again = gzsl_metrics(scores, labels, candidates, seen, best.calibration)
    assert best.harmonic == pytest.approx(again.harmonic)


def test_calibrated_stacking_shifts_seen_scores_by_exactly_gamma() -> None:
    rng = np.random.default_rng(0)
    seen_mask = np.array([True, False, True, True, False])
    for dtype in (np.float32, np.float64):
        scores = rng.normal(size=(7, 5)).astype(dtype)
        gamma = 0.375  # exactly representable
        out = calibrated_stacking(scores, seen_mask, gamma)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out[:, seen_mask], scores[:, seen_mask] - dtype(gamma))
        np.testing.assert_array_equal(out[:, ~seen_mask], scores[:, ~seen_mask])
        np.testing.assert_array_equal(calibrated_stacking(scores, seen_mask, 0.0), scores)


def test_per_batch_mean_differs_from_sample_weighted_on_an_uneven_last_batch() -> None:
    # 130 samples in batches of 64, 64, 2: half right, all right, none right
    labels = np.zeros(130, dtype=np.int64)
    pred = np.ones(130, dtype=np.int64)
    pred[:32] = 0
    pred[64:128] = 0
    assert sample_accuracy(pred, labels) == pytest.approx(96 / 130)  # 0.7385
    assert per_batch_mean_accuracy(pred, labels, 64) == pytest.approx((0.5 + 1.0 + 0.0) / 3)  # 0.5
    # equal when every batch is full
    full = sample_accuracy(pred[:128], labels[:128])
    assert per_batch_mean_accuracy(pred[:128], labels[:128], 64) == pytest.approx(full)


# ------------------------------------------------------------------------------------------ registry


def test_registry_matches_the_published_split_files() -> None:
    text = shared_path("data", "text")
    published = json.loads((text / "splits.json").read_text())
    groups = {k.split(" ")[0]: v for k, v in published.items()}
    synse = {"ntu60_55/5": "ntu60-55/5", "ntu60_48/12": "ntu60-48/12", "ntu120_110/10": "ntu120-110/10",
             "ntu120_96/24": "ntu120-96/24"}
    for key, name in synse.items():
        assert list(get_split(name).unseen) == sorted(groups["synse_canonical"][key]), name
    for key, ids in groups["smie_random"].items():
        number = int(key.rsplit("_", 1)[1])
        split = get_split(f"smie-{number}")
        assert list(split.unseen) == sorted(ids) and key.startswith(split.dataset), key
    for key, ids in groups["purls_extra"].items():
        assert list(get_split(key.replace("_", "-")).unseen) == sorted(ids), key
    historical = {k.split(" ")[0]: v for k, v in groups["synse_historical_2020_commit_5dd86ac"].items()}
    assert list(get_split("ntu60-55/5").val_unseen) == sorted(historical["rv5_0"])
    assert list(get_split("ntu120-96/24").val_unseen) == sorted(historical["rv24_0"])

    # every PURLS ru*/rs*.npy pair is a registry split, seen = rs
    pairs = 0
    for ru in sorted((text / "purls" / "label_splits").glob("*/ru*.npy")):
        dataset = ru.parent.name
        unseen = sorted(int(v) for v in np.load(ru))
        match = [s for s in list_splits(dataset) if list(s.unseen) == unseen]
        assert len(match) == 1, ru
        rs = ru.parent / f"rs{match[0].num_classes - len(unseen)}.npy"
        assert list(match[0].seen) == sorted(int(v) for v in np.load(rs)), rs
        pairs += 1
    assert pairs == 16


def test_registry_lookup_and_shape() -> None:
    assert get_split("NTU60_55_5") is get_split("ntu60-55/5") is SPLITS["ntu60-55/5"]
    assert get_split("utd mhad 14/13").name == "utd-mhad-14/13"
    for name, seen, unseen in [("nw-ucla-8/2", 8, 2), ("nw-ucla-5/5", 5, 5), ("utd-mhad-22/5", 22, 5),
                               ("utd-mhad-18/9", 18, 9), ("utd-mhad-14/13", 14, 13),
                               ("ntu120-96/24", 96, 24)]:
        s = get_split(name)
        assert (len(s.seen), len(s.unseen)) == (seen, unseen)
        assert sorted(s.seen + s.unseen) == list(range(s.num_classes))
        assert s.classes == tuple(range(s.num_classes))
    datasets = [get_split(f"smie-{i}").dataset for i in range(1, 10)]
    assert datasets == ["ntu60"] * 3 + ["ntu120"] * 3 + ["pku51"] * 3
    with pytest.raises(UserError, match="unknown split 'ntu60-50/10'.*ntu60-55/5"):
        get_split("ntu60-50/10")


# -------------------------------------------------------------------------------------- recipe / io


def test_released_recipe() -> None:
    assert RELEASED_LR == {"ntu60": 1e-6, "ntu120": 5e-6, "pku51": 1e-5}
    assert released_lr("ntu120")[0] == 5e-6 and released_lr("utd-mhad")[0] == 1e-4
    # warm-up from 0 over 15 of 100 epochs, then cosine to 0
    assert lr_at(0, 100, 1.0, 15) == 0.0 and lr_at(5, 100, 1.0, 15) == pytest.approx(1 / 3)
    assert lr_at(15, 100, 1.0, 15) == 1.0 and lr_at(99, 100, 1.0, 15) < 1e-3
    assert HeadTrainConfig().warmup() == 15 and HeadTrainConfig(epochs=10).warmup() == 2


def tiny_folder(root: Path, texts_emb: np.ndarray, seed: int = 0, gtest: bool = True) -> Path:
    x, y, xz, yz, xg, yg = synthetic_features(texts_emb, [0, 1, 2, 3], [4, 5], n_train=10, n_test=6,
                                              seed=seed)
    return save_features(root, x, y, xz, yz, xg if gtest else None, yg if gtest else None,
                         metadata={"backbone": "synthetic", "recipe": "none", "dataset": "toy"})


TOY_LABELS = """\
# toy labels for the round-trip test
actions:
  - name: wave
    context: One hand is raised and moves from side to side.
  - name: clap
    context: The palms meet in front of the chest again and again.
  - name: jump
    context: Both feet leave the floor together and land again.
  - name: sit down
    context: The knees bend and the hips lower onto a chair.
  - name: kick
    context: One leg swings forward from the hip.
  - name: bow
    context: The upper body bends forward from the waist and comes back up.
"""


def test_cli_train_head_then_evaluate_round_trip(tmp_path: Path) -> None:
    labels = tmp_path / "toy.yaml"
    labels.write_text(TOY_LABELS)
    texts = class_texts_from_labels(labels)
    folder = tiny_folder(tmp_path / "feats", texts.embeddings)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    head = tmp_path / "out" / "toy-head.safetensors"
    result = runner.invoke(app, ["train-head", str(folder), "--labels", str(labels), "--out", str(head),
                                 "--epochs", "3", "--batch-size", "16", "--lr", "1e-3",
                                 "--metric-hidden", "0", "--val-count", "1", "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert trained["head"] == str(head) and head.is_file() and head.with_suffix(".json").is_file()
    assert trained["classes"]["seen"] == [0, 1, 2, 3] and trained["classes"]["unseen"] == [4, 5]
    assert trained["training"]["epochs"] == 3 and trained["training"]["lr_source"] == "given"

    # the head file carries everything: weights (plain state dict), text, recipe, features metadata
    model, info = load_head(head)
    clap = {"id": 1, "name": "clap", "context": ["The palms meet in front of the chest again and again."]}
    assert info.text.to_dict()["classes"][1] == clap
    assert info.text.dim == model.text_dim == texts.dim
    assert info.feature_record == {"backbone": "synthetic", "recipe": "none", "dataset": "toy"}
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(head)))  # released-style parameter names, nothing else
    assert HeadInfo.from_dict(json.loads(head.with_suffix(".json").read_text()), head) == info

    png = tmp_path / "confusion.png"
    result = runner.invoke(app, ["evaluate", str(head), str(folder), "--json", "--confusion", str(png)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["confusion_png"] == str(png)
    # evaluate reproduces the figures train-head reported for the same head
    assert report["zsl"]["top1"] == trained["metrics"]["zsl"]["top1"]
    assert report["gzsl"]["harmonic"] == trained["metrics"]["gzsl"]["harmonic"]
    assert report["gzsl"]["calibration"] == trained["selection"]["calibration"]
    assert [c["id"] for c in report["zsl"]["per_class"]] == [4, 5]
    assert report["zsl"]["num_samples"] == 12 and report["gzsl"]["num_seen_samples"] == 24

    # a calibration override, the human-readable output, and --no-confusion
    result = runner.invoke(app, ["evaluate", str(head), str(folder), "--calibration", "0", "--no-confusion"])
    assert result.exit_code == 0, result.output
    assert "ZSL top-1" in result.output and "gamma 0.0000" in result.output

    # features of another split: one clear error naming the labels file that does not fit
    feats = load_features(folder)
    swap = np.array([0, 1, 2, 5, 4, 3])  # class 3 becomes unseen, 5 seen
    other = save_features(tmp_path / "other", feats.train, swap[feats.train_labels], feats.ztest,
                          swap[feats.z_labels], feats.gtest, swap[feats.g_labels])
    result = runner.invoke(app, ["evaluate", str(head), str(other), "--no-confusion"])
    assert isinstance(result.exception, UserError)
    assert "z_label.npy" in str(result.exception) and "not unseen classes of this head" in str(result.exception)


def test_selection_skips_the_warm_up_even_when_its_score_is_highest(tmp_path: Path) -> None:
    """The untrained head (epoch 1, lr 0) can out-score trained ones on two pseudo-unseen classes (one
    class predicted for everything); it must not be chosen."""
    texts = class_texts_from_labels("nw-ucla")
    feats = load_features(tiny_folder(tmp_path / "f", texts.embeddings))
    config = HeadTrainConfig(epochs=5, batch_size=16, lr=1e-3, metric_hidden=None, warmup_epochs=2, seed=0)
    head = new_head(texts.dim, config)
    scores = iter([0.9, 0.8, 0.3, 0.5, 0.4])  # a validation curve that peaks during the warm-up
    history, out = train_run(head, feats.train, feats.train_labels, texts.embeddings, config, 1e-3,
                             run="validation", evaluate=lambda h: {"val_balanced": next(scores)},
                             select="val_balanced", select_from=config.warmup() + 1)
    assert [round(h.lr, 6) for h in history[:3]] == [0.0, 0.0005, 0.001]  # warm-up from 0, peak at epoch 3
    assert out["best_epoch"] == 4 and out["best_value"] == 0.5
    # train_head applies it; --select-any-epoch restores the plain arg-max
    selection = train_head(feats, texts, None, config).info.selection
    assert selection["rule"] == SELECTION_RULE and selection["candidate_epochs"] == [3, 5]
    assert selection["best_epoch"] >= 3
    anywhere = train_head(feats, texts, None, replace(config, select_after_warmup=False)).info
    assert anywhere.selection["candidate_epochs"] == [1, 5]


def test_no_retrain_keeps_the_validation_run_head(tmp_path: Path) -> None:
    texts = class_texts_from_labels("nw-ucla")
    feats = load_features(tiny_folder(tmp_path / "f", texts.embeddings))
    config = HeadTrainConfig(epochs=3, batch_size=16, lr=1e-3, metric_hidden=None, retrain=False,
                         val_classes=(1,))
    result = train_head(feats, texts, None, config)
    assert {h.run for h in result.history} == {"validation"} and len(result.history) == 3
    assert all(h.test_top1 is not None and h.val_top1 is not None for h in result.history)
    info = result.info
    assert info.classes.validation_unseen == (1,) and info.classes.validation_source == "given"
    assert info.selection["protocol"].endswith("head from the validation run")
    assert info.training["lr_source"] == "given" and info.classes.dataset == "toy"


def test_save_load_keeps_scores(tmp_path: Path) -> None:
    from dvta_live.dvta.head import DVTAHead

    torch.manual_seed(0)
    head = DVTAHead(text_dim=16, metric_hidden=None).eval()
    meta = {"format": "dvta-head", "version": 1,
            "head": {"text_dim": 16, "skeleton_dim": 256, "metric_hidden": 16, "temperature_init": 0.1,
                     "leaky_gamma": 0.01},
            "text": {"model": "m", "dim": 16, "source": "s", "kind": "k",
                     "classes": [{"id": 0, "name": "a", "context": ["a"]}]},
            "classes": {"num_classes": 1, "seen": [0], "unseen": []}}
    path, side = save_head(tmp_path / "h.safetensors", head, HeadInfo.from_dict(meta))
    loaded, got = load_head(path)
    x, text = torch.randn(5, 256), torch.randn(4, 2, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, text), head(x, text), rtol=0, atol=0)
    assert got.to_dict() == {**meta, "storage_dtype": "float32"} and side.name == "h.json"
    assert json.loads(side.read_text()) == got.to_dict()
    with pytest.raises(UserError, match="no such head file"):
        load_head(tmp_path / "missing.safetensors")


@pytest.mark.parametrize(("edit", "says"), [
    (lambda m: m["head"].pop("text_dim"), "head.text_dim is missing"),
    (lambda m: m["head"].update(text_dim="384"), "head.text_dim must be a whole number"),
    (lambda m: m["classes"].update(seen=[0, "x"]), "classes.seen must list class ids"),
    (lambda m: m["classes"].update(unseen=[0]), "both seen and unseen"),
    (lambda m: m["text"]["classes"][0].pop("context"), "text.classes[0].context is missing"),
    (lambda m: m.update(text=["not", "an", "object"]), "text must be a JSON object"),
    (lambda m: m["head"].update(bridge={"classes": 2, "weight": 1.0, "temperature": 0}), "must be positive"),
    (lambda m: m.update(version=2), "head format version 2 is not supported"),
    (lambda m: m.update(storage_dtype="int8"), "storage_dtype must be float32 or float16"),
])
def test_malformed_head_metadata_is_one_error_naming_the_file(tmp_path: Path, edit: Any, says: str) -> None:
    """A head whose metadata has the wrong shape: one UserError naming the file, the key and the fix,
    raised when the file is read (not a KeyError later, in the live loop)."""
    from safetensors.torch import save_file

    from dvta_live.dvta.head import DVTAHead
    from dvta_live.dvta.headfile import META_KEY, read_head_info
    from dvta_live.model import HEAD_FILE, save_untrained_model

    folder = save_untrained_model(tmp_path / "model", text_dim=16)
    meta = read_head_info(folder / HEAD_FILE).to_dict()
    edit(meta)
    path = tmp_path / "bad.safetensors"
    save_file({k: v.contiguous() for k, v in DVTAHead(text_dim=16).state_dict().items()}, str(path),
              metadata={META_KEY: json.dumps(meta)})
    for read in (read_head_info, load_head):
        with pytest.raises(UserError) as caught:
            read(path)
        text = str(caught.value)
        assert text.startswith(f"{path}: ") and says in text and "dvta train-head" in text, text
        assert "\n" not in text


def test_bundled_and_old_heads_load_as_head_info() -> None:
    """The bundled head (written before "training" was renamed from "recipe") reads as HeadInfo, and a
    head dict written by HeadInfo reads back the same."""
    from dvta_live.dvta.headfile import read_head_info
    from dvta_live.model import HEAD_FILE, bundled_model_path

    path = bundled_model_path() / HEAD_FILE
    raw = json.loads(path.with_suffix(".json").read_text())
    info = read_head_info(path)
    assert "recipe" in raw and info.training == raw["recipe"] and info.training["epochs"] > 0
    assert info.head.bridge is not None and info.head.bridge.classes == 120
    assert info.storage_dtype == "float16" and info.classes.unseen == () and len(info.training_classes) >= 60
    assert {k: v for k, v in info.to_dict().items() if k != "training"} == {k: v for k, v in raw.items()
                                                                          if k != "recipe"}
    assert HeadInfo.from_dict(info.to_dict(), path) == info


# -------------------------------------------------------------------------------------- bad folders


def test_bad_features_folder_is_one_error_naming_the_file(tmp_path: Path) -> None:
    emb = np.random.default_rng(0).normal(size=(6, 2, 8)).astype(np.float32)

    def fresh(name: str) -> Path:
        return tiny_folder(tmp_path / name, emb)

    with pytest.raises(UserError, match="no such features folder"):
        load_features(tmp_path / "nope")
    folder = fresh("wrong-dim")
    np.save(folder / "train.npy", np.zeros((40, 128), np.float32))
    with pytest.raises(UserError, match=r"train\.npy: features must be \[N, 256\], got shape \(40, 128\)"):
        load_features(folder)
    folder = fresh("count")
    np.save(folder / "train_label.npy", np.zeros(7, np.int64))
    with pytest.raises(UserError, match=r"train_label\.npy: 7 labels for 40 samples in train\.npy"):
        load_features(folder)
    folder = fresh("missing")
    (folder / "z_label.npy").unlink()
    with pytest.raises(UserError, match=r"z_label\.npy: missing z_label\.npy"):
        load_features(folder)
    folder = fresh("overlap")
    np.save(folder / "z_label.npy", np.zeros(12, np.int64))  # class 0 has training samples
    with pytest.raises(UserError, match=r"z_label\.npy: class\(es\) \[0\] have training samples"):
        load_features(folder)
    folder = fresh("pickled")
    np.save(folder / "ztest.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match=r"ztest\.npy: holds Python objects"):
        load_features(folder)
    folder = fresh("nan")
    x = np.load(folder / "gtest.npy")
    x[3, 7] = np.nan
    np.save(folder / "gtest.npy", x)
    with pytest.raises(UserError, match=r"gtest\.npy: 1 sample\(s\) contain NaN"):
        load_features(folder)
    # SMIE/DVTA names for the zero-shot pair are accepted; gtest is optional
    folder = tiny_folder(tmp_path / "smie-names", emb, gtest=False)
    (folder / "ztest.npy").rename(folder / "test.npy")
    (folder / "z_label.npy").rename(folder / "test_label.npy")
    feats = load_features(folder)
    assert feats.files["ztest"] == "test.npy" and feats.gtest is None and feats.unseen_classes == (4, 5)

    # through the CLI: the UserError (one line for the main entry point) names the file
    folder = fresh("cli")
    np.save(folder / "train.npy", np.zeros((40, 3), np.float32))
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["train-head", str(folder), "--class-names", "ntu60"])
    assert isinstance(result.exception, UserError) and "train.npy" in str(result.exception)


def test_text_must_cover_every_class_id(tmp_path: Path) -> None:
    emb = np.random.default_rng(0).normal(size=(6, 2, 8)).astype(np.float32)
    feats = load_features(tiny_folder(tmp_path / "f", emb))
    names = tmp_path / "names.txt"
    names.write_text("wave\nclap\njump\n")
    texts = class_texts_from_names(names)
    assert texts.contexts[1] == ("clap",)  # a name list: the context is the name
    with pytest.raises(UserError, match=r"class id 5 has no text.*3 classes"):
        train_head(feats, texts, None, HeadTrainConfig(epochs=1))
    with pytest.raises(UserError, match=r"z_label\.npy: class\(es\) \[5\] .* not unseen in split utd-mhad"):
        train_head(feats, class_texts_from_labels("utd-mhad"), get_split("utd-mhad-22/5"),
                   HeadTrainConfig(epochs=1))


# ---------------------------------------------------------------------------------- bundled labels

BUNDLED = {"utd-mhad": ("utd-mhad", classnames.UTD_MHAD_CLASSES),
           "nw-ucla": ("nw-ucla", classnames.NW_UCLA_CLASSES),
           "msr-action3d": ("msr-action3d", classnames.MSR_ACTION3D_CLASSES)}


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_labels_follow_the_dataset_class_order(name: str) -> None:
    folder, constants = BUNDLED[name]
    labels = load_labels(bundled_labels_path(name))
    assert labels.names == constants and labels.text_model == "all-MiniLM-L6-v2"
    assert len({c for a in labels.actions for c in a.context}) == len(labels)
    order = shared_path("data", folder, "classes.txt").read_text().splitlines()
    assert list(labels.names) == [line.split(maxsplit=1)[1].strip() for line in order if line.strip()]


def test_bundled_contexts_are_written_for_this_project() -> None:
    """No 8-word run of our descriptions occurs in a published description file beside the data."""
    text_dir = shared_path("data", "text")

    def grams(t: str, n: int = 8) -> set[tuple[str, ...]]:
        w = re.findall(r"[a-z']+", t.lower())
        return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}

    published: set[tuple[str, ...]] = set()
    for f in text_dir.rglob("*"):
        if f.is_file() and f.suffix in (".txt", ".csv", ".tsv", ".md", ""):
            published |= grams(f.read_text(encoding="utf-8", errors="ignore"))
    for name in BUNDLED:
        ours = [c for a in load_labels(bundled_labels_path(name)).actions for c in a.context]
        assert not [c for c in ours if grams(c) & published], name


def test_bundled_names_find_their_own_context() -> None:
    for name in BUNDLED:
        tensor = encode_labels(load_labels(bundled_labels_path(name)))
        sim = tensor.embeddings[:, 0] @ tensor.embeddings[:, 1].T
        rank = (sim > np.diag(sim)[:, None]).sum(axis=1)
        assert (rank < 5).mean() >= 0.9, (name, [tensor.names[i] for i in np.flatnonzero(rank >= 5)])
