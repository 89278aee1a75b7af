"""Specs for the article's gru formulas (being written; see the issue that owns this module)."""

from __future__ import annotations

from specs._spec import Spec

SPECS: tuple[Spec, ...] = ()
