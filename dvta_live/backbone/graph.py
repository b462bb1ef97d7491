"""Skeleton graphs for the GCN backbones, built from a layout's bone list.

Two forms, each matching its official code exactly (tests check the properties):

- :func:`stgcn_spatial_graph`: ST-GCN's "spatial configuration" partitioning (``net/utils/graph.py`` of
  ST-GCN / AimCLR / SMIE, ``strategy='spatial'``, ``max_hop=1``): three [V, V] matrices, root (self),
  centripetal (neighbours closer to the centre joint) and centrifugal (neighbours further away), cut from
  one column-normalised adjacency with self-loops, so the three together have unit column sums. As in
  the official code, hop distances are only computed up to ``max_hop`` (``inf`` beyond), so only bones
  touching the centre's 1-ring are split by distance; every other bone, both directions, compares
  ``inf == inf`` and lands in the root partition. Kept as is: released weights were trained with it.
- :func:`agcn_spatial_graph`: the 2s-AGCN / Shift-GCN ``graph.ntu_rgb_d.Graph(labeling_mode='spatial')``
  form: identity, inward (child -> parent) and outward (parent -> child) edges, each column-normalised on
  its own. Shift-GCN builds this graph but its shift operations never read it (the spatial shift is a
  fixed channel/joint permutation); it is here for models that do and for documentation.

Both official code bases build ``A[k, j, i]`` from a link ``(i, j)`` and apply it as
``out[..., w] = sum_v x[..., v] * A[k, v, w]``; the matrices here keep that layout so weights trained with
them transfer unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dvta_live.skeleton.layouts import NTU25, SPINE_SHOULDER, Layout


def edge_matrix(links: Iterable[tuple[int, int]], num_node: int) -> np.ndarray:
    """0/1 matrix with ``A[j, i] = 1`` for each directed link ``(i, j)`` (the official ``edge2mat``)."""
    a = np.zeros((num_node, num_node))
    for i, j in links:
        a[j, i] = 1
    return a


def normalize_digraph(a: np.ndarray) -> np.ndarray:
    """Divide each column by its sum (``A @ D^-1``); all-zero columns stay zero."""
    col = a.sum(0)
    inv = np.zeros_like(col)
    np.divide(1.0, col, out=inv, where=col > 0)
    return a * inv[None, :]


def hop_distance(num_node: int, edges: Iterable[tuple[int, int]], max_hop: int = 1) -> np.ndarray:
    """Shortest-path hop counts up to ``max_hop`` on the undirected graph; ``inf`` beyond."""
    a = np.zeros((num_node, num_node))
    for i, j in edges:
        a[i, j] = a[j, i] = 1
    hop = np.full((num_node, num_node), np.inf)
    reach = np.stack([np.linalg.matrix_power(a, d) for d in range(max_hop + 1)]) > 0
    for d in range(max_hop, -1, -1):  # smallest distance wins, as in the official loop
        hop[reach[d]] = d
    return hop


def stgcn_spatial_graph(layout: Layout = NTU25, center: int = SPINE_SHOULDER, max_hop: int = 1,
                        dilation: int = 1) -> np.ndarray:
    """ST-GCN spatial partitioning, float32 [K, V, V] (K = 3 for ``max_hop=1``).

    The NTU centre is joint 21 (1-based), spine_shoulder, as in ST-GCN's ``ntu-rgb+d`` layout.
    """
    v = layout.num_joints
    edges = [(i, i) for i in range(v)] + list(layout.bones)
    hop = hop_distance(v, edges, max_hop)
    hops = range(0, max_hop + 1, dilation)
    adjacency = np.zeros((v, v))
    for h in hops:
        adjacency[hop == h] = 1
    norm = normalize_digraph(adjacency)

    parts = []
    for h in hops:
        root, close, further = np.zeros((v, v)), np.zeros((v, v)), np.zeros((v, v))
        for i in range(v):
            for j in range(v):
                if hop[j, i] != h:
                    continue
                if hop[j, center] == hop[i, center]:
                    root[j, i] = norm[j, i]
                elif hop[j, center] > hop[i, center]:
                    close[j, i] = norm[j, i]
                else:
                    further[j, i] = norm[j, i]
        if h == 0:
            parts.append(root)
        else:
            parts.extend([root + close, further])
    return np.stack(parts).astype(np.float32)


def agcn_spatial_graph(layout: Layout = NTU25) -> np.ndarray:
    """2s-AGCN / Shift-GCN ``labeling_mode='spatial'``: float32 [3, V, V] = (I, inward, outward).

    The layout's bones are (child, parent) pairs, which is the official ``inward`` list (0-based).
    """
    v = layout.num_joints
    inward = list(layout.bones)
    outward = [(j, i) for i, j in inward]
    identity = edge_matrix([(i, i) for i in range(v)], v)
    return np.stack([
        identity, normalize_digraph(edge_matrix(inward, v)), normalize_digraph(edge_matrix(outward, v)),
    ]).astype(np.float32)
