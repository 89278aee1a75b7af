"""The checked function, prepared for differencing: working copies, base value, rounding.

`prepare` turns the front end's ``raw(leaves) -> (value, magnitude)`` into a `Problem`: the
parameters as read-only float64 working arrays (in their own dtype when f refuses float64; a
read-only view, not a copy, when they already have it), f's base value (finite, and the same
twice: f is deterministic) and f's working precision. Its rounding bound (`Problem.rounding`)
and step factor (`Problem.factor`) are those of the error model (`gradcheck._engine.numdiff`);
the measured noise floor they include is filled in by `gradcheck._engine.noise`.
`coordinate_differences` runs the step ladder for coordinates of one leaf. `stable`
re-evaluates f at the end of a check: f must not keep state between calls. The user's arrays
are never touched; f is called through `gradcheck._engine.calls.call_f` (read-only arrays,
fresh copies once f writes into them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.calls import Calls, call_f, readonly
from gradcheck._engine.numdiff import (
    MAX_FACTOR,
    OFFSETS,
    UNCONVERGED,
    Differences,
    Evaluate,
    FloatArray,
    IntArray,
    Point,
    differentiate,
    leaf_scale,
    refit,
    relative_step,
    scales,
    steps,
)
from gradcheck._errors import InvalidInputError, InvalidTypeError, NondeterministicError
from gradcheck._tree import first_index

Raw = Callable[[list[FloatArray]], tuple[Any, Any]]
"""``raw(leaves) -> (value, magnitude)``: the front end's function of the parameter arrays;
the magnitude is what f's rounding error is proportional to (see `gradcheck._engine.numdiff`)."""


@dataclass
class Problem:
    """A function of a parameter list, prepared for differencing."""

    point: Point  # leaves -> (value, magnitude), counting calls
    base: list[FloatArray]  # read-only working copies (float64 where f accepts them)
    eps_f: float  # working precision of f's values
    f0: FloatArray
    mag0: FloatArray  # f's rounding magnitude at the base point
    calls: list[int]
    floors: list[FloatArray]  # per leaf: measured rounding noise of f (out_shape), else 0
    ratios: list[float]  # per leaf: a noisy f's max(floor / |f|), which sets its step; else 0
    call: Raw  # raw through `call_f`: what a vectorized stack calls

    def floor(self, leaf: int | None) -> FloatArray:
        """The noise floor of ``leaf``'s coordinates (of a direction over all: the largest)."""
        if leaf is not None:
            return self.floors[leaf]
        return np.asarray(np.max(self.floors, axis=0), dtype=np.float64)

    def noisy(self, leaf: int | None) -> bool:
        """f is noisier than the model (along ``leaf``'s coordinates): most of the leaf's
        probes were loud, or it lies on a float32 grid, which is when its ratio is set. A floor
        from quiet probes is within the model at the coordinates probed (a loss near 0 made
        of O(1) terms lifts it above ``ulps eps |f|`` for the others): it bounds their
        rounding, but hides no structure that a first stencil would need confirming for."""
        ratios = self.ratios if leaf is None else [self.ratios[leaf]]
        return any(r > 0 for r in ratios)

    def rounding(
        self, mag: FloatArray, cond: FloatArray, ulps: float, leaf: int | None
    ) -> FloatArray:
        """The rounding bound of one evaluation: ``ulps eps`` times the largest of the
        stencil's magnitude, ``|f0|`` and the conditioning ``cond`` (``|x_i D|``), or the
        measured floor of ``leaf``."""
        size = np.fmax(np.fmax(mag, np.abs(self.f0)), cond)
        bound = ulps * self.eps_f * size
        return np.asarray(np.fmax(bound, self.floor(leaf)), dtype=np.float64)

    def factor(self, step: float | None, ulps: float, leaf: int | None = None) -> float:
        """The relative step c (`gradcheck._engine.numdiff.relative_step`) of ``leaf``'s
        coordinates (of a direction over all leaves: the largest)."""
        ratio = self.ratios[leaf] if leaf is not None else max(self.ratios)
        return relative_step(step, ulps, self.eps_f, ratio)


