r"""The schematic figures FIG-1, FIG-3, FIG-6, FIG-7, drawn from dependency graphs probed from the
specs' forward functions (never typed by hand).

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
    "TAU",
    "Graph",
    "ProbeAmbiguous",
    "carriers",
    "changed_nodes",
    "direct_edges",
    "draw_fig1",
    "draw_fig3",
    "draw_fig6",
    "draw_fig7",
    "fig1_data",
    "fig3_data",
    "fig6_data",
    "fig7_data",
    "probe",
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


def _spec(module: str, name: str) -> Any:
    from lstm_gradients.figures.plots import spec

    return spec(module, name)


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


def _shift(name: str, index: Any, delta: float | Array) -> Change:
    """A probe: ``args[name][index] += delta`` (on a copy)."""

    def change(args: Args) -> Args:
        new = dict(args)
        new[name] = args[name].copy()
        new[name][index] += delta
        return new

    return change


def _setting(name: str, index: Any, value: float) -> Change:
    """An operating point or silencer: ``args[name][index] = value`` (on a copy)."""

    def change(args: Args) -> Args:
        new = dict(args)
        new[name] = args[name].copy()
        new[name][index] = value
        return new

    return change


def _compose(changes: Iterable[Change]) -> Change:
    steps = list(changes)

    def change(args: Args) -> Args:
        for step in steps:
            args = step(args)
        return args

    return change


def _kick(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """±U[0.5, 1.5]: far from 0, so every dependence moves its node well above rounding."""
    return np.asarray(rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape))


def _weights(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """±U[0.5, 1.5]/√fan-in (fan-in = first axis): O(1) pre-activations, no weight near 0."""
    return np.asarray(_kick(rng, shape) / np.sqrt(shape[0]))


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


def _gate_points(handles: Mapping[str, tuple[str, Any]]) -> dict[str, Change]:
    """The base point and every combination of the given gates held at exactly 0 or 1."""
    points: dict[str, Change] = {"base": _compose([])}
    names = list(handles)
    for states in itertools.product((None, 0, 1), repeat=len(names)):
        fixed = [(n, s) for n, s in zip(names, states, strict=True) if s is not None]
        if not fixed:
            continue
        key = ",".join(f"{n}={s}" for n, s in fixed)
        steps = []
        for n, s in fixed:
            arg, index = handles[n]
            steps.append(_setting(arg, index, SATURATE if s == 1 else -SATURATE))
        points[key] = _compose(steps)
    return points


# ------------------------------------------------------------------------------ FIG-1: MLP


def _mlp_network_spec() -> Any:
    for record in _spec("mlp", "SPECS"):
        if record.forward is _spec("mlp", "mlp_forward"):
            return record
    from gradcheck.report.figures import FigureUnavailable

    raise FigureUnavailable("specs.mlp.SPECS has no record for mlp_forward")


def fig1_data(
    d: int = 3,
    q: int = 4,
    l: int = 2,  # noqa: E741 (the book's name)
    seed: int = 1,
    params: Mapping[str, Array] | None = None,
    forward: Callable[..., Any] | None = None,
) -> Graph:
    """FIG-1: the watermelon-book BP network (MLP-1) probed from `specs.mlp.mlp_forward`.

    Nodes ``x1..xd``, ``b1..bq``, ``y1..yl`` (one sample). Probes: each input x_i, and each
    threshold γ_h as the handle of b_h. The hidden layer is read through the spec itself:
    ``mlp_forward(x, V, gamma, I_q, 0, IDENTITY)`` returns b exactly (``b @ I`` adds only exact
    zeros). Carriers: every entry of V, γ, W, θ; silencers x_i = 0 and γ_h = 800 (b_h = 0.0).
    Argument names and shapes come from the spec's registry record (``mlp.network``);
    ``params`` (V, gamma, W, theta) overrides the random ones, ``forward`` the spec's forward.
    """
    record = _mlp_network_spec()
    names = record.arg_names  # ("x", "V", "gamma", "W", "theta")
    shapes = dict(zip(names, record.arg_shapes(N=1, d=d, q=q, l=l), strict=True))
    fwd = forward if forward is not None else record.forward
    identity = _spec("activations", "IDENTITY")
    rng = np.random.default_rng(seed)
    args: Args = {n: np.asarray(rng.standard_normal(shapes[n])) for n in names}
    args.update({n: _weights(rng, shapes[n]) for n in (names[1], names[3])})
    args.update({k: np.array(v, dtype=np.float64) for k, v in (params or {}).items()})
    V_, g_, W_, t_ = names[1:]

    def run(a: Args) -> Nodes:
        b, _ = fwd(a["x"], a[V_], a[g_], np.eye(q), np.zeros(q), identity)
        y, _ = fwd(a["x"], a[V_], a[g_], a[W_], a[t_])
        nodes = {f"x{i + 1}": a["x"][:, i] for i in range(d)}
        nodes.update({f"b{h + 1}": b[:, h] for h in range(q)})
        nodes.update({f"y{j + 1}": y[:, j] for j in range(l)})
        return nodes

    layers = (
        tuple(f"x{i + 1}" for i in range(d)),
        tuple(f"b{h + 1}" for h in range(q)),
        tuple(f"y{j + 1}" for j in range(l)),
    )
    probes = {f"x{i + 1}": _shift("x", (0, i), _kick(rng, ())) for i in range(d)}
    probes.update({f"{g_}{h + 1}": _shift(g_, h, _kick(rng, ())) for h in range(q)})
    evidence = probe(run, args, probes, {"base": _compose([])})
    edges = direct_edges(layers, evidence)
    entry_probes = {
        f"{n}{idx}": _shift(n, idx, _kick(rng, ()))
        for n in names[1:]
        for idx in np.ndindex(*shapes[n])
    }
    silencers = {f"x{i + 1}": _setting("x", (0, i), 0.0) for i in range(d)}
    silencers.update({f"b{h + 1}": _setting(g_, h, SATURATE) for h in range(q)})
    thresholds = {}  # hidden node -> index of the threshold entry that moves it alone
    for h in range(q):
        moved = evidence[("base", f"{g_}{h + 1}")] & set(layers[1])
        if len(moved) == 1:
            thresholds[next(iter(moved))] = h
    labels = {n: n[0] + "_" + n[1:] for layer in layers[:2] for n in layer}
    labels.update({n: "y'_" + n[1:] for n in layers[2]})
    return Graph(
        layers,
        edges,
        evidence,
        labels,
        carriers(run, args, edges, silencers, entry_probes),
        {
            "names": names,
            "shapes": shapes,
            "sizes": (d, q, l),
            "thresholds": thresholds,
            "x": args["x"],
        },
    )


def _carrier_index(label: str) -> tuple[str, tuple[int, ...]]:
    """``"V(0, 2)"`` -> ``("V", (0, 2))``."""
    name, _, rest = label.partition("(")
    return name, tuple(int(s) for s in rest.rstrip(")").split(",") if s.strip())


# ------------------------------------------------------------------------------ FIG-3: RNN


def fig3_data(
    T: int = 4,
    D: int = 3,
    H: int = 4,
    K: int = 2,
    seed: int = 3,
    forward: Callable[..., Any] | None = None,
) -> Graph:
    """FIG-3: the unrolled RNN (RNN-1) from `specs.rnn.rnn_forward` and `output_forward`.

    Nodes ``x1..xT``, ``s0..sT``, ``o1..oT`` (one sequence; s_0 ≠ 0 so W_s acts at step 1 too).
    Probes: each x_t and s_0; ``info["moved_by"]`` holds what perturbing each of W_x, W_s, W_o
    changes (sharing: one W_x moves every s_t). Carriers come from `rnn_step_forward` and
    `output_forward` (the step's edges x -> s, s_prev -> s, s -> o), mapped to every step.
    """
    rnn = forward if forward is not None else _spec("rnn", "rnn_forward")
    out_fwd = _spec("rnn", "output_forward")
    step = _spec("rnn", "rnn_step_forward")
    rng = np.random.default_rng(seed)
    args: Args = {
        "x": rng.standard_normal((1, T, D)),
        "s_0": rng.standard_normal((1, H)),
        "W_x": _weights(rng, (D, H)),
        "W_s": _weights(rng, (H, H)),
        "b": 0.1 * rng.standard_normal(H),
        "W_o": _weights(rng, (H, K)),
    }

    def run(a: Args) -> Nodes:
        s, _ = rnn(a["x"], a["s_0"], a["W_x"], a["W_s"], a["b"])
        o, _ = out_fwd(s, a["W_o"])
        nodes = {f"x{t + 1}": a["x"][:, t] for t in range(T)}
        nodes["s0"] = a["s_0"]
        nodes.update({f"s{t + 1}": s[:, t] for t in range(T)})
        nodes.update({f"o{t + 1}": o[:, t] for t in range(T)})
        return nodes

    layers = (
        (*(f"x{t + 1}" for t in range(T)), "s0"),
        *((f"s{t + 1}",) for t in range(T)),
        tuple(f"o{t + 1}" for t in range(T)),
    )
    probes = {f"x{t + 1}": _shift("x", (0, t), _kick(rng, (D,))) for t in range(T)}
    probes["s0"] = _shift("s_0", 0, _kick(rng, (H,)))
    evidence = probe(run, args, probes, {"base": _compose([])})
    edges = direct_edges(layers, evidence)
    base = run(args)
    moved_by = {
        p: changed_nodes(base, run(_shift(p, ..., _kick(rng, args[p].shape))(args)))
        for p in ("W_x", "W_s", "b", "W_o")
    }
    step_carriers = _rnn_step_carriers(step, out_fwd, rng, D, H, K)
    kinds = {"x": "x", "s": "s_prev"}
    edge_carriers: dict[Edge, tuple[str, ...]] = {}
    for u, v in edges:
        key = ("s", "o") if v[0] == "o" else (kinds[u[0]], "s")
        edge_carriers[(u, v)] = step_carriers.get(key, ())
    labels = {n: n[0] + "_" + n[1:] for layer in layers for n in layer}
    return Graph(
        layers,
        edges,
        evidence,
        labels,
        edge_carriers,
        {"T": T, "moved_by": moved_by, "step_carriers": step_carriers},
    )


def _rnn_step_carriers(
    step: Callable[..., Any],
    out_fwd: Callable[..., Any],
    rng: np.random.Generator,
    D: int,
    H: int,
    K: int,
) -> dict[Edge, tuple[str, ...]]:
    """Carriers of one step's edges: x -> s and s_prev -> s (rnn_step_forward), s -> o."""
    a: Args = {
        "x": rng.standard_normal((1, D)),
        "s_prev": rng.standard_normal((1, H)),
        "W_x": _weights(rng, (D, H)),
        "W_s": _weights(rng, (H, H)),
        "b": rng.standard_normal(H),
        "s": rng.standard_normal((1, 1, H)),
        "W_o": _weights(rng, (H, K)),
    }

    def run(v: Args) -> Nodes:
        s, _ = step(v["x"], v["s_prev"], v["W_x"], v["W_s"], v["b"])
        o, _ = out_fwd(v["s"], v["W_o"])
        return {"s": s, "o": o}

    params = {p: _shift(p, ..., _kick(rng, a[p].shape)) for p in ("W_x", "W_s", "b", "W_o")}
    silencers = {n: _setting(n, ..., 0.0) for n in ("x", "s_prev", "s")}
    edges = [("x", "s"), ("s_prev", "s"), ("s", "o")]
    return carriers(run, a, edges, silencers, params)


# ----------------------------------------------------------------------------- FIG-6: LSTM

LSTM_LAYERS = (("x", "h_prev", "c_prev"), ("i", "f", "g"), ("c_t",), ("o",), ("h_t",))
_LSTM_GATES = {"i": 0, "f": 1, "o": 2, "g": 3}  # packed order i, f, o, g


def fig6_data(
    variant: str = "lstm_step_forward",
    D: int = 3,
    H: int = 3,
    seed: int = 6,
    forward: Callable[..., Any] | None = None,
) -> Graph:
    """FIG-6: the LSTM cell (CS231n form, LSTM-1) probed from `specs.lstm.lstm_step_forward`
    (``variant="peephole_step_forward"``: the Gers–Schmidhuber peephole cell).

    Nodes x, h_prev, c_prev (inputs), the gates i, f, o, g (the fields ``i``, ``f``, ``o``,
    ``g`` of the spec's cache), c_t, h_t. Probes: each input and each gate's bias block (its
    handle). Operating points: base and i, f, o each free / exactly 0 / exactly 1. ``forward``
    replaces the spec function (same signature and cache fields), for negative controls.
    """
    fwd = forward if forward is not None else _spec("lstm", variant)
    rng = np.random.default_rng(seed)
    args: Args = {
        "x": rng.standard_normal((1, D)),
        "h_prev": rng.standard_normal((1, H)),
        "c_prev": rng.standard_normal((1, H)),
        "W_x": _weights(rng, (D, 4 * H)),
        "W_h": _weights(rng, (H, 4 * H)),
        "b": 0.1 * rng.standard_normal(4 * H),
    }
    extra = ("p",) if variant == "peephole_step_forward" else ()
    if extra:
        args["p"] = rng.standard_normal((3, H))

    def run(a: Args) -> Nodes:
        (h, c), cache = fwd(
            *(a[n] for n in ("x", "h_prev", "c_prev", "W_x", "W_h", "b")), *(a[n] for n in extra)
        )
        nodes = {n: a[n] for n in ("x", "h_prev", "c_prev")}
        nodes.update({g: getattr(cache, g) for g in _LSTM_GATES})
        nodes.update({"c_t": c, "h_t": h})
        return nodes

    _check_lstm_readout(run(args), variant)
    handles = {g: ("b", slice(k * H, (k + 1) * H)) for g, k in _LSTM_GATES.items()}
    probes = {n: _shift(n, ..., _kick(rng, args[n].shape)) for n in ("x", "h_prev", "c_prev")}
    probes.update({f"b_{g}": _shift(a, s, _kick(rng, (H,))) for g, (a, s) in handles.items()})
    points = _gate_points({g: handles[g] for g in ("i", "f", "o")})
    evidence = probe(run, args, probes, points)
    edges = direct_edges(LSTM_LAYERS, evidence)
    params = {n: _shift(n, ..., _kick(rng, args[n].shape)) for n in ("W_x", "W_h", "b", *extra)}
    silencers = {n: _setting(n, ..., 0.0) for n in ("x", "h_prev", "c_prev")}
    labels = {
        "x": "x_t",
        "h_prev": "h_{t-1}",
        "c_prev": "c_{t-1}",
        "i": "i",
        "f": "f",
        "o": "o",
        "g": "g",
        "c_t": "c_t",
        "h_t": "h_t",
    }
    return Graph(
        LSTM_LAYERS,
        edges,
        evidence,
        labels,
        carriers(run, args, edges, silencers, params),
        {"variant": variant},
    )


def _check_lstm_readout(nodes: Nodes, variant: str) -> None:
    """The gates read from the cache are the ones the spec used: c_t = f ⊙ c_{t−1} + i ⊙ g and
    h_t = o ⊙ tanh(c_t) bitwise (the spec's own operations in the spec's order)."""
    n = nodes
    if not (
        np.array_equal(n["c_t"], n["f"] * n["c_prev"] + n["i"] * n["g"])
        and np.array_equal(n["h_t"], n["o"] * np.tanh(n["c_t"]))
    ):
        raise ValueError(
            f"specs.lstm.{variant}: the cache no longer holds i, f, o, g where "
            "lstm_gradients.figures.schematics reads them"
        )


# ------------------------------------------------------------------------------ FIG-7: GRU

GRU_LAYERS = (("x", "h_prev"), ("z", "r"), ("q",), ("n",), ("h_t",))


def fig7_data(
    reset: str = "before",
    convention: str | None = None,
    D: int = 3,
    H: int = 3,
    seed: int = 7,
    forward: Callable[..., Any] | None = None,
) -> Graph:
    """FIG-7: the GRU cell (GRU-1) probed from `specs.gru.gru_step_forward`.

    Nodes x, h_prev, the update gate z, the reset gate r, q (the recurrent term of the
    candidate: ``(r ⊙ h_{t−1}) W_hn + b_hn`` or ``h_{t−1} W_hn + b_hn``, from the spec's
    cache), n = h̃_t, h_t. Probes: inputs and the handles b_x[z], b_x[r], b_x[n], b_h[n];
    operating points base and z, r each free / 0 / 1. ``convention=None`` uses the spec's own
    default. ``info["convention"]`` is *measured*: with z driven to exactly 1 (b_z = 800),
    h_t equals h̃_t bitwise in the article's form h_t = (1−z)h_{t−1} + z h̃_t, and equals
    h_{t−1} in Cho's (PyTorch's) h_t = z h_{t−1} + (1−z) h̃_t.
    """
    step = forward if forward is not None else _spec("gru", "gru_step_forward")
    kw = {"reset": reset} | ({"convention": convention} if convention else {})
    rng = np.random.default_rng(seed)
    args: Args = {
        "x": rng.standard_normal((1, D)),
        "h_prev": rng.standard_normal((1, H)),
        "W_x": _weights(rng, (D, 3 * H)),
        "W_h": _weights(rng, (H, 3 * H)),
        "b_x": 0.1 * rng.standard_normal(3 * H),
        "b_h": 0.1 * rng.standard_normal(3 * H),
    }
    order = ("x", "h_prev", "W_x", "W_h", "b_x", "b_h")

    def run(a: Args) -> Nodes:
        h, cache = step(*(a[n] for n in order), **kw)
        gates = {k: getattr(cache, k) for k in "zrqn"}  # fields of specs.gru.GRUStepCache
        return {"x": a["x"], "h_prev": a["h_prev"], **gates, "h_t": h}

    zr = {"z": ("b_x", slice(0, H)), "r": ("b_x", slice(H, 2 * H))}
    probes = {n: _shift(n, ..., _kick(rng, args[n].shape)) for n in ("x", "h_prev")}
    probes.update({f"b_{g}": _shift(a, s, _kick(rng, (H,))) for g, (a, s) in zr.items()})
    probes["b_xn"] = _shift("b_x", slice(2 * H, 3 * H), _kick(rng, (H,)))
    probes["b_hn"] = _shift("b_h", slice(2 * H, 3 * H), _kick(rng, (H,)))
    evidence = probe(run, args, probes, _gate_points(zr))
    edges = direct_edges(GRU_LAYERS, evidence)
    saturated = run(_setting("b_x", slice(0, H), SATURATE)(args))
    copies = {
        "n": bool(np.array_equal(saturated["h_t"], saturated["n"])),
        "h_prev": bool(np.array_equal(saturated["h_t"], saturated["h_prev"])),
    }
    measured = {(True, False): "article", (False, True): "cho"}.get(
        (copies["n"], copies["h_prev"]), "unknown"
    )
    params = {n: _shift(n, ..., _kick(rng, args[n].shape)) for n in ("W_x", "W_h", "b_x", "b_h")}
    silencers = {n: _setting(n, ..., 0.0) for n in ("x", "h_prev")}
    labels = {
        "x": "x_t",
        "h_prev": "h_{t-1}",
        "z": "z_t",
        "r": "r_t",
        "q": "q_t",
        "n": r"\tilde h_t",
        "h_t": "h_t",
    }
    return Graph(
        GRU_LAYERS,
        edges,
        evidence,
        labels,
        carriers(run, args, edges, silencers, params),
        {"reset": reset, "convention": measured, "z_saturated": saturated, "copies_at_z1": copies},
    )


# ------------------------------------------------------------------------------ drawing


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _canvas(ax: Any, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def _node(
    ax: Any,
    xy: tuple[float, float],
    text: str,
    *,
    box: bool = False,
    color: str = "white",
    r: float = 0.32,
    size: float = 12,
) -> Any:
    from matplotlib.patches import Circle, FancyBboxPatch

    patch: Any
    if box:
        patch = FancyBboxPatch(
            (xy[0] - r, xy[1] - r * 0.75),
            2 * r,
            1.5 * r,
            boxstyle="round,pad=0.05",
            fc=color,
            ec="0.2",
            lw=1.2,
        )
    else:
        patch = Circle(xy, r, fc=color, ec="0.2", lw=1.2)
    ax.add_patch(patch)
    ax.text(*xy, f"${text}$", ha="center", va="center", fontsize=size, zorder=5)
    return patch


def _arrow(
    ax: Any,
    a: Any,
    b: Any,
    gid: str,
    *,
    color: str = "0.25",
    lw: float = 1.2,
    rad: float = 0.0,
    zorder: float = 2,
) -> Any:
    from matplotlib.patches import FancyArrowPatch

    arrow = FancyArrowPatch(
        a.center if hasattr(a, "center") else _box_center(a),
        b.center if hasattr(b, "center") else _box_center(b),
        patchA=a,
        patchB=b,
        arrowstyle="-|>",
        mutation_scale=11,
        color=color,
        lw=lw,
        connectionstyle=f"arc3,rad={rad}",
        shrinkA=1,
        shrinkB=1,
        zorder=zorder,
    )
    arrow.set_gid(gid)
    ax.add_patch(arrow)
    return arrow


def _box_center(patch: Any) -> tuple[float, float]:
    return (patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2)


def _draw_graph(
    ax: Any,
    g: Graph,
    pos: Mapping[str, tuple[float, float]],
    prefix: str,
    boxes: Iterable[str] = (),
    colors: Mapping[str, str] | None = None,
    rad: Mapping[Edge, float] | None = None,
    edge_color: Callable[[Edge], str] | None = None,
) -> dict[str, Any]:
    """Nodes at ``pos``, one arrow per probed edge (gid ``prefix:u->v``); returns the patches."""
    colors = colors or {}
    patches = {
        n: _node(ax, pos[n], g.labels[n], box=n in set(boxes), color=colors.get(n, "white"))
        for layer in g.layers
        for n in layer
        if n in pos
    }
    for u, v in sorted(g.edges):
        color = edge_color((u, v)) if edge_color else "0.25"
        _arrow(
            ax,
            patches[u],
            patches[v],
            f"{prefix}{u}->{v}",
            rad=(rad or {}).get((u, v), 0.0),
            color=color,
            zorder=2 if color == "0.7" else 3,
        )
    return patches


def drawn_edges(fig: Any) -> set[str]:
    """The gids of every arrow in a figure (``prefix:u->v``): what the drawer actually drew."""
    return {
        p.get_gid() for ax in fig.axes for p in ax.patches if p.get_gid() and "->" in p.get_gid()
    }


def _mlp_label(carrier: str) -> str:
    name, idx = _carrier_index(carrier)
    return f"${name.lower()}_{{{''.join(str(k + 1) for k in idx)}}}$"


def draw_fig1() -> tuple[Any, str]:
    g = fig1_data()
    d, q, l = g.info["sizes"]  # noqa: E741
    pos = {f"x{i + 1}": (1.4 * (i - (d - 1) / 2), 0.0) for i in range(d)}
    pos.update({f"b{h + 1}": (1.4 * (h - (q - 1) / 2), 2.2) for h in range(q)})
    pos.update({f"y{j + 1}": (1.4 * (j - (l - 1) / 2), 4.4) for j in range(l)})
    focus_h, focus_j = f"b{(q + 1) // 2}", f"y{(l + 1) // 2}"

    def color(e: Edge) -> str:
        return "C0" if e[1] == focus_h else "C3" if e[1] == focus_j else "0.7"

    fig = _figure(7.5, 5.6)
    ax = fig.add_subplot()
    _canvas(ax, (-4.9, 3.6), (-0.7, 5.0))
    _draw_graph(ax, g, pos, "FIG-1:", edge_color=color)
    for (u, v), found in g.edge_carriers.items():
        if v in (focus_h, focus_j) and len(found) == 1:
            (x0, y0), (x1, y1) = pos[u], pos[v]
            t = 0.3
            ax.text(
                x0 + t * (x1 - x0),
                y0 + t * (y1 - y0),
                _mlp_label(found[0]),
                color=color((u, v)),
                fontsize=10,
                ha="center",
                va="center",
                bbox={"fc": "white", "ec": "none", "pad": 0.5},
                zorder=6,
            )
    for node, h in g.info["thresholds"].items():
        x, y = pos[node]
        ax.text(x + 0.36, y, rf"$\gamma_{{{h + 1}}}$", fontsize=9, color="0.3", va="center")
    for j in range(l):
        x, y = pos[f"y{j + 1}"]
        ax.text(x + 0.36, y, rf"$\theta_{j + 1}$", fontsize=9, color="0.3", va="center")
    for y, text in (
        (0.0, f"input layer\n$x_i$, i = 1…d, d = {d}"),
        (2.2, f"hidden layer\n$b_h$, h = 1…q, q = {q}"),
        (4.4, f"output layer\n$y'_j$, j = 1…l, l = {l}"),
    ):
        ax.text(-4.8, y, text, fontsize=9, va="center")
    V, W = g.info["shapes"][g.info["names"][1]], g.info["shapes"][g.info["names"][3]]
    ax.set_title(
        "FIG-1: the watermelon book's BP network (p. 102; MLP-1), edges probed from "
        "specs.mlp.mlp_forward",
        fontsize=10,
    )
    caption = (
        f"specs.mlp.mlp_forward with d = {d}, q = {q}, l = {l}: an arrow x_i → b_h is drawn "
        "where perturbing x_i moves b_h, b_h → y'_j where perturbing the threshold γ_h moves "
        "y'_j. Edge labels are the weight entries carrying each edge (their effect vanishes "
        f"when the source is silenced): v_ih with V of shape {V} (d × q), w_hj with W of shape "
        f"{W} (q × l); blue: the edges into b_{focus_h[1:]}, red: into y'_{focus_j[1:]}. "
        "Thresholds γ_h, θ_j: b_h = σ(Σ_i v_ih x_i − γ_h), y'_j = φ(Σ_h w_hj b_h − θ_j)."
    )
    return fig, caption


def draw_fig3() -> tuple[Any, str]:
    g = fig3_data()
    T = g.info["T"]
    pos = {"s0": (0.0, 1.6)}
    for t in range(1, T + 1):
        pos.update({f"x{t}": (2.2 * t, 0.0), f"s{t}": (2.2 * t, 1.6), f"o{t}": (2.2 * t, 3.2)})
    fig = _figure(9.0, 3.9)
    ax = fig.add_subplot()
    _canvas(ax, (-0.6, 2.2 * T + 0.7), (-0.6, 3.9))
    _draw_graph(ax, g, pos, "FIG-3:")
    for (u, v), found in g.edge_carriers.items():
        (x0, y0), (x1, y1) = pos[u], pos[v]
        text = ", ".join(f"${p}$" for p in found)
        dx, dy = (0.0, 0.28) if y0 == y1 else (0.42, 0.0)
        ax.text(
            (x0 + x1) / 2 + dx,
            (y0 + y1) / 2 + dy,
            text,
            fontsize=10,
            ha="center",
            va="center",
            color="C0",
        )
    every = [f"s{t}" for t in range(1, T + 1)]
    shared = [p for p, moved in g.info["moved_by"].items() if set(every) <= moved]
    heads = [f"o{t}" for t in range(1, T + 1)]
    head = [p for p, moved in g.info["moved_by"].items() if moved == set(heads)]
    ax.set_title(
        f"FIG-3: the RNN unrolled over T = {T} steps (RNN-1), edges probed from "
        "specs.rnn.rnn_forward / output_forward",
        fontsize=10,
    )
    caption = (
        "Arrows: direct dependences found by perturbing each x_t and s_0 "
        "(specs.rnn.rnn_forward, output_forward); labels: the parameter carrying each edge "
        "(its effect vanishes when the source is zero; specs.rnn.rnn_step_forward). "
        f"Shared across steps: perturbing any of {', '.join(shared)} moves every s_t "
        f"(one copy, tied over time); perturbing {', '.join(head) or 'no parameter'} moves "
        "every o_t and no s_t (the shared head, outside the recurrence)."
    )
    return fig, caption


_LSTM_POS = {
    "c_prev": (0.0, 3.2),
    "h_prev": (0.0, 0.0),
    "x": (2.4, -1.0),
    "f": (1.5, 1.6),
    "i": (2.7, 1.6),
    "g": (3.9, 1.6),
    "o": (5.1, 1.6),
    "c_t": (4.6, 3.2),
    "h_t": (7.0, 0.6),
}


def draw_fig6() -> tuple[Any, str]:
    fig = _figure(12.0, 4.6)
    notes = []
    direct = True
    colors = {g: "#fde2b5" for g in ("i", "f", "o")} | {"g": "#d7ecd0"}
    for ax, variant, title in zip(
        fig.subplots(1, 2),
        ("lstm_step_forward", "peephole_step_forward"),
        (
            "CS231n LSTM (specs.lstm.lstm_step_forward)",
            "peephole LSTM (specs.lstm.peephole_step_forward)",
        ),
        strict=True,
    ):
        g = fig6_data(variant)
        _canvas(ax, (-0.6, 7.9), (-1.6, 3.9))
        rad = {("c_prev", "f"): 0.15, ("c_prev", "i"): 0.1, ("c_t", "o"): -0.2}
        _draw_graph(
            ax, g, _LSTM_POS, f"{variant}:", boxes=("i", "f", "o", "g"), colors=colors, rad=rad
        )
        ax.set_title(title, fontsize=10)
        cross = sorted(v for u, v in g.edges if u == "c_prev" and v in ("i", "f", "o", "g"))
        notes.append(f"{title.split(' (')[0]}: c_(t−1) → gates: {', '.join(cross) or 'none'}")
        direct = direct and ("c_prev", "c_t") in g.edges
        if variant == "lstm_step_forward" and not cross:
            notes[-1] += " (ERR-12: the CS231n gates see only x_t and h_(t−1))"
    fig.suptitle(
        "FIG-6: the LSTM cell, edges probed from the specs (gates i, f, o = σ, "
        "block input g = tanh)",
        fontsize=11,
    )
    caption = (
        "Arrows are the direct dependences found by perturbing x_t, h_(t−1), c_(t−1) and each "
        "gate's bias block of specs.lstm.lstm_step_forward (left) and peephole_step_forward "
        "(right), at the base point and with i, f, o held at exactly 0 or 1. "
        + "; ".join(notes)
        + "."
        + (" In both, c_(t−1) reaches c_t directly (c_t = f ⊙ c_(t−1) + i ⊙ g)." if direct else "")
    )
    return fig, caption


_GRU_POS = {
    "h_prev": (0.0, 3.0),
    "h_t": (7.0, 3.0),
    "x": (2.5, -1.0),
    "z": (4.0, 2.2),
    "r": (1.5, 1.0),
    "q": (3.0, 1.0),
    "n": (5.4, 1.0),
}
_CONVENTION_FORMULA = {
    "article": r"$h_t=(1-z_t)\odot h_{t-1}+z_t\odot\tilde h_t$",
    "cho": r"$h_t=z_t\odot h_{t-1}+(1-z_t)\odot\tilde h_t$",
    "unknown": "z convention unknown",
}
_CONVENTION_TEXT = {
    "article": "h_t = (1−z_t) ⊙ h_(t−1) + z_t ⊙ h̃_t (the article's; z → 1 copies h̃_t)",
    "cho": "h_t = z_t ⊙ h_(t−1) + (1−z_t) ⊙ h̃_t (Cho et al., PyTorch; z → 1 copies h_(t−1))",
    "unknown": "neither convention (h_t at z = 1 is neither h̃_t nor h_(t−1))",
}


def draw_fig7() -> tuple[Any, str]:
    fig = _figure(12.0, 4.6)
    colors = {"z": "#fde2b5", "r": "#fde2b5", "n": "#d7ecd0"}
    conventions = set()
    for ax, reset in zip(fig.subplots(1, 2), ("before", "after"), strict=True):
        g = fig7_data(reset)
        conventions.add(g.info["convention"])
        _canvas(ax, (-0.6, 7.6), (-1.6, 3.7))
        _draw_graph(
            ax,
            g,
            _GRU_POS,
            f"reset_{reset}:",
            boxes=("z", "r", "q", "n"),
            colors=colors,
            rad={("r", "n"): 0.35},
        )
        where = "on h_(t−1) before" if ("r", "q") in g.edges else "after"
        ax.set_title(
            f"reset {reset}: r_t applied {where} the recurrent matmul "
            f"(q_t = {'(r⊙h)W_hn' if ('r', 'q') in g.edges else 'h W_hn'} + b_hn)",
            fontsize=9,
        )
    (convention,) = conventions
    fig.suptitle(
        "FIG-7: the GRU cell, edges probed from specs.gru.gru_step_forward; "
        + _CONVENTION_FORMULA[convention],
        fontsize=11,
    )
    caption = (
        "z convention, measured on the spec's default: with z_t driven to exactly 1 "
        f"(update bias 800), {_CONVENTION_TEXT[convention]}. Arrows: direct dependences found by "
        "perturbing x_t, h_(t−1) and the bias blocks of z, r, h̃ (and of the recurrent term q_t), "
        "at the base point and with z, r held at exactly 0 or 1 "
        "(specs.gru.gru_step_forward, reset='before' and 'after')."
    )
    return fig, caption
