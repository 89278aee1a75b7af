"""The shared driver: prepare → analytic side → full or fast run loop → stable → result.

A front end (`check_grad`, `check_vjp`, `check_jacobian`) builds ``raw`` (its function of the
parameter arrays, returning value and rounding magnitude), the analytic side and an `Options`,
and calls `run_scalar` or `run_jacobian`; everything else happens here and below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck import _evidence
from gradcheck._engine.analytic import Analytic, gradient
from gradcheck._engine.calls import Calls, checking
from gradcheck._engine.fast import fast_verdict
from gradcheck._engine.full import full_verdict
from gradcheck._engine.judge import SAFETY, Verdict
from gradcheck._engine.noise import measured
from gradcheck._engine.numdiff import QUIET
from gradcheck._engine.options import Options, draw_seed
from gradcheck._engine.problem import Problem, Raw, prepare, stable
from gradcheck._engine.stacks import Stack, loop_stack, stack_evaluator, vector_stack
from gradcheck._progress import Progress
from gradcheck._result import CheckResult
from gradcheck._tree import Leaf

#: the one-line summary of the error model (`gradcheck._engine.numdiff`) every result carries.
MODEL = (
    "error model: allowed = {safety:g} x (truncation |D(h/2) - D(h)| + rounding 3 delta/h + "
    "hidden slope jump |D4|/2h) + ulps eps_g (|a| + max_j |a_j| s_j / s_i) + atol + rtol "
    "|numeric|, delta = max(ulps eps_f max(|f|, |x_i D|), the leaf's measured "
    "noise), ulps = {ulps:g}; h = c |x_i| halves until the stencil is quiet (|D4| <= "
    "{quiet:g} delta), else the entry is a kink, jump, pole or did not converge; a fail is "
    "rechecked from h/20 and h/414, and where the measured noise lengthened h, at c = "
    "(ulps eps)^(1/3): flat there, it is a staircase"
)


StackFactory = Callable[[Problem, Callable[[int], None]], Stack]
"""``factory(prob, advance) -> Stack``: a front end's own way of evaluating stacked points
(`gradcheck.torch` evaluates them natively, through ``torch.func.vmap``). It counts its
evaluations in ``prob.calls`` and reports them to ``advance``."""


def run_scalar(
    raw: Raw,
    analytic: Analytic,
    leaves: list[Leaf],
    what: str,
    label: str,
    o: Options,
    user: Calls | None = None,
    stack: StackFactory | None = None,
) -> CheckResult:
    """Difference a scalar function of the leaves and judge ``analytic`` against it.

    ``user`` is how the user's code is called and what it did (`gradcheck._engine.calls`);
    the checker's own arithmetic runs under its own numpy error state. ``stack`` replaces
    the engine's loop (or vectorized) evaluation of perturbed points.
    """
    user = user if user is not None else Calls()
    with checking():
        arrays = [leaf.array for leaf in leaves]
        paths = [leaf.path for leaf in leaves]
        prob = prepare(raw, arrays, what, scalar=True, paths=paths, user=user)
        grad = gradient(analytic, leaves, user)
        probe = "direction" if o.mode == "fast" else "coordinates"
        prob = measured(prob, probe, [g.reshape(-1, 1) for g in grad.values])
        total = None if o.mode == "fast" else 4 * sum(leaf.array.size for leaf in leaves)
        extra = 0
        with Progress(total, f"gradcheck {label}") as progress:
            evaluator = (
                stack(prob, progress.advance) if stack else _stack(prob, o.vectorized, progress)
            )
            if o.mode == "fast":
                seed = draw_seed(o.seed)
                o = replace(o, seed=seed)
                verdict = fast_verdict(
                    prob, leaves, grad, evaluator, ulps=o.ulps, step=o.step, seed=seed
                )
            else:
                a = np.concatenate([g.ravel() for g in grad.values])[:, None]
                a_err = None if grad.err is None else grad.err[:, None]
                evaluate = stack_evaluator(evaluator, prob.base)
                verdict, extra = full_verdict(
                    prob, leaves, a, a_err, evaluate, o, eps=grad.eps_entries()
                )
        stable(prob, what)
        return finish(verdict, label, o, prob.calls[0] + extra, grad.dtypes, user.report())


def run_jacobian(
    raw: Raw,
    jacobian: Callable[[tuple[int, ...]], NDArray[Any]],
    leaf: Leaf,
    label: str,
    o: Options,
    user: Calls | None = None,
) -> CheckResult:
    """Judge ``jacobian(out_shape)`` (shape ``out_shape + x.shape``, any float dtype: judged at
    the lower of its precision and x's) entry by entry."""
    user = user if user is not None else Calls()
    with checking():
        prob = prepare(raw, [leaf.array], "f(x)", scalar=False, paths=[leaf.path], user=user)
        out_shape = prob.f0.shape
        J = jacobian(out_shape)
        eps = max(float(np.finfo(J.dtype).eps), float(np.finfo(leaf.array.dtype).eps))
        a = np.asarray(J, dtype=np.float64).reshape(prob.f0.size, leaf.array.size).T
        prob = measured(prob, "coordinates", [a])
        evaluate = stack_evaluator(loop_stack(prob.point, prob.base), prob.base)
        verdict, _ = full_verdict(
            prob, [Leaf("J", leaf.array)], a, None, evaluate, o, eps=np.full(leaf.array.size, eps)
        )
        stable(prob, "f(x)")
        return finish(verdict, label, o, prob.calls[0], [str(J.dtype)], user.report())


def _stack(prob: Problem, vectorized: bool, progress: Progress) -> Stack:
    """How perturbed points are evaluated: one vectorized call per chunk, or a loop."""
    if vectorized:
        return vector_stack(prob.call, prob.base, prob.f0.shape, prob.calls, progress.advance)
    return loop_stack(prob.point, prob.base, progress.advance)


def finish(
    verdict: Verdict,
    label: str,
    o: Options,
    evaluations: int,
    grad_dtypes: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> CheckResult:
    """The result the user sees, recorded for the proof tooling (`gradcheck._evidence`)."""
    params = verdict.params
    if grad_dtypes:
        params = tuple(replace(p, grad_dtype=d) for p, d in zip(params, grad_dtypes, strict=True))
    result = CheckResult(
        status=verdict.status,
        label=label,
        mode=o.mode,
        evaluations=evaluations,
        params=params,
        worst=verdict.worst,
        worst_ratio=verdict.worst_ratio,
        max_rel_error=verdict.max_rel_error,
        reason=verdict.reason,
        model=MODEL.format(safety=SAFETY, ulps=o.ulps, quiet=QUIET),
        seed=o.seed,
        notes=tuple(notes),
    )
    _evidence.record(result)
    return result
