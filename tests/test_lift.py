"""Image-plane input: the image64 / lift64 recipes, virtual cameras, the lifted backbone and its training."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch

from dvta_live.backbone.checkpoint import load_backbone, read_backbone_info, save_backbone
from dvta_live.backbone.lift import LiftConfig, LiftPairs, read_clips, train_lifted
from dvta_live.backbone.lifted import LiftedShiftGCN
from dvta_live.skeleton.recipe import BODY_SIZE_M, SIZE_BONES, get_recipe
from dvta_live.skeleton.retarget import CHILD, LENGTH, PARENT, to_ntu_proportions
from dvta_live.skeleton.views import live_window, virtual_view

DEMO = Path(str(files("dvta_live").joinpath("assets", "demo", "cmu-86-01.dvta.safetensors")))
TEACHER = Path(str(files("dvta_live").joinpath("assets", "model", "backbone.safetensors")))


@pytest.fixture(scope="module")
def demo_clip() -> np.ndarray:
    """The bundled demo (a real CMU mocap take, NTU-25, metres, camera space): 6 s of it."""
    return read_clips([DEMO])[0].data[:, 300:480]


def _teacher_path(tmp_path: Path) -> Path:
    """The bundled backbone if it is the official Shift-GCN (shiftgcn64); else its lifted one's teacher."""
    info = read_backbone_info(TEACHER)
    if info.architecture == "shiftgcn":
        return TEACHER
    model, _ = load_backbone(TEACHER)
    path = tmp_path / "teacher.safetensors"
    save_backbone(path, model.gcn, info.extra["teacher_recipe"], info.class_names)
    return path


def _body_size(window: np.ndarray) -> float:
    bones = np.array(SIZE_BONES)
    body = window[:2, :, :, 0].transpose(1, 2, 0)
    return float(np.percentile(np.linalg.norm(body[:, bones[:, 0]] - body[:, bones[:, 1]], axis=-1).sum(-1), 90))


def test_image_recipe_ignores_depth_units_and_position(demo_clip: np.ndarray) -> None:
    recipe = get_recipe("image64")
    out = recipe.apply(demo_clip)
    assert out.shape == (3, 64, 25, 2) and not out[2].any() and not out[..., 1].any()
    assert _body_size(out) == pytest.approx(BODY_SIZE_M, rel=0.02)  # measured before the resize to 64
    # pixels instead of metres, another place in the image, other depths: the same model input
    moved = demo_clip.copy()
    present = np.any(moved != 0, axis=0)
    moved[:2] = moved[:2] * 412.0 + np.array([640.0, -360.0])[:, None, None, None]
    moved[2] = np.random.default_rng(0).uniform(1, 5, size=moved[2].shape)
    moved[:, ~present] = 0
    np.testing.assert_allclose(recipe.apply(moved), out, atol=2e-4)
    # a 3-D recipe does see depth
    assert not np.allclose(get_recipe("shiftgcn64").apply(moved), get_recipe("shiftgcn64").apply(demo_clip))


def test_auto_plane_takes_each_window_by_what_it_holds(demo_clip: np.ndarray) -> None:
    """lift64: a window with depth is prepared as shiftgcn64 does (after NTU proportions), one without as
    image64, in one batch."""
    flat = demo_clip.copy()
    flat[2] = 0
    out = get_recipe("lift64").apply_batch(np.stack([demo_clip, flat]))
    np.testing.assert_allclose(out[0], get_recipe("shiftgcn64").apply(to_ntu_proportions(demo_clip)), atol=1e-6)
    np.testing.assert_array_equal(out[1], get_recipe("image64").apply(flat))
    assert out[0][2].any() and not out[1][2].any()


def test_recipe_plane_round_trips_and_is_validated() -> None:
    recipe = get_recipe("lift64")
    assert recipe.to_dict()["plane"] == "auto" and get_recipe("image64").to_dict()["plane"] == "image"
    assert get_recipe("shiftgcn64").plane == "xyz"  # old metadata without the key keeps its meaning
    from dvta_live.errors import UserError
    with pytest.raises(UserError, match="plane must be one of"):
        get_recipe("lift64", plane="depth")


