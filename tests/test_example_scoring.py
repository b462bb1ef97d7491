"""Teach by example, the scoring side: the cache-model fusion (dvta.examples), the example side through
every CPU runtime (torch == ONNX Runtime, with and without examples), the example bank (live windows of a
clip -> cached features) and the public API scoring with a labels file's examples."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from dvta_live.dvta.examples import ExampleSide, example_scores, example_side
from dvta_live.labels.schema import Example
from dvta_live.model import bundled_model_path
from dvta_live.realtime.example_bank import ExampleBank, example_windows
from dvta_live.runtimes import TorchRuntime, open_runtime
from dvta_live.skeleton.readers import read_path

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "dvta_live" / "assets" / "demo" / "cmu-86-01.dvta.safetensors"


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVTA_CACHE", str(tmp_path_factory.getbasetemp() / "dvta-cache"))


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return read_path(DEMO).sequences[0].data  # CMU 86_01 at 30 fps: walk, jump, punch, kick, ...


def test_fusion_adds_the_mean_affinity_of_each_actions_examples() -> None:
    rng = np.random.default_rng(0)
    feats = rng.random((4, 256)).astype(np.float32)
    keys, values = example_side(feats[:3], [0, 0, 2], 3, weight=2.0, sharpness=5.0)
    assert keys.shape == (3, 257) and values.shape == (3, 3)
    added = example_scores(torch.from_numpy(feats), ExampleSide(torch.from_numpy(keys), torch.from_numpy(values)))
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    aff = np.exp(5.0 * (unit @ unit[:3].T - 1.0))
    want = np.stack([2.0 * aff[:, :2].mean(axis=1), np.zeros(4), 2.0 * aff[:, 2]], axis=1)
    np.testing.assert_allclose(added.numpy(), want, rtol=1e-5, atol=1e-6)
    # a window equal to action 2's only example gains the whole weight for it; action 1 (no examples): 0
    assert added[2, 2] == pytest.approx(2.0, rel=1e-5) and not added[:, 1].any()
    # no examples, or weight 0: the all-zero row, which adds exactly nothing
    for side in (example_side(np.zeros((0, 256)), [], 3, feature_dim=256), example_side(feats[:1], [1], 3, weight=0)):
        k, v = side
        assert k.shape == (1, 257) and not v.any()
        none = example_scores(torch.from_numpy(feats), ExampleSide(torch.from_numpy(k), torch.from_numpy(v)))
        assert not none.any()


def test_example_windows_are_the_live_windows_of_a_clip(demo: np.ndarray) -> None:
    windows = example_windows(demo[:, :180], 30.0)  # 6 s -> full windows ending at 3 s, 4 s, 5 s and the end
    assert [w.shape[1] for w in windows] == [91] * 4  # the live grid: 3 s = 91 samples at 30 Hz
    np.testing.assert_allclose(windows[0], demo[:, :91], atol=1e-5)
    np.testing.assert_allclose(windows[-1], demo[:, 89:180], atol=1e-5)
    short = example_windows(demo[:, :45], 30.0)  # 1.5 s: one window, the whole clip
    assert len(short) == 1 and short[0].shape[1] == 45


def test_runtimes_agree_with_examples_and_text_alone_is_unchanged(demo: np.ndarray) -> None:
    """ONNX Runtime's exported window graph takes the example side as inputs and equals torch; with no
    examples both give exactly the text-only scores."""
    from dvta_live.labels import bundled_labels_path, encode_labels, load_labels

    model = bundled_model_path()
    text = np.asarray(encode_labels(load_labels(bundled_labels_path())).embeddings)
    eager, onnx = TorchRuntime(model, threads=1), open_runtime(model, "onnx", threads=1)
    recipe = eager.info.recipe
    windows = np.stack([recipe.apply(w) for w in example_windows(demo[:, :300], 30.0)])
    feats = eager.features(windows, eager.prepare_text(text))
    np.testing.assert_allclose(onnx.features(windows, onnx.prepare_text(text)), feats, rtol=1e-4, atol=1e-4)
    side = example_side(feats[:3], [4, 4, 9], len(text))
    plain = eager.scores(windows, eager.prepare_text(text))
    with_ex = eager.scores(windows, eager.prepare_text(text, side))
    np.testing.assert_allclose(onnx.scores(windows, onnx.prepare_text(text, side)), with_ex, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(onnx.scores(windows, onnx.prepare_text(text)), plain, rtol=1e-4, atol=1e-3)
    diff = with_ex - plain
    assert np.abs(np.delete(diff, [4, 9], axis=1)).max() < 1e-4  # only actions with examples move
    assert diff[0, 4] > 0.5 * diff[:, 4].max() and diff[:3, [4, 9]].min() > 0


def test_bank_caches_features_per_model_and_clip(demo: np.ndarray, tmp_path: Path) -> None:
    clip = read_path(DEMO).sequences[0]
    runtime = TorchRuntime(bundled_model_path(), threads=1)
    calls = []

    def load(example: Example) -> object:
        calls.append(example.source)
        return clip

    example = Example("demo.dvta.safetensors", DEMO)
    bank = ExampleBank(runtime, cache_dir=tmp_path, load=load)
    feats = bank.features_of(example)
    assert feats.shape == (len(example_windows(clip.data, 30.0)), 256)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    again = ExampleBank(runtime, cache_dir=tmp_path, load=load).features_of(example)  # from the disk cache
    np.testing.assert_array_equal(again, feats)
    assert bank.features_of(example) is feats and len(calls) == 2  # in memory: not even loaded again


LABELS = """# a small labels file; the test adds an example to `wave` while a replay runs
actions:
  - name: walk
    context: The person steps forward with alternating legs at an easy pace.
  - name: jump
    context: The person springs up from both feet and lands in place.
  - name: punch
    context: The fists shoot straight forward in turn at shoulder height.
  - name: wave
    context: One hand is raised above the shoulder and swings from side to side.