def coordinate_differences(
    prob: Problem,
    j: int,
    idx: IntArray,
    factor: float,
    ulps: float,
    evaluate: Evaluate,
    width: float,
    *,
    first: float = 1.0,
    rms: float | None = None,
) -> tuple[Differences, FloatArray]:
    """The step ladder for coordinates ``idx`` of leaf ``j``; (differences, their scales).

    Each coordinate's step is ``factor`` times its own scale, and its rounding bound involves
    only its own evaluations, its conditioning ``|x_i| |D|`` (``D``: the stencil's largest
    difference quotient; never the analytic value, so that the gradient under test cannot move
    its own bound) and the floor, 0 for an f as quiet as modelled. ``first < 1``: a recheck
    (`recheck`) from a step that much shorter, every stencil confirmed by the next, without
    `refit`. ``rms``: the leaf's scale
    (`~gradcheck._engine.numdiff.leaf_scale`), when known; only entries ``idx`` are read."""
    x = prob.base[j].reshape(-1)
    r = leaf_scale(x) if rms is None else rms
    xi = x[idx].astype(np.float64)
    s = scales(xi, r)
    tail = (1,) * prob.f0.ndim
    absx = np.abs(xi).reshape(-1, *tail)

    def rows(k: IntArray, offsets: FloatArray) -> tuple[FloatArray, FloatArray]:
        return evaluate(j, idx[k], offsets)

    def rounding(k: IntArray, mag: FloatArray, slope: FloatArray) -> FloatArray:
        return prob.rounding(mag, absx[k] * slope, ulps, j)

    h0 = steps(s, factor * first)
    noisy = prob.noisy(j) or first < 1
    d = differentiate(prob.f0, rows, h0, rounding, width=width, confirm_first=noisy)
    if first < 1:
        return d, s
    leaf = steps(np.maximum(s, r), factor)  # r: the leaf's scale (1 if all 0)
    largest = steps(np.maximum(s, r), max(MAX_FACTOR, factor))
    d = refit(prob.f0, rows, d, h0, rounding, largest=largest, leaf=leaf, width=width)
    return d, s


#: a failing entry is re-differenced from steps this much shorter, twice (`recheck`): about
#: 1/20 and 1/414, off the ladder's dyadic grid (1/16 and 1/256 were on it: the recheck ladders
#: halved onto the very step that was accepted, so a step that sampled f at a multiple of its
#: period, sin(x - 1e6) at h = 25.1 ~ 8 pi, was "reproduced": dev seed 163's zoo case).
#: 1/(16 sqrt(phi)): log2 of its powers, 4.35 and 8.69, are far from integers.
RECHECK = 1.0 / (16.0 * ((1.0 + 5.0**0.5) / 2.0) ** 0.5)


def recheck(
    prob: Problem,
    j: int,
    idx: IntArray,
    factor: float,
    ulps: float,
    evaluate: Evaluate,
    width: float,
    d: Differences,
    rms: float | None = None,
) -> Differences:
    """``d`` (rows ``idx`` of leaf ``j``, shaped ``(len(idx),) + out_shape``) with every
    estimate that is not reproduced from steps about 20 and 414 times shorter (`RECHECK`) marked
    `~gradcheck._engine.numdiff.UNCONVERGED`.

    A fail must rest on a converged estimate: a stencil that spans a structure of f hidden in
    f's rounding (a huge term elsewhere in f) can be quiet at one step and wrong; the same
    derivative from two much shorter ladders, each stencil confirmed by its half, is not a
    coincidence. A wrong gradient keeps failing: the shorter steps' estimates agree with the
    first one within their errors, and the first one's allowed error stands."""
    ok = d.smooth.copy()
    previous = d
    for k in (1, 2):
        again, _ = coordinate_differences(
            prob, j, idx, factor, ulps, evaluate, width, first=RECHECK**k, rms=rms
        )
        with np.errstate(invalid="ignore"):
            agree = np.abs(again.numeric - previous.numeric) <= previous.error + again.error
        ok &= again.smooth & agree
        previous = again
    kind = np.where(d.smooth & ~ok, np.int8(UNCONVERGED), d.kind)
    return replace(d, kind=np.asarray(kind, dtype=np.int8))


def on_float32_grid(f0: FloatArray) -> NDArray[np.bool_]:
    """Which values of f are exactly float32 numbers (not 0): a float32 computation inside a
    float64 f, or a float64 value on that grid by chance (probability 2^-29)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray((f0 != 0) & (f0.astype(np.float32).astype(np.float64) == f0))


def may_be_staircase(prob: Problem) -> bool:
    """f computes in float64 and its values are not float32's (`staircase`)."""
    return bool(prob.eps_f < np.finfo(np.float32).eps) and not bool(
        np.any(on_float32_grid(prob.f0))
    )


