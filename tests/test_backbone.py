"""Backbones: graphs, ST-GCN, Shift-GCN (plain-PyTorch temporal shift vs the CUDA kernel's semantics),
official checkpoints on real NTU samples, the project checkpoint format and ONNX parity."""

from __future__ import annotations

import io
import math
import re
import warnings

import numpy as np
import pytest
import torch

from dvta_live.backbone import (
    STGCN,
    BackboneInfo,
    ShiftGCN,
    TemporalShift,
    agcn_spatial_graph,
    import_checkpoint,
    load_backbone,
    load_torch_checkpoint,
    read_backbone_info,
    save_backbone,
    stgcn_spatial_graph,
)
from dvta_live.backbone.stgcn import ConvTemporalGraphical
from dvta_live.errors import UserError
from dvta_live.skeleton.layouts import NTU25, SPINE_SHOULDER

from conftest import SHARED, shared_path

torch.set_num_threads(2)

NTU_SAMPLES = (
    "S001C001P001R001A001", "S001C001P001R001A011", "S001C003P008R002A058",
    "S002C001P003R001A003", "S003C001P015R001A034", "S004C002P003R001A017",
)
WEIGHTS = {120: "ntu120_ShiftGCN_joint_xsub.pt", 60: "ntu_ShiftGCN_joint_xsub.pt"}


# --- graphs ---------------------------------------------------------------------------------------------

def _neighbours() -> np.ndarray:
    adj = np.zeros((25, 25))
    for c, p in NTU25.bones:
        adj[c, p] = adj[p, c] = 1
    return adj


def test_stgcn_spatial_partitions_follow_the_official_normalisation() -> None:
    a = stgcn_spatial_graph()
    adj = _neighbours()
    deg = adj.sum(0) + 1  # neighbours + self loop
    assert a.shape == (3, 25, 25) and a.dtype == np.float32
    # normalize_digraph divides columns by the degree: the partitions together have unit column sums,
    # and un-normalising gives back the symmetric adjacency with self loops.
    np.testing.assert_allclose(a.sum(0).sum(0), np.ones(25), atol=1e-6)
    np.testing.assert_allclose(a.sum(0) * deg[None, :], adj + np.eye(25), atol=1e-6)
    np.testing.assert_allclose(a[0], np.diag(1 / deg), atol=1e-6)  # root: the joint itself
    close, further = a[1] > 0, a[2] > 0
    assert not (close & further).any() and np.array_equal(close | further, adj > 0)
    # The official hop distances stop at max_hop = 1 (inf beyond), so only bones touching the centre's
    # 1-ring are split by distance: the 8 "further" entries point from the centre to its 4 neighbours
    # and from those to their next joints; every other bone, both ways, joins the root partition.
    c = SPINE_SHOULDER
    ring = [NTU25.index(j) for j in ("spine_mid", "neck", "left_shoulder", "right_shoulder")]
    nxt = [NTU25.index(j) for j in ("spine_base", "head", "left_elbow", "right_elbow")]
    assert set(zip(*np.nonzero(further))) == {(c, r) for r in ring} | set(zip(ring, nxt))
    assert math.isclose(a[0][c, c], 1 / 5, rel_tol=1e-6)  # 4 neighbours + self
    assert math.isclose(a[2][c, ring[0]], 1 / 3, rel_tol=1e-6)  # spine_mid: base, shoulder, self


def test_agcn_spatial_graph_is_identity_inward_outward() -> None:
    a = agcn_spatial_graph()
    np.testing.assert_array_equal(a[0], np.eye(25))
    inward, outward = a[1], a[2]
    assert np.array_equal(inward > 0, (outward > 0).T)
    # Every joint but the root (spine_shoulder) has exactly one parent: inward columns are one-hot.
    sums = inward.sum(0)
    assert sums[SPINE_SHOULDER] == 0 and np.allclose(np.delete(sums, SPINE_SHOULDER), 1)
    assert (inward > 0).sum() == 24 and set(np.unique(inward)) == {0.0, 1.0}
    # Outward columns are normalised over children; leaves (head, feet, thumbs, hand tips) have none.
    leaves = {i for i in range(25) if i not in {p for _, p in NTU25.bones}}
    out_sums = outward.sum(0)
    assert all(out_sums[i] == 0 for i in leaves) and all(
        math.isclose(out_sums[i], 1, rel_tol=1e-6) for i in range(25) if i not in leaves)
    assert math.isclose(outward[NTU25.index("neck"), SPINE_SHOULDER], 1 / 4, rel_tol=1e-6)


