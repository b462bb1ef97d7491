"""Dataset readers on the real data in ../shared: counts, labels, axes, body selection, bad input."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pytest

from dvta_live.errors import DataError
from dvta_live.skeleton import classnames as cn
from dvta_live.skeleton.layouts import NTU25
from dvta_live.skeleton.readers import (
    SUPPORTED_FORMATS,
    read_ctrgcn_npz,
    read_msr_action3d,
    read_ntu_skeleton,
    read_nw_ucla,
    read_path,
    read_paths,
    read_position_npy,
    read_utd_mhad,
)
from dvta_live.skeleton.sequence import SkeletonDataset
from dvta_live.skeleton.summary import summarize

from conftest import shared_path

J = NTU25.index


def ntu_files() -> list[Path]:
    return sorted(shared_path("data", "ntu").glob("*.skeleton"))


def raw_ntu(path: Path) -> tuple[int, list[list[str]], list[np.ndarray]]:
    """Independent parse: (frame count, body ids per frame, [frame][body] -> [25, 12] values)."""
    lines = path.read_text().splitlines()
    num_frames, i = int(lines[0]), 1
    ids: list[list[str]] = []
    bodies: list[np.ndarray] = []
    for _ in range(num_frames):
        count = int(lines[i])
        i += 1
        frame_ids, frame_bodies = [], []
        for _ in range(count):
            frame_ids.append(lines[i].split()[0])
            joints = int(lines[i + 1])
            rows = lines[i + 2:i + 2 + joints]
            frame_bodies.append(np.array([[float(v) for v in line.split()] for line in rows]))
            i += 2 + joints
        ids.append(frame_ids)
        bodies.append(frame_bodies)  # type: ignore[arg-type]
    return num_frames, ids, bodies


# --- NTU RGB+D -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("index", range(6))
def test_ntu_sample_frames_bodies_and_values_match_the_raw_text(index: int) -> None:
    files = ntu_files()
    path = files[index]
    num_frames, ids, bodies = raw_ntu(path)
    seq = read_ntu_skeleton(path)
    distinct = {b for frame in ids for b in frame}
    assert seq.num_frames == num_frames
    assert seq.num_bodies == min(2, len(distinct))
    assert seq.data.dtype == np.float32 and seq.data.shape == (3, num_frames, 25, 2)
    assert seq.label == int(path.name[path.name.index("A") + 1:][:3]) - 1
    assert seq.subject == int(path.name[path.name.index("P") + 1:][:3])
    if len(distinct) == 1:  # one body: it is body 0 verbatim, colour joints too, body 1 empty
        for t in (0, num_frames // 2, num_frames - 1):
            np.testing.assert_array_equal(seq.data[:, t, :, 0], bodies[t][0][:, 0:3].T.astype(np.float32))
            np.testing.assert_array_equal(seq.meta["color_xy"][:, t, :, 0],
                                          bodies[t][0][:, 5:7].T.astype(np.float32))
        assert not seq.data[..., 1].any()
    else:  # both bodies kept; each output body is one of the file's bodies in every frame
        for t in (0, num_frames - 1):
            raw = {round(float(b[0, 0]), 5) for b in bodies[t]}
            assert {round(float(seq.data[0, t, 0, m]), 5) for m in range(2)} == raw


def test_ntu_a058_handshake_has_two_bodies() -> None:
    path = next(p for p in ntu_files() if "A058" in p.name)
    seq = read_ntu_skeleton(path)
    assert seq.num_bodies == 2 and seq.meta["bodies_in_file"] == 2
    # the two people stand apart: their spine bases are > 0.3 m apart in every frame
    gap = np.linalg.norm(seq.data[:, :, J("spine_base"), 0] - seq.data[:, :, J("spine_base"), 1], axis=0)
    assert gap.min() > 0.3


def _write_ntu(path: Path, frames: list[list[np.ndarray]], info: str = "1 0 1 1 1 1 0 0 0 2") -> None:
    out = [str(len(frames))]
    for k, bodies in enumerate(frames):
        out.append(str(len(bodies)))
        for m, body in enumerate(bodies):
            out.append(f"{1000 + m} {info.split(' ', 1)[1]}")
            out.append("25")
            out += [" ".join(f"{v:.7g}" for v in row) for row in body]
    path.write_text("\n".join(out) + "\n")


def test_ntu_spurious_third_body_is_dropped_by_the_2s_agcn_rule(tmp_path: Path) -> None:
    """A tiny static 'body' listed first in every frame (a false detection) is dropped; the two real
    people with the larger spread are kept, larger spread first."""
    path = next(p for p in ntu_files() if "A058" in p.name)
    _, _, bodies = raw_ntu(path)
    spurious = np.tile(bodies[0][0][:1], (25, 1))  # all 25 joints on one point
    spurious[:, 0:3] += np.linspace(0, 0.01, 25)[:, None]
    frames = [[spurious, *frame] for frame in bodies]
    fake = tmp_path / "S001C003P008R002A058.skeleton"
    _write_ntu(fake, frames)
    seq = read_ntu_skeleton(fake)
    assert seq.num_bodies == 2 and seq.meta["max_bodies_per_frame"] == 3
    kept = {round(float(seq.data[0, 0, 0, m]), 4) for m in range(2)}
    assert kept == {round(float(b[0, 0]), 4) for b in bodies[0]}


def test_ntu_frames_without_a_body_are_zeros(tmp_path: Path) -> None:
    path = next(p for p in ntu_files() if "A001" in p.name)
    num_frames, _, bodies = raw_ntu(path)
    frames = [[] if 10 <= t < 20 else b for t, b in enumerate(bodies)]
    fake = tmp_path / path.name
    _write_ntu(fake, frames)
    seq = read_ntu_skeleton(fake)
    assert seq.num_frames == num_frames and seq.meta["frames_without_body"] == 10
    assert not seq.data[:, 10:20].any()
    assert np.all(np.any(seq.data[:, :10], axis=(0, 2, 3)))


def test_truncated_skeleton_names_the_file(tmp_path: Path) -> None:
    sample = next(p for p in ntu_files() if "A001" in p.name)
    broken = tmp_path / sample.name
    broken.write_text(sample.read_text()[:5000])
    with pytest.raises(DataError) as err:
        read_ntu_skeleton(broken)
    assert str(broken) in str(err.value) and "ends" in str(err.value)
    with pytest.raises(DataError, match="truncated"):
        read_path(broken)


@pytest.mark.parametrize("content, needle", [
    ("", "empty"),
    ("   \n", "empty"),
    ("hello\n", "frame count"),
    ("0\n", "frame count"),
    ("1\n1\n1 0 1 1 1 1 0 0 0 2\n25\n" + "1 2 x 4 5 6 7 8 9 10 11 2\n" * 25, "not a number"),
    ("1\n1\n1 0 1 1 1 1 0 0 0 2\n25\n" + "1 2 3\n" * 25, "12 numbers"),
    ("1\n1\n1 0 1 1 1 1 0 0 0 2\n20\n" + "1 2 3 4 5 6 7 8 9 10 11 2\n" * 20, "25"),
])
def test_broken_skeleton_files_raise_data_error(tmp_path: Path, content: str, needle: str) -> None:
    bad = tmp_path / "S001C001P001R001A001.skeleton"
    bad.write_text(content)
    with pytest.raises(DataError) as err:
        read_path(bad)
    assert str(bad) in str(err.value) and needle in str(err.value)


def test_ntu_folder_and_merged_files(tmp_path: Path) -> None:
    folder = shared_path("data", "ntu")
    dataset = read_path(folder)
    assert dataset.name == "ntu60" and dataset.class_names == cn.NTU60_CLASSES and len(dataset) == 6
    assert sorted(s.label for s in dataset) == [0, 2, 10, 16, 33, 57]
    # NTU-120 comes as two folders of .skeleton files: a parent of both reads as one dataset
    for part, files in (("part1", ntu_files()[:3]), ("part2", ntu_files()[3:])):
        (tmp_path / part).mkdir()
        for f in files:
            (tmp_path / part / f.name).write_text(f.read_text())
    assert len(read_path(tmp_path)) == 6
    # a folder of several datasets is ambiguous
    with pytest.raises(DataError, match="several datasets") as err:
        read_path(folder.parent)
    assert "ntu-skeleton-folder in ntu/" in str(err.value) and "utd-mhad in utd-mhad/" in str(err.value)
    merged = read_paths(ntu_files())
    assert len(merged) == 6 and merged.class_names == dataset.class_names


def test_ntu120_names_match_the_official_label_maps() -> None:
    for count in (60, 120):
        text = shared_path("data", "ntu", f"label_map_ntu{count}.txt").read_text(encoding="utf-8")
        names = [line.strip().replace("\u2019", "'") for line in text.splitlines() if line.strip()]
        assert tuple(names) == cn.NTU120_CLASSES[:count]


# --- the Kinect v1 datasets ------------------------------------------------------------------------------

def _timed(read, path: Path) -> tuple[SkeletonDataset, float]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    dataset = read(path)
    return dataset, time.perf_counter() - start


def test_utd_mhad_861_sequences_27_classes() -> None:
    root = shared_path("data", "utd-mhad")
    dataset, seconds = _timed(read_path, root)
    print(f"\nUTD-MHAD: read {len(dataset)} files in {seconds:.2f} s")
    assert seconds < 15  # a few seconds here; generous for slow CI disks
    assert dataset.name == "utd-mhad" and len(dataset) == 861 and dataset.num_classes == 27
    assert dataset.class_names == cn.UTD_MHAD_CLASSES  # classes.txt and the bundled list agree
    assert {s.subject for s in dataset} == set(range(1, 9))
    counts = np.bincount(dataset.labels(), minlength=27)
    assert counts.sum() == 861 and counts.min() >= 31 and counts.max() == 32
    assert len(read_utd_mhad(root / "Skeleton")) == 861
    assert dataset.notes == ()


def test_nw_ucla_1484_sequences_10_classes() -> None:
    root = shared_path("data", "nw-ucla")
    dataset, seconds = _timed(read_path, root)
    print(f"\nNW-UCLA: read {len(dataset)} files in {seconds:.2f} s")
    assert seconds < 15
    assert dataset.name == "nw-ucla" and len(dataset) == 1484 and dataset.num_classes == 10
    assert dataset.class_names == cn.NW_UCLA_CLASSES
    # the JSON labels are 1-based in classes.txt order: a08 (donning) is label 7 after the gap at a07
    by_name = {s.name: s for s in dataset}
    assert by_name["a08_s01_e00_v01"].label == 6 and by_name["a12_s10_e04_v03"].label == 9
    assert {s.meta["view"] for s in dataset} == {1, 2, 3}
    assert {s.subject for s in dataset} == set(range(1, 11))
    assert np.bincount(dataset.labels(), minlength=10).min() > 100
    assert len(read_nw_ucla(root / "all_sqe")) == 1484


def test_msr_action3d_567_sequences_and_the_all_zero_one_in_notes() -> None:
    root = shared_path("data", "msr-action3d")
    dataset, seconds = _timed(read_path, root)
    print(f"\nMSR Action3D: read {len(dataset)} files in {seconds:.2f} s")
    assert dataset.name == "msr-action3d" and len(dataset) == 567 and dataset.num_classes == 20
    assert not any(s.name.endswith("_seg") for s in dataset)
    empty = [s for s in dataset if not s.data.any()]
    assert [s.name for s in empty] == ["a13_s09_e02"]
    assert any("a13_s09_e02" in note for note in dataset.notes)
    assert any("_seg" in note for note in dataset.notes)
    assert len(read_msr_action3d(root / "skeleton3D")) == 567


def _moving(seq, joint: str) -> float:  # type: ignore[no-untyped-def]
    body = seq.data[..., 0]
    return float(body[:, :, J(joint)].std(axis=1).sum())


@pytest.mark.parametrize("folder, right_limb_classes", [
    ("utd-mhad", {0: "wrist", 1: "wrist", 2: "wrist", 4: "wrist", 7: "wrist", 18: "wrist"}),
    # MSR's protocol: one-limb actions with the right arm/leg (high/horizontal wave, hammer, catch,
    # punch, high throw; forward and side kick)
    ("msr-action3d", {0: "wrist", 1: "wrist", 2: "wrist", 3: "wrist", 4: "wrist", 5: "wrist",
                      13: "foot", 14: "foot"}),
])
def test_right_handed_actions_move_the_ntu_right_limb(folder: str, right_limb_classes: dict) -> None:
    """Sides are right after conversion: in right-hand/leg classes the NTU 'right' limb moves more."""
    dataset = read_path(shared_path("data", folder))
    for label, joint in right_limb_classes.items():
        seqs = [s for s in dataset if s.label == label and s.data.any()]
        right = np.mean([_moving(s, f"right_{joint}") > _moving(s, f"left_{joint}") for s in seqs])
        assert right > 0.75, (folder, dataset.class_names[label], right)


@pytest.mark.parametrize("folder", ["ntu", "utd-mhad", "nw-ucla", "msr-action3d"])
def test_every_dataset_ends_in_ntu_axes(folder: str) -> None:
    """Metres, y up, z away from the camera, the subject's right at larger x (people face the camera)."""
    dataset = read_path(shared_path("data", folder))
    heads, feet, rights, lefts, depth, widths = [], [], [], [], [], []
    for seq in dataset:
        body = seq.data[..., 0]
        ok = np.any(body, axis=(0, 2))
        if not ok.any():
            continue
        body = body[:, ok]
        heads.append(np.median(body[1, :, J("head")]))
        feet.append(np.median(body[1, :, [J("left_foot"), J("right_foot")]]))
        rights.append(np.median(body[0, :, J("right_shoulder")]))
        lefts.append(np.median(body[0, :, J("left_shoulder")]))
        depth.append(np.median(body[2, :, J("spine_base")]))
        across = body[:, :, J("right_shoulder")] - body[:, :, J("left_shoulder")]
        widths.append(np.median(np.linalg.norm(across, axis=0)))
    heads, feet, rights, lefts = map(np.array, (heads, feet, rights, lefts))
    assert np.mean(heads > feet) > 0.95
    assert np.mean(rights > lefts) > 0.9
    assert 1.5 < np.median(depth) < 5.0
    assert 0.2 < np.median(widths) < 0.45


