"""Numbers for a disproof: a point of the region where a residual is clearly not 0.

A residual the normal form does not reduce to 0 may still be 0 (a relation between atoms the
normal form does not know). It is *disproven* only at a point: inputs drawn as rationals in
[-2, 2], kept if they satisfy the region's sign conditions and give a real value, the residual
evaluated there in 50-digit arithmetic (mpmath). Relative to |exact| + |backward| it is 0
below `ZERO` (1e-25, twenty-five orders of magnitude above the evaluation's rounding), the size
of float64 rounding up to `ROUNDING` (1e-12: the code computed a constant in floats, such as
``np.sqrt(np.pi)``, which is exact only to 1e-16), and a wrong gradient above: a wrong term has
a residual of the size of the gradient itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

__all__ = ["Witness", "evaluate", "find_witness"]

_DIGITS = 50
#: relative residuals below this are 0 (50-digit evaluation: 25 orders of magnitude to spare)
ZERO = mpmath.mpf("1e-25")
#: relative residuals below this are float64 rounding: an inexact float constant, not a bug
ROUNDING = 1e-12


@dataclass(frozen=True)
class Witness:
    """A point (symbol name -> value) where the residual is ``value`` (exact − backward)."""

    point: dict[str, float]
    value: float
    exact: float
    backward: float


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "exp": mpmath.exp,
    "log": mpmath.log,
    "tanh": mpmath.tanh,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "asin": mpmath.asin,
    "acos": mpmath.acos,
    "atan": mpmath.atan,
    "asinh": mpmath.asinh,
    "acosh": mpmath.acosh,
    "atanh": mpmath.atanh,
    "Abs": abs,
    "sign": mpmath.sign,
}


def evaluate(exprs: Sequence[Any], values: dict[Any, Any]) -> list[Any]:
    """The values of ``exprs`` at ``values`` (symbol -> mpf), each shared subexpression once
    (a residual is a graph: printed out as one formula it can be a million characters)."""
    memo: dict[Any, Any] = dict(values)
    return [_value(e, memo) for e in exprs]


def _value(e: Any, memo: dict[Any, Any]) -> Any:
    found = memo.get(e)
    if found is not None:
        return found
    if e.is_Rational:
        out = mpmath.mpf(int(e.p)) / int(e.q)
    elif e.is_Number:
        out = mpmath.mpf(e.evalf(_DIGITS + 10))
    elif e.is_Add:
        out = mpmath.fsum(_value(a, memo) for a in e.args)
    elif e.is_Mul:
        out = mpmath.fprod(_value(a, memo) for a in e.args)
    elif e.is_Pow:
        base, exp = (_value(a, memo) for a in e.args)
        out = mpmath.power(base, exp)
    elif e.func.__name__ in _FUNCTIONS:
        out = _FUNCTIONS[e.func.__name__](*(_value(a, memo) for a in e.args))
    elif e.is_Symbol:
        raise KeyError(f"no value for the symbol {e}")
    else:
        out = mpmath.mpmathify(
            e.xreplace({k: v for k, v in memo.items() if k.is_Symbol}).evalf(_DIGITS)
        )
    memo[e] = out
    return out


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
) -> tuple[Witness | None, int, float]:
    """Points of the region where ``residual`` is evaluated: ``(witness, tried, largest)``.

    ``largest`` is the largest relative residual |r|/(|exact| + |backward|) seen over the
    ``tried`` points of the region (at most ``enough``), ``witness`` the point where it was
    seen, or None if the residual was 0 (below `ZERO`) wherever it was evaluated. The search
    stops at the first point where the residual is larger than `ROUNDING`."""
    tried, largest, best = 0, 0.0, None
    keys = [k for k, _ in conditions]
    with mpmath.workdps(_DIGITS):
        for _ in range(tries):
            values = [mpmath.mpf(int(k)) / 1000 for k in rng.integers(-2000, 2001, len(symbols))]
            point = dict(zip(symbols, values, strict=True))
            try:
                found = evaluate([residual, exact, backward, *keys], point)
                r, ex, bw, *ks = (_real(v) for v in found)
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                continue
            if r is None or ex is None or bw is None:
                continue
            if any(k is None or k * s <= 0 for k, (_, s) in zip(ks, conditions, strict=True)):
                continue
            tried += 1
            scale = abs(ex) + abs(bw)
            if abs(r) > ZERO * scale + mpmath.mpf("1e-40"):
                rel = float(abs(r) / scale) if scale else float("inf")
                if rel > largest:
                    shown = {str(s): float(v) for s, v in point.items()}
                    largest, best = rel, Witness(shown, float(r), float(ex), float(bw))
                if rel > ROUNDING:
                    break
            if tried >= enough:
                break
    return best, tried, largest