def test_graph_conv_matches_official_einsum() -> None:
    torch.manual_seed(0)
    conv = ConvTemporalGraphical(4, 6, 3)
    x = torch.randn(2, 4, 7, 25)
    a = torch.rand(3, 25, 25)
    y = conv(x, a)
    ref = torch.einsum("nkctv,kvw->nctw", conv.conv(x).view(2, 3, 6, 7, 25), a)
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)


# --- shapes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("t", [50, 37])
def test_stgcn_shapes(t: int) -> None:
    model = STGCN(num_class=55).eval()
    with torch.no_grad():
        feat, logits = model(torch.randn(3, 3, t, 25, 2))
    assert feat.shape == (3, 256) and logits.shape == (3, 55)
    assert sum(p.numel() for p in STGCN().parameters()) < 1_000_000  # the small SMIE encoder
    with torch.no_grad():
        feat, logits = STGCN().eval()(torch.randn(1, 3, t, 25, 2))
    assert feat.shape == (1, 256) and logits.shape == (1, 0)


@pytest.mark.parametrize("t", [48, 52])
def test_shiftgcn_shapes(t: int) -> None:
    model = ShiftGCN(num_class=120).eval()
    with torch.no_grad():
        feat, logits = model(torch.randn(2, 3, t, 25, 2))
    assert feat.shape == (2, 256) and logits.shape == (2, 120)


def test_shiftgcn_rejects_a_window_not_divisible_by_4() -> None:
    with pytest.raises(UserError, match=r"divisible by 4, got T=50.*48 or 52"):
        ShiftGCN().eval()(torch.zeros(1, 3, 50, 25, 2))


# --- temporal shift vs the CUDA kernel ------------------------------------------------------------------