# --- preprocessed NTU arrays -----------------------------------------------------------------------------

def _padded_ntu(frames: int = 130) -> tuple[np.ndarray, list[str], list[int], list]:
    seqs = [read_ntu_skeleton(p) for p in ntu_files()]
    arr = np.zeros((len(seqs), 3, frames, 25, 2), dtype=np.float32)
    for i, s in enumerate(seqs):
        arr[i, :, :s.num_frames] = s.data
    return arr, [p.name for p in ntu_files()], [s.label for s in seqs], seqs


def test_aimclr_position_npy_with_label_pkl(tmp_path: Path) -> None:
    arr, names, labels, seqs = _padded_ntu()
    np.save(tmp_path / "train_position.npy", arr)
    with (tmp_path / "train_label.pkl").open("wb") as fh:
        pickle.dump((names, [np.int64(x) for x in labels]), fh)
    dataset = read_path(tmp_path / "train_position.npy")
    assert dataset.class_names == cn.NTU60_CLASSES and len(dataset) == 6
    for got, want in zip(dataset, seqs):
        assert got.num_frames == want.num_frames and got.label == want.label and got.subject == want.subject
        np.testing.assert_array_equal(got.data, want.data)
    assert isinstance(dataset[0].data.base, np.memmap) or isinstance(dataset[0].data, np.memmap)


