"""The shared driver: prepare → analytic side → full or fast run loop → stable → result.

A front end (`check_grad`, `check_vjp`, `check_jacobian`) builds ``raw`` (its function of the
parameter arrays, returning value and rounding magnitude), the analytic side and an `Options`,
and calls `run_scalar` or `run_jacobian`; everything else happens here and below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from gradcheck import _evidence
from gradcheck._engine.analytic import Analytic, gradient
from gradcheck._engine.fast import fast_verdict
from gradcheck._engine.full import full_verdict
from gradcheck._engine.judge import SAFETY, Verdict
from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.options import Options, draw_seed
from gradcheck._engine.problem import NOISE_PROBES, Problem, Raw, prepare, stable
from gradcheck._engine.stacks import (
    Stack,
    loop_evaluator,
    loop_stack,
    stack_evaluator,
    vector_stack,
)
from gradcheck._progress import Progress
from gradcheck._result import CheckResult
from gradcheck._tree import Leaf

#: the one-line summary of the error model (`gradcheck._engine.numdiff`) every result carries.
MODEL = (
    "error model: allowed = {safety:g} x (truncation |D(h/2) - D(h)| + rounding 3 ulps eps_f "
    "|f|/h) + ulps eps_g (|a| + max_j |a_j| s_j / s_i) + atol + rtol |numeric|, ulps = {ulps:g}"
)


def run_scalar(
    raw: Raw, analytic: Analytic, leaves: list[Leaf], what: str, label: str, o: Options
) -> CheckResult:
    """Difference a scalar function of the leaves and judge ``analytic`` against it."""
    probes = NOISE_PROBES // 2 if o.mode == "fast" else NOISE_PROBES
    prob = prepare(raw, [leaf.array for leaf in leaves], what, scalar=True, noise_probes=probes)
    grads, a_err = gradient(analytic, leaves)
    total = None if o.mode == "fast" else 4 * sum(leaf.array.size for leaf in leaves)
    extra = 0
    with Progress(total, f"gradcheck {label}") as progress:
        stack = _stack(prob, raw, o.vectorized, progress)
        if o.mode == "fast":
            seed = draw_seed(o.seed)
            o = replace(o, seed=seed)
            verdict = fast_verdict(
                prob, leaves, grads, a_err, stack, ulps=o.ulps, step=o.step, seed=seed
            )
        else:
            a = np.concatenate([g.ravel() for g in grads])[:, None]
            evaluate = stack_evaluator(stack, prob.base)
            verdict, extra = full_verdict(prob, leaves, a, a_err[:, None], evaluate, o)
    stable(prob, what)
    return finish(verdict, label, o, prob.calls[0] + extra)


def run_jacobian(
    raw: Raw,
    jacobian: Callable[[tuple[int, ...]], FloatArray],
    leaf: Leaf,
    label: str,
    o: Options,
) -> CheckResult:
    """Judge ``jacobian(out_shape)`` (shape ``out_shape + x.shape``) entry by entry."""
    prob = prepare(raw, [leaf.array], "f(x)", scalar=False)
    out_shape = prob.f0.shape
    J = jacobian(out_shape)
    a = J.reshape(prob.f0.size, leaf.array.size).T
    evaluate = loop_evaluator(prob.point, prob.base)
    verdict, _ = full_verdict(prob, [Leaf("J", leaf.array)], a, None, evaluate, o)
    stable(prob, "f(x)")
    return finish(verdict, label, o, prob.calls[0])


def _stack(prob: Problem, raw: Raw, vectorized: bool, progress: Progress) -> Stack:
    """How perturbed points are evaluated: one vectorized call per chunk, or a loop."""
    if vectorized:
        return vector_stack(raw, prob.base, prob.f0.shape, prob.calls, progress.advance)
    return loop_stack(prob.point, prob.base, progress.advance)


def finish(verdict: Verdict, label: str, o: Options, evaluations: int) -> CheckResult:
    """The result the user sees, recorded for the proof tooling (`gradcheck._evidence`)."""
    result = CheckResult(
        status=verdict.status,
        label=label,
        mode=o.mode,
        evaluations=evaluations,
        params=verdict.params,
        worst=verdict.worst,
        worst_ratio=verdict.worst_ratio,
        max_rel_error=verdict.max_rel_error,
        reason=verdict.reason,
        model=MODEL.format(safety=SAFETY, ulps=o.ulps),
        seed=o.seed,
    )
    _evidence.record(result)
    return result


def label(fn: object) -> str:
    """How a checked function is named in the report."""
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))
