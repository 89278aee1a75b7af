"""The spec record: one article formula as data that tests and benchmarks iterate over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Shape = tuple[int, ...]


def _always(*args: Array) -> bool:
    return True


@dataclass(frozen=True)
class Layout:
    """One way of shaping a spec's arguments that its docstring documents, as data.

    ``name`` says it the docstring's way (``"(N, C, H, W)"``); ``arg_shapes(**sizes)`` gives
    every argument's shape; ``sizes`` maps each size name to its inclusive (low, high) range.
    """

    name: str
    arg_shapes: Callable[..., tuple[Shape, ...]]
    sizes: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Spec:
    """One article equation: its forward map, its hand-derived backward, where it comes from.

    Attributes
    ----------
    name : dotted name, ``family.what`` (``"rnn.step"``).
    ids : the equation IDs of ``formula-inventory.md`` the pair encodes (``("RNN-1", "RNN-3")``).
    source : the article's words or LaTeX, verbatim, so a reader can grep the article.
    forward : ``forward(*args) -> (out, cache)`` (CS231n contract); ``out`` an array or a
        tuple of arrays.
    backward : ``backward(dout, cache) -> tuple`` with one gradient per argument, each shaped
        like its argument; ``dout`` shaped like ``out``.
    arg_names : the argument names, in the article's symbols (``("x", "s_prev", "W_x", ...)``).
    arg_shapes : ``arg_shapes(**sizes) -> tuple of shapes``, sizes drawn by the tests
        (``N, D, H, T, ...`` as the spec's docstring says).
    sizes : the size names ``arg_shapes`` takes, each with its inclusive (low, high) range for
        property tests.
    well_conditioned : ``well_conditioned(*args) -> bool``: where finite differences are
        trustworthy (e.g. no constant normalization group); the reason goes beside it.
    layouts : the *other* layouts the docstring documents (BN takes (N, D) as well as
        (N, C, H, W)), each a `Layout`; `every_layout` lists them all, ``arg_shapes`` and
        ``sizes`` first. Every layout a docstring documents is here, so the tests that draw
        from `every_layout` exercise each one.
    """

    name: str
    ids: tuple[str, ...]
    source: str
    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[[Any, Any], tuple[Array, ...]]
    arg_names: tuple[str, ...]
    arg_shapes: Callable[..., tuple[Shape, ...]]
    sizes: dict[str, tuple[int, int]]
    well_conditioned: Callable[..., bool] = _always
    layouts: tuple[Layout, ...] = ()
    layout_name: str = "default"

    def every_layout(self) -> tuple[Layout, ...]:
        """The record's own layout (``layout_name``, ``arg_shapes``, ``sizes``), then
        ``layouts``."""
        return (Layout(self.layout_name, self.arg_shapes, self.sizes), *self.layouts)
