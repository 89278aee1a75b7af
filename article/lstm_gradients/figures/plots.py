"""The article's plotted figures (FIG-2, FIG-4, FIG-5, FIG-8, PLOT-A, PLOT-B, PLOT-C), drawn
from the specs' public functions (never from constants).

Each figure has a *data* function (what a test checks: `fig4_data`, `plot_a_rnn_data`, ...) and
a *drawer* (``draw_fig4``, ...) that plots that data with matplotlib's object API (no pyplot, no
display needed). Spec functions are looked up with `lstm_gradients.figures._lookup.spec`, so a
missing one makes its figure unavailable, with the reason, never faked. matplotlib comes with
gradcheck's ``report`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck.report.figures import FigureUnavailable
from lstm_gradients.figures._lookup import spec

__all__ = [
    "draw_fig2",
    "draw_fig4",
    "draw_fig5",
    "draw_fig8",
    "draw_plot_a",
    "draw_plot_b",
    "draw_plot_c",
    "fig2_data",
    "fig4_data",
    "fig5_data",
    "fig8_data",
    "plot_a_gru_data",
    "plot_a_lstm_data",
    "plot_a_rnn_data",
    "plot_b_data",
    "plot_c_data",
    "spectral_matrix",
]

Array = NDArray[np.float64]


def spectral_matrix(rng: np.random.Generator, n: int, rho: float) -> Array:
    """``U diag(s) V^T`` with ``s_1 = rho``, ``s_2.. ~ U[0, rho]``: spectral norm exactly rho."""
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.concatenate([[rho], rng.uniform(0.0, rho, n - 1)])
    return np.asarray((u * s) @ v.T, dtype=np.float64)


# ------------------------------------------------------------------------------------ data


def fig4_data(
    rhos: Iterable[float] = (0.5, 1.0, 1.5),
    t: int = 30,
    H: int = 6,
    D: int = 3,
    K: int = 2,
    seed: int = 4,
) -> dict[float, tuple[Array, Array]]:
    """FIG-4: per-lag Frobenius norms of RNN-4's terms and their RNN-7 bounds, for each rho.

    Uses `specs.rnn.per_lag_contributions` on one random sequence per rho.
    Returns ``{rho: (norms, bounds)}``, index ``i-1`` for the term of step i = 1..t.
    """
    contributions = spec("rnn", "per_lag_contributions")
    out = {}
    for rho in rhos:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((t, D))
        W_x = rng.standard_normal((D, H)) / np.sqrt(D)
        W_s = spectral_matrix(rng, H, rho)
        W_o = rng.standard_normal((H, K)) / np.sqrt(H)
        y = rng.standard_normal((t, K))
        args = (x, np.zeros(H), W_x, W_s, np.zeros(H), W_o, y, t)
        out[float(rho)] = tuple(np.asarray(a, dtype=np.float64) for a in contributions(*args))
    return out  # type: ignore[return-value]


def plot_a_rnn_data(
    rhos: Iterable[float] = (0.5, 0.9, 1.0, 1.5, 3.0),
    T: int = 100,
    H: int = 8,
    seeds: int = 20,
    first_seed: int = 0,
) -> dict[float, Array]:
    """PLOT-A (RNN): ``‖∂s_T/∂s_{T-L}‖₂`` for L = 0..T, one row per seed, for each rho.

    Uses `specs.rnn.jacobian_norms_by_lag`; inputs x ~ N(0, 1), W_x scaled by 1/sqrt(D).
    Returns ``{rho: array (seeds, T+1)}``.
    """
    norms_by_lag = spec("rnn", "jacobian_norms_by_lag")
    D = 4
    out = {}
    for rho in rhos:
        rows = []
        for seed in range(first_seed, first_seed + seeds):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((T, D))
            W_x = rng.standard_normal((D, H)) / np.sqrt(D)
            W_s = spectral_matrix(rng, H, rho)
            rows.append(norms_by_lag(x, np.zeros(H), W_x, W_s, np.zeros(H)))
        out[float(rho)] = np.asarray(rows, dtype=np.float64)
    return out


def fig2_data(lo: float = -45.0, hi: float = 45.0, n: int = 9001) -> dict[str, Any]:
    """FIG-2: σ, the stable σ' and the article's output form y(1−y) on a grid, and the
    float64/float32 saturation thresholds (computed by `specs.activations.saturation_threshold`).

    The grid holds x = 0 exactly (added when ``lo < 0 < hi``), so the ¼ peak is on it.
    """
    sigmoid = spec("activations", "sigmoid")
    sigmoid_prime = spec("activations", "sigmoid_prime")
    from_output = spec("activations", "sigmoid_prime_from_output")
    threshold = spec("activations", "saturation_threshold")
    x = np.linspace(lo, hi, n)
    x = np.union1d(x, [0.0]) if lo < 0.0 < hi else x
    y = sigmoid(x)
    return {
        "x": x,
        "sigma": y,
        "prime": sigmoid_prime(x),
        "output_form": from_output(y),
        "t64": float(threshold(sigmoid, np.float64)),
        "t32": float(threshold(sigmoid, np.float32)),
    }


def fig5_data(lo: float = -5.0, hi: float = 5.0, n: int = 2001) -> dict[str, Array]:
    """FIG-5: tanh, tanh', 2σ(2x)−1 (ACT-4), the article's literal "range only" reading
    2σ(x)−1, σ and σ' — each from `specs.activations`."""
    sigmoid = spec("activations", "sigmoid")
    x = np.linspace(lo, hi, n)
    return {
        "x": x,
        "tanh": spec("activations", "tanh")(x),
        "tanh_prime": spec("activations", "tanh_prime")(x),
        "via_sigmoid": spec("activations", "tanh_via_sigmoid")(x),
        "range_only": 2.0 * sigmoid(x) - 1.0,
        "sigma": sigmoid(x),
        "sigma_prime": spec("activations", "sigmoid_prime")(x),
    }


