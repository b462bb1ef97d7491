"""The DVTA head and its loss: released-code semantics, the precomputed text side, ONNX, and learning."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dvta_live.dvta.bridge import make_bridge
from dvta_live.dvta.head import DVTAHead, LeakySigmoid, TextSide, TextSideScorer, parameter_count
from dvta_live.dvta.loss import multi_positive_kl_loss, positive_matrix


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with n intra-op threads (one thread avoids OpenMP stalls on a shared 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def trained_like_head(text_dim: int, dtype: torch.dtype = torch.float32, seed: int = 0) -> DVTAHead:
    """A head whose temperatures differ and whose metric network output takes both signs."""
    torch.manual_seed(seed)
    head = DVTAHead(text_dim=text_dim).to(dtype).eval()
    with torch.no_grad():
        head.scaling_factors.copy_(torch.tensor([0.07, 0.2], dtype=dtype))
        # centre the metric network's output on the LeakySigmoid's kink, so both branches are used
        s = head.project_skeleton(torch.randn(8, 256, dtype=dtype))
        p = head.direct_alignment.text_projector(F.normalize(torch.randn_like(s), dim=-1))
        raw = head.augmented_alignment.net(torch.cat((s, p), dim=-1))
        head.augmented_alignment.net[4].bias -= raw.median()
    return head


# ------------------------------------------------------------------------------------------ loss


def test_loss_equals_hand_computed_value() -> None:
    logits = [[2.0, 0.5, -1.0], [0.3, 1.2, 0.0], [-0.5, 0.1, 1.5]]
    labels = [0, 0, 1]  # samples 0 and 1 share a class

    def kl_rows(rows: list[list[float]], gt: list[list[float]]) -> float:
        total = 0.0
        for z, g in zip(rows, gt, strict=True):
            t_den = sum(math.exp(10 * v) for v in g)
            target = [math.exp(10 * v) / t_den for v in g]  # softmax(10 * gt)
            log_z = math.log(sum(math.exp(v) for v in z))
            total += sum(t * (math.log(t) - (v - log_z)) for t, v in zip(target, z, strict=True))
        return total / len(rows)  # KLDivLoss(reduction="batchmean")

    gt = [[1.0 if a == b else 0.0 for b in labels] for a in labels]
    transposed = [list(col) for col in zip(*logits, strict=True)]
    expected = (kl_rows(logits, gt) + kl_rows(transposed, gt)) / 2
    got = multi_positive_kl_loss(torch.tensor(logits, dtype=torch.float64), torch.tensor(labels))
    assert got.item() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.30502, abs=1e-5)  # the number itself, so a changed formula shows
    assert positive_matrix(torch.tensor(labels)).tolist() == gt


def test_loss_prefers_logits_that_rank_all_positives_first() -> None:
    labels = torch.tensor([0, 0, 1, 2])
    gt = positive_matrix(labels)
    good = multi_positive_kl_loss(8 * gt, labels)
    bad = multi_positive_kl_loss(8 * (1 - gt), labels)
    assert good.item() < 0.05 < bad.item()


# ------------------------------------------------------------------------------------ LeakySigmoid


def test_leaky_sigmoid_values_and_gradient() -> None:
    gamma = 0.01
    xs = [-100.0, -1.0, 0.0, 0.5, 3.0]
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = LeakySigmoid(gamma)(x)
    y.sum().backward()

    def sig(v: float) -> float:
        return 1.0 / (1.0 + math.exp(-v))

    value = [gamma * math.exp(gamma * v) if v <= 0 else sig(v) for v in xs]
    slope = [gamma * gamma * math.exp(gamma * v) if v <= 0 else sig(v) * (1 - sig(v)) for v in xs]
    assert y.tolist() == pytest.approx(value, rel=1e-12)
    assert x.grad is not None and x.grad.tolist() == pytest.approx(slope, rel=1e-12)
    # as released: gamma at 0 (the x > 0 branch is not taken), a jump to 0.5 just above it
    assert y[2].item() == pytest.approx(0.01)
    assert LeakySigmoid(gamma)(torch.tensor([1e-6])).item() == pytest.approx(0.5, abs=1e-5)
    assert value[0] == pytest.approx(0.0036788, rel=1e-4) and slope[4] == pytest.approx(0.045177, rel=1e-4)


# ------------------------------------------------------------------------------- shapes, counting


@pytest.mark.parametrize("num_classes", [1, 5, 120, 1000])
def test_scores_for_any_number_of_classes(num_classes: int) -> None:
    head = DVTAHead(text_dim=384).eval()
    text = torch.randn(num_classes, 2, 384)
    with torch.no_grad():
        side = head.encode_text(text)
        assert isinstance(side, TextSide) and side.num_classes == num_classes
        for batch in (1, 4):
            features = torch.randn(batch, 256)
            scores = head(features, text)
            assert scores.shape == (batch, num_classes) and torch.isfinite(scores).all()
            assert torch.equal(head.score(features, side), scores)


def test_parameter_count_matches_paper_table_9() -> None:
    def linear(n_in: int, n_out: int) -> int:
        return n_in * n_out + n_out

    def expected(d: int, hidden: int) -> int:
        visual = linear(256, 256) + linear(256, 384) + linear(384, 512) + linear(512, d)
        text = linear(d, d)
        metric = linear(2 * d, 2 * d) + linear(2 * d, hidden) + linear(hidden, 1)
        return visual + text + metric + 2  # + the two temperatures

    released = DVTAHead(text_dim=768)
    paper = DVTAHead(text_dim=768, metric_hidden=None)
    assert parameter_count(released) == parameter_count(paper) == expected(768, 768) == 4_888_195
    assert math.floor(4_888_195 / 1e4) / 100 == 4.88  # the paper's "4.88 M" is this count cut to 2 decimals
    # D = 384 (all-MiniLM-L6-v2): the released code keeps its hard-coded 768 hidden width, the paper uses D
    assert parameter_count(DVTAHead(text_dim=384)) == expected(384, 768) == 1_888_387
    assert parameter_count(DVTAHead(text_dim=384, metric_hidden=None)) == expected(384, 384) == 1_592_707


def test_state_dict_uses_the_released_names() -> None:
    keys = set(DVTAHead(text_dim=768).state_dict())
    released = {"scaling_factors"}
    released |= {f"direct_alignment.visual_projector.l{i}.{p}" for i in range(4) for p in ("weight", "bias")}
    released |= {f"direct_alignment.text_projector.{p}" for p in ("weight", "bias")}
    released |= {f"augmented_alignment.net.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}
    assert keys == released


def test_bad_shapes_are_refused() -> None:
    head = DVTAHead(text_dim=384)
    with pytest.raises(ValueError, match="text must be"):
        head(torch.randn(2, 256), torch.randn(5, 384))
    with pytest.raises(ValueError, match="text must be"):
        head(torch.randn(2, 256), torch.randn(5, 2, 768))
    with pytest.raises(ValueError, match="features must be"):
        head(torch.randn(2, 128), torch.randn(5, 2, 384))
    with pytest.raises(ValueError, match="one text per sample"):
        head.training_logits(torch.randn(4, 256), torch.randn(3, 2, 384))
    with pytest.raises(ValueError, match="256"):
        DVTAHead(text_dim=384, skeleton_dim=512)


# ------------------------------------------------------------- precomputed text side == released path


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_precomputed_text_side_equals_released_inference(dtype: torch.dtype, tol: float) -> None:
    head = trained_like_head(384, dtype)
    features = torch.randn(6, 256, dtype=dtype)
    text = torch.randn(9, 2, 384, dtype=dtype)
    with torch.no_grad():
        reference = head.reference_scores(features, text)
        fast = head.score(features, head.encode_text(text))
        chunked = head.score(features, head.encode_text(text), chunk_pairs=7)
        # the rewrite must also be exact where the LeakySigmoid takes either branch
        s = head.project_skeleton(features)
        tokens = F.normalize(text, dim=-1)
        attn = torch.softmax(torch.einsum("bd,ckd->bck", s, tokens), dim=-1)
        p = head.direct_alignment.text_projector(torch.einsum("bck,ckd->bcd", attn, tokens))
        raw = head.augmented_alignment.net(torch.cat((s.unsqueeze(1).expand_as(p), p), dim=-1))
    assert (raw > 0).any() and (raw <= 0).any()
    assert (fast - reference).abs().max().item() < tol * reference.abs().max().item()
    assert (chunked - fast).abs().max().item() < tol * reference.abs().max().item()
    assert torch.equal(head(features, text), fast)  # forward is exactly score(encode_text)


def augmented_ref(head: DVTAHead, s: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Released AA logits [B, B]: the metric network on every (skeleton i, text j) concatenation."""
    b = s.shape[0]
    pairs_s, pairs_p = s.unsqueeze(1).expand(b, b, -1), p.unsqueeze(0).expand(b, b, -1)
    return head.augmented_alignment(pairs_s, pairs_p) / head.scaling_factors[1]