def test_aimclr_frame50_label_npy_and_2s_agcn_rotation(tmp_path: Path) -> None:
    arr, names, labels, seqs = _padded_ntu()
    # AimCLR frame50 folders hold <part>_label.npy (N, 1) int64 beside <part>_position.npy
    np.save(tmp_path / "val_position.npy", arr)
    np.save(tmp_path / "val_label.npy", np.array(labels, dtype=np.int64)[:, None])
    assert read_position_npy(tmp_path / "val_position.npy").labels().tolist() == labels
    # 2s-AGCN pre_normalization puts the spine along +z: NTU (x, y, z) -> (x, -z, y); read back to NTU axes
    rotated = np.stack([arr[:, 0], -arr[:, 2], arr[:, 1]], axis=1)
    np.save(tmp_path / "train_data_joint.npy", rotated)
    with (tmp_path / "train_label.pkl").open("wb") as fh:
        pickle.dump((names, labels), fh)
    dataset = read_path(tmp_path / "train_data_joint.npy")
    assert any("pre_normalization" in n for n in dataset.notes)
    for got, want in zip(dataset, seqs):
        np.testing.assert_allclose(got.data, want.data, atol=1e-6)


def test_label_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    arr, *_ = _padded_ntu()
    np.save(tmp_path / "train_position.npy", arr[:1])

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("pwned",))

    with (tmp_path / "train_label.pkl").open("wb") as fh:
        pickle.dump((["a"], [Evil()]), fh)
    with pytest.raises(DataError, match="refusing"):
        read_path(tmp_path / "train_position.npy")


