"""The DVTA head: Dual Visual-Text Alignment (Kuang et al., Pattern Recognition 2026).

Follows the released code (github.com/jidongkuang/DVTA, ``model.py``; built on YujieOuO/SMIE). Module and
parameter names are the released ones (``direct_alignment.visual_projector.l0``..., ``augmented_alignment.
net.{0,2,4}``, ``scaling_factors``), so a released ``best_model.pt`` state dict loads with
``load_state_dict``. One layout change: text is ``[C, 2, D]`` here (token 0 = label name, token 1 = context,
as ``TextTensor`` holds it); the released code stacks the two tokens last, ``[C, D, 2]``.

Per window and candidate class the released computation is:

    s     = VisualProjector(normalize(feature))                  256 -> 256 (+res) -> 384 -> 512 -> D
    a     = softmax([s . name_c, s . ctx_c])                     SDE: the skeleton attends over 2 tokens
    p     = TextProjector(a0 * name_c + a1 * ctx_c)              Linear(D, D)
    da    = cos(s, p) / tau_da                                   direct alignment
    aa    = LeakySigmoid(MLP([s ; p])) / tau_aa                  augmented alignment, 2D -> 2D -> H -> 1
    score = da + aa

(name_c, ctx_c L2-normalised.) Everything after ``a`` depends on the (window, class) pair, so the released
inference runs the text projector and the whole metric network per pair: about 4.1 M multiply-adds per
class per window at D = 768. ``encode_text`` + ``score`` is an exact rewrite:

* ``a0 = sigmoid(s . (name_c - ctx_c))`` (a softmax over two logits), so ``p = P(ctx_c) + a0 * W (name_c -
  ctx_c)``: two per-class vectors, no per-pair text projector;
* ``cos(s, p)`` needs only ``s . P(ctx_c)``, ``s . W(name_c - ctx_c)`` and three per-class scalars
  (``|p|^2`` is a quadratic in ``a0``);
* the metric network's first layer on the concatenation splits: ``W1 [s ; p] + b1 = W1_s s + (W1_t P(ctx_c)
  + b1) + a0 * W1_t W (name_c - ctx_c)``: one per-window matmul and two per-class vectors, leaving an
  elementwise add per pair.

What is left per pair is the metric network's second layer (after a ReLU, so it cannot be split): 2D x H
(1.18 M multiply-adds at D = 768), i.e. 3.5x less arithmetic than the released path; measured 1.6-4.2x
faster at D = 768 on a 2-thread CPU (``bench/bench_head.py``; most at large B x C, where the released
path's [B, C, 2D] activations also fall out of cache).

Paper vs released code, and released details worth knowing (the paper side is the issue's spec and the
paper's Table 9 count; where a difference can be chosen, a constructor argument selects it):

* metric network width: the released ``DeepMetricNetwork`` hard-codes its hidden layer to 768
  (``nn.Linear(in_features, 768)``), which is ``D`` only for the paper's 768-d text model; the paper /
  issue spec has ``2D -> 2D -> D -> 1``. ``metric_hidden=768`` (default, released) or ``None`` (= D).
  Identical at D = 768.
* SDE is a parameter-free dot-product attention in the code (no query/key/value projections, no
  1/sqrt(d) scaling); the paper's 4.88 M parameters (Table 9) leave no room for projections either
  (one D x D projection alone would add 0.59 M), so there is no variant to offer.
* LeakySigmoid is ``sigmoid(x)`` for x > 0 and ``gamma * exp(gamma * x)`` otherwise, as released: note it is
  discontinuous at 0 (0.5 vs gamma) and its slope for x <= 0 is gamma**2. Kept exactly, since trained weights
  depend on it.
* training vs inference SDE: in the released training step each sample's own class text is enhanced with
  that sample's attention and then compared with every skeleton of the batch (B x B logits); at inference
  each class text is enhanced with the attention of the window being scored. ``training_logits`` and
  ``score`` reproduce each side as released.
* parameter count: 4,888,195 at D = 768 (either width option); the paper's "4.88 M" is this number cut
  to two decimals (it rounds to 4.89 M); without biases the count is 4,883,202.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dvta_live.dvta.bridge import ClassifierBridge
from dvta_live.dvta.examples import ExampleSide, example_scores

RELEASED_METRIC_HIDDEN = 768  # the released DeepMetricNetwork's hard-coded hidden width
_EPS = 1e-12  # F.normalize's default eps, kept in the rewritten cosine


# --------------------------------------------------------------------------------------------- layers


class LeakySigmoid(nn.Module):
    """``sigmoid(x)`` for x > 0, ``gamma * exp(gamma * x)`` for x <= 0 (released DVTA, gamma = 0.01).

    The negative side keeps a small positive value and slope (gamma**2 * exp(gamma * x)) instead of the
    sigmoid's vanishing tail. Not continuous at 0: the value jumps from gamma to 0.5.
    """

    def __init__(self, gamma: float = 0.01) -> None:
        super().__init__()
        self.gamma = float(gamma)

    def forward(self, x: Tensor) -> Tensor:
        return torch.where(x > 0, torch.sigmoid(x), self.gamma * torch.exp(x * self.gamma))

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}"


class VisualProjector(nn.Module):
    """256 -> 256 (residual) -> 384 -> 512 -> D, ReLU between, none after the last layer."""

    def __init__(self, skeleton_dim: int, text_dim: int) -> None:
        super().__init__()
        self.l0 = nn.Linear(skeleton_dim, 256)
        self.l1 = nn.Linear(256, 384)
        self.l2 = nn.Linear(384, 512)
        self.l3 = nn.Linear(512, text_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.l0(x) + x)  # the residual needs skeleton_dim == 256 (checked by DVTAHead)
        x = F.relu(self.l1(x))
        x = F.relu(self.l2(x))
        return self.l3(x)


class DirectAlignment(nn.Module):
    """The released DA module's parameters: the visual projector and the text projector Linear(D, D)."""

    def __init__(self, skeleton_dim: int, text_dim: int) -> None:
        super().__init__()
        self.visual_projector = VisualProjector(skeleton_dim, text_dim)
        self.text_projector = nn.Linear(text_dim, text_dim)