"""


def _replay(labels: Path, edit: Any = None) -> list[Any]:
    """The raw predictions of the bundled model replaying the demo (the generator `dvta run` consumes);
    ``edit()`` runs once, right after the first prediction."""
    import dvta_live
    from dvta_live.realtime.live import Prediction

    preds = []
    with dvta_live.load(labels=labels, runtime="onnx", threads=1) as rec:
        for event in rec.recognize(DEMO, realtime=False):
            if isinstance(event, Prediction) and event.raw is not None:
                preds.append(event)
                if edit is not None and len(preds) == 1:
                    edit()
    return preds


def test_an_example_added_during_a_replay_changes_the_next_windows(tmp_path: Path) -> None:
    """While the demo (CMU 86_01) replays, `wave` gets an example: 18-23 s of the same take (punching,
    then a jump). The edit is hot-reloaded like any labels edit and the example's features come from their
    own thread: the windows that hold what the example holds (ending at 21, 22 and 23 s) become `wave`,
    the window scored before the edit and most others keep their scores and labels."""
    labels = tmp_path / "labels.yaml"
    labels.write_text(LABELS, encoding="utf-8")
    before = _replay(labels)
    shutil.copy(DEMO, tmp_path / "punching.dvta.safetensors")
    edited = LABELS.replace("swings from side to side.\n",
                            "swings from side to side.\n    examples: [punching.dvta.safetensors#18-23]\n")

    def edit() -> None:
        labels.write_text(edited, encoding="utf-8")

    after = _replay(labels, edit)
    assert [p.timestamp_s for p in after] == [p.timestamp_s for p in before]
    wave = before[0].names.index("wave")
    np.testing.assert_allclose(after[0].raw, before[0].raw, atol=1e-6)  # scored before the edit
    held = [i for i, p in enumerate(before) if round(p.timestamp_s, 2) in (21.0, 22.0, 23.0)]
    assert len(held) == 3 and all(int(np.argmax(before[i].raw)) != wave for i in held)
    assert all(int(np.argmax(after[i].raw)) == wave and after[i].raw[wave] > 0.9 for i in held)
    same = sum(int(np.argmax(a.raw)) == int(np.argmax(b.raw)) for a, b in zip(after, before, strict=True))
    assert same >= 0.8 * len(before)


def test_dvta_run_says_which_example_cannot_be_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An example clip with nobody in it is not used, and `dvta run` says so (a JSONL record naming the
    file, and the status line), while the replay runs on with the text."""
    import json

    from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence
    from dvta_live.skeleton.store import save_dataset

    from conftest import dvta

    empty = SkeletonSequence(data=np.zeros((3, 90, 25, 2), np.float32), name="nobody", fps=30.0)
    save_dataset(SkeletonDataset(name="x", class_names=("x",), sequences=(empty,)), tmp_path / "nobody.dvta.safetensors")
    labels = tmp_path / "labels.yaml"
    labels.write_text(LABELS.replace("swings from side to side.\n",
                                     "swings from side to side.\n    examples: [nobody.dvta.safetensors]\n"))
    code, out, _ = dvta(capsys, "run", "-l", str(labels), "--no-realtime", "-q", "--jsonl", "-")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    said = [r for r in records if r["event"] == "examples"]
    assert len(said) == 1 and "nobody.dvta.safetensors" in said[0]["unreadable"]
    assert "unreadable" in said[0]["status"]
    assert sum(r["event"] == "prediction" for r in records) > 50  # the run went on, on the text