def test_training_logits_follow_the_released_step() -> None:
    head = trained_like_head(384, torch.float64)
    features = torch.randn(5, 256, dtype=torch.float64)
    table = torch.randn(3, 2, 384, dtype=torch.float64)
    labels = torch.tensor([0, 2, 2, 1, 0])
    logits = head.training_logits(features, table, labels)
    assert logits.direct.shape == logits.augmented.shape == (5, 5)
    same = head.training_logits(features, table[labels])  # the released call: one text per sample
    assert torch.equal(logits.total, same.total)

    # the released computation, written out: each text enhanced by its own sample's attention
    with torch.no_grad():
        s = head.project_skeleton(features)
        tokens = F.normalize(table[labels], dim=-1)
        attn = torch.softmax(torch.einsum("bd,bkd->bk", s, tokens), dim=-1)
        p = head.direct_alignment.text_projector((tokens * attn.unsqueeze(-1)).sum(1))
        direct = F.normalize(s, dim=-1) @ F.normalize(p, dim=-1).t() / head.scaling_factors[0]
        augmented = augmented_ref(head, s, p)
    torch.testing.assert_close(logits.direct.detach(), direct, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(logits.augmented.detach(), augmented, rtol=1e-10, atol=1e-10)

    # the split first layer (and its in-place ReLU) gives the released concatenation's gradients too
    grads = []
    for aa in (logits.augmented, augmented_ref(head, s, p)):
        head.zero_grad()
        aa.pow(2).sum().backward(retain_graph=True)
        grads.append([q.grad.clone() for q in head.augmented_alignment.parameters()])
    for got, want in zip(*grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)

    # AA's inputs are detached: its loss trains the metric network and tau_aa, never the projectors
    head.zero_grad()
    logits.augmented.sum().backward(retain_graph=True)
    assert head.direct_alignment.visual_projector.l0.weight.grad is None
    assert head.direct_alignment.text_projector.weight.grad is None
    assert head.augmented_alignment.net[0].weight.grad is not None
    assert head.scaling_factors.grad is not None and head.scaling_factors.grad[0] == 0
    head.zero_grad()
    logits.direct.sum().backward()
    assert head.augmented_alignment.net[0].weight.grad is None
    assert head.direct_alignment.visual_projector.l0.weight.grad is not None


# ----------------------------------------------------------------------------------------- ONNX


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter announces its deprecation
def _bridged(head: DVTAHead, weight: float = 1.0) -> DVTAHead:
    """The head with a random 120-class classifier and class texts attached as its bridge."""
    gen = torch.Generator().manual_seed(7)
    classifier = nn.Linear(256, 120)
    with torch.no_grad():
        classifier.weight.copy_(torch.randn(120, 256, generator=gen) * 0.3)
    head.bridge = make_bridge(classifier, torch.randn(120, 384, generator=gen), weight=weight)
    return head


def test_bridge_adds_the_classifiers_text_matched_opinion() -> None:
    """The bridge term is weight * log_softmax(ConSE prior): nothing at weight 0, the same in every
    scoring path, and it moves the top-1 to the label whose context matches the classifier's class."""
    head = trained_like_head(384)
    features, text = torch.randn(4, 256), torch.randn(6, 2, 384)
    with torch.no_grad():
        plain = head(features, text)
        bridge = _bridged(head, weight=0.0).bridge
        assert torch.equal(head(features, text), plain)  # weight 0: exactly the head
        bridge.weight.fill_(2.0)
        bridged = head(features, text)
        np.testing.assert_allclose(head.reference_scores(features, text).numpy(), bridged.numpy(), atol=1e-4)
        p = torch.softmax(features @ bridge.classifier_weight.t() + bridge.classifier_bias, dim=-1)
        prior = F.normalize(p @ bridge.class_text, dim=-1) @ F.normalize(text[:, 1], dim=-1).t() / bridge.temperature
        np.testing.assert_allclose((bridged - plain).numpy(), (2.0 * torch.log_softmax(prior, -1)).numpy(),
                                   atol=1e-4)
        # the classifier sure of class 17, label 3's context = class 17's text: a heavy bridge picks label 3
        bridge.classifier_bias.zero_()[17] = 50.0
        t = text.clone()
        t[3, 1] = bridge.class_text[17] * 5
        bridge.weight.fill_(100.0)
        assert (head(features, t).argmax(1) == 3).all()


def test_onnx_export_matches_eager(tmp_path: Path) -> None:
    for bridged in (False, True):
        _onnx_export_matches_eager(tmp_path, bridged)


def _onnx_export_matches_eager(tmp_path: Path, bridged: bool) -> None:
    ort = pytest.importorskip("onnxruntime")
    head = trained_like_head(384)
    if bridged:
        head = _bridged(head)
    features, text = torch.randn(2, 256), torch.randn(5, 2, 384)
    path = tmp_path / "head.onnx"
    # the TorchScript exporter: the dynamo one needs onnxscript, which the project does not install
    torch.onnx.export(head, (features, text), str(path), dynamo=False, opset_version=17,
                      input_names=["features", "text"], output_names=["scores"],
                      dynamic_axes={"features": {0: "B"}, "text": {0: "C"}, "scores": {0: "B", 1: "C"}})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    side_names = list(TextSide._fields)
    side_axes = {"keys": {1: "C"}, **{n: {0: "C"} for n in side_names[1:]}}
    path_side = tmp_path / "score.onnx"
    with torch.no_grad():
        side = head.encode_text(text)
    torch.onnx.export(TextSideScorer(head), (features, *side), str(path_side), dynamo=False, opset_version=17,
                      input_names=["features", *side_names], output_names=["scores"],
                      dynamic_axes={"features": {0: "B"}, **side_axes, "scores": {0: "B", 1: "C"}})
    session_side = ort.InferenceSession(str(path_side), providers=["CPUExecutionProvider"])

    for batch, classes in [(1, 1), (3, 7), (16, 120)]:
        f, t = torch.randn(batch, 256), torch.randn(classes, 2, 384)
        with torch.no_grad():
            eager = head(f, t).numpy()
            side = head.encode_text(t)
        out = session.run(None, {"features": f.numpy(), "text": t.numpy()})[0]
        inputs = {i.name for i in session_side.get_inputs()}
        assert ("context" in inputs) == bridged  # the bridge's side: an input only when it is used
        feeds = {"features": f.numpy(), **{n: v.numpy() for n, v in zip(side_names, side, strict=True)
                                           if n in inputs}}
        out_side = session_side.run(None, feeds)[0]
        assert out.shape == out_side.shape == (batch, classes)
        assert np.abs(out - eager).max() < 1e-4
        assert np.abs(out_side - eager).max() < 1e-4


# ------------------------------------------------------------------------------------- learning


def test_head_learns_separable_classes() -> None:
    """Trained with the released loss on synthetic features, the head names held-out samples correctly."""
    num_classes, dim, noise = 10, 384, 3.0
    gen = torch.Generator().manual_seed(0)
    text = torch.randn(num_classes, 2, dim, generator=gen)  # a frozen random text table
    means = torch.randn(num_classes, 256, generator=gen)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, num_classes, (n,), generator=gen)
        return means[y] + noise * torch.randn(n, 256, generator=gen), y

    held_x, held_y = sample(300)
    torch.manual_seed(0)
    head = DVTAHead(text_dim=dim, metric_hidden=None)  # the paper's width: half the cost at D = 384
    with torch_threads(1):
        with torch.no_grad():
            before = (head(held_x, text).argmax(1) == held_y).float().mean().item()
        optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
        head.train()
        for _ in range(150):
            x, y = sample(32)
            loss = multi_positive_kl_loss(head.training_logits(x, text, y).total, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        head.eval()
        with torch.no_grad():
            after = (head(held_x, text).argmax(1) == held_y).float().mean().item()
    assert before < 0.4, before  # an untrained head is near chance (0.1)
    assert after > 0.9, after