def _kernel_reference(inp: np.ndarray, xpos: np.ndarray, ypos: np.ndarray, stride: int) -> np.ndarray:
    """shift_cuda_forward_kernel, one output element at a time, in float32 like the kernel."""
    inp = inp.astype(np.float32)
    n_, c_, h_in, w_in = inp.shape
    ypos = ypos.astype(np.float32) + np.float32(0.5 if stride != 1 else 0.0)  # ShiftFunction.forward
    out = np.zeros((n_, c_, h_in // stride, w_in), dtype=np.float32)
    one = np.float32(1)
    for c in range(c_):
        x, y = np.float32(xpos[c]), ypos[c]
        x1, y1 = math.floor(x), math.floor(y)
        x2, y2 = x1 + 1, y1 + 1
        dx, dy = np.float32(x - np.float32(x1)), np.float32(y - np.float32(y1))
        for h in range(h_in // stride):
            for w in range(w_in):
                def q(hh: int, ww: int, c: int = c) -> np.ndarray:
                    inside = 0 <= hh < h_in and 0 <= ww < w_in
                    return inp[:, c, hh, ww] if inside else np.zeros(n_, np.float32)
                ho = h * stride
                out[:, c, h, w] = (q(ho + y1, w + x1) * (one - dx) * (one - dy)
                                   + q(ho + y1, w + x2) * dx * (one - dy)
                                   + q(ho + y2, w + x1) * (one - dx) * dy
                                   + q(ho + y2, w + x2) * dx * dy)
    return out


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("joint_shift", ["fractional", "released"])
def test_temporal_shift_equals_cuda_kernel_semantics(stride: int, joint_shift: str) -> None:
    rng = np.random.default_rng(stride)
    c = 12
    shift = TemporalShift(c, stride=stride).eval()
    ypos = rng.uniform(-5, 5, c).astype(np.float32)
    ypos[:4] = [0.0, 2.0, -3.0, 14.5]  # integer shifts, and one past the whole clip (all zeros)
    if joint_shift == "fractional":  # exercises the joint-axis interpolation and its borders
        xpos = rng.uniform(-2.5, 2.5, c).astype(np.float32)
    else:  # what the released checkpoints hold: |xpos| ~ 2e-11, both signs
        xpos = (rng.choice([-1, 1], c) * rng.uniform(1e-11, 3e-11, c)).astype(np.float32)
    with torch.no_grad():
        shift.xpos.copy_(torch.from_numpy(xpos))
        shift.ypos.copy_(torch.from_numpy(ypos))
        x = rng.standard_normal((2, c, 12, 5)).astype(np.float32)
        got = shift(torch.from_numpy(x)).numpy()
        with torch.enable_grad():  # the training (out-of-place) path gives the same numbers
            got_grad = shift(torch.from_numpy(x).requires_grad_()).detach().numpy()
    ref = _kernel_reference(x, xpos, ypos, stride)
    assert got.shape == (2, c, 12 // stride, 5)
    np.testing.assert_allclose(got, ref, atol=2e-6, rtol=1e-5)
    np.testing.assert_allclose(got_grad, ref, atol=2e-6, rtol=1e-5)
    assert not got[:, 3].any()  # shifted past the end


def test_temporal_shift_training_uses_the_official_position_gradient() -> None:
    torch.manual_seed(0)
    shift = TemporalShift(8, stride=2, init_scale=3).train()
    x = torch.randn(2, 8, 16, 25, requires_grad=True)
    (shift(x) * torch.randn(2, 8, 8, 25)).sum().backward()
    assert torch.equal(shift.xpos.grad, torch.zeros(8))  # applyShiftConstraint: 0 for x
    torch.testing.assert_close(shift.ypos.grad.abs(), torch.full((8,), 0.01))  # 0.01 * sign(grad) for y
    assert x.grad is not None and x.grad.abs().sum() > 0


# --- official checkpoints on real NTU samples ------------------------------------------------------------

@pytest.fixture(scope="module")
def ntu_inputs() -> tuple[torch.Tensor, list[int]]:
    from dvta_live.skeleton.readers import read_ntu_skeleton
    from dvta_live.skeleton.recipe import get_recipe

    folder = shared_path("data", "ntu")
    recipe = get_recipe("shiftgcn300")
    data = np.stack([recipe.apply(read_ntu_skeleton(folder / f"{s}.skeleton").data) for s in NTU_SAMPLES])
    labels = [int(re.search(r"A(\d{3})", s).group(1)) - 1 for s in NTU_SAMPLES]
    return torch.from_numpy(data), labels


def _label_map(num_class: int) -> list[str]:
    path = shared_path("data", "ntu", "label_map_ntu120.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()][:num_class]


@pytest.mark.parametrize("num_class", [120, 60])
def test_official_shiftgcn_weights_classify_ntu_samples(num_class: int, ntu_inputs, capsys) -> None:
    model, info = load_torch_checkpoint(shared_path("weights", "shift-gcn", WEIGHTS[num_class]))
    assert isinstance(model, ShiftGCN) and info.num_class == num_class and len(model.state_dict()) == 302
    assert info.recipe_name == "shiftgcn300" and info.feature_dim == 256
    names = _label_map(num_class)
    x, labels = ntu_inputs
    keep = [i for i, y in enumerate(labels) if y < num_class]
    with torch.inference_mode():
        feat, logits = model(x[keep])
    assert feat.shape == (len(keep), 256)
    probs = logits.softmax(1)
    lines = []
    for row, i in enumerate(keep):
        top = probs[row].topk(5)
        lines.append(f"{NTU_SAMPLES[i]} (true {labels[i]} {names[labels[i]]!r}): " + ", ".join(
            f"{int(c)} {names[int(c)]!r} {float(p):.3f}" for p, c in zip(top.values, top.indices)))
        assert int(top.indices[0]) == labels[i], lines[-1]
    with capsys.disabled():
        print(f"\n{WEIGHTS[num_class]} top-5:\n  " + "\n  ".join(lines))


# --- checkpoints: project format and errors --------------------------------------------------------------

def _randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial BN statistics and shifts, so round trips and exports test something."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point() and "running_var" in name:
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.is_floating_point() and name.endswith(("running_mean", ".bias")):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
    return model.eval()


@pytest.mark.parametrize("arch", ["shiftgcn", "stgcn"])
def test_project_format_round_trip(arch: str, tmp_path) -> None:
    model = _randomise(ShiftGCN(num_class=5) if arch == "shiftgcn" else STGCN(num_class=5, hidden_channels=8))
    names = ["a", "b", "c", "d", "e"]
    recipe = {"name": "shiftgcn300", "window": 52} if arch == "shiftgcn" else "smie50"
    path = tmp_path / "bb.safetensors"
    saved = save_backbone(path, model, recipe, names, source="unit test", extra={"epochs": 1})
    info = read_backbone_info(path)
    assert info == saved and info.architecture == arch and info.class_names == names
    assert info.layout == "ntu25" and info.feature_dim == 256 and info.extra == {"epochs": 1}
    loaded, info2 = load_backbone(path)
    assert type(loaded) is type(model) and info2 == info and not loaded.training
    t = info.make_recipe().window
    x = torch.randn(2, 3, t, 25, 2)
    with torch.no_grad():
        for a, b in zip(model(x), loaded(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_stgcn_state_dict_with_wrapper_prefix_imports(tmp_path) -> None:
    model = _randomise(STGCN(hidden_channels=8))
    path = tmp_path / "aimclr.pt"
    torch.save({"epoch": 3, "state_dict": {f"encoder_q.{k}": v for k, v in model.state_dict().items()}}, path)
    loaded, info = load_torch_checkpoint(path)
    assert isinstance(loaded, STGCN) and info.hparams["hidden_channels"] == 8
    assert info.recipe_name == "smie50" and info.class_names is None
    x = torch.randn(1, 3, 20, 25, 2)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[0], loaded(x)[0], rtol=0, atol=0)


def test_import_official_checkpoint_to_project_format(tmp_path) -> None:
    src = shared_path("weights", "shift-gcn", WEIGHTS[60])
    info = import_checkpoint(src, tmp_path / "shift60.safetensors")
    assert info.num_class == 60 and info.class_names[57] == "handshaking"
    assert info.recipe_name == "shiftgcn300"
    assert src.name in info.source and len(info.extra["source_sha256"]) == 64
    model, _ = load_backbone(tmp_path / "shift60.safetensors")
    official, _ = load_torch_checkpoint(src)
    for k, v in official.state_dict().items():
        assert torch.equal(v, model.state_dict()[k]), k


def _expect_user_error(path, *patterns: str) -> None:
    with pytest.raises(UserError) as err:
        load_backbone(path)
    text = str(err.value)
    assert str(path) in text and "\n" not in text, text
    for p in patterns:
        assert re.search(p, text), text


def test_bad_checkpoints_give_one_clear_line(tmp_path) -> None:
    _expect_user_error(tmp_path / "missing.pt", "not found")

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x02this is not a checkpoint" * 10)
    _expect_user_error(corrupt, "cannot be read as a PyTorch state dict", "official Shift-GCN")

    other = tmp_path / "resnet.pt"
    torch.save(torch.nn.Linear(3, 4).state_dict(), other)
    _expect_user_error(other, "not a Shift-GCN, ST-GCN or PoseC3D X3D checkpoint")

    code = tmp_path / "pickle.pt"
    torch.save({"model": torch.nn.Linear(3, 4)}, code)  # a pickled module: refused by weights_only
    _expect_user_error(code, "cannot be read as a PyTorch state dict")

    state = ShiftGCN(num_class=60).state_dict()
    wrong = dict(state, **{"l2.gcn1.Linear_weight": torch.zeros(64, 32)})
    torch.save(wrong, tmp_path / "shape.pt")
    _expect_user_error(tmp_path / "shape.pt", r"l2\.gcn1\.Linear_weight.*\[64, 32\].*\[64, 64\]")

    partial = {k: v for k, v in state.items() if not k.startswith("l10.")}
    torch.save(partial, tmp_path / "partial.pt")
    _expect_user_error(tmp_path / "partial.pt", "not a Shift-GCN checkpoint", "missing")

    nan = dict(state, **{"fc.weight": torch.full((60, 256), float("nan"))})
    torch.save(nan, tmp_path / "nan.pt")
    _expect_user_error(tmp_path / "nan.pt", "NaN")

    good = tmp_path / "good.safetensors"
    save_backbone(good, ShiftGCN(num_class=3), "shiftgcn300")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:5000])
    _expect_user_error(truncated, r"safetensors")

    from safetensors.torch import save_file
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    _expect_user_error(plain, "not a dvta-live backbone")


def test_metadata_is_validated(tmp_path) -> None:
    info = BackboneInfo(architecture="shiftgcn", hparams=ShiftGCN(num_class=2).hparams(),
                        recipe={"name": "shiftgcn300", "window": 50}, class_names=["x", "y"])
    with pytest.raises(UserError, match="multiple of 4"):
        info.validate("m.safetensors")
    with pytest.raises(UserError, match="2 class names for a 3-way head"):
        save_backbone(tmp_path / "m.safetensors", ShiftGCN(num_class=3), "shiftgcn300", ["x", "y"])
    with pytest.raises(UserError, match="unknown preprocessing recipe"):
        save_backbone(tmp_path / "m.safetensors", ShiftGCN(num_class=3), "nope")


# --- ONNX export parity ----------------------------------------------------------------------------------

def _export_and_compare(model: torch.nn.Module, x_export: torch.Tensor, x_run: torch.Tensor) -> list[float]:
    import onnx
    import onnxruntime as ort

    buf = io.BytesIO()
    with warnings.catch_warnings():  # the legacy exporter's deprecation / tracer warnings
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x_export,), buf, dynamo=False, opset_version=17,
                          input_names=["skeleton"], output_names=["feature", "logits"],
                          dynamic_axes={"skeleton": {0: "batch"}, "feature": {0: "batch"},
                                        "logits": {0: "batch"}})
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version >= 17
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    session = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
    got = session.run(None, {"skeleton": x_run.numpy()})
    with torch.no_grad():
        want = model(x_run)
    diffs = []
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape)  # a batch size other than the exported one
        diffs.append(float(np.abs(g - w.numpy()).max()))
        np.testing.assert_allclose(g, w.numpy(), atol=1e-4, rtol=1e-4)
    return diffs


def test_onnx_export_stgcn(capsys) -> None:
    torch.manual_seed(0)
    model = _randomise(STGCN(num_class=60))
    diffs = _export_and_compare(model, torch.randn(2, 3, 50, 25, 2), torch.randn(5, 3, 50, 25, 2))
    with capsys.disabled():
        print(f"\nONNX ST-GCN max |onnxruntime - eager|: feature {diffs[0]:.2e}, logits {diffs[1]:.2e}")


def test_onnx_export_shiftgcn(capsys) -> None:
    """Official NTU-120 weights on the real samples when ../shared is there, else random weights."""
    weights = SHARED / "weights" / "shift-gcn" / WEIGHTS[120]
    if weights.exists() and (SHARED / "data" / "ntu").exists():
        from dvta_live.skeleton.readers import read_ntu_skeleton
        from dvta_live.skeleton.recipe import get_recipe

        model, _ = load_torch_checkpoint(weights)
        recipe = get_recipe("shiftgcn300")
        x_run = torch.from_numpy(np.stack([recipe.apply(read_ntu_skeleton(
            SHARED / "data" / "ntu" / f"{s}.skeleton").data) for s in NTU_SAMPLES[:3]]))
        what = "official NTU-120 weights, 3 NTU samples"
    else:
        torch.manual_seed(0)
        model = _randomise(ShiftGCN(num_class=120))
        x_run = torch.randn(3, 3, 300, 25, 2)
        what = "random weights"
    diffs = _export_and_compare(model, torch.randn(2, 3, 300, 25, 2), x_run)
    with capsys.disabled():
        print(f"\nONNX Shift-GCN ({what}) max |onnxruntime - eager|: feature {diffs[0]:.2e}, "
              f"logits {diffs[1]:.2e}")


def test_joint_shift_switches_on_when_xpos_is_written() -> None:
    shift = TemporalShift(4).eval()
    assert not shift.joint_shift_needed()  # fresh: |xpos| <= 1e-8, as in the released weights
    x = torch.randn(1, 4, 8, 25)
    with torch.no_grad():
        before = shift(x)
        shift.xpos.copy_(torch.tensor([0.5, -1.25, 0.0, 2.0]))
        after = shift(x)
    assert shift.joint_shift_needed() and not torch.allclose(before, after)
    ref = _kernel_reference(x.numpy(), shift.xpos.detach().numpy(), shift.ypos.detach().numpy(), 1)
    np.testing.assert_allclose(after.numpy(), ref, atol=2e-6, rtol=1e-5)


def test_official_shiftgcn_weights_with_the_live_recipe_shiftgcn64() -> None:
    """The 64-frame live recipe keeps the official NTU-120 weights right on all six NTU samples."""
    import re

    from dvta_live.skeleton.readers import read_ntu_skeleton
    from dvta_live.skeleton.recipe import get_recipe

    model, _ = load_torch_checkpoint(shared_path("weights", "shift-gcn", WEIGHTS[120]), "shiftgcn64")
    folder = shared_path("data", "ntu")
    recipe = get_recipe("shiftgcn64")
    x = torch.from_numpy(np.stack([recipe.apply(read_ntu_skeleton(folder / f"{s}.skeleton").data)
                                   for s in NTU_SAMPLES]))
    assert x.shape[2] == 64
    labels = [int(re.search(r"A(\d{3})", s).group(1)) - 1 for s in NTU_SAMPLES]
    with torch.inference_mode():
        _, logits = model(x)
    assert logits.argmax(1).tolist() == labels
