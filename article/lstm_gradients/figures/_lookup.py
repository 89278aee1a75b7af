"""Spec functions looked up by the figures: a missing one is `FigureUnavailable`, so the report
lists its figure as not produced, with the reason, instead of failing or faking it."""

from __future__ import annotations

import importlib
from typing import Any

from gradcheck.report.figures import FigureUnavailable

__all__ = ["spec"]


def spec(module: str, name: str) -> Any:
    """``specs.<module>.<name>``, or `FigureUnavailable` naming what is missing."""
    try:
        mod = importlib.import_module(f"lstm_gradients.specs.{module}")
    except ImportError as exc:
        raise FigureUnavailable(f"cannot import specs.{module} ({exc})") from None
    fn = getattr(mod, name, None)
    if fn is None:
        raise FigureUnavailable(f"specs.{module}.{name} does not exist (yet)")
    return fn
