"""The scalar checker: `check_grad` and `assert_grad`, a front end over `gradcheck._engine`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numpy.typing import NDArray

from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.options import DEFAULT_ULPS, Options
from gradcheck._engine.run import label, run_scalar
from gradcheck._errors import GradientMismatch
from gradcheck._result import CheckResult, Status
from gradcheck._tree import Leaf, unflatten, validate_grad, validate_params


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
        detection power. See `gradcheck._engine.fast`.
    seed : a non-negative int or None: the random directions of fast mode (a fresh seed is
        drawn and recorded when None); recorded in the result; full mode draws no random
        numbers.
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
    **The error model** (written out once, in `gradcheck._engine.numdiff`). Each entry's
    numeric derivative is the Richardson combination of central differences at :math:`h` and
    :math:`h/2`, with an estimated error :math:`E` (truncation plus the rounding of ``f``,
    ``ulps`` of its working precision or its measured noise, whichever is larger). The entry
    fails when :math:`|a - N|` exceeds :math:`4E`, plus the analytic side's own rounding
    judged against the whole gradient (measured at float64 for float32 parameters), plus
    ``atol + rtol |N|``. In float64 a correct gradient typically agrees to ~1e-10 relative,
    and a single entry off by a relative 1e-6 of the gradient's scale is caught.

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

    def complex_fn(xs: list[Any]) -> Any:
        return f(unflatten(params, xs))

    o = Options(
        mode, rtol, atol, step, ulps, seed, complex_fn if complex_step else None, vectorized
    )
    leaves = validate_params(params)

    def raw(xs: list[FloatArray]) -> tuple[Any, Any]:
        v = f(unflatten(params, xs))
        return v, v

    def analytic(xs: list[NDArray[Any]]) -> list[NDArray[Any]]:
        fresh = [Leaf(leaf.path, x) for leaf, x in zip(leaves, xs, strict=True)]
        return validate_grad(params, fresh, grad(unflatten(params, xs)))

    return run_scalar(raw, analytic, leaves, "f(params)", label(f), o)


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
