"""The analytic side: the user's gradient, deterministic, and its own measured rounding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.numdiff import FloatArray
from gradcheck._errors import NondeterministicError
from gradcheck._tree import Leaf

Analytic = Callable[[list[NDArray[Any]]], list[NDArray[Any]]]
"""``analytic(xs)``: the user's gradient at parameter arrays ``xs`` (fresh copies), validated
against them (structure, shapes, dtypes, finite)."""


def gradient(analytic: Analytic, leaves: list[Leaf]) -> tuple[list[FloatArray], FloatArray]:
    """The analytic gradient, and an estimate of its own rounding error per entry.

    Called twice at copies of the parameters (the two must agree exactly). For parameters in
    a lower precision it is also evaluated at float64 copies when it accepts them: the
    difference measures the low-precision rounding of the analytic formula (the term
    :math:`e_i` of the error model in `gradcheck._engine.numdiff`).
    """

    def at(dtype: Any) -> list[NDArray[Any]]:
        return analytic([np.array(leaf.array, dtype=dtype or leaf.array.dtype) for leaf in leaves])

    g, again = at(None), at(None)
    same(g, again, leaves, "the analytic gradient")
    err = [np.zeros(x.size) for x in g]
    if any(leaf.array.dtype != np.float64 for leaf in leaves):
        try:
            g64 = at(np.float64)
        except Exception:  # the gradient insists on its own dtype: keep the ulps model
            g64 = None
        if g64 is not None:
            err = [np.abs(x.astype(np.float64) - y).ravel() for x, y in zip(g, g64, strict=True)]
    return [np.asarray(x, dtype=np.float64) for x in g], np.concatenate(err)


def same(g: list[NDArray[Any]], again: list[NDArray[Any]], leaves: list[Leaf], what: str) -> None:
    """A typed error naming the first entry where two evaluations at one point differ."""
    for leaf, x, y in zip(leaves, g, again, strict=True):
        if not np.array_equal(x, y):
            idx = tuple(int(i) for i in np.argwhere(x != y)[0])
            raise NondeterministicError(
                f"{what} gave {x[idx]!r} and then {y[idx]!r} for {leaf.path}{list(idx)} "
                "at the same point: the analytic gradient is not deterministic."
            )


def eps_g(leaves: list[Leaf]) -> FloatArray:
    """The analytic side's working precision, per entry (the parameters' dtype)."""
    return np.concatenate(
        [np.full(leaf.array.size, float(np.finfo(leaf.array.dtype).eps)) for leaf in leaves]
    )