_PLOT_B_RHOS = {"sigmoid": (1.0, 4.0, 8.0), "relu": (0.8, 1.0, 1.25)}


def plot_b_data(seed: int = 0, L: int = 12, width: int = 8) -> dict[tuple[str, float], Any]:
    """PLOT-B: per-layer ‖δ_l‖ and the MLP-9 bound, sigmoid and ReLU nets whose every W_l has
    spectral norm ρ (`specs.mlp.delta_profile`); ρ = 1, 4, 8 for the sigmoid (γ = ¼, so 4 is
    the break-even gain) and 0.8, 1, 1.25 for ReLU (γ = 1). Returns
    ``{(activation, rho): DeltaProfile}``."""
    profile = spec("mlp", "delta_profile")
    acts = {"sigmoid": spec("activations", "SIGMOID"), "relu": spec("activations", "RELU")}
    out = {}
    for name, act in acts.items():
        for rho in _PLOT_B_RHOS[name]:
            rng = np.random.default_rng(seed)
            Ws = [spectral_matrix(rng, width, rho) for _ in range(L)]
            bs = [0.1 * rng.standard_normal(width) for _ in range(L)]
            x = rng.standard_normal(width)
            dh = rng.standard_normal(width)
            out[(name, float(rho))] = profile(x, Ws, bs, dh, act)
    return out


def plot_a_lstm_data(
    forget_biases: Iterable[float] = (0.0, 1.0, 3.0, 5.0),
    T: int = 100,
    H: int = 8,
    seeds: int = 20,
    first_seed: int = 0,
) -> dict[float, tuple[Array, Array]]:
    """PLOT-A (LSTM): for each forget bias b_f, ``(full, cell)`` arrays (seeds, T+1): the norm
    of the (c, h) Jacobian product and the cell path ‖diag ∏f‖ against lag
    (`specs.lstm.jacobian_norms_by_lag`). Inputs N(0, 1); W_x, W_h scaled by 1/sqrt(fan-in)."""
    norms_by_lag = spec("lstm", "jacobian_norms_by_lag")
    D = 4
    out = {}
    for b_f in forget_biases:
        full, cell = [], []
        for seed in range(first_seed, first_seed + seeds):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((T, D))
            W_x = rng.standard_normal((D, 4 * H)) / np.sqrt(D)
            W_h = rng.standard_normal((H, 4 * H)) / np.sqrt(H)
            b = np.zeros(4 * H)
            b[H : 2 * H] = b_f  # gate order i, f, o, g
            f_row, c_row = norms_by_lag(x, np.zeros(H), np.zeros(H), W_x, W_h, b)
            full.append(f_row)
            cell.append(c_row)
        out[float(b_f)] = (np.asarray(full, dtype=np.float64), np.asarray(cell, dtype=np.float64))
    return out


