"""The article's figures, drawn from the specs' public functions (never from constants).

Each figure has a *data* function (what a test checks: `fig4_data`, `plot_a_data`, ...) and a
*drawer* that plots that data with matplotlib's object API (no pyplot, no display needed).
A figure whose spec function does not exist yet is reported as not produced, with the reason;
`draw_figures` never fakes one.

``specs`` is the project's spec package (importable from a checkout); matplotlib comes with the
``report`` extra.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck.report._document import FigureOutcome

__all__ = ["DRAWERS", "FigureUnavailable", "draw_figures", "fig4_data", "plot_a_rnn_data", "spec"]

Array = NDArray[np.float64]


class FigureUnavailable(RuntimeError):
    """A spec function a figure needs is not there (the message says which)."""


def spec(module: str, name: str) -> Any:
    """``specs.<module>.<name>``, or `FigureUnavailable` naming what is missing."""
    try:
        mod = importlib.import_module(f"specs.{module}")
    except ImportError as exc:
        raise FigureUnavailable(f"cannot import specs.{module} ({exc})") from None
    fn = getattr(mod, name, None)
    if fn is None:
        raise FigureUnavailable(f"specs.{module}.{name} does not exist (yet)")
    return fn


def spectral_matrix(rng: np.random.Generator, n: int, rho: float) -> Array:
    """``U diag(s) V^T`` with ``s_1 = rho``, ``s_2.. ~ U[0, rho]``: spectral norm exactly rho."""
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.concatenate([[rho], rng.uniform(0.0, rho, n - 1)])
    return np.asarray((u * s) @ v.T, dtype=np.float64)


# ------------------------------------------------------------------------------------ data


def fig4_data(
    rhos: Iterable[float] = (0.5, 1.0, 1.5), t: int = 30, H: int = 6, D: int = 3, K: int = 2
) -> dict[float, tuple[Array, Array]]:
    """FIG-4: per-lag Frobenius norms of RNN-4's terms and their RNN-7 bounds, for each rho.

    Uses `specs.rnn.per_lag_contributions` on one random sequence per rho (seed 4).
    Returns ``{rho: (norms, bounds)}``, index ``i-1`` for the term of step i = 1..t.
    """
    contributions = spec("rnn", "per_lag_contributions")
    out = {}
    for rho in rhos:
        rng = np.random.default_rng(4)
        x = rng.standard_normal((t, D))
        W_x = rng.standard_normal((D, H)) / np.sqrt(D)
        W_s = spectral_matrix(rng, H, rho)
        W_o = rng.standard_normal((H, K)) / np.sqrt(H)
        y = rng.standard_normal((t, K))
        args = (x, np.zeros(H), W_x, W_s, np.zeros(H), W_o, y, t)
        out[float(rho)] = tuple(np.asarray(a, dtype=np.float64) for a in contributions(*args))
    return out  # type: ignore[return-value]


def plot_a_rnn_data(
    rhos: Iterable[float] = (0.5, 0.9, 1.0, 1.5, 3.0), T: int = 100, H: int = 8, seeds: int = 20
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
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((T, D))
            W_x = rng.standard_normal((D, H)) / np.sqrt(D)
            W_s = spectral_matrix(rng, H, rho)
            rows.append(norms_by_lag(x, np.zeros(H), W_x, W_s, np.zeros(H)))
        out[float(rho)] = np.asarray(rows, dtype=np.float64)
    return out


# ------------------------------------------------------------------------------- drawers


def _new_figure(width: float = 7.0, height: float = 4.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _draw_fig4() -> tuple[Any, str]:
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


def _band(ax: Any, lags: Array, rows: Array, color: str, label: str) -> None:
    q25, med, q75 = np.percentile(rows, [25, 50, 75], axis=0)
    ax.semilogy(lags, np.maximum(med, 1e-300), color=color, label=label)
    ax.fill_between(lags, np.maximum(q25, 1e-300), np.maximum(q75, 1e-300), color=color, alpha=0.2)


def _draw_plot_a() -> tuple[Any, str]:
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
    raise FigureUnavailable("the LSTM lag functions are not wired in yet")


def _plot_a_gru_panel(ax: Any) -> str:
    raise FigureUnavailable("the GRU lag function is not wired in yet")


DRAWERS: dict[str, Callable[[], tuple[Any, str]]] = {
    "FIG-4": _draw_fig4,
    "PLOT-A": _draw_plot_a,
}


def draw_figures(out_dir: str | Path, ids: Iterable[str] | None = None) -> list[FigureOutcome]:
    """Draw each figure into ``out_dir/figures/<ID>.png``; report the ones that could not be."""
    fig_dir = Path(out_dir) / "figures"
    outcomes = []
    for fig_id in ids if ids is not None else DRAWERS:
        drawer = DRAWERS.get(fig_id)
        if drawer is None:
            outcomes.append(FigureOutcome(fig_id, reason="no drawer for this figure"))
            continue
        outcomes.append(_draw_one(fig_id, drawer, fig_dir))
    return outcomes


def _draw_one(fig_id: str, drawer: Callable[[], tuple[Any, str]], fig_dir: Path) -> FigureOutcome:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return FigureOutcome(
            fig_id, reason="matplotlib is not installed (pip install gradcheck[report])"
        )
    try:
        with np.errstate(all="ignore"):
            fig, caption = drawer()
    except FigureUnavailable as exc:
        return FigureOutcome(fig_id, reason=str(exc))
    except Exception as exc:  # a broken spec must not take the whole report down: say so
        return FigureOutcome(fig_id, reason=f"drawing failed: {type(exc).__name__}: {exc}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    png = buf.getvalue()
    fig_dir.mkdir(parents=True, exist_ok=True)
    (fig_dir / f"{fig_id}.png").write_bytes(png)
    return FigureOutcome(fig_id, caption=caption, path=f"figures/{fig_id}.png", png=png)