def test_npy_without_labels_or_wrong_shape(tmp_path: Path) -> None:
    np.save(tmp_path / "train_position.npy", np.zeros((2, 3, 10, 25, 2), np.float32))
    with pytest.raises(DataError, match="train_label.pkl"):
        read_path(tmp_path / "train_position.npy")
    np.save(tmp_path / "odd.npy", np.zeros((2, 10, 25), np.float32))
    with pytest.raises(DataError, match=r"\(N, 3, T, 25, 2\)"):
        read_path(tmp_path / "odd.npy")


@pytest.mark.parametrize("compressed", [False, True])
def test_ctrgcn_npz(tmp_path: Path, compressed: bool) -> None:
    arr, _, labels, seqs = _padded_ntu()
    x = arr.transpose(0, 2, 4, 3, 1).reshape(len(arr), arr.shape[2], 150)  # N, T, (M, V, C)
    y = np.eye(60, dtype=np.float32)[labels]
    save = np.savez_compressed if compressed else np.savez
    save(tmp_path / "NTU60_CS.npz", x_train=x[:4], y_train=y[:4], x_test=x[4:], y_test=y[4:])
    dataset = read_ctrgcn_npz(tmp_path / "NTU60_CS.npz")
    assert len(dataset) == 6 and dataset.class_names == cn.NTU60_CLASSES
    assert [s.meta["split"] for s in dataset] == ["train"] * 4 + ["test"] * 2
    assert [s.name for s in dataset][:2] == ["train_0", "train_1"]
    for got, want in zip(dataset, seqs):
        assert got.label == want.label and got.num_frames == want.num_frames
        np.testing.assert_array_equal(got.data, want.data)