class DeepMetricNetwork(nn.Module):
    """AA's learned similarity: LeakySigmoid(MLP([skeleton ; text])), 2D -> 2D -> hidden -> 1."""

    def __init__(self, text_dim: int, hidden: int, gamma: float) -> None:
        super().__init__()
        in_features = 2 * text_dim
        self.net = nn.Sequential(
            nn.Linear(in_features, in_features), nn.ReLU(),
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, 1),
        )
        self.leaky_sigmoid = LeakySigmoid(gamma)

    def forward(self, skeleton: Tensor, text: Tensor) -> Tensor:
        """The released form: the MLP on the concatenation, [..., D] x [..., D] -> [...]."""
        return self.leaky_sigmoid(self.net(torch.cat((skeleton, text), dim=-1))).squeeze(-1)

    def split_first_layer(self) -> tuple[Tensor, Tensor, Tensor]:
        """(W_skeleton [2D, D], W_text [2D, D], bias [2D]): W [s ; t] + b = W_s s + W_t t + b."""
        first: nn.Linear = self.net[0]  # type: ignore[assignment]
        d = first.in_features // 2
        return first.weight[:, :d], first.weight[:, d:], first.bias

    def from_first_layer(self, pre: Tensor) -> Tensor:
        """The rest of the network given the first layer's pre-activation [..., 2D] -> [...].

        ``pre`` is overwritten (ReLU in place: these activations are the largest tensors of the head);
        pass a tensor nobody else holds. In-place is autograd-safe here: ReLU keeps its output, and the
        ops that produced ``pre`` (adds, addcmul, linear) do not need theirs.
        """
        second: nn.Linear = self.net[2]  # type: ignore[assignment]
        third: nn.Linear = self.net[4]  # type: ignore[assignment]
        h = F.linear(pre.relu_(), second.weight, second.bias).relu_()
        return self.leaky_sigmoid(F.linear(h, third.weight, third.bias)).squeeze(-1)


# ------------------------------------------------------------------------------------------------ head


