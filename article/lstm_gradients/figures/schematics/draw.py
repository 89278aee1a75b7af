"""The drawing of the schematic figures: each ``draw_fig*`` lays out its model's `Graph` with
matplotlib's object API (no pyplot, no display), one arrow per probed edge (gid ``prefix:u->v``,
so a test can read back what was drawn with `drawn_edges`), and writes the caption from what
was measured."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lstm_gradients.figures.schematics.models import fig1_data, fig3_data, fig6_data, fig7_data
from lstm_gradients.figures.schematics.probe import Edge, Graph

__all__ = ["draw_fig1", "draw_fig3", "draw_fig6", "draw_fig7", "drawn_edges"]


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


def _carrier_index(label: str) -> tuple[str, tuple[int, ...]]:
    """``"V(0, 2)"`` -> ``("V", (0, 2))``."""
    name, _, rest = label.partition("(")
    return name, tuple(int(s) for s in rest.rstrip(")").split(",") if s.strip())


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