def test_bad_npz_and_unknown_inputs(tmp_path: Path) -> None:
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(DataError, match="x_train"):
        read_path(tmp_path / "other.npz")
    (tmp_path / "notes.txt").write_text("not skeletons")
    with pytest.raises(DataError) as err:
        read_path(tmp_path)
    assert str(tmp_path) in str(err.value) and SUPPORTED_FORMATS[0] in str(err.value)
    assert "other.npz" in str(err.value)  # points at the array it found
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(DataError, match="no supported skeleton data"):
        read_path(empty_dir)
    with pytest.raises(DataError, match="no such file"):
        read_path(tmp_path / "missing")
    with pytest.raises(DataError, match="unknown file type"):
        read_path(tmp_path / "notes.txt")
    (tmp_path / "x_label.pkl").write_bytes(b"")
    with pytest.raises(DataError, match="label file on its own"):
        read_path(tmp_path / "x_label.pkl")


def test_broken_kinect_v1_files(tmp_path: Path) -> None:
    mat = tmp_path / "a1_s1_t1_skeleton.mat"
    mat.write_bytes(b"MATLAB garbage" * 10)
    with pytest.raises(DataError) as err:
        read_path(mat)
    assert str(mat) in str(err.value)
    js = tmp_path / "a01_s01_e00_v01.json"
    js.write_text('{"file_name": "a01_s01_e00_v01", "skeletons": [[1, 2]], "label": 1}')
    with pytest.raises(DataError, match="expected \\[frames, 20, 3\\]"):
        read_path(js)
    txt = tmp_path / "a01_s01_e01_skeleton3D.txt"
    txt.write_text("0.1 0.2 0.3 1\n" * 19)
    with pytest.raises(DataError, match="whole number of frames"):
        read_path(txt)
    # a folder with one broken and one good file keeps the good one and notes the broken one
    folder = tmp_path / "msr" / "skeleton3D"
    folder.mkdir(parents=True)
    txt.rename(folder / txt.name)
    good = shared_path("data", "msr-action3d", "skeleton3D", "a01_s01_e01_skeleton3D.txt")
    (folder / good.name.replace("e01", "e02")).write_text(good.read_text())
    dataset = read_path(tmp_path / "msr")
    assert len(dataset) == 1 and any("skipped a01_s01_e01_skeleton3D.txt" in n for n in dataset.notes)


# --- summaries -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("folder, n, classes", [
    ("ntu", 6, 60), ("utd-mhad", 861, 27), ("nw-ucla", 1484, 10), ("msr-action3d", 567, 20)])
def test_summaries(folder: str, n: int, classes: int) -> None:
    dataset, read_s = _timed(read_path, shared_path("data", folder))
    start = time.perf_counter()
    summary = summarize(dataset)
    summary_s = time.perf_counter() - start
    print(f"\n{folder}: read {read_s:.2f} s, summarize {summary_s:.3f} s")
    assert summary.num_sequences == n and summary.num_classes == classes
    assert sum(c for _, c in summary.class_counts) + summary.unlabelled == n
    lengths = [s.num_frames for s in dataset]
    assert (summary.frames_min, summary.frames_max, summary.total_frames) == (min(lengths), max(lengths),
                                                                             sum(lengths))
    assert summary.frames_median == float(np.median(lengths))
    assert sum(c for _, c in summary.body_counts) == n
    info = summary.to_dict()
    assert set(info["class_counts"]) == set(dataset.class_names)
    if folder == "ntu":
        assert dict(summary.body_counts) == {1: 5, 2: 1} and summary.subjects == (1, 3, 8, 15)
    if folder == "msr-action3d":
        assert summary.empty_sequences == ("a13_s09_e02",) and dict(summary.body_counts)[0] == 1
        assert summary.fps == (15.0,)