def plot_a_gru_data(
    update_biases: Iterable[float] = (0.0, -2.0, -5.0),
    T: int = 100,
    H: int = 8,
    seeds: int = 20,
    first_seed: int = 0,
) -> dict[float, Array]:
    """PLOT-A (GRU, the article's convention h_t = (1−z)h_{t−1} + z h̃): ‖∂h_t/∂h_k‖₂ against
    lag for each update-gate bias b_z (`specs.gru.jacobian_norms_by_lag`); (seeds, T+1) each."""
    norms_by_lag = spec("gru", "jacobian_norms_by_lag")
    D = 4
    out = {}
    for b_z in update_biases:
        rows = []
        for seed in range(first_seed, first_seed + seeds):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((T, D))
            W_x = rng.standard_normal((D, 3 * H)) / np.sqrt(D)
            W_h = rng.standard_normal((H, 3 * H)) / np.sqrt(H)
            b_x = np.zeros(3 * H)
            b_x[:H] = b_z  # blocks z, r, n
            rows.append(norms_by_lag(x, np.zeros(H), W_x, W_h, b_x, np.zeros(3 * H)))
        out[float(b_z)] = np.asarray(rows, dtype=np.float64)
    return out


FIG8_SHAPE = (3, 6, 2, 2)  # (N, C, H, W): HW = 4 cells along the third axis
FIG8_INDEX = (1, 2, 0, 0)
FIG8_METHODS = (("BN", 1), ("LN", 1), ("IN", 1), ("GN", 3))


def fig8_data(
    shape: tuple[int, int, int, int] = FIG8_SHAPE,
    index: tuple[int, int, int, int] = FIG8_INDEX,
    methods: Iterable[tuple[str, int]] = FIG8_METHODS,
) -> dict[str, Any]:
    """FIG-8: for BN, LN, IN and GN (G = 3), the boolean set S_i of the element ``FIG8_INDEX``
    of an ``FIG8_SHAPE`` tensor, from `specs.normalization.reduction_set` (the article's
    table) and from `group_ids` (the groups the kernel itself normalises over)."""
    reduction_set = spec("normalization", "reduction_set")
    group_ids = spec("normalization", "group_ids")
    out = {}
    for method, G in methods:
        ids = group_ids(shape, method, G)
        out[method] = {
            "G": G,
            "table": np.asarray(reduction_set(shape, method, index, G), dtype=bool),
            "kernel": np.asarray(ids == ids[index], dtype=bool),
        }
    return out


def plot_c_data(
    ms: Iterable[int] = (2, 3, 4, 8, 16, 32, 64, 128), R: int = 20000, seed: int = 11
) -> dict[str, Array]:
    """PLOT-C: Monte Carlo against theory of Var(μ_B), Var(σ_B²), MSE(σ_B²) and the per-sample
    std of x̂ against the batch size m (`specs.normalization.plot_c_data`)."""
    data = spec("normalization", "plot_c_data")(list(ms), R, seed)
    return {k: np.asarray(v) for k, v in data.items()}


# ------------------------------------------------------------------------------- drawers


