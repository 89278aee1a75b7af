"""The models of the schematic figures FIG-1 (MLP), FIG-3 (RNN), FIG-6 (LSTM), FIG-7 (GRU).

Each ``fig*_data`` builds a ``run(args) -> {node: value}`` around one spec forward (the node
values are its outputs and the intermediate values its cache keeps, read by field name), chooses
the probes, handles, operating points, silencers and carrier parameters, and hands them to the
probing engine (`lstm_gradients.figures.schematics.probe`), which returns a `Graph`. A
``forward`` argument replaces the spec function, for negative controls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lstm_gradients import specs
from lstm_gradients.figures._lookup import spec
from lstm_gradients.figures.schematics.probe import (
    SATURATE,
    Args,
    Edge,
    Graph,
    Nodes,
    carriers,
    changed_nodes,
    compose,
    direct_edges,
    gate_points,
    kick,
    probe,
    setting,
    shift,
    weights,
)

__all__ = ["GRU_LAYERS", "LSTM_LAYERS", "fig1_data", "fig3_data", "fig6_data", "fig7_data"]

Array = NDArray[np.float64]


# ------------------------------------------------------------------------------ FIG-1: MLP


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
    record = specs.spec("mlp.network")
    names = record.arg_names  # ("x", "V", "gamma", "W", "theta")
    shapes = dict(zip(names, record.arg_shapes(N=1, d=d, q=q, l=l), strict=True))
    fwd = forward if forward is not None else record.forward
    identity = spec("activations", "IDENTITY")
    rng = np.random.default_rng(seed)
    args: Args = {n: np.asarray(rng.standard_normal(shapes[n])) for n in names}
    args.update({n: weights(rng, shapes[n]) for n in (names[1], names[3])})
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
    probes = {f"x{i + 1}": shift("x", (0, i), kick(rng, ())) for i in range(d)}
    probes.update({f"{g_}{h + 1}": shift(g_, h, kick(rng, ())) for h in range(q)})
    evidence = probe(run, args, probes, {"base": compose([])})
    edges = direct_edges(layers, evidence)
    entry_probes = {
        f"{n}{idx}": shift(n, idx, kick(rng, ()))
        for n in names[1:]
        for idx in np.ndindex(*shapes[n])
    }
    silencers = {f"x{i + 1}": setting("x", (0, i), 0.0) for i in range(d)}
    silencers.update({f"b{h + 1}": setting(g_, h, SATURATE) for h in range(q)})
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
    rnn = forward if forward is not None else spec("rnn", "rnn_forward")
    out_fwd = spec("rnn", "output_forward")
    step = spec("rnn", "rnn_step_forward")
    rng = np.random.default_rng(seed)
    args: Args = {
        "x": rng.standard_normal((1, T, D)),
        "s_0": rng.standard_normal((1, H)),
        "W_x": weights(rng, (D, H)),
        "W_s": weights(rng, (H, H)),
        "b": 0.1 * rng.standard_normal(H),
        "W_o": weights(rng, (H, K)),
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
    probes = {f"x{t + 1}": shift("x", (0, t), kick(rng, (D,))) for t in range(T)}
    probes["s0"] = shift("s_0", 0, kick(rng, (H,)))
    evidence = probe(run, args, probes, {"base": compose([])})
    edges = direct_edges(layers, evidence)
    base = run(args)
    moved_by = {
        p: changed_nodes(base, run(shift(p, ..., kick(rng, args[p].shape))(args)))
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
        "W_x": weights(rng, (D, H)),
        "W_s": weights(rng, (H, H)),
        "b": rng.standard_normal(H),
        "s": rng.standard_normal((1, 1, H)),
        "W_o": weights(rng, (H, K)),
    }

    def run(v: Args) -> Nodes:
        s, _ = step(v["x"], v["s_prev"], v["W_x"], v["W_s"], v["b"])
        o, _ = out_fwd(v["s"], v["W_o"])
        return {"s": s, "o": o}

    params = {p: shift(p, ..., kick(rng, a[p].shape)) for p in ("W_x", "W_s", "b", "W_o")}
    silencers = {n: setting(n, ..., 0.0) for n in ("x", "s_prev", "s")}
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
    fwd = forward if forward is not None else spec("lstm", variant)
    rng = np.random.default_rng(seed)
    args: Args = {
        "x": rng.standard_normal((1, D)),
        "h_prev": rng.standard_normal((1, H)),
        "c_prev": rng.standard_normal((1, H)),
        "W_x": weights(rng, (D, 4 * H)),
        "W_h": weights(rng, (H, 4 * H)),
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
    probes = {n: shift(n, ..., kick(rng, args[n].shape)) for n in ("x", "h_prev", "c_prev")}
    probes.update({f"b_{g}": shift(a, s, kick(rng, (H,))) for g, (a, s) in handles.items()})
    points = gate_points({g: handles[g] for g in ("i", "f", "o")})
    evidence = probe(run, args, probes, points)
    edges = direct_edges(LSTM_LAYERS, evidence)
    params = {n: shift(n, ..., kick(rng, args[n].shape)) for n in ("W_x", "W_h", "b", *extra)}
    silencers = {n: setting(n, ..., 0.0) for n in ("x", "h_prev", "c_prev")}
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
    step = forward if forward is not None else spec("gru", "gru_step_forward")
    kw = {"reset": reset} | ({"convention": convention} if convention else {})
    rng = np.random.default_rng(seed)
    args: Args = {
        "x": rng.standard_normal((1, D)),
        "h_prev": rng.standard_normal((1, H)),
        "W_x": weights(rng, (D, 3 * H)),
        "W_h": weights(rng, (H, 3 * H)),
        "b_x": 0.1 * rng.standard_normal(3 * H),
        "b_h": 0.1 * rng.standard_normal(3 * H),
    }
    order = ("x", "h_prev", "W_x", "W_h", "b_x", "b_h")

    def run(a: Args) -> Nodes:
        h, cache = step(*(a[n] for n in order), **kw)
        gates = {k: getattr(cache, k) for k in "zrqn"}  # fields of specs.gru.GRUStepCache
        return {"x": a["x"], "h_prev": a["h_prev"], **gates, "h_t": h}

    zr = {"z": ("b_x", slice(0, H)), "r": ("b_x", slice(H, 2 * H))}
    probes = {n: shift(n, ..., kick(rng, args[n].shape)) for n in ("x", "h_prev")}
    probes.update({f"b_{g}": shift(a, s, kick(rng, (H,))) for g, (a, s) in zr.items()})
    probes["b_xn"] = shift("b_x", slice(2 * H, 3 * H), kick(rng, (H,)))
    probes["b_hn"] = shift("b_h", slice(2 * H, 3 * H), kick(rng, (H,)))
    evidence = probe(run, args, probes, gate_points(zr))
    edges = direct_edges(GRU_LAYERS, evidence)
    saturated = run(setting("b_x", slice(0, H), SATURATE)(args))
    copies = {
        "n": bool(np.array_equal(saturated["h_t"], saturated["n"])),
        "h_prev": bool(np.array_equal(saturated["h_t"], saturated["h_prev"])),
    }
    measured = {(True, False): "article", (False, True): "cho"}.get(
        (copies["n"], copies["h_prev"]), "unknown"
    )
    params = {n: shift(n, ..., kick(rng, args[n].shape)) for n in ("W_x", "W_h", "b_x", "b_h")}
    silencers = {n: setting(n, ..., 0.0) for n in ("x", "h_prev")}
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
