"""The analytic side: the user's gradient, deterministic, its dtypes and its own rounding."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.calls import Calls, fresh, same
from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.problem import exact
from gradcheck._errors import NondeterministicError
from gradcheck._tree import Leaf, at, first_index

Analytic = Callable[[list[NDArray[Any]]], list[NDArray[Any]]]
"""``analytic(xs)``: the user's gradient at parameter arrays ``xs`` (fresh copies), validated
against them (structure, shapes, float dtypes, finite)."""


@dataclass(frozen=True)
class Gradient:
    """The analytic gradient, as the error model reads it."""

    values: list[FloatArray]  # per leaf, float64
    err: FloatArray | None  # measured low-precision rounding per entry (flat), None: not measured
    eps: list[float]  # working precision per leaf: the lower of parameter's and gradient's
    dtypes: list[str]  # the gradient's dtype per leaf, as returned

    def eps_entries(self) -> FloatArray:
        """`eps` per entry (flat), as `gradcheck._engine.judge.judge` reads it."""
        return np.concatenate(
            [np.full(g.size, e) for g, e in zip(self.values, self.eps, strict=True)]
        )


def gradient(analytic: Analytic, leaves: list[Leaf], user: Calls | None = None) -> Gradient:
    """The analytic gradient, its precision per entry, and an estimate of its own rounding.

    Called twice at fresh copies of the parameters (the two must agree exactly; a copy the
    gradient writes into is noted in ``user``). For parameters in a lower precision it is also
    evaluated at float64 copies when it accepts them: the difference measures the
    low-precision rounding of the analytic formula (the term :math:`e_i` of the error model in
    `gradcheck._engine.numdiff`). A gradient returned in a lower precision than its parameter
    (float32 for a float64 parameter) is judged at that precision (:math:`\\varepsilon_g`).
    """
    guard = user if user is not None else Calls()

    def at(dtype: Any) -> list[NDArray[Any]]:
        xs = [fresh(np.asarray(leaf.array, dtype=dtype or leaf.array.dtype)) for leaf in leaves]
        out = analytic(xs)
        for leaf, x in zip(leaves, xs, strict=True):
            if not same(np.asarray(leaf.array, dtype=x.dtype), x):
                guard.modified(guard.grad, leaf.path)
        return out

    g = at(None)
    same_values(g, at(None), leaves, "the analytic gradient")
    err = None
    if any(leaf.array.dtype != np.float64 for leaf in leaves):
        try:
            g64 = at(np.float64)
        except Exception:  # the gradient insists on its own dtype: keep the ulps model
            g64 = None
        if g64 is not None:
            err = np.concatenate(
                [np.abs(x.astype(np.float64) - y).ravel() for x, y in zip(g, g64, strict=True)]
            )
    eps = [max(_eps(leaf.array.dtype), _eps(x.dtype)) for leaf, x in zip(leaves, g, strict=True)]
    dtypes = [str(x.dtype) for x in g]
    return Gradient([np.asarray(x, dtype=np.float64) for x in g], err, eps, dtypes)


def _eps(dtype: np.dtype[Any]) -> float:
    return float(np.finfo(dtype).eps)


def same_values(
    g: list[NDArray[Any]], again: list[NDArray[Any]], leaves: list[Leaf], what: str
) -> None:
    """A typed error naming the first entry where two evaluations at one point differ."""
    for leaf, x, y in zip(leaves, g, again, strict=True):
        if not np.array_equal(x, y):
            idx = first_index(np.asarray(x != y))
            raise NondeterministicError(
                f"{what} gave {exact(x[idx])} and then {exact(y[idx])} for "
                f"{leaf.path}{at(idx)} at the same point: the analytic "
                "gradient is not deterministic (randomness, or state it changes between calls)."
            )


def eps_g(leaves: list[Leaf]) -> FloatArray:
    """The analytic side's working precision, per entry (the parameters' dtype)."""
    return np.concatenate(
        [np.full(leaf.array.size, float(np.finfo(leaf.array.dtype).eps)) for leaf in leaves]
    )
