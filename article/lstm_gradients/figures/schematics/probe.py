r"""The probing engine of the schematic figures: which nodes a perturbation moves, exactly; the
direct edges that follows from; the parameters that carry each edge.

What is measured
----------------
Each figure has a *model*: a function ``run(args) -> {node: value}`` that calls one spec forward
(``specs.mlp.mlp_forward``, ``specs.rnn.rnn_forward``/``output_forward``,
``specs.lstm.lstm_step_forward``/``peephole_step_forward``, ``specs.gru.gru_step_forward``) and
reads its node values (outputs and the intermediate values the spec keeps in its cache), plus
*probes*: perturb one input block, or one *handle* (a bias block that moves a single internal
node: ``gamma[h]`` moves only ``b_h``, the LSTM bias block of gate f moves only f), and see which
nodes change.

Exactness. A node whose computation does not read the perturbed block is recomputed from the
same bits by the same operations, so it is bitwise unchanged: ``np.array_equal`` decides "no
change" exactly (a product with an exact 0 or a gate saturated to exactly 0 or 1 also leaves it
bitwise unchanged). A node that reads the block but whose exact value does not depend on it could
only move by the rounding of the operations after the block enters: at most k·eps·Σ|terms| for
the k ≤ 20 terms of these short dot products of O(1) terms, below ``TAU · max(1, |value|)`` with
TAU = 64·eps ≈ 1.4e-14. A change that small is neither and raises `ProbeAmbiguous`; a real
dependence moves its node much more (perturbations are ±U[0.5, 1.5], weights ±U[0.5, 1.5]/√fan-in
so that no weight is near 0; the smallest real change seen over many random draws is ~1e-10,
through three tanh steps of a width-1 RNN).

From "which nodes change" to direct edges
-----------------------------------------
The nodes are listed in layers, a topological order of the spec's computation (where each node
is computed; any order consistent with the code gives the same edges, the tests use one order
for both LSTM variants). A probe at an operating point P that changes node v says that some
parent of v changed. Let S be the nodes earlier than v that changed, minus those *certified* not
to be parents of v at P (some probe at P changed them and not v). If the latest layer present in
S holds a single node u, u -> v is a direct edge (v changed, so one of its parents did; every
later candidate has been excluded). Operating points are the random base point and every
combination of its gates saturated to exactly 0 or 1 (bias block ∓800: σ(−800) = 0.0 and
σ(800) = 1.0 in float64); saturation closes paths, so skip edges (h_{t−1} -> h_t of the GRU
when z = 0) and hidden parents (c_t -> h_t when o = 1) get witnesses. The edges of a figure are
the union over operating points. The rule assumes that every non-parent that changes together
with v is excluded by some probe at the same point; the tests compare the result with the
structure each figure illustrates and show extra dependencies (fake forwards) appear.

Edge labels are *carriers*, probed too: parameter block P carries edge u -> v if perturbing P
changes v at the base point but no parent of v, and stops changing v once u is silenced (set to
0; ``b_h`` is silenced by ``gamma[h] = 800``). So the label of x_i -> b_h is the entry of ``V``
whose effect on b_h vanishes when x_i = 0: its index order is the spec's, ``v_{ih}`` (ERR-1's
h/j mix-up would show).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SATURATE",
    "TAU",
    "Args",
    "Change",
    "Edge",
    "Graph",
    "Nodes",
    "ProbeAmbiguous",
    "Run",
    "carriers",
    "changed_nodes",
    "compose",
    "direct_edges",
    "gate_points",
    "kick",
    "probe",
    "setting",
    "shift",
    "weights",
]

Array = NDArray[np.float64]
Args = dict[str, Array]
Nodes = dict[str, Array]
Run = Callable[[Args], Nodes]
Change = Callable[[Args], Args]
Edge = tuple[str, str]

TAU = 64 * float(np.finfo(np.float64).eps)
SATURATE = 800.0  # σ(±800) and tanh(±800) are exactly 1.0 / 0.0 / ±1.0 in float64


class ProbeAmbiguous(RuntimeError):
    """A node moved by more than 0 but not more than rounding: neither 'depends' nor 'does not'."""


# ------------------------------------------------------------------------------- probing


def _flatten(nodes: Nodes) -> tuple[list[str], Array, NDArray[np.intp]]:
    names = list(nodes)
    parts = [nodes[n].reshape(-1) for n in names]
    starts = np.cumsum([0] + [p.size for p in parts[:-1]])
    return names, np.concatenate(parts), starts


def changed_nodes(before: Nodes, after: Nodes) -> frozenset[str]:
    """The nodes whose value changed (exactly: bitwise comparison; see the module docstring)."""
    return _changed(_flatten(before), after)


def _changed(before: tuple[list[str], Array, NDArray[np.intp]], after: Nodes) -> frozenset[str]:
    names, old, starts = before
    new = np.concatenate([after[n].reshape(-1) for n in names])
    if new.shape != old.shape:
        raise ValueError("a probe changed the shape of a node")
    differs_at = old != new  # bitwise (no NaN in these nodes)
    if not differs_at.any():
        return frozenset()
    differs = np.add.reduceat(differs_at.astype(np.int64), starts) > 0
    moved = np.maximum.reduceat(np.abs(new - old), starts)
    scale = np.maximum(1.0, np.maximum.reduceat(np.abs(old), starts))
    for k in np.flatnonzero(differs & (moved <= TAU * scale)):
        raise ProbeAmbiguous(f"node {names[k]} moved by {moved[k]:.3g}, within rounding")
    return frozenset(names[k] for k in np.flatnonzero(differs))


def shift(name: str, index: Any, delta: float | Array) -> Change:
    """A probe: ``args[name][index] += delta`` (on a copy)."""

    def change(args: Args) -> Args:
        new = dict(args)
        new[name] = args[name].copy()
        new[name][index] += delta
        return new

    return change


def setting(name: str, index: Any, value: float) -> Change:
    """An operating point or silencer: ``args[name][index] = value`` (on a copy)."""

    def change(args: Args) -> Args:
        new = dict(args)
        new[name] = args[name].copy()
        new[name][index] = value
        return new

    return change


def compose(changes: Iterable[Change]) -> Change:
    steps = list(changes)

    def change(args: Args) -> Args:
        for step in steps:
            args = step(args)
        return args

    return change


def kick(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """±U[0.5, 1.5]: far from 0, so every dependence moves its node well above rounding."""
    return np.asarray(rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape))


def weights(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """±U[0.5, 1.5]/√fan-in (fan-in = first axis): O(1) pre-activations, no weight near 0."""
    return np.asarray(kick(rng, shape) / np.sqrt(shape[0]))


def probe(
    run: Run, args: Args, probes: Mapping[str, Change], points: Mapping[str, Change]
) -> dict[tuple[str, str], frozenset[str]]:
    """``{(point, probe): nodes changed}`` for every operating point and probe."""
    out = {}
    for point, at in points.items():
        base_args = at(args)
        base = _flatten(run(base_args))
        for name, change in probes.items():
            out[(point, name)] = _changed(base, run(change(base_args)))
    return out


def direct_edges(
    layers: Sequence[Sequence[str]], evidence: Mapping[tuple[str, str], frozenset[str]]
) -> frozenset[Edge]:
    """Direct edges from change sets by the latest-uncertified-parent rule (module docstring)."""
    layer = {node: k for k, names in enumerate(layers) for node in names}
    by_point: dict[str, list[frozenset[str]]] = {}
    for (point, _), changed in evidence.items():
        by_point.setdefault(point, []).append(changed)
    edges = set()
    for (point, _), changed in evidence.items():
        at_point = by_point[point]
        for v in changed:
            if layer.get(v, 0) == 0:
                continue
            S = {
                w
                for w in changed
                if w in layer
                and layer[w] < layer[v]
                and not any(w in c and v not in c for c in at_point)
            }
            if not S:
                continue
            latest = max(layer[w] for w in S)
            top = [w for w in S if layer[w] == latest]
            if len(top) == 1:
                edges.add((top[0], v))
    return frozenset(edges)


def carriers(
    run: Run,
    args: Args,
    edges: Iterable[Edge],
    silencers: Mapping[str, Change],
    params: Mapping[str, Change],
) -> dict[Edge, tuple[str, ...]]:
    """For each edge u -> v whose source has a silencer: the parameter probes that move v at
    ``args`` but not once u is silenced, and move no parent of v (those act upstream of the
    edge; module docstring). Edges without a silencer get ()."""
    edges = sorted(edges)
    parents: dict[str, set[str]] = {}
    for u, v in edges:
        parents.setdefault(v, set()).add(u)
    base = run(args)
    active = {p: changed_nodes(base, run(change(args))) for p, change in params.items()}
    quiet: dict[str, dict[str, frozenset[str]]] = {}
    out: dict[Edge, tuple[str, ...]] = {}
    for u, v in edges:
        # a parameter that moves a parent of v acts upstream of the edge, not on it
        local = [p for p in params if v in active[p] and not active[p] & parents[v]]
        if u not in silencers or not local:
            out[(u, v)] = ()
            continue
        if u not in quiet:
            q_args = silencers[u](args)
            q_base = run(q_args)
            quiet[u] = {p: changed_nodes(q_base, run(c(q_args))) for p, c in params.items()}
        out[(u, v)] = tuple(p for p in local if v not in quiet[u][p])
    return out


@dataclass(frozen=True)
class Graph:
    """A probed schematic: layers of nodes, direct edges, labels, and the evidence behind them.

    ``evidence[(point, probe)]`` is the set of nodes the probe changed at that operating point;
    ``edge_carriers[(u, v)]`` the probed carrier parameters; ``info`` figure-specific facts
    (sizes, conventions) that the drawer writes into the figure.
    """

    layers: tuple[tuple[str, ...], ...]
    edges: frozenset[Edge]
    evidence: Mapping[tuple[str, str], frozenset[str]]
    labels: Mapping[str, str]
    edge_carriers: Mapping[Edge, tuple[str, ...]] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)


def gate_points(handles: Mapping[str, tuple[str, Any]]) -> dict[str, Change]:
    """The base point and every combination of the given gates held at exactly 0 or 1."""
    points: dict[str, Change] = {"base": compose([])}
    names = list(handles)
    for states in itertools.product((None, 0, 1), repeat=len(names)):
        fixed = [(n, s) for n, s in zip(names, states, strict=True) if s is not None]
        if not fixed:
            continue
        key = ",".join(f"{n}={s}" for n, s in fixed)
        steps = []
        for n, s in fixed:
            arg, index = handles[n]
            steps.append(setting(arg, index, SATURATE if s == 1 else -SATURATE))
        points[key] = compose(steps)
    return points
