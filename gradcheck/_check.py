"""The scalar checker: `check_grad` and `assert_grad`, a front end over `gradcheck._engine`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numpy.typing import NDArray

from gradcheck import _complex
from gradcheck._engine.calls import Calls, Constants
from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.options import DEFAULT_ULPS, Options, check_flag, title
from gradcheck._engine.run import run_scalar
from gradcheck._errors import GradientMismatch, InvalidInputError
from gradcheck._result import CheckResult, Status
from gradcheck._tree import parse


def check_grad(
    f: Callable[[Any], Any],
    grad: Callable[[Any], Any],
    params: Any,
    *,
    wrt: Any = None,
    label: str | None = None,
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
    f : ``f(params) -> float`` (a Python float or a 0-d array). Called with the parameters in
        float64 when it accepts them (float32 parameters are differenced in float64; if ``f``
        raises on float64, in the parameters' own dtype), as read-only arrays; if ``f`` writes
        into them, with fresh copies from then on, and the result notes what it modified.
    grad : ``grad(params) -> tree`` of the same structure and shapes as ``params`` (a dict's
        keys in any order; a list or a tuple for any sequence; a float for a 0-d parameter),
        in any real float dtype: a gradient less precise than its parameter is judged at its
        own precision, a more precise one (float64 for float32 parameters) at the
        parameter's. Always called with fresh copies.
    params : an ndarray (0-d included), or a (nested) dict / list / tuple / namedtuple /
        dataclass of ndarrays of floats, real or complex; namedtuples and dataclasses are
        rebuilt as their own type. Never modified. A complex parameter :math:`z = x + iy`
        needs ``grad`` to return :math:`\partial f/\partial x + i\,\partial f/\partial y`
        (PyTorch's convention, written out with a worked example in `gradcheck._complex`);
        its parts are checked as ``path.real`` and ``path.imag``.
    wrt : which top-level members of ``params`` to check (a key or index, or a tuple of
        them), e.g. ``wrt=("W", "b")`` for ``params = {"W": W, "b": b, "y": labels}``. The
        others are constants: index arrays, masks, targets, settings, of any type; ``f`` and
        ``grad`` get them unchanged (arrays read-only), they are never differenced, and
        ``grad`` may leave them out of its result or return anything for them. Default: every
        member.
    label : the report's title (default: ``f``'s name; a lambda as ``<lambda> at file:LINE``).
    mode : ``"full"`` checks every entry (4 evaluations of ``f`` per entry, 2 more per
        halving of the step where ``f`` needs it, plus ~16 for the base value, determinism
        and the noise probes).
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
    step : relative first step ``c`` (:math:`h_i \approx c|x_i|`, halved where ``f`` needs it);
        default :math:`(\text{ulps}\cdot\varepsilon_f)^{1/3}`, about 1.9e-5 in float64, or
        longer for an ``f`` measured noisier than that (float32 inside).
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
        drive it (path, index, analytic, numeric, allowed); ``notes`` what the user's code
        did without changing the verdict (arrays it modified in place); ``params[k].dtype``
        and ``.grad_dtype`` the dtypes; ``str(result)`` the report (dtypes and notes included).
        Memory: fast mode holds at most about 4x the parameters (`gradcheck._engine.fast`).

    Raises
    ------
    InvalidTypeError, InvalidInputError
        Integer/empty/non-finite parameters (an integer member that is a constant:
        see ``wrt``); masked arrays; trees that are cyclic or deeper than 100 levels; options
        of the wrong type or range; ``f`` not a finite real scalar (a tuple included); ``grad``
        with another structure or shape, a non-float dtype (a real one for a complex
        parameter), or non-finite (the entry named); ``complex_step`` with complex parameters.
    NondeterministicError
        ``f`` or ``grad`` gave two values at one point (randomness, or state that changes
        between calls, such as batch-norm running statistics).

    Notes
    -----
    **The error model** (written out once, in `gradcheck._engine.numdiff`). Each entry's
    numeric derivative is the Richardson combination of central differences at :math:`h` and
    :math:`h/2`, :math:`h` relative to the entry's own magnitude, with an estimated error
    :math:`E` (truncation, the rounding of ``f`` — ``ulps`` of its working precision times its
    magnitude and conditioning, or its measured noise when larger, which also lengthens the
    step — and the slope jump a kink too small to see could hide). A stencil that is not a
    smooth cubic within rounding is refined (:math:`h/2, h/4, \dots`) until it is. The entry
    fails when :math:`|a - N|` exceeds :math:`4E`, plus the analytic side's own rounding judged
    against the whole gradient (measured at float64 for float32 parameters), plus
    ``atol + rtol |N|``, and the fail is reproduced from steps about 20 and 414 times shorter. In
    float64 a correct gradient typically agrees to ~1e-10 relative, and a single entry off by
    a relative 1e-6 of the gradient's scale is caught; each entry's ``allowed`` is its
    detection bound.

    **Kinks, jumps, poles.** An entry whose stencil never becomes smooth under refinement is
    ``"inconclusive"`` with its path, index and cause: a kink (the slope jump stays constant:
    ReLU at 0, a max tie), a jump (the differences stay constant: a threshold, a ±1 target),
    a pole or the edge of ``f``'s domain, or "did not converge". Every other entry is judged
    as if it were not there. At a kink the entry still fails when the analytic value is
    outside both one-sided derivatives.

    **Vacuity.** When every analytic and numeric entry is below its noise floor (the allowed
    error without atol/rtol), so that an all-zero gradient would have passed too, the result
    is ``"inconclusive"`` ("vacuous"), not a pass. In full mode this holds per parameter too:
    a parameter whose entries all sit below it is inconclusive, named in the reason (a wrong
    formula of that size could not be told from a right one), unless both sides are exactly 0
    (f does not depend on it).
    Fast mode judges whole random directions, in which such a parameter's share is not
    separately resolved.
    """

    user = Calls("f", "grad")
    check_flag("complex_step", complex_step)
    tree = parse(params, "params", wrt=wrt, complex_ok=True)
    leaves = list(tree.leaves)
    if complex_step and any(_complex.is_complex(leaf.array) for leaf in leaves):
        raise InvalidInputError(
            "`complex_step=True` moves real parameters along the imaginary axis; it cannot "
            "be used with complex parameters. Drop complex_step."
        )
    consts = Constants(tree, user)

    def complex_fn(xs: list[Any]) -> Any:
        v = user.user(f, tree.build(xs, consts))
        consts.check("f")
        return v

    o = Options(
        mode, rtol, atol, step, ulps, seed, complex_fn if complex_step else None, vectorized
    )
    name = title(label, f)

    def raw(xs: list[FloatArray]) -> tuple[Any, Any]:
        zs = _complex.join(leaves, xs)
        v = user.user(f, tree.build(zs, consts))
        consts.check("f")
        for path in _complex.written(leaves, xs, zs):
            user.modified("f", path)
        return v, v

    fresh_consts = Constants(tree, user, copy=True)

    def analytic(xs: list[NDArray[Any]]) -> list[NDArray[Any]]:
        zs = _complex.join(leaves, xs)
        g = user.user(grad, tree.build(zs, fresh_consts))
        fresh_consts.check("grad")
        for path in _complex.written(leaves, xs, zs):
            user.modified("grad", path)
        return _complex.split_values(leaves, tree.gradient(g, "grad(params)"))

    return run_scalar(raw, analytic, _complex.split(leaves), "f(params)", name, o, user)


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