def test_live_window_spans_the_live_seconds_of_any_clip(demo_clip: np.ndarray) -> None:
    """Head training windows cover what the live loop's window covers (3 s), whatever the clip's length:
    a stretch of a long take, a short clip held or repeated, never resized to fill the window."""
    rng = np.random.default_rng(0)
    long = live_window(demo_clip, 30.0, 3.0, rng)  # 6 s of mocap -> a 3-s stretch of it
    assert long.shape[1] == 90
    start = next(i for i in range(91) if np.array_equal(demo_clip[:, i:i + 90], long))
    assert 0 <= start <= 90
    short = np.concatenate([np.zeros_like(demo_clip[:, :5]), demo_clip[:, :40]], axis=1)  # 1.3 s, empty start
    held = repeated = 0
    for _ in range(20):
        w = live_window(short, 30.0, 3.0, rng)
        assert w.shape[1] == 90 and np.abs(w).sum(axis=(0, 2, 3)).min() > 0  # empty frames dropped
        held += int(np.array_equal(w[:, 0], w[:, 1]) or np.array_equal(w[:, -1], w[:, -2]))
        repeated += int(any(np.array_equal(w[:, i:i + 40], demo_clip[:, :40]) for i in range(50))
                        and any(np.array_equal(w[:, i], demo_clip[:, 0]) for i in range(1, 90)))
    assert held > 0 and repeated > 0
    # at 15 fps the same 3 s is 45 frames
    assert live_window(demo_clip, 15.0, 3.0, rng).shape[1] == 45


