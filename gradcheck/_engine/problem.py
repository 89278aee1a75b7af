"""The checked function, prepared for differencing: working copies, base value, noise.

`prepare` turns the front end's ``raw(leaves) -> (value, magnitude)`` into a `Problem`: the
parameters as read-only float64 working arrays (in their own dtype when f refuses float64; a
read-only view, not a copy, when they already have it), f's base value (finite, and the same
twice: f is deterministic), f's working precision, and
`noise`, the measured rounding noise of f near the base point that bounds the rounding term of
the error model from below (see `gradcheck._engine.numdiff`). `stable` re-evaluates f at the
end of a check: f must not keep state between calls. The user's arrays are never touched;
f is called through `gradcheck._engine.calls.call_f` (read-only arrays, fresh copies once f
writes into them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.calls import Calls, call_f, readonly
from gradcheck._engine.numdiff import FloatArray, Point, scales, step_factor
from gradcheck._engine.options import DEFAULT_ULPS
from gradcheck._errors import InvalidInputError, InvalidTypeError, NondeterministicError
from gradcheck._tree import first_index

Raw = Callable[[list[FloatArray]], tuple[Any, Any]]
"""``raw(leaves) -> (value, magnitude)``: the front end's function of the parameter arrays;
the magnitude is what f's rounding error is proportional to (see `gradcheck._engine.numdiff`)."""

#: evaluations spent measuring f's rounding noise (`noise`) in full mode: 2 directions x 4
#: points (fast mode, whose whole budget is a few dozen evaluations, measures along 1).
NOISE_PROBES = 8
#: the probe's step, relative to the stencil's: small enough that a kink at the base point
#: adds only ~ J h / 64 to the probe (so the probe cannot explain a kink away as noise), large
#: enough that f moves by many of its own ulps and every rounding inside f is reshuffled.
NOISE_STEP = 2.0**-6


@dataclass
class Problem:
    """A function of a parameter list, prepared for differencing."""

    point: Point  # leaves -> (value, magnitude), counting calls
    base: list[FloatArray]  # read-only working copies (float64 where f accepts them)
    eps_f: float  # working precision of f's values
    f0: FloatArray
    calls: list[int]
    noise: FloatArray  # measured rounding noise of f near the base point (out_shape)
    call: Raw  # raw through `call_f`: what a vectorized stack calls

    def delta(self, mag: FloatArray, ulps: float) -> FloatArray:
        """The rounding bound of one evaluation, given the stencil's largest magnitude."""
        bound = ulps * self.eps_f * np.maximum(mag, np.abs(self.f0))
        return np.asarray(np.maximum(bound, self.noise), dtype=np.float64)