class TextSide(NamedTuple):
    """What the head needs from the labels, computed once per labels file by ``DVTAHead.encode_text``.

    C classes, D text dim, H1 = 2D. ``keys`` stacks the three per-class vectors every window is multiplied
    with, so ``score`` does it in one matmul: [0] name - context (SDE attention logit direction),
    [1] P(context) (projected text at zero attention on the name), [2] W (name - context) (its change
    per unit of attention). A NamedTuple of tensors, so it traces and exports as plain inputs.
    """

    keys: Tensor  # [3, C, D]
    sq_ctx: Tensor  # [C]  |P(context)|^2
    dot_ctx_delta: Tensor  # [C]  P(context) . W(name - context)
    sq_delta: Tensor  # [C]  |W(name - context)|^2
    metric_base: Tensor  # [C, 2D]  W1_text P(context) + b1
    metric_delta: Tensor  # [C, 2D]  W1_text W (name - context)
    context: Tensor  # [C, D]  the unit context tokens: the classifier bridge's side (dvta.bridge)

    @property
    def num_classes(self) -> int:
        return int(self.keys.shape[1])


class PairLogits(NamedTuple):
    """Training logits [B, B] (row: skeleton i, column: text of sample j), as the released step returns."""

    direct: Tensor  # DA: cosine / tau_da, gradients reach both projectors
    augmented: Tensor  # AA: metric network / tau_aa on detached DA features

    @property
    def total(self) -> Tensor:
        """``direct + augmented``: the released step sums them before the loss (v2t; t2v = total.T)."""
        return self.direct + self.augmented


