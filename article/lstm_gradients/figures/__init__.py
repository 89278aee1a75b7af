"""The article's figures, plugged into the proof report through ``FIGURES`` (ID -> drawer).

The root ``pyproject.toml`` names it for gradcheck (ini ``gradcheck_figures =
lstm_gradients.figures:FIGURES``); `draw_figures` draws them outside a proof run. The plotted
figures are in `plots`, the probed schematics (FIG-1, FIG-3, FIG-6, FIG-7) in `schematics`;
both draw from the specs' public functions, and a figure that cannot be drawn is reported as
not produced, with the reason (`FigureUnavailable`), never faked.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gradcheck.report._document import FigureOutcome
from gradcheck.report.figures import Drawer, FigureUnavailable
from gradcheck.report.figures import draw_figures as _draw_figures
from lstm_gradients.figures._lookup import spec
from lstm_gradients.figures.plots import (
    draw_fig2,
    draw_fig4,
    draw_fig5,
    draw_fig8,
    draw_plot_a,
    draw_plot_b,
    draw_plot_c,
)
from lstm_gradients.figures.schematics import draw_fig1, draw_fig3, draw_fig6, draw_fig7

__all__ = ["FIGURES", "FigureUnavailable", "draw_figures", "spec"]

#: the article's figure drawers, by catalogue ID (the ``gradcheck_figures`` hook).
FIGURES: dict[str, Drawer] = {
    "FIG-2": draw_fig2,
    "FIG-4": draw_fig4,
    "FIG-5": draw_fig5,
    "PLOT-B": draw_plot_b,
    "FIG-8": draw_fig8,
    "PLOT-A": draw_plot_a,
    "PLOT-C": draw_plot_c,
    "FIG-1": draw_fig1,
    "FIG-3": draw_fig3,
    "FIG-6": draw_fig6,
    "FIG-7": draw_fig7,
}


def draw_figures(
    out_dir: str | Path, ids: Iterable[str] | None = None, dpi: int = 110
) -> list[FigureOutcome]:
    """Draw the article's figures (`FIGURES`) into ``out_dir/figures/<ID>.png``."""
    return _draw_figures(out_dir, FIGURES, ids, dpi)
