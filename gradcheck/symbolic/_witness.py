"""Numbers for a disproof: a point of the region where a residual is clearly not 0.

A residual the normal form does not reduce to 0 may still be 0 (a relation between atoms the
normal form does not know). It is *disproven* only at a point: inputs drawn as rationals in
[-2, 2], kept if they satisfy the region's sign conditions and give a real value, the residual
evaluated there in 50-digit arithmetic (mpmath), and called nonzero when it exceeds
1e-25 · (|exact| + |backward|) + 1e-40, twenty-five orders of magnitude above the evaluation's
rounding (50 digits). A wrong gradient has a residual of the size of the gradient itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy

__all__ = ["Witness", "find_witness", "numeric"]

_DIGITS = 50
_NAMESPACE = {"sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)), "exp": mpmath.exp}


@dataclass(frozen=True)
class Witness:
    """A point (symbol name -> value) where the residual is ``value`` (exact − backward)."""

    point: dict[str, float]
    value: float
    exact: float
    backward: float


def numeric(symbols: Sequence[Any], exprs: Sequence[Any]) -> Callable[..., Any]:
    """``f(*values) -> list`` evaluating ``exprs`` with mpmath (call inside `mpmath.workdps`)."""
    return sympy.lambdify(list(symbols), list(exprs), modules=[_NAMESPACE, "mpmath"])  # type: ignore[no-any-return]


def _real(v: Any) -> float | None:
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > mpmath.mpf(10) ** (-_DIGITS + 5) * (1 + abs(v.real)):
            return None
        v = v.real
    try:
        out = mpmath.mpf(v)
    except (TypeError, ValueError):
        return None
    return out if mpmath.isfinite(out) else None


def find_witness(
    symbols: Sequence[Any],
    residual: Any,
    exact: Any,
    backward: Any,
    conditions: Sequence[tuple[Any, int]],
    rng: np.random.Generator,
    tries: int = 200,
    enough: int = 5,
) -> tuple[Witness | None, int]:
    """A point of the region where ``residual`` is clearly nonzero, or None; and how many
    points of the region were tried (``enough`` points where it vanishes end the search)."""
    f = numeric(symbols, [residual, exact, backward, *(k for k, _ in conditions)])
    tried = 0
    with mpmath.workdps(_DIGITS):
        for _ in range(tries):
            values = [mpmath.mpf(int(k)) / 1000 for k in rng.integers(-2000, 2001, len(symbols))]
            try:
                r, ex, bw, *keys = (_real(v) for v in f(*values))
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                continue
            if r is None or ex is None or bw is None:
                continue
            if any(k is None or k * s <= 0 for k, (_, s) in zip(keys, conditions, strict=True)):
                continue
            tried += 1
            if abs(r) > mpmath.mpf("1e-25") * (abs(ex) + abs(bw)) + mpmath.mpf("1e-40"):
                point = {str(s): float(v) for s, v in zip(symbols, values, strict=True)}
                return Witness(point, float(r), float(ex), float(bw)), tried
            if tried >= enough:
                break
    return None, tried