class DVTAHead(nn.Module):
    """DVTA head: ``head(features [B, 256], text [C, 2, D]) -> scores [B, C]`` for any C.

    For a live loop, call ``side = head.encode_text(text)`` once per labels file, then
    ``head.score(features, side)`` per window. ``forward`` is exactly that composition;
    ``reference_scores`` is the released per-pair computation (kept for tests and the benchmark).

    Args:
        text_dim: D, the text model's size (768 in the paper, 384 for all-MiniLM-L6-v2).
        skeleton_dim: the backbone feature size; must be 256 (the projector's residual layer is 256 wide).
        temperature: initial value of both learnable temperatures (logits are divided by them).
        gamma: LeakySigmoid leak.
        metric_hidden: the metric network's hidden width; 768 as released (hard-coded there), None for the
            paper's D.
    """

    def __init__(self, text_dim: int = 768, skeleton_dim: int = 256, temperature: float = 0.1,
                 gamma: float = 0.01, metric_hidden: int | None = RELEASED_METRIC_HIDDEN,
                 bridge: ClassifierBridge | None = None) -> None:
        super().__init__()
        if skeleton_dim != 256:
            raise ValueError(f"skeleton_dim must be 256 (the projector's residual layer), got {skeleton_dim}")
        self.text_dim = int(text_dim)
        self.skeleton_dim = int(skeleton_dim)
        self.metric_hidden = int(metric_hidden) if metric_hidden is not None else self.text_dim
        self.direct_alignment = DirectAlignment(skeleton_dim, text_dim)
        self.augmented_alignment = DeepMetricNetwork(text_dim, self.metric_hidden, gamma)
        # [tau_da, tau_aa]; learnable and unconstrained, as released
        self.scaling_factors = nn.Parameter(torch.ones(2) * temperature)
        # the backbone's classifier as a second opinion (dvta.bridge), attached after training; None: as released
        self.bridge = bridge

    # ------------------------------------------------------------------------------ inference, fast

    def encode_text(self, text: Tensor) -> TextSide:
        """Everything that depends on the labels alone: [C, 2, D] -> TextSide (recompute after training)."""
        self._check_text(text)
        tokens = F.normalize(text, dim=-1)  # each token on the unit sphere, as released
        name, ctx = tokens[:, 0], tokens[:, 1]
        proj = self.direct_alignment.text_projector
        direction = name - ctx
        p_ctx = proj(ctx)
        p_delta = F.linear(direction, proj.weight)  # no bias: it is a difference of two projections
        _, w_text, b1 = self.augmented_alignment.split_first_layer()
        return TextSide(
            keys=torch.stack((direction, p_ctx, p_delta)),
            sq_ctx=(p_ctx * p_ctx).sum(-1),
            dot_ctx_delta=(p_ctx * p_delta).sum(-1),
            sq_delta=(p_delta * p_delta).sum(-1),
            metric_base=F.linear(p_ctx, w_text, b1),
            metric_delta=F.linear(p_delta, w_text),
            context=ctx,
        )

    def score(self, features: Tensor, side: TextSide, chunk_pairs: int = 1024,
              examples: ExampleSide | None = None) -> Tensor:
        """Scores [B, C] of skeleton features [B, 256] against a precomputed TextSide, plus what the labels'
        recorded examples add (``dvta.examples``; None: text alone).

        ``chunk_pairs`` bounds the (window, class) pairs whose metric-network activations are live at once
        (eager mode only; an exported graph does all pairs in one block).
        """
        s = self.project_skeleton(features)  # [B, D]
        b = s.shape[0]
        keys = side.keys
        # one matmul for the three per-class dot products: [B, D] x [3C, D]^T -> [B, 3, C]
        dots = (s @ keys.reshape(-1, keys.shape[-1]).t()).reshape(b, 3, -1)
        attn_logit, dot_ctx, dot_delta = dots[:, 0], dots[:, 1], dots[:, 2]
        w = torch.sigmoid(attn_logit)  # SDE weight of the label name; the context gets 1 - w
        # direct alignment: cos(s, p) with p = P(ctx) + w * W(name - ctx), |p|^2 expanded in w
        p_sq = side.sq_ctx + w * (2.0 * side.dot_ctx_delta + w * side.sq_delta)
        p_norm = p_sq.clamp_min(0.0).sqrt().clamp_min(_EPS)
        s_norm = s.norm(dim=-1, keepdim=True).clamp_min(_EPS)
        direct = (dot_ctx + w * dot_delta) / (s_norm * p_norm) / self.scaling_factors[0]
        # augmented alignment: first layer split into a per-window and two per-class parts
        w_skel, _, _ = self.augmented_alignment.split_first_layer()
        per_window = F.linear(s, w_skel).unsqueeze(1)  # [B, 1, 2D]
        c = side.metric_base.shape[0]
        if _tracing() or b * c <= chunk_pairs:
            metric = self._metric(per_window, w, side.metric_base, side.metric_delta)
        else:  # blocks of classes whose [B, c, 2D] activations stay in cache: memory-bound steps run faster
            step = max(1, chunk_pairs // b)
            blocks = [self._metric(per_window, w[:, i:i + step], side.metric_base[i:i + step],
                                   side.metric_delta[i:i + step]) for i in range(0, c, step)]
            metric = torch.cat(blocks, dim=1)
        scores = direct + metric / self.scaling_factors[1]
        if self.bridge is not None:
            scores = scores + self.bridge(features, side.context)
        if examples is not None:
            scores = scores + example_scores(features, examples)
        return scores

    def _metric(self, per_window: Tensor, w: Tensor, base: Tensor, delta: Tensor) -> Tensor:
        """Metric network output [B, c] from the split first layer: per_window + base + w * delta."""
        pre = torch.addcmul(base, w.unsqueeze(-1), delta).add_(per_window)  # fresh: in-place is safe
        return self.augmented_alignment.from_first_layer(pre)

    def forward(self, features: Tensor, text: Tensor) -> Tensor:
        """Scores [B, C] of skeleton features [B, 256] against text [C, 2, D]."""
        return self.score(features, self.encode_text(text))

    def project_skeleton(self, features: Tensor) -> Tensor:
        """DA's skeleton side: the visual projector on the L2-normalised feature, [B, 256] -> [B, D]."""
        if not _tracing() and (features.dim() != 2 or features.shape[-1] != self.skeleton_dim):
            raise ValueError(f"features must be [B, {self.skeleton_dim}], got {tuple(features.shape)}")
        return self.direct_alignment.visual_projector(F.normalize(features, dim=-1))

    # ------------------------------------------------------------------------ inference, as released

    def reference_scores(self, features: Tensor, text: Tensor) -> Tensor:
        """The released inference path, pair by pair (``is_inference=True``): [B, 256] x [C, 2, D] -> [B, C].

        Materialises [B, C, 2D] activations: use ``score`` in production, this is the reference. An
        attached bridge (not released) adds its term here too, so ``score`` equals this for every head.
        """
        self._check_text(text)
        s = self.project_skeleton(features)  # [B, D]
        tokens = F.normalize(text, dim=-1)  # [C, 2, D]
        b, c = s.shape[0], tokens.shape[0]
        s_pairs = s.unsqueeze(1).expand(b, c, -1)  # [B, C, D]
        attn = torch.softmax(torch.einsum("bcd,ckd->bck", s_pairs, tokens), dim=-1)  # [B, C, 2]
        enhanced = torch.einsum("bck,ckd->bcd", attn, tokens)
        p = self.direct_alignment.text_projector(enhanced)  # [B, C, D]
        direct = torch.einsum("bd,bcd->bc", F.normalize(s, dim=-1), F.normalize(p, dim=-1))
        augmented = self.augmented_alignment(s_pairs, p)
        scores = direct / self.scaling_factors[0] + augmented / self.scaling_factors[1]
        if self.bridge is not None:
            scores = scores + self.bridge(features, tokens[:, 1])
        return scores

    # --------------------------------------------------------------------------------------- training

    def training_logits(self, features: Tensor, text: Tensor, labels: Tensor | None = None) -> PairLogits:
        """The released training step's logits: skeleton i against the text of sample j, [B, B].

        ``text`` is each sample's own class text [B, 2, D] (the released ``full_language_features[labels]``),
        or, with ``labels`` [B], a class table [C, 2, D] that is indexed here. The SDE enhances sample j's
        text with sample j's own attention; AA runs on detached DA features, so only the metric network
        and tau_aa learn from it. Feed ``.total`` and ``labels`` to ``multi_positive_kl_loss``.
        """
        if labels is not None:
            text = text[labels]
        self._check_text(text)
        if text.shape[0] != features.shape[0]:
            raise ValueError(f"need one text per sample: {text.shape[0]} texts for "
                             f"{features.shape[0]} samples")
        s = self.project_skeleton(features)  # [B, D]
        tokens = F.normalize(text, dim=-1)  # [B, 2, D]
        attn = torch.softmax(torch.einsum("bd,bkd->bk", s, tokens), dim=-1)
        p = self.direct_alignment.text_projector(torch.einsum("bk,bkd->bd", attn, tokens))  # [B, D]
        direct = F.normalize(s, dim=-1) @ F.normalize(p, dim=-1).t() / self.scaling_factors[0]
        # AA on all B x B pairs; the first layer is split (exact) to avoid a [B, B, 2D] concatenation
        s_aa, p_aa = s.detach(), p.detach()
        w_skel, w_text, b1 = self.augmented_alignment.split_first_layer()
        pre = F.linear(s_aa, w_skel).unsqueeze(1) + F.linear(p_aa, w_text, b1).unsqueeze(0)
        augmented = self.augmented_alignment.from_first_layer(pre) / self.scaling_factors[1]
        return PairLogits(direct, augmented)

    # -------------------------------------------------------------------------------------- helpers

    @property
    def temperatures(self) -> tuple[float, float]:
        """(tau_da, tau_aa) as plain floats."""
        return float(self.scaling_factors[0]), float(self.scaling_factors[1])

    def _check_text(self, text: Tensor) -> None:
        if _tracing():  # shapes are symbolic while exporting; the checks would only add tracer warnings
            return
        if text.dim() != 3 or text.shape[1] != 2 or text.shape[2] != self.text_dim:
            raise ValueError(f"text must be [C, 2, {self.text_dim}] (label name, context), "
                             f"got {tuple(text.shape)}")


class TextSideScorer(nn.Module):
    """``head.score`` with the TextSide fields as separate tensor inputs, for exporting the per-window path.

    ``torch.onnx.export(TextSideScorer(head), (features, *head.encode_text(text)), ...)`` gives a graph
    whose class side is an input, computed once per labels file (by ``head.encode_text`` or a second
    exported graph of it).
    """

    def __init__(self, head: DVTAHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, features: Tensor, keys: Tensor, sq_ctx: Tensor, dot_ctx_delta: Tensor,
                sq_delta: Tensor, metric_base: Tensor, metric_delta: Tensor, context: Tensor,
                example_keys: Tensor | None = None, example_values: Tensor | None = None) -> Tensor:
        side = TextSide(keys, sq_ctx, dot_ctx_delta, sq_delta, metric_base, metric_delta, context)
        examples = None if example_keys is None else ExampleSide(example_keys, example_values)
        return self.head.score(features, side, examples=examples)


def _tracing() -> bool:
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling()


def parameter_count(module: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in module.parameters())