def test_virtual_view_projects_keeps_absent_joints_and_is_seeded(demo_clip: np.ndarray) -> None:
    clip = demo_clip.copy()
    clip[:, 10:20] = 0  # a gap in the track
    a = virtual_view(clip, np.random.default_rng(3))
    b = virtual_view(clip, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert not a[2].any() and not a[:, 10:20].any() and not a[..., 1].any()
    assert np.abs(a[:2, 20:, :, 0]).min() >= 0 and np.isfinite(a).all()
    # without errors a view is a rigid turn + perspective: the body's 2-D size changes less than its
    # 3-D size would allow, and heights keep their order (the head stays above the feet)
    clean = get_recipe("image64").apply(virtual_view(demo_clip, np.random.default_rng(4), noise=False))
    head, foot = 3, 15
    assert (clean[2 - 1, :, head, 0] > clean[1, :, foot, 0]).mean() > 0.9


def test_lifted_backbone_round_trips_and_keeps_absent_bodies_zero(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = LiftedShiftGCN(num_class=4, width=16, blocks=2).eval()
    path = tmp_path / "lifted.safetensors"
    save_backbone(path, model, "lift64", ["a", "b", "c", "d"])
    loaded, info = load_backbone(path)
    assert isinstance(loaded, LiftedShiftGCN) and info.architecture == "lifted-shiftgcn"
    assert info.make_recipe().plane == "auto" and info.feature_dim == 256
    x = torch.randn(2, 3, 64, 25, 2)
    x[:, :, :, :, 1] = 0  # one person
    x[:, :, 40:] = 0  # who left
    with torch.no_grad():
        lifted = loaded.lifter(x)
        assert not lifted[..., 1].any() and not lifted[:, :, 40:].any() and lifted[:, :, :40, :, 0].any()
        for a, b in zip(model(x), loaded(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        # windows with depth skip the lifter, windows without are lifted, in the same batch
        flat = x.clone()
        flat[:, 2] = 0
        both = loaded(torch.cat([x[:1], flat[:1]]))[0]
        torch.testing.assert_close(both[0], loaded.gcn(x[:1])[0][0])
        torch.testing.assert_close(both[1], loaded.gcn(loaded.lifter(flat[:1]))[0][0])


def test_lifter_training_lowers_the_error_and_resumes(tmp_path: Path, demo_clip: np.ndarray,
                                                      one_torch_thread) -> None:  # type: ignore[no-untyped-def]
    from dvta_live.skeleton.sequence import SkeletonSequence

    clips = [SkeletonSequence(data=demo_clip[:, i:i + 90], fps=30.0) for i in range(0, 90, 15)]
    teacher = _teacher_path(tmp_path)
    out = tmp_path / "lifted.safetensors"
    config = LiftConfig(epochs=3, batch_size=6, width=32, blocks=2, views=2, lr=3e-3)
    rows: list[dict] = []
    train_lifted(teacher, clips, clips[:2], out, config, on_epoch=rows.append)
    assert rows[-1]["loss"] < rows[0]["loss"] and rows[-1]["joint_error_m"] < rows[0]["joint_error_m"]
    info = read_backbone_info(out)
    assert info.architecture == "lifted-shiftgcn" and info.recipe["name"] == "lift64"
    assert info.extra["teacher_recipe"]["name"] == "shiftgcn64" and info.extra["lift"]["epoch"] == 2
    # the Shift-GCN part is the teacher's, untouched
    gcn, _ = load_backbone(teacher)
    lifted, _ = load_backbone(out)
    for k, v in gcn.state_dict().items():
        torch.testing.assert_close(lifted.gcn.state_dict()[k], v, rtol=0, atol=0)
    resumed: list[dict] = []
    train_lifted(teacher, clips, clips[:2], out, LiftConfig(**{**config.__dict__, "epochs": 4}), resume=True,
                 on_epoch=resumed.append)
    assert [r["epoch"] for r in resumed] == [3]
    json.dumps(resumed)  # plain figures, written into the backbone's metadata


def test_pairs_target_is_the_teacher_recipe_of_the_same_crop(demo_clip: np.ndarray) -> None:
    from dvta_live.skeleton.sequence import SkeletonSequence

    pairs = LiftPairs([SkeletonSequence(data=demo_clip, fps=30.0)], get_recipe("shiftgcn64"), views=2, seed=5)
    (x0, y0), (x1, _) = pairs[0], pairs[1]
    assert x0.shape == y0.shape == (3, 64, 25, 2)
    assert not x0[2].any() and y0[2].any()  # 2-D in, 3-D out
    assert not torch.equal(x0, x1)  # two views
    # the target is the teacher's view-normalised window: the spine of the first frames is along +z
    spine = y0[:, 0, 1, 0] - y0[:, 0, 0, 0]
    assert spine[2] > 0 and float(spine[:2].norm()) < 0.1 * float(spine[2])


def test_ntu_proportions_keep_size_and_directions_and_set_ratios(demo_clip: np.ndarray) -> None:
    """CMU mocap (long thighs for its spine) gets NTU's bone ratios at its own size; directions are kept."""
    clip = demo_clip.copy()
    clip[:, 5:9] = 0  # frames without the body stay empty
    out = to_ntu_proportions(clip)
    assert not out[:, 5:9].any() and out[:, 10:, :, 0].any() and not out[..., 1].any()

    def bones(d: np.ndarray) -> np.ndarray:
        x = d[:, :, :, 0].transpose(1, 2, 0)
        return x[:, CHILD] - x[:, PARENT]  # [T, B, 3]

    before, after = bones(clip[:, 10:]), bones(out[:, 10:])
    lengths = np.linalg.norm(after, axis=-1)
    ratios = np.median(lengths, axis=0) / LENGTH
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-4)  # every bone at the same multiple of NTU's
    assert 0.7 < ratios[0] < 1.5  # an adult stays an adult (this performer: 1.28 NTU medians)
    cos = (before * after).sum(-1) / np.maximum(np.linalg.norm(before, axis=-1) * lengths, 1e-12)
    assert cos[np.linalg.norm(before, axis=-1) > 1e-6].min() > 0.9999
    np.testing.assert_array_equal(out[:, 10:, 0], clip[:, 10:, 0])  # the spine base does not move


def test_official_shiftgcn_still_names_the_ntu_samples_with_ntu_proportions(one_torch_thread) -> None:  # type: ignore[no-untyped-def]
    """Setting the bone lengths keeps the action: the official NTU-120 model names all six NTU samples."""
    from dvta_live.backbone.checkpoint import load_torch_checkpoint
    from dvta_live.skeleton.readers import read_path

    from conftest import shared_path

    model, _ = load_torch_checkpoint(shared_path("weights", "shift-gcn", "ntu120_ShiftGCN_joint_xsub.pt"),
                                     "shiftgcn64")
    data = read_path(shared_path("data", "ntu"))
    recipe = get_recipe("shiftgcn64")
    windows = torch.from_numpy(np.stack([recipe.apply(to_ntu_proportions(s.data)) for s in data]))
    with torch.no_grad():
        _, logits = model(windows)
    assert logits.argmax(1).tolist() == [s.label for s in data]


def test_a_broken_resume_state_is_one_clear_error(tmp_path: Path, demo_clip: np.ndarray) -> None:
    from dvta_live.errors import UserError
    from dvta_live.skeleton.sequence import SkeletonSequence

    out = tmp_path / "lifted.safetensors"
    (tmp_path / "lifted.safetensors.last.pt").write_bytes(b"not a checkpoint")
    clips = [SkeletonSequence(data=demo_clip, fps=30.0)]
    with pytest.raises(UserError, match="cannot resume") as err:
        train_lifted(_teacher_path(tmp_path), clips, clips, out, LiftConfig(epochs=1, width=8, blocks=1),
                     resume=True)
    assert "lifted.safetensors.last.pt" in str(err.value)
