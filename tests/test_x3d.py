"""PoseC3D X3D-shallow on keypoints: pyskl checkpoint import, in-graph heatmaps vs a numpy reference
written from pyskl's GeneratePoseTarget, the pre-graph steps, ONNX parity, and the NTU samples."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

from dvta_live.backbone.x3d import (
    X3D,
    PseudoHeatmap,
    convert_pyskl_state_dict,
    flip_order,
    keypoints_to_model_input,
    uniform_sample_test,
    x3d_from_pyskl,
)
from dvta_live.skeleton.classnames import NTU60_CLASSES

from conftest import shared_path

WEIGHTS = ("weights", "posec3d-x3d-ntu60-hrnet2d", "x3d_shallow_ntu60_xsub_hrnet_epoch24.pth")
PARAMS_NTU60 = 254_508


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):  # type: ignore[no-untyped-def]
    yield


@pytest.fixture(scope="module")
def checkpoint() -> dict:
    return torch.load(shared_path(*WEIGHTS), map_location="cpu", weights_only=False)


def _pyskl_names(model: X3D) -> dict[str, torch.Tensor]:
    """A model's state dict under pyskl's Recognizer3D names (what a pyskl checkpoint holds)."""
    return {("cls_head.fc_cls." + k[3:]) if k.startswith("fc.") else "backbone." + k: v
            for k, v in model.state_dict().items()}


def _random_keypoints(rng: np.random.Generator, t: int = 8, m: int = 2, size: int = 64) -> np.ndarray:
    kp = np.zeros((3, t, 17, m), np.float32)
    kp[:2] = rng.uniform(-4, size + 4, (2, t, 17, m))
    kp[2] = rng.uniform(0, 1, (t, 17, m))
    kp[2][rng.uniform(size=(t, 17, m)) < 0.2] = 0  # missing
    kp[2][rng.uniform(size=(t, 17, m)) < 0.05] = 5e-4  # under pyskl's 1e-3: skipped
    return kp


# --- checkpoint -------------------------------------------------------------------------------------------

def test_checkpoint_loads_strict(checkpoint: dict) -> None:
    sd = checkpoint["state_dict"]
    state = convert_pyskl_state_dict(checkpoint)
    model = X3D(num_class=60)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: tuple(v.shape) for k, v in
                                                                          state.items()}
    model.load_state_dict(state, strict=True)
    assert sum(p.numel() for p in model.parameters()) == PARAMS_NTU60
    assert len(state) == len(sd) == 213
    # Values are pyskl's except subnormals (220,206 of the parameters), zeroed for CPU speed.
    tiny = torch.finfo(torch.float32).tiny
    loaded = model.state_dict()
    for k, v in sd.items():
        k = "fc." + k[len("cls_head.fc_cls."):] if k.startswith("cls_head.") else k[len("backbone."):]
        got = loaded[k]
        if v.is_floating_point():
            assert torch.equal(got, torch.where(v.abs() < tiny, torch.zeros_like(v), v)), k
            assert not ((got != 0) & (got.abs() < tiny)).any(), k
        else:
            assert torch.equal(got, v), k
    model = x3d_from_pyskl(checkpoint, double=True)
    assert not model.training and model.num_class == 60 and model.hparams()["double"] is True


def test_convert_round_trip_without_shared() -> None:
    src = X3D(num_class=7)
    state = convert_pyskl_state_dict({"state_dict": {"module." + k: v for k, v in _pyskl_names(src).items()}})
    assert set(state) == set(src.state_dict())
    model = x3d_from_pyskl(_pyskl_names(src))
    assert model.num_class == 7 and (model.pooled_dim, model.feature_dim) == (216, 256)
    assert X3D(**model.hparams()).hparams() == model.hparams()


def test_other_architectures_are_refused() -> None:
    good = _pyskl_names(X3D(num_class=60))
    slowonly = {"backbone.conv1.conv.weight": torch.zeros(32, 17, 1, 7, 7),
                "backbone.layer1.0.conv1.conv.weight": torch.zeros(32, 32, 1, 1, 1),
                "cls_head.fc_cls.weight": torch.zeros(60, 512), "cls_head.fc_cls.bias": torch.zeros(60)}
    rgb = dict(good, **{"backbone.conv1_s.conv.weight": torch.zeros(24, 3, 1, 3, 3)})
    missing = {k: v for k, v in good.items() if not k.startswith("backbone.layer3.2.")}
    for sd, needle in ((slowonly, "backbone.conv1.conv.weight"), (rgb, "conv1_s.conv.weight: [24, 3, 1, 3, 3]"),
                       (missing, "missing"), ({"meta": 1}, "not a state dict")):
        with pytest.raises(ValueError, match="X3D-shallow") as exc:
            convert_pyskl_state_dict(sd)
        text = str(exc.value)
        assert "stage_blocks=(2, 5, 3)" in text and needle.replace("backbone.", "") in text, text


# --- heatmaps ---------------------------------------------------------------------------------------------

def _pyskl_heatmap(kp: np.ndarray, size: int = 64, sigma: float = 0.6) -> np.ndarray:
    """pyskl GeneratePoseTarget(with_kp=True, use_score=True) of [3, T, V, M] -> [V, T, size, size]."""
    _, t_len, v_len, m_len = kp.shape
    out = np.zeros((v_len, t_len, size, size), np.float32)
    for t in range(t_len):
        for v in range(v_len):
            arr = out[v, t]
            for m in range(m_len):
                mu_x, mu_y, score = kp[0, t, v, m], kp[1, t, v, m], kp[2, t, v, m]
                if score < 1e-3:
                    continue
                st_x, ed_x = max(int(mu_x - 3 * sigma), 0), min(int(mu_x + 3 * sigma) + 1, size)
                st_y, ed_y = max(int(mu_y - 3 * sigma), 0), min(int(mu_y + 3 * sigma) + 1, size)
                x = np.arange(st_x, ed_x, 1, np.float32)
                y = np.arange(st_y, ed_y, 1, np.float32)
                if not (len(x) and len(y)):
                    continue
                y = y[:, None]
                patch = np.exp(-((x - mu_x) ** 2 + (y - mu_y) ** 2) / 2 / sigma ** 2) * score
                arr[st_y:ed_y, st_x:ed_x] = np.maximum(arr[st_y:ed_y, st_x:ed_x], patch)
    return out


def test_heatmap_matches_pyskl() -> None:
    rng = np.random.default_rng(1)
    kp = _random_keypoints(rng, t=12, m=3)
    # pyskl's box edge cases: centre left of / right of the grid (int() truncates toward zero), on a pixel.
    for v, xy in enumerate(((-2.5, 30.0), (-1.9, 30.0), (66.5, 30.0), (10.0, 20.0), (63.9, -2.79))):
        kp[:, 0, v, 0] = (*xy, 1.0)
    ref = _pyskl_heatmap(kp)
    got = PseudoHeatmap(64)(torch.from_numpy(kp)[None])[0].numpy()
    assert got.shape == (17, 12, 64, 64)
    assert np.abs(got - ref).max() < 1e-5  # measured 1.2e-7
    assert ((got > 0) == (ref > 0)).all()  # the same 3-sigma boxes
    assert ref[0, 0, 30, 0] > 0  # the truncation quirk is real: x = -2.5 still lights column 0


def test_double_is_pyskl_flip_with_averaged_features() -> None:
    torch.manual_seed(0)
    model = X3D(num_class=5, heatmap_size=32).eval()
    x = torch.from_numpy(_random_keypoints(np.random.default_rng(2), t=8, size=32))[None].repeat(2, 1, 1, 1, 1)
    with torch.no_grad():
        for m in model.modules():  # non-trivial BN statistics
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2)
        heat = model.heatmap(x)
        flipped = torch.flip(heat, [4])[:, flip_order()]  # pyskl: heatmap[..., ::-1][:, indices]
        want = (model.volume_features(heat) + model.volume_features(flipped)) / 2
        model.double = True
        feat, logits = model(x)
    torch.testing.assert_close(feat[:, :216], want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logits, model.fc(want), rtol=1e-5, atol=1e-6)
    assert flip_order()[:5] == [0, 2, 1, 4, 3]


def test_interface_matches_shiftgcn() -> None:
    model = X3D(num_class=60).eval()
    x = torch.zeros(2, 3, 48, 17, 2)
    feat, logits = model(x)
    assert feat.shape == (2, 256) and logits.shape == (2, 60) and not feat[:, 216:].any()
    torch.testing.assert_close(model.features(x), feat)
    assert X3D(num_class=0).eval()(x)[1].shape == (2, 0)
    with pytest.raises(ValueError, match="17"):
        model(torch.zeros(1, 3, 48, 25, 2))


# --- pre-graph steps --------------------------------------------------------------------------------------

def test_uniform_sample_test_mode() -> None:
    np.testing.assert_array_equal(uniform_sample_test(20), np.arange(48) % 20)  # short: looped
    for t in (48, 70, 95, 96, 300):
        inds = uniform_sample_test(t)
        assert len(inds) == 48 and inds.min() >= 0 and inds.max() < t and (np.diff(inds) > 0).all()
        np.testing.assert_array_equal(inds, uniform_sample_test(t))  # deterministic (seed 255)
    np.testing.assert_array_equal(uniform_sample_test(48), np.arange(48))
    bids = np.array([i * 300 // 48 for i in range(49)])
    assert ((uniform_sample_test(300) >= bids[:-1]) & (uniform_sample_test(300) < bids[1:])).all()


def test_keypoints_to_model_input_box() -> None:
    kp = np.zeros((3, 30, 17, 2), np.float32)
    kp[0, :, :, 0] = np.linspace(100, 200, 17)  # x spans 100..200, y 50..250: the box is set by y
    kp[1, :, :, 0] = np.linspace(50, 250, 17)
    kp[2, :, :, 0] = 0.8
    kp[2, :, 3, 0] = 0  # missing: its coordinates must not count
    kp[:2, :, 3, 0] = 5000
    out = keypoints_to_model_input(kp)
    assert out.shape == (3, 48, 17, 2) and out.dtype == np.float32
    # centre (150, 150), half side 200 / 2 * 1.25 = 125: box [25, 275)^2 -> 64 / 250 per pixel
    np.testing.assert_allclose(out[0, :, 0, 0], (100 - 25) * 64 / 250, rtol=1e-6)
    np.testing.assert_allclose(out[1, :, 16, 0], (250 - 25) * 64 / 250, rtol=1e-6)
    assert (out[:, :, 3, 0] == 0).all() and (out[:, :, :, 1] == 0).all()
    assert np.allclose(out[2, :, :, 0][:, np.arange(17) != 3], 0.8)
    assert out[:2].min() >= 0 and out[:2].max() <= 64


def test_keypoints_to_model_input_degenerate() -> None:
    zeros = keypoints_to_model_input(np.zeros((3, 60, 17, 2), np.float32))
    assert zeros.shape == (3, 48, 17, 2) and not zeros.any()
    assert not keypoints_to_model_input(np.zeros((3, 0, 17, 1), np.float32)).any()
    kp = np.full((3, 5, 17, 1), np.nan, np.float32)
    assert np.isfinite(keypoints_to_model_input(kp)).all()
    kp = np.zeros((3, 5, 17, 1), np.float32)
    kp[:, :, 0, 0] = np.array([640, 360, 1])[:, None]  # one point: under pyskl's 10-pixel threshold
    whole = keypoints_to_model_input(kp, img_shape=(720, 1280))  # pyskl: the whole image is resized
    np.testing.assert_allclose(whole[:2, 0, 0, 0], (32, 32))
    assert np.isfinite(keypoints_to_model_input(kp)).all()
    with pytest.raises(ValueError, match="17"):
        keypoints_to_model_input(np.zeros((3, 5, 25, 2)))


# --- ONNX -------------------------------------------------------------------------------------------------

def test_onnx_parity() -> None:
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = X3D(num_class=60, double=True).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.weight.uniform_(0.5, 1.5)
                m.running_mean.uniform_(-0.2, 0.2)
    kp = _random_keypoints(np.random.default_rng(3), t=60)
    kp[:2] *= 20  # image pixels
    x = torch.from_numpy(keypoints_to_model_input(kp))[None]
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracer notes
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=17, input_names=["keypoints"],
                          output_names=["feature", "logits"])
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    feat, logits = sess.run(None, {"keypoints": x.numpy()})
    with torch.no_grad():
        want_feat, want_logits = model(x)
    print(f"ONNX max abs difference: feature {np.abs(feat - want_feat.numpy()).max():.1e}, "
          f"logits {np.abs(logits - want_logits.numpy()).max():.1e}")
    assert np.abs(feat - want_feat.numpy()).max() < 1e-4  # measured 1e-6
    assert np.abs(logits - want_logits.numpy()).max() < 1e-4


# --- NTU samples (Kinect colour-space 2-D joints) ----------------------------------------------------------

def test_ntu_samples(checkpoint: dict) -> None:
    from dvta_live.skeleton.coco17 import from_kinect_colour
    from dvta_live.skeleton.readers import read_ntu_skeleton

    folder = shared_path("data", "ntu")
    model = x3d_from_pyskl(checkpoint)
    ranks = {}
    for path in sorted(folder.glob("*.skeleton")):
        seq = read_ntu_skeleton(path)
        x = torch.from_numpy(keypoints_to_model_input(from_kinect_colour(seq.meta["color_xy"])))[None]
        with torch.inference_mode():
            prob = model(x)[1].softmax(1)[0]
        code = path.stem[-4:]
        ranks[code] = int((prob > prob[seq.label]).sum()) + 1
        print(f"{code} {NTU60_CLASSES[seq.label]!r}: top-1 {NTU60_CLASSES[int(prob.argmax())]!r} "
              f"{float(prob.max()):.2f}, true class rank {ranks[code]}")
    if len(ranks) < 6:
        pytest.skip(f"needs the six NTU samples in {folder}, found {len(ranks)}")
    # Measured: A001 0.69, A058 (two persons) 1.00, A034 0.48 at top-1; A003 2nd (drink water),
    # A017 3rd (kicking something), A011 reading 9th.
    assert ranks["A001"] == ranks["A058"] == ranks["A034"] == 1
    assert ranks["A003"] <= 3 and ranks["A017"] <= 5