def staircase(
    prob: Problem,
    j: int,
    idx: IntArray,
    a: FloatArray,
    allowed: FloatArray,
    ulps: float,
    evaluate: Evaluate,
    width: float,
    rms: float | None = None,
) -> NDArray[np.bool_]:
    """Which of coordinates ``idx`` of leaf ``j`` (analytic values ``a`` and the fail's allowed
    errors ``allowed``, shaped ``(len(idx),) + out_shape``) sit on a staircase: on one side of
    x_i at least, f is bit-identical to f0 at both stencil points of the model's own step
    (``relative_step`` without the measured noise) or of a step `RECHECK` or `RECHECK`² of it,
    and ``a`` is within ``width`` times that flat stencil's rounding error
    ``3 ulps eps |f| / h`` of 0, and within ``allowed`` of 0.

    A staircase's derivative is 0 or its envelope's slope (the long step's N): an ``a`` that is
    off N by more than ``allowed`` (the fail) and off 0 by more than ``allowed`` too is wrong
    on either reading, and keeps its fail without evaluating f. That rule matters where f is
    smooth but its values lie on a grid coarser than its rounding model (a small f from the
    cancellation of larger terms: soak 8, dev seed 253, a planted error of 2 ``allowed`` read
    as a staircase, the flat stencil's rounding bound being above the analytic value).

    Only a noisy leaf's fail is asked (`gradcheck._engine.full`, fast mode's named entries):
    its floor lengthened the step, and f's values on a grid much coarser than its rounding
    (round(x, 3): stairs of 1e-3) read as noise, so the long step measured the staircase's
    envelope (slope 1) against a correct 0. One side suffices: a stair's edge within the step
    falls on one side only while the step is below half a stair. A float32 computation inside f
    (f0 on float32's grid: its envelope is its derivative) is never a staircase, and an
    analytic value other than 0 keeps its fail."""
    x = prob.base[j].reshape(-1)
    r = leaf_scale(x) if rms is None else rms
    h = steps(scales(x[idx].astype(np.float64), r), relative_step(None, ulps, prob.eps_f))
    tail = (1,) * prob.f0.ndim
    out = np.zeros((idx.size, *prob.f0.shape), dtype=bool)
    with np.errstate(invalid="ignore"):
        zero = np.abs(a) <= allowed  # a reads as the staircase's derivative 0
    if not (zero.any() and may_be_staircase(prob)):
        return out
    for k in range(3):
        values, mags = evaluate(j, idx, np.outer(h * RECHECK**k, OFFSETS))
        same = values == prob.f0
        flat = (same[:, 0] & same[:, 1]) | (same[:, 2] & same[:, 3])
        size = np.fmax(np.abs(prob.f0), np.max(mags, axis=1))
        bound = width * 3 * ulps * prob.eps_f * size / (h * RECHECK**k).reshape(-1, *tail)
        with np.errstate(invalid="ignore"):
            out |= flat & zero & (np.abs(a) <= bound)
        if out[zero].all():
            break
    return out


def as_value(v: Any, what: str, scalar: bool) -> FloatArray:
    """f's value as float64, or a typed error saying what f must return."""
    if isinstance(v, float | np.floating):  # the common scalar (every evaluation): all checks pass
        return np.array(v, dtype=np.float64)
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
    *,
    paths: Sequence[str] = (),
    user: Calls | None = None,
) -> Problem:
    """Working arrays (float64 when ``raw`` accepts them), the base value, determinism. The
    noise floor is 0 until `gradcheck._engine.noise.measured` measures it.

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
        v0, m0 = call(base)
    except Exception:
        if all(a.dtype == np.float64 for a in arrays):
            raise
        base = _working(arrays, None)  # f insists on its own dtype: difference in that precision
        calls[0] += 1
        v0, m0 = call(base)
    # the base value and its magnitude from that first call; `_deterministic` evaluates it again
    f0, mag0 = as_value(v0, what, scalar), np.abs(as_value(m0, what, scalar))
    if not np.all(np.isfinite(f0)):
        raise InvalidInputError(
            f"{what} is {f0} at the given point: the check needs a finite value there."
        )
    _deterministic(point, base, f0, what)
    zeros = [np.zeros_like(f0) for _ in base]
    eps = _eps_of(v0, base)
    return Problem(point, base, eps, f0, mag0, calls, zeros, [0.0] * len(base), call)


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