def _new_figure(width: float = 7.0, height: float = 4.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def draw_fig4() -> tuple[Any, str]:
    data = fig4_data()
    fig = _new_figure()
    ax = fig.add_subplot()
    for n, (rho, (norms, bounds)) in enumerate(data.items()):
        steps = np.arange(1, len(norms) + 1)
        color = f"C{n}"
        ax.semilogy(steps, np.maximum(norms, 1e-300), "o-", ms=3, color=color, label=f"ρ = {rho:g}")
        ax.semilogy(
            steps, bounds, "--", color=color, lw=1, label=f"bound ρ^(t−i)·‖…‖·‖x_i‖, ρ = {rho:g}"
        )
    ax.set_xlabel(f"step i of the path E_t → W_x (t = {len(norms)})")
    ax.set_ylabel("‖(δ_{t,i} ⊙ (1 − s_i²)) x_iᵀ‖_F")
    ax.set_title(
        "FIG-4: BPTT terms of ∂E_t/∂W_x by step (RNN-4) against the RNN-7 bound", fontsize=10
    )
    ax.legend(fontsize=7, ncol=2)
    caption = (
        "Each dot is one term of the article's sum over i (specs.rnn.per_lag_contributions); "
        "dashed: the bound ρ^{t−i}‖W_o(o_t−y_t)‖‖x_i‖, one random sequence per ρ."
    )
    return fig, caption


def draw_fig2() -> tuple[Any, str]:
    d = fig2_data()
    fig = _new_figure(11.0, 4.0)
    left, right = fig.subplots(1, 2)
    near = np.abs(d["x"]) <= 8
    left.plot(d["x"][near], d["sigma"][near], label="σ(x)")
    left.plot(d["x"][near], d["prime"][near], label="σ′(x)")
    left.axhline(0.25, ls=":", color="gray")
    left.plot([0.0], [0.25], "o", color="C1")
    left.annotate("max σ′ = σ′(0) = ¼", (0.0, 0.25), (1.5, 0.4), arrowprops={"arrowstyle": "->"})
    left.set_xlabel("x")
    left.legend()
    left.set_title("σ and σ′ (ACT-1)", fontsize=10)
    pos = d["x"] >= 0
    x = d["x"][pos]
    right.semilogy(x, d["prime"][pos], label="σ′(x) = e^{−|x|}/(1+e^{−|x|})²")
    right.semilogy(
        x,
        np.where(d["output_form"][pos] > 0, d["output_form"][pos], np.nan),
        "--",
        label="y(1−y), y = fl(σ(x)): exactly 0 past the band edge",
    )
    right.semilogy(x, np.exp(-x), ":", color="gray", label="e^{−|x|} and ¼e^{−|x|}")
    right.semilogy(x, 0.25 * np.exp(-x), ":", color="gray")
    right.axvspan(
        d["t64"],
        x[-1],
        color="C3",
        alpha=0.15,
        label=f"float64: fl(σ(x)) = 1 for x ≥ {d['t64']:.4f}",
    )
    right.axvline(d["t32"], color="C4", lw=1, label=f"float32 saturates at {d['t32']:.4f}")
    right.set_xlabel("x ≥ 0 (σ′ is even)")
    right.legend(fontsize=7, loc="lower left")
    right.set_title("saturation in float64 (ACT-3, ERR-4)", fontsize=10)
    fig.suptitle("FIG-2: the sigmoid and its derivative")
    caption = (
        "specs.activations.sigmoid / sigmoid_prime / sigmoid_prime_from_output; the band "
        "edge is computed by saturation_threshold (bisection over float64 bit patterns)."
    )
    return fig, caption


def draw_fig5() -> tuple[Any, str]:
    d = fig5_data()
    fig = _new_figure(11.0, 4.0)
    left, right = fig.subplots(1, 2)
    left.plot(d["x"], d["tanh"], label="tanh x")
    left.plot(d["x"], d["via_sigmoid"], "--", label="2σ(2x) − 1 (= tanh x)")
    left.plot(d["x"], d["range_only"], ":", label="2σ(x) − 1 (range rescaled only)")
    left.plot(d["x"], d["sigma"], label="σ(x)")
    left.legend(fontsize=8)
    left.set_title("tanh is σ rescaled AND with the argument doubled (ERR-9)", fontsize=10)
    right.plot(d["x"], d["tanh_prime"], label="tanh′ x (peak 1)")
    right.plot(d["x"], d["sigma_prime"], label="σ′ x (peak ¼)")
    right.legend(fontsize=8)
    right.set_title("derivatives (ACT-4)", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("x")
        ax.axhline(0, color="gray", lw=0.5)
    fig.suptitle("FIG-5: tanh against the sigmoid")
    return fig, "specs.activations.tanh / tanh_prime / tanh_via_sigmoid / sigmoid / sigmoid_prime."


def draw_plot_b() -> tuple[Any, str]:
    data = plot_b_data()
    fig = _new_figure(11.0, 4.0)
    axes = dict(zip(("sigmoid", "relu"), fig.subplots(1, 2, sharey=True), strict=True))
    for n, ((act, rho), prof) in enumerate(data.items()):
        color = f"C{n % 3}"
        layers = np.arange(1, len(prof.norms) + 1)
        ax = axes[act]
        ax.semilogy(
            layers,
            np.maximum(prof.norms, 1e-300),
            "o-",
            ms=3,
            color=color,
            label=f"‖δ_l‖, ‖W_l‖₂ = {rho:g}",
        )
        ax.semilogy(layers, prof.bounds, "--", color=color, lw=1)
    for act, ax in axes.items():
        gamma = "¼" if act == "sigmoid" else "1"
        ax.set_title(f"{act}: dashed = ({gamma})^(L−l+1) ∏_(k>l) ‖W_k‖₂ ‖∇_(h_L)E‖", fontsize=9)
        ax.set_xlabel("layer l (L = 12)")
        ax.legend(fontsize=7)
    axes["sigmoid"].set_ylabel("backprop delta norm")
    fig.suptitle("PLOT-B: deep MLP, delta norm per layer against the MLP-9 / ACT-5 bound")
    caption = "specs.mlp.delta_profile on one random net per ‖W‖₂ (seed 0, width 8, L = 12)."
    return fig, caption


def _band(ax: Any, lags: Array, rows: Array, color: str, label: str) -> None:
    q25, med, q75 = np.percentile(rows, [25, 50, 75], axis=0)
    ax.semilogy(lags, np.maximum(med, 1e-300), color=color, label=label)
    ax.fill_between(lags, np.maximum(q25, 1e-300), np.maximum(q75, 1e-300), color=color, alpha=0.2)


def draw_plot_a() -> tuple[Any, str]:
    panels: list[tuple[str, Callable[[Any], str]]] = [("RNN", _plot_a_rnn_panel)]
    panels += [("LSTM", _plot_a_lstm_panel), ("GRU", _plot_a_gru_panel)]
    fig = _new_figure(12.0, 4.0)
    axes = fig.subplots(1, len(panels), sharey=True)
    notes = []
    for ax, (name, panel) in zip(axes, panels, strict=True):
        try:
            notes.append(panel(ax))
        except FigureUnavailable as exc:
            ax.text(
                0.5,
                0.5,
                f"{name}: not drawn\n{exc}",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=8,
                wrap=True,
            )
            notes.append(f"{name} panel not drawn: {exc}.")
    axes[0].set_ylabel("gradient norm (median, IQR over seeds)")
    fig.suptitle("PLOT-A: gradient norm against lag t − k")
    return fig, " ".join(notes)


def _plot_a_rnn_panel(ax: Any) -> str:
    data = plot_a_rnn_data()
    for n, (rho, rows) in enumerate(data.items()):
        lags = np.arange(rows.shape[1], dtype=np.float64)
        _band(ax, lags, rows, f"C{n}", f"ρ = {rho:g}")
        ax.semilogy(lags, rho**lags, ":", color=f"C{n}", lw=1)
    ax.set_ylim(1e-30, 1e30)
    ax.set_xlabel("lag t − k")
    ax.set_title("RNN ‖∂s_t/∂s_k‖₂ (dotted: ρ^{t−k})", fontsize=9)
    ax.legend(fontsize=7)
    return "RNN: specs.rnn.jacobian_norms_by_lag, T = 100, H = 8, 20 seeds per ρ."


def _plot_a_lstm_panel(ax: Any) -> str:
    data = plot_a_lstm_data()
    for n, (b_f, (full, cell)) in enumerate(data.items()):
        lags = np.arange(full.shape[1], dtype=np.float64)
        _band(ax, lags, full, f"C{n}", f"(c, h) Jacobian, b_f = {b_f:g}")
        ax.semilogy(lags, np.median(cell, axis=0), "--", color=f"C{n}", lw=1)
    ax.set_xlabel("lag t − k")
    ax.set_title("LSTM: ‖∂(c,h)_t/∂(c,h)_k‖₂ (dashed: cell path ‖∏f‖)", fontsize=9)
    ax.legend(fontsize=7)
    return "LSTM: specs.lstm.jacobian_norms_by_lag (full (c,h) product and cell path), 20 seeds."


def _plot_a_gru_panel(ax: Any) -> str:
    data = plot_a_gru_data()
    for n, (b_z, rows) in enumerate(data.items()):
        lags = np.arange(rows.shape[1], dtype=np.float64)
        _band(ax, lags, rows, f"C{n}", f"b_z = {b_z:g}")
    ax.set_xlabel("lag t − k")
    ax.set_title("GRU (article's z): ‖∂h_t/∂h_k‖₂", fontsize=9)
    ax.legend(fontsize=7)
    return "GRU: specs.gru.jacobian_norms_by_lag, h_t = (1−z)h_{t−1} + z h̃, 20 seeds."


def draw_fig8() -> tuple[Any, str]:
    from matplotlib.figure import Figure

    data = fig8_data()
    fig = Figure(figsize=(12.0, 3.8))
    fig.subplots_adjust(left=0.0, right=0.97, top=0.8, bottom=0.02, wspace=0.05)
    N, C, H, W = FIG8_SHAPE
    for k, (method, d) in enumerate(data.items()):
        ax = fig.add_subplot(1, len(data), k + 1, projection="3d")
        cube = d["kernel"].reshape(N, C, H * W).transpose(0, 2, 1)  # axes: N, HW, C
        ax.voxels(cube, facecolors=(0.15, 0.4, 0.8, 0.9), edgecolor="0.2", linewidth=0.4)
        ax.voxels(
            ~cube,
            facecolors=(0.8, 0.8, 0.8, 0.08),
            edgecolor=(0.5, 0.5, 0.5, 0.3),
            linewidth=0.3,
            shade=False,
        )
        ax.set_xlabel("N", labelpad=-8)
        ax.set_ylabel("H·W", labelpad=-8)
        ax.set_zlabel("C", labelpad=-8)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_ticklabels([])
        label = f"GN (G = {d['G']})" if method == "GN" else method
        ax.set_title(f"{label}: |S_i| = {int(cube.sum())}", fontsize=10, y=1.05)
        ax.set_box_aspect((N, H * W, C))
    fig.suptitle(f"FIG-8: the set S_i that normalises element (n, c, h, w) = {FIG8_INDEX}")
    caption = (
        "Blue: the elements whose mean and variance normalise element i, from "
        "specs.normalization.group_ids (the kernel's own groups, equal to the article's table "
        f"reduction_set). Tensor (N, C, H, W) = {FIG8_SHAPE}."
    )
    return fig, caption


def draw_plot_c() -> tuple[Any, str]:
    d = plot_c_data()
    fig = _new_figure(8.0, 4.5)
    ax = fig.add_subplot()
    m = d["m"].astype(np.float64)
    pairs = [
        ("var_mean", "Var(μ_B) = σ²/m"),
        ("var_var", "Var(σ_B²) = 2(m−1)σ⁴/m²"),
        ("mse_var", "MSE(σ_B²) = (2m−1)σ⁴/m²"),
    ]
    for n, (key, label) in enumerate(pairs):
        ax.loglog(m, d[f"{key}_theory"], "-", color=f"C{n}", label=label)
        ax.loglog(m, d[f"{key}_mc"], "o", color=f"C{n}", ms=4)
    ax.loglog(
        m, d["xhat_std_delta"] ** 2, "-", color="C3", label="Var x̂(x₀), delta method (1 + z₀²/2)/m"
    )
    ax.loglog(m, d["xhat_std_mc"] ** 2, "o", color="C3", ms=4)
    ax.set_xlabel("batch size m")
    ax.set_ylabel("variance / MSE (σ = 1)")
    ax.set_title("PLOT-C: batch statistics against m — Monte Carlo (dots) and theory (lines)")
    ax.legend(fontsize=8)
    caption = "specs.normalization.plot_c_data: 20 000 Gaussian batches per m, seed 11."
    return fig, caption