def noise(
    point: Point, base: list[FloatArray], f0: FloatArray, factor: float, probes: int
) -> FloatArray:
    """A measured bound on the rounding error of one evaluation of f near the base point.

    Along a random direction u (every entry moved by ±[0.5, 1] of its own scale, times the
    step), the fourth difference ``f(2ηu) − 4f(ηu) + 6f(0) − 4f(−ηu) + f(−2ηu)`` is
    η⁴ ∂⁴f ~ 1e-26 relative for a smooth f: what remains is rounding, up to 16 evaluation
    errors. A loss near 0 computed from O(1) terms (a confident cross-entropy, a sum that
    cancels) has rounding errors of ε times those terms, thousands of ulps of f itself; this
    measures them instead of assuming ε |f|. Deterministic (a fixed generator).
    """
    rng = np.random.default_rng(0)
    worst = np.zeros_like(f0)
    for _ in range(probes // 4):
        u = [
            rng.choice([-1.0, 1.0], x.shape)
            * rng.uniform(0.5, 1.0, x.shape)
            * factor
            * NOISE_STEP
            * scales(x)
            for x in base
        ]
        vals = {}
        for k in (-2, -1, 1, 2):
            moved = [
                readonly(np.asarray(x + k * d).astype(x.dtype, copy=False))
                for x, d in zip(base, u, strict=True)
            ]
            vals[k] = point(moved)[0] - f0
        with np.errstate(invalid="ignore"):
            fourth = vals[2] + vals[-2] - 4 * (vals[1] + vals[-1])
            worst = np.fmax(worst, np.abs(fourth) / 16)
    return worst


def as_value(v: Any, what: str, scalar: bool) -> FloatArray:
    """f's value as float64, or a typed error saying what f must return."""
    if isinstance(v, tuple | list):
        raise InvalidTypeError(
            f"{what} returned a {type(v).__name__} of {len(v)} items; "
            + (
                "check_grad needs one scalar loss. If f returns (loss, cache) or (loss, "
                "grad), check `lambda p: f(p)[0]`."
                if scalar
                else "return one float array (for several outputs, check_vjp takes a tuple)."
            )
        )
    arr = np.asarray(v)
    if np.iscomplexobj(arr):
        raise InvalidTypeError(f"{what} returned a complex value; gradcheck checks real functions.")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise InvalidTypeError(f"{what} returned {type(v).__name__} ({arr.dtype}); return a float.")
    if scalar and arr.shape != ():
        raise InvalidTypeError(
            f"{what} returned an array of shape {arr.shape}; check_grad needs a scalar loss. "
            "Reduce it (e.g. `(w * out).sum()`), or use check_vjp / check_jacobian for a "
            "vector-valued function."
        )
    return arr.astype(np.float64)


def _eps_of(v: Any, leaves: Sequence[NDArray[Any]]) -> float:
    dt = np.asarray(v).dtype
    eps = float(np.finfo(dt).eps) if np.issubdtype(dt, np.floating) else float(np.finfo(float).eps)
    return max(eps, *(float(np.finfo(a.dtype).eps) for a in leaves))


def _working(arrays: list[NDArray[Any]], dtype: Any) -> list[FloatArray]:
    """Read-only working arrays in ``dtype`` (None: their own): views where no cast is needed."""
    return [readonly(np.asarray(a).astype(dtype or a.dtype, copy=False)) for a in arrays]


def prepare(
    raw: Raw,
    arrays: list[NDArray[Any]],
    what: str,
    scalar: bool,
    noise_probes: int = NOISE_PROBES,
    *,
    paths: Sequence[str] = (),
    user: Calls | None = None,
) -> Problem:
    """Working arrays (float64 when ``raw`` accepts them), the base value, determinism.

    ``paths`` name the arrays in notes; ``user`` is how the user's code is called (see
    `gradcheck._engine.calls`).
    """
    calls = [0]
    guard = user if user is not None else Calls()
    names = list(paths) or [f"argument {k}" for k in range(len(arrays))]

    def call(xs: list[Any]) -> tuple[Any, Any]:
        return call_f(guard, raw, xs, names)

    def point(xs: list[FloatArray]) -> tuple[FloatArray, FloatArray]:
        calls[0] += 1
        v, m = call(xs)
        return as_value(v, what, scalar), np.abs(as_value(m, what, scalar))

    base = _working(arrays, np.float64)
    calls[0] += 1
    try:
        v0, _ = call(base)
    except Exception:
        if all(a.dtype == np.float64 for a in arrays):
            raise
        base = _working(arrays, None)  # f insists on its own dtype: difference in that precision
        calls[0] += 1
        v0, _ = call(base)
    f0 = as_value(v0, what, scalar)  # the base value; `_deterministic` evaluates it again
    if not np.all(np.isfinite(f0)):
        raise InvalidInputError(
            f"{what} is {f0} at the given point: the check needs a finite value there."
        )
    _deterministic(point, base, f0, what)
    eps = _eps_of(v0, base)
    measured = noise(point, base, f0, step_factor(DEFAULT_ULPS, eps), noise_probes)
    return Problem(point, base, eps, f0, calls, measured, call)


def exact(x: Any) -> str:
    """A float at full precision: the shortest string that reads back as the same value."""
    return str(np.asarray(x)[()])


def two_values(a: FloatArray, b: FloatArray) -> str:
    """``a`` and ``b`` at full precision, at the first entry where they differ."""
    if not a.shape and not b.shape:
        return f"{exact(a)} and then {exact(b)}"
    if a.shape != b.shape:
        return f"an array of shape {a.shape} and then one of shape {b.shape}"
    idx = first_index(np.asarray(a != b))
    return f"{exact(a[idx])} and then {exact(b[idx])} at output {list(idx)}"


def _deterministic(point: Point, base: list[FloatArray], f0: FloatArray, what: str) -> None:
    again, _ = point(base)
    if not np.array_equal(f0, again):
        raise NondeterministicError(
            f"{what} returned {two_values(f0, again)} at the same point: f is not "
            "deterministic (dropout, a random generator or mutable state inside f?). Fix its "
            "randomness (a seeded Generator created inside f) before checking."
        )


def stable(prob: Problem, what: str) -> None:
    """f at the base point once more: a changed value means f keeps state between calls."""
    last, _ = prob.point(prob.base)
    if not np.array_equal(last, prob.f0):
        raise NondeterministicError(
            f"{what} returned {two_values(prob.f0, last)} (at the start of the check and at "
            "the end), at the same point: f changes state between calls (running statistics, "
            "a cache, a counter?). Check a function without side effects (e.g. BN in a mode "
            "that does not update its running statistics)."
        )
