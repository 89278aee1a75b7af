"""The checkers: `check_grad` (scalar loss), `check_vjp` (a layer's backward), `check_jacobian`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck import _evidence
from gradcheck._batched import Stack, loop_stack, stack_evaluator, vector_stack
from gradcheck._complex import ComplexPoint, complex_refine
from gradcheck._errors import (
    GradientMismatch,
    InvalidInputError,
    InvalidTypeError,
    NondeterministicError,
)
from gradcheck._fast import draw_seed, fast_verdict
from gradcheck._judge import SAFETY, Block, judge
from gradcheck._numdiff import (
    OFFSETS,
    Evaluate,
    FloatArray,
    Point,
    differences,
    loop_evaluator,
    scales,
    step_factor,
    steps,
)
from gradcheck._progress import Progress
from gradcheck._result import CheckResult, Status
from gradcheck._tree import Leaf, unflatten, validate_grad, validate_params

#: default rounding allowance, in units of the working precision, for one evaluation of f and
#: for the analytic gradient (a few dozen ulps: sums of many terms, a matmul, a log).
DEFAULT_ULPS = 32.0
MODES = ("full", "fast")

MODEL = (
    "error model: allowed = {safety:g} x (truncation |D(h/2) - D(h)| + rounding 3 ulps eps_f "
    "|f|/h) + ulps eps_g (|a| + max_j |a_j| s_j / s_i) + atol + rtol |numeric|, ulps = {ulps:g}"
)


@dataclass
class _Problem:
    """A function of a parameter list, prepared for differencing."""

    point: Point  # leaves -> (value, magnitude), counting calls
    base: list[FloatArray]  # read-only working copies (float64 where f accepts them)
    eps_f: float  # working precision of f's values
    f0: FloatArray
    calls: list[int]
    noise: FloatArray  # measured rounding noise of f near the base point (out_shape)


#: evaluations spent measuring f's rounding noise (`_noise`) in full mode: 2 directions x 4
#: points (fast mode, whose whole budget is a few dozen evaluations, measures along 1).
NOISE_PROBES = 8
#: the probe's step, relative to the stencil's: small enough that a kink at the base point
#: adds only ~ J h / 64 to the probe (so the probe cannot explain a kink away as noise), large
#: enough that f moves by many of its own ulps and every rounding inside f is reshuffled.
NOISE_STEP = 2.0**-6


def _noise(
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
            moved = [(x + k * d).astype(x.dtype) for x, d in zip(base, u, strict=True)]
            for y in moved:
                y.flags.writeable = False
            vals[k] = point(moved)[0] - f0
        with np.errstate(invalid="ignore"):
            fourth = vals[2] + vals[-2] - 4 * (vals[1] + vals[-1])
            worst = np.fmax(worst, np.abs(fourth) / 16)
    return worst


def _as_value(v: Any, what: str, scalar: bool) -> FloatArray:
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


def _prepare(
    raw: Callable[[list[FloatArray]], tuple[Any, Any]],
    arrays: list[NDArray[Any]],
    what: str,
    scalar: bool,
    noise_probes: int = NOISE_PROBES,
) -> _Problem:
    """Working copies (float64 when ``raw`` accepts them), the base value, determinism."""
    calls = [0]

    def point(xs: list[FloatArray]) -> tuple[FloatArray, FloatArray]:
        calls[0] += 1
        v, m = raw(xs)
        return _as_value(v, what, scalar), np.abs(_as_value(m, what, scalar))

    def copies(dtype: Any) -> list[FloatArray]:
        out = []
        for a in arrays:
            c = np.array(a, dtype=dtype or a.dtype, copy=True)
            c.flags.writeable = False
            out.append(c)
        return out

    base = copies(np.float64)
    calls[0] += 1
    try:
        v0, _ = raw(base)
    except Exception:
        if all(a.dtype == np.float64 for a in arrays):
            raise
        base = copies(None)  # f insists on its own dtype: difference in that precision
        calls[0] += 1
        v0, _ = raw(base)
    f0, _ = point(base)
    if not np.all(np.isfinite(f0)):
        raise InvalidInputError(
            f"{what} is {f0} at the given point: the check needs a finite value there."
        )
    again, _ = point(base)
    if not np.array_equal(f0, again):
        raise NondeterministicError(
            f"{what} returned {f0!r} and then {again!r} at the same point: f is not "
            "deterministic (dropout, a random generator or mutable state inside f?). Fix its "
            "randomness (a seeded Generator created inside f) before checking."
        )
    eps = _eps_of(v0, base)
    noise = _noise(point, base, f0, step_factor(DEFAULT_ULPS, eps), noise_probes)
    return _Problem(point, base, eps, f0, calls, noise)


def _differentiate(
    prob: _Problem,
    leaves: list[Leaf],
    ulps: float,
    step: float | None,
    evaluate: Evaluate | None = None,
) -> tuple[Any, FloatArray, FloatArray, list[Block]]:
    """Richardson derivatives of every coordinate of every leaf (full mode)."""
    evaluate = evaluate or loop_evaluator(prob.point, prob.base)
    factor = step if step is not None else step_factor(ulps, prob.eps_f)
    parts, hs, ss, blocks, start = [], [], [], [], 0
    for j, (leaf, x) in enumerate(zip(leaves, prob.base, strict=True)):
        s = scales(x.astype(np.float64)).ravel()
        h = steps(s, factor)
        values, mags = evaluate(j, np.arange(x.size), np.outer(h, OFFSETS))
        mag = np.maximum(mags.max(axis=1), np.abs(prob.f0))
        delta = np.maximum(ulps * prob.eps_f * mag, prob.noise)
        parts.append(differences(prob.f0, values, h, delta))
        hs.append(h)
        ss.append(s)
        blocks.append(
            Block(leaf.path, leaf.array.shape, str(leaf.array.dtype), start, start + x.size)
        )
        start += x.size
    return _concat(parts), np.concatenate(hs), np.concatenate(ss), blocks


def _concat(parts: list[Any]) -> Any:
    first = parts[0]
    fields = {k: np.concatenate([getattr(p, k) for p in parts]) for k in first.__dataclass_fields__}
    return type(first)(**fields)


def _stable(prob: _Problem, what: str) -> None:
    """f at the base point once more: a changed value means f keeps state between calls."""
    last, _ = prob.point(prob.base)
    if not np.array_equal(last, prob.f0):
        raise NondeterministicError(
            f"{what} returned {prob.f0!r} at the start of the check and {last!r} at the end, "
            "at the same point: f changes state between calls (running statistics, a cache, "
            "a counter?). Check a function without side effects (e.g. BN in a mode that does "
            "not update its running statistics)."
        )


def _check_options(mode: str, rtol: float, atol: float, step: float | None, ulps: float) -> None:
    if mode not in MODES:
        raise InvalidInputError(f"`mode` must be one of {MODES}, not {mode!r}.")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not (np.isfinite(v) and v >= 0):
            raise InvalidInputError(f"`{name}` must be a finite number >= 0, not {v!r}.")
    if not (np.isfinite(ulps) and ulps >= 1):
        raise InvalidInputError(f"`ulps` must be a finite number >= 1, not {ulps!r}.")
    if step is not None and not (np.isfinite(step) and 0 < step < 1):
        raise InvalidInputError(
            f"`step` is a relative step in (0, 1), not {step!r}; leave it None for the default."
        )


Analytic = Callable[[list[NDArray[Any]]], list[NDArray[Any]]]
"""``analytic(xs)``: the user's gradient at parameter arrays ``xs`` (fresh copies), validated
against them (structure, shapes, dtypes, finite)."""


def _grad_arrays(analytic: Analytic, leaves: list[Leaf]) -> tuple[list[FloatArray], FloatArray]:
    """The analytic gradient, and an estimate of its own rounding error per entry.

    Called twice at copies of the parameters (the two must agree exactly). For parameters in
    a lower precision it is also evaluated at float64 copies when it accepts them: the
    difference measures the low-precision rounding of the analytic formula (e.g. 1 − tanh²
    near saturation loses ~400 float32 ulps), instead of guessing it. A formula error shows
    in both evaluations and is not absorbed.
    """

    def at(dtype: Any) -> list[NDArray[Any]]:
        return analytic([np.array(leaf.array, dtype=dtype or leaf.array.dtype) for leaf in leaves])

    g, again = at(None), at(None)
    _same(g, again, leaves, "the analytic gradient")
    err = [np.zeros(x.size) for x in g]
    if any(leaf.array.dtype != np.float64 for leaf in leaves):
        try:
            g64 = at(np.float64)
        except Exception:  # the gradient insists on its own dtype: keep the ulps model
            g64 = None
        if g64 is not None:
            err = [np.abs(x.astype(np.float64) - y).ravel() for x, y in zip(g, g64, strict=True)]
    return [np.asarray(x, dtype=np.float64) for x in g], np.concatenate(err)


def _same(g: list[NDArray[Any]], again: list[NDArray[Any]], leaves: list[Leaf], what: str) -> None:
    for leaf, x, y in zip(leaves, g, again, strict=True):
        if not np.array_equal(x, y):
            idx = tuple(int(i) for i in np.argwhere(x != y)[0])
            raise NondeterministicError(
                f"{what} gave {x[idx]!r} and then {y[idx]!r} for {leaf.path}{list(idx)} "
                "at the same point: the analytic gradient is not deterministic."
            )


def _finish(
    verdict: Any, label: str, mode: str, evaluations: int, ulps: float, seed: int | None
) -> CheckResult:
    result = CheckResult(
        status=verdict.status,
        label=label,
        mode=mode,
        evaluations=evaluations,
        params=verdict.params,
        worst=verdict.worst,
        worst_ratio=verdict.worst_ratio,
        max_rel_error=verdict.max_rel_error,
        reason=verdict.reason,
        model=MODEL.format(safety=SAFETY, ulps=ulps),
        seed=seed,
    )
    _evidence.record(result)
    return result


def _label(fn: object) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def check_grad(
    f: Callable[[Any], Any],
    grad: Callable[[Any], Any],
    params: Any,
    *,
    mode: str = "full",
    seed: int | None = None,
    rtol: float = 0.0,
    atol: float = 0.0,
    step: float | None = None,
    ulps: float = DEFAULT_ULPS,
    complex_step: bool = False,
    vectorized: bool = False,
) -> CheckResult:
    r"""Check ``grad`` against finite differences of the scalar function ``f``.

    Parameters
    ----------
    f : ``f(params) -> float`` (a Python float or a 0-d array). Called with copies of the
        parameters, in float64 when it accepts them (float32 parameters are differenced in
        float64; if ``f`` raises on float64 copies, in the parameters' own dtype).
    grad : ``grad(params) -> tree`` of the same structure, shapes and dtypes as ``params``.
    params : an ndarray, or a (nested) dict / list / tuple of ndarrays of real floats. Never
        modified: ``f`` and ``grad`` only ever see copies.
    mode : ``"full"`` checks every entry (4 evaluations of ``f`` per entry, plus 3).
        ``"fast"`` checks 2 random directions over all parameters (8 evaluations plus the
        same fixed ones, whatever the size); when one does not pass, each parameter's part
        is checked alone and the wrong entries are named by bisection (about 4 log2(n)
        evaluations each), reported like full mode. The result's ``reason`` states the
        detection power. See `gradcheck._fast`.
    seed : the random directions of fast mode (a fresh seed is drawn and recorded when
        None); recorded in the result; full mode draws no random numbers.
    rtol, atol : extra slack on top of the error model, for gradients known to be approximate.
        Leave them 0 to judge by the error model alone.
    step : relative step ``c`` (steps are :math:`h_i \approx c\max(|x_i|, \mathrm{rms})`);
        default :math:`(\text{ulps}\cdot\varepsilon_f)^{1/3}`, about 1.9e-5 in float64.
    ulps : rounding allowance, in units of the working precision, for one evaluation of ``f``
        and for the analytic gradient.
    complex_step : also differentiate by the complex step :math:`\operatorname{Im}
        f(x + ih)/h` (one more evaluation per entry), which has no truncation or cancellation
        error. Used per entry only where it agrees with the central difference, so an ``f``
        that is not holomorphic (``abs``, ``maximum``, ``.real``) falls back safely; the
        result's ``reason`` says when it did.
    vectorized : ``f`` broadcasts over a leading stack axis of every parameter (numpy
        matmul / elementwise code usually does): called with leaves of shape
        ``(B,) + shape`` it returns ``B`` values. The perturbed points are then evaluated in
        memory-bounded chunks instead of a Python loop, with the same results to rounding.

    Returns
    -------
    CheckResult
        ``status`` ``"pass"`` / ``"fail"`` / ``"inconclusive"``; ``worst`` the entries that
        drive it (path, index, analytic, numeric, allowed); ``str(result)`` the report.

    Raises
    ------
    InvalidTypeError, InvalidInputError
        Integer/complex/empty/non-finite parameters; ``f`` not a finite real scalar; ``grad``
        with another structure, shape or dtype, or non-finite.
    NondeterministicError
        ``f`` or ``grad`` gave two values at one point (randomness, or state that changes
        between calls, such as batch-norm running statistics).

    Notes
    -----
    **The error model.** For entry :math:`i` with step :math:`h` the numeric derivative is
    the Richardson combination of central differences at :math:`h` and :math:`h/2`,
    :math:`N = D(h/2) + (D(h/2) - D(h))/3`, error :math:`O(h^4)`. Its error is estimated as

    .. math::
        E = |D(h/2) - D(h)| + 3\,\text{ulps}\,\varepsilon_f \max|f| / h,

    truncation (the error of :math:`D(h)` itself, so an over-estimate for :math:`N`) plus
    rounding (one evaluation of :math:`f` is off by up to :math:`\text{ulps}\,\varepsilon_f|f|`;
    :math:`N`'s stencil amplifies that by :math:`3/h`). The entry fails when

    .. math::
        |a - N| > 4E + \text{ulps}\,\varepsilon_g\Big(|a| + \max_j |a_j| s_j / s_i\Big)
                 + \text{atol} + \text{rtol}|N|,

    the second term being the analytic side's own rounding judged against the whole
    gradient (:math:`s_j` is parameter :math:`j`'s magnitude, so :math:`|a_j| s_j` is in
    units of :math:`f`): a saturated sigmoid whose float formula gives 0 for a true 1e-17 is
    not a bug. For float32 (or float16) parameters, ``grad`` is also evaluated at float64
    copies when it accepts them, and 4x the difference is added to the analytic term: the
    formula's own low-precision rounding is measured, not guessed (1 − tanh² near saturation
    loses hundreds of float32 ulps), while a formula error, present in both, is still caught.
    In float64 a correct gradient typically agrees to ~1e-10 relative, and a
    single entry off by a relative 1e-6 of the gradient's scale is caught.

    **Kinks.** One-sided slopes at :math:`h` and :math:`h/2` must differ as :math:`h f''`
    does; a slope jump inside the stencil (ReLU at 0, a max tie) makes the entry
    ``"inconclusive"`` with its path and index, unless the difference is larger than the
    jump can explain (then it fails).

    **Vacuity.** When every analytic and numeric entry is below its noise floor (the allowed
    error without atol/rtol), so that an all-zero gradient would have passed too, the result
    is ``"inconclusive"`` ("vacuous"), not a pass. In full mode this holds per parameter too:
    a parameter whose entries all sit below it is inconclusive, named in the reason (a wrong
    formula of that size could not be told from a right one), unless both sides are exactly 0
    (f does not depend on it).
    Fast mode judges whole random directions, in which such a parameter's share is not
    separately resolved.
    """
    _check_options(mode, rtol, atol, step, ulps)
    if complex_step and mode != "full":
        raise InvalidInputError(
            "`complex_step=True` refines full mode's per-entry derivatives; fast mode checks "
            'directions by central differences only. Use mode="full" or drop complex_step.'
        )
    leaves = validate_params(params)

    def raw(xs: list[FloatArray]) -> tuple[Any, Any]:
        v = f(unflatten(params, xs))
        return v, v

    def analytic(xs: list[NDArray[Any]]) -> list[NDArray[Any]]:
        fresh = [Leaf(leaf.path, x) for leaf, x in zip(leaves, xs, strict=True)]
        return validate_grad(params, fresh, grad(unflatten(params, xs)))

    def complex_fn(xs: list[Any]) -> Any:
        return f(unflatten(params, xs))

    opts = _Options(
        mode, rtol, atol, step, ulps, seed, complex_fn if complex_step else None, vectorized
    )
    return _run_scalar(raw, analytic, leaves, "f(params)", _label(f), opts)


@dataclass(frozen=True)
class _Options:
    mode: str
    rtol: float
    atol: float
    step: float | None
    ulps: float
    seed: int | None
    complex_fn: ComplexPoint | None = None
    vectorized: bool = False


def _run_scalar(
    raw: Callable[[list[FloatArray]], tuple[Any, Any]],
    analytic: Analytic,
    leaves: list[Leaf],
    what: str,
    label: str,
    o: _Options,
) -> CheckResult:
    """Difference a scalar function of the leaves and judge ``analytic()`` against it."""
    probes = NOISE_PROBES // 2 if o.mode == "fast" else NOISE_PROBES
    prob = _prepare(raw, [leaf.array for leaf in leaves], what, scalar=True, noise_probes=probes)
    grads, a_err = _grad_arrays(analytic, leaves)
    total = None if o.mode == "fast" else 4 * sum(leaf.array.size for leaf in leaves)
    with Progress(total, f"gradcheck {label}") as progress:
        stack = _stack(prob, raw, o.vectorized, progress)
        if o.mode == "fast":
            seed = draw_seed(o.seed)
            fast = fast_verdict(
                prob, leaves, grads, a_err, stack, ulps=o.ulps, step=o.step, seed=seed
            )
            _stable(prob, what)
            return _finish(fast, label, o.mode, prob.calls[0], o.ulps, seed)
        evaluate = stack_evaluator(stack, prob.base)
        d, h, s, blocks = _differentiate(prob, leaves, o.ulps, o.step, evaluate)
    extra, cs_note = 0, ""
    if o.complex_fn is not None:
        d, extra, cs_note = complex_refine(
            o.complex_fn, prob.base, d, s, ulps=o.ulps, safety=SAFETY
        )
    _stable(prob, what)
    a = np.concatenate([g.ravel() for g in grads])[:, None]
    eps_g = np.concatenate([np.full(leaf.array.size, _eps(leaf.array)) for leaf in leaves])
    verdict = judge(
        a,
        _columns(d),
        h,
        s,
        eps_g,
        blocks,
        (),
        ulps=o.ulps,
        rtol=o.rtol,
        atol=o.atol,
        a_err=a_err[:, None],
    )
    if cs_note:
        verdict = replace(verdict, reason=f"{verdict.reason} {cs_note}".strip())
    return _finish(verdict, label, o.mode, prob.calls[0] + extra, o.ulps, o.seed)


def _stack(
    prob: _Problem,
    raw: Callable[[list[Any]], tuple[Any, Any]],
    vectorized: bool,
    progress: Progress,
) -> Stack:
    """How perturbed points are evaluated: one vectorized call per chunk, or a loop."""
    if vectorized:
        return vector_stack(raw, prob.base, prob.f0.shape, prob.calls, progress.advance)
    return loop_stack(prob.point, prob.base, progress.advance)


def _eps(a: NDArray[Any]) -> float:
    return float(np.finfo(a.dtype).eps)


def _columns(d: Any) -> Any:
    """Differences of a scalar function as an (n, 1) block, like a one-output Jacobian."""
    fields = {k: np.reshape(getattr(d, k), (-1, 1)) for k in d.__dataclass_fields__}
    return type(d)(**fields)


def assert_grad(
    f: Callable[[Any], Any], grad: Callable[[Any], Any], params: Any, **kw: Any
) -> CheckResult:
    """`check_grad`, raising `GradientMismatch` (an AssertionError) when the status is "fail".

    An ``"inconclusive"`` result is returned, not raised: look at ``result.status``.
    """
    result = check_grad(f, grad, params, **kw)
    if result.status is Status.FAIL:
        raise GradientMismatch(result)
    return result
