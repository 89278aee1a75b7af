"""Figures in the proof report: a project's drawers, drawn to PNG, never faked.

A project gives its figures as a mapping ``{ID: drawer}``; a drawer takes no argument and
returns ``(figure, caption)`` with a matplotlib ``Figure``. The mapping is found through the ini
option ``gradcheck_figures = package.module:FIGURES`` (see `load_figures`), so any catalogue can
have figures the same way the article's proof has. A drawer that cannot draw raises
`FigureUnavailable` with the reason (a spec function that does not exist yet, say); any other
exception is reported too. Either way the figure is listed as not produced, with the reason.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gradcheck.report._document import FigureOutcome

__all__ = ["Drawer", "FigureUnavailable", "draw_figures", "load_figures"]

Drawer = Callable[[], tuple[Any, str]]


class FigureUnavailable(RuntimeError):
    """A drawer cannot draw its figure (the message says why, e.g. what is missing)."""


class FiguresNotFound(ValueError):
    """The ``module:NAME`` given for the figures does not resolve to a mapping of drawers."""


def load_figures(spec: str) -> Mapping[str, Drawer]:
    """The drawers named by ``"package.module:NAME"`` (``NAME`` a mapping ID -> drawer)."""
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise FiguresNotFound(
            f"gradcheck_figures = {spec!r}: write it as module:NAME, "
            "e.g. my_project.figures:FIGURES."
        )
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise FiguresNotFound(
            f"gradcheck_figures = {spec!r}: cannot import {module} ({exc})."
        ) from None
    drawers = getattr(mod, name, None)
    if not isinstance(drawers, Mapping):
        raise FiguresNotFound(
            f"gradcheck_figures = {spec!r}: {module}.{name} is "
            f"{type(drawers).__name__}, not a mapping of figure IDs to drawers."
        )
    return drawers


def draw_figures(
    out_dir: str | Path,
    drawers: Mapping[str, Drawer],
    ids: Iterable[str] | None = None,
    dpi: int = 110,
) -> list[FigureOutcome]:
    """Draw each figure into ``out_dir/figures/<ID>.png``; report the ones that could not be."""
    fig_dir = Path(out_dir) / "figures"
    outcomes = []
    for fig_id in ids if ids is not None else drawers:
        drawer = drawers.get(fig_id)
        if drawer is None:
            outcomes.append(FigureOutcome(fig_id, reason="no drawer for this figure"))
            continue
        outcomes.append(_draw_one(fig_id, drawer, fig_dir, dpi))
    return outcomes


def _draw_one(fig_id: str, drawer: Drawer, fig_dir: Path, dpi: int) -> FigureOutcome:
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
    fig.savefig(buf, format="png", dpi=dpi)
    png = buf.getvalue()
    fig_dir.mkdir(parents=True, exist_ok=True)
    (fig_dir / f"{fig_id}.png").write_bytes(png)
    return FigureOutcome(fig_id, caption=caption, path=f"figures/{fig_id}.png", png=png)
