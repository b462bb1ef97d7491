"""The .dvta.safetensors store: exact round trips on real data, memory mapping, foreign/damaged files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from dvta_live.errors import DataError, UserError
from dvta_live.skeleton.readers import read_path
from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence
from dvta_live.skeleton.store import FORMAT_NAME, load_dataset, save_dataset
from dvta_live.skeleton.summary import summarize

from conftest import shared_path


def assert_same(a: SkeletonDataset, b: SkeletonDataset) -> None:
    assert (a.name, a.class_names, a.notes, len(a)) == (b.name, b.class_names, b.notes, len(b))
    for x, y in zip(a, b):
        assert (x.name, x.label, x.subject, x.source, x.fps) == (y.name, y.label, y.subject, y.source, y.fps)
        assert x.data.shape == y.data.shape and x.data.dtype == y.data.dtype == np.float32
        assert np.array_equal(x.data, y.data)  # exact, bit for bit
        scalars = {k: v for k, v in x.meta.items() if isinstance(v, (str, int, float, bool, type(None)))}
        assert y.meta == scalars


@pytest.mark.parametrize("folder", ["ntu", "utd-mhad", "nw-ucla", "msr-action3d"])
def test_round_trip_is_exact(tmp_path: Path, folder: str) -> None:
    dataset = read_path(shared_path("data", folder))
    out = tmp_path / f"{folder}.dvta.safetensors"
    start = time.perf_counter()
    save_dataset(dataset, out)
    saved = time.perf_counter() - start
    start = time.perf_counter()
    loaded = load_dataset(out)
    opened = time.perf_counter() - start
    print(f"\n{folder}: save {saved:.3f} s, load {opened:.3f} s, {out.stat().st_size / 1e6:.1f} MB")
    assert_same(dataset, loaded)
    assert_same(dataset, load_dataset(out, mmap=False))
    assert_same(dataset, read_path(out))  # detected by read_path too
    # memory-mapped: the sequences are views of one on-disk array, not copies
    assert isinstance(loaded[0].data.base, np.memmap)
    assert summarize(loaded) == summarize(dataset)


def test_the_file_is_standard_safetensors(tmp_path: Path) -> None:
    dataset = read_path(shared_path("data", "ntu"))
    out = save_dataset(dataset, tmp_path / "ntu.dvta.safetensors")
    with safe_open(str(out), framework="numpy") as f:
        meta = f.metadata()
        frames, offsets = f.get_tensor("frames"), f.get_tensor("offsets")
        labels = f.get_tensor("labels")
    assert meta["format"] == FORMAT_NAME and meta["format_version"] == "1"
    info = json.loads(meta["dvta"])
    assert info["layout"] == "ntu25" and info["class_names"][0] == "drink water"
    assert info["names"] == [s.name for s in dataset] and "x to the subject's right" in info["axes"]
    assert offsets.tolist() == np.cumsum([0] + [s.num_frames for s in dataset]).tolist()
    assert labels.tolist() == [s.label for s in dataset]
    for i, seq in enumerate(dataset):
        np.testing.assert_array_equal(frames[offsets[i]:offsets[i + 1]].transpose(1, 0, 2, 3), seq.data)


def test_empty_and_unlabelled_datasets_round_trip(tmp_path: Path) -> None:
    empty = SkeletonDataset("nothing", ("a", "b"), ())
    assert_same(empty, load_dataset(save_dataset(empty, tmp_path / "e.dvta.safetensors")))
    seq = SkeletonSequence(np.zeros((3, 0, 25, 2), np.float32), name="blank")
    odd = SkeletonDataset("odd", ("a",), (seq,), ("a note",))
    assert_same(odd, load_dataset(save_dataset(odd, tmp_path / "o.dvta.safetensors")))


def test_foreign_and_damaged_files_raise_data_error(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    save_file({"fc.weight": np.zeros((4, 4), np.float32)}, str(weights))
    with pytest.raises(DataError, match="another program") as err:
        load_dataset(weights)
    assert str(weights) in str(err.value)

    noise = tmp_path / "noise.dvta.safetensors"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(DataError, match="not a safetensors file"):
        read_path(noise)
    tiny = tmp_path / "tiny.dvta.safetensors"
    tiny.write_bytes(b"\x01\x02")
    with pytest.raises(DataError, match="too short"):
        load_dataset(tiny)

    good = save_dataset(read_path(shared_path("data", "msr-action3d")), tmp_path / "msr.dvta.safetensors")
    truncated = tmp_path / "cut.dvta.safetensors"
    truncated.write_bytes(good.read_bytes()[:-1000])
    with pytest.raises(DataError, match="does not fit") as err:
        load_dataset(truncated)
    assert str(truncated) in str(err.value)


def test_save_creates_its_folder_and_an_impossible_path_is_one_clear_error(tmp_path: Path) -> None:
    dataset = SkeletonDataset("nothing", ("a",), ())
    # Like every output (dvta_live.outputs): missing folders are created, the file appears whole or not at all.
    saved = save_dataset(dataset, tmp_path / "no" / "such" / "dir" / "x.dvta.safetensors")
    assert len(read_path(saved)) == 0
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(UserError, match="cannot write") as err:
        save_dataset(dataset, tmp_path / "file" / "x.dvta.safetensors")
    assert str(tmp_path / "file" / "x.dvta.safetensors") in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "no"]
