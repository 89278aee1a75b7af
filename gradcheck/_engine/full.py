"""Full mode: every coordinate of every leaf differenced on the step ladder and judged.

The numeric side and its error are those of the error model (`gradcheck._engine.numdiff`):
4 evaluations per coordinate whose first stencil is quiet, 2 more per halving for the others.
With ``complex_step`` the derivatives are refined where the complex step agrees with them
(`gradcheck._engine.complex_step`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.analytic import eps_g
from gradcheck._engine.complex_step import complex_refine
from gradcheck._engine.judge import SAFETY, Block, Verdict, judge
from gradcheck._engine.numdiff import STAIRCASE, Differences, Evaluate, FloatArray, joined
from gradcheck._engine.options import Options
from gradcheck._engine.problem import Problem, coordinate_differences, recheck, staircase
from gradcheck._result import Status
from gradcheck._tree import Leaf


@dataclass(frozen=True)
class Derivatives:
    """Numeric derivatives of every coordinate: ``d`` shaped (coordinates, outputs)."""

    d: Differences
    s: FloatArray  # scale per coordinate
    blocks: list[Block]  # each leaf's slice of the coordinates


def differentiate_all(
    prob: Problem,
    leaves: list[Leaf],
    ulps: float,
    step: float | None,
    evaluate: Evaluate,
) -> Derivatives:
    """Ladder derivatives of every coordinate of every leaf: from f alone (its steps, quiet
    decisions and error estimates never read the analytic side, which enters only `judge`)."""
    parts, ss, blocks, start = [], [], [], 0
    for j, (leaf, x) in enumerate(zip(leaves, prob.base, strict=True)):
        factor = prob.factor(step, ulps, j)
        d, s = coordinate_differences(prob, j, np.arange(x.size), factor, ulps, evaluate, SAFETY)
        parts.append(d)
        ss.append(s)
        blocks.append(
            Block(leaf.path, leaf.array.shape, str(leaf.array.dtype), start, start + x.size)
        )
        start += x.size
    d = joined(parts, (start, prob.f0.size))
    return Derivatives(d, np.concatenate(ss), blocks)


def _rechecked(
    prob: Problem,
    der: Derivatives,
    d: Differences,
    verdict: Verdict,
    o: Options,
    evaluate: Evaluate,
) -> Differences:
    """``d`` with the failing accepted estimates rechecked from shorter steps (`recheck`)."""
    m = prob.f0.size
    kind = d.kind.copy()
    for j, (b, p) in enumerate(zip(der.blocks, verdict.params, strict=True)):
        if p.statuses is None:
            continue
        failing = (Status.FAIL.value == p.statuses.reshape(m, -1).T) & d.smooth[b.start : b.stop]
        rows = np.flatnonzero(np.any(failing, axis=1))
        if not rows.size:
            continue
        part = _rows(d, b.start + rows, prob.f0.shape)
        factor = prob.factor(o.step, o.ulps, j)
        again = recheck(prob, j, rows, factor, o.ulps, evaluate, SAFETY, part)
        kind[b.start + rows] = again.kind.reshape(rows.size, m)
    return replace(d, kind=kind)


def _staircases(
    prob: Problem,
    der: Derivatives,
    d: Differences,
    verdict: Verdict,
    a: FloatArray,
    o: Options,
    evaluate: Evaluate,
) -> Differences:
    """``d`` with the fails of noisy leaves that sit on a staircase (`staircase`) marked so."""
    m = prob.f0.size
    kind = d.kind.copy()
    for j, (b, p) in enumerate(zip(der.blocks, verdict.params, strict=True)):
        if p.statuses is None or o.step is not None or not prob.noisy(j):
            continue
        failing = (Status.FAIL.value == p.statuses.reshape(m, -1).T) & d.smooth[b.start : b.stop]
        rows = np.flatnonzero(np.any(failing, axis=1))
        if not rows.size:
            continue
        ar = a[b.start + rows].reshape(rows.size, *prob.f0.shape)
        allowed = np.asarray(p.allowed).reshape(m, -1).T[rows].reshape(ar.shape)
        stair = staircase(prob, j, rows, ar, allowed, o.ulps, evaluate, SAFETY)
        stair = stair.reshape(rows.size, m)
        stair &= failing[rows]
        kind[b.start + rows] = np.where(stair, np.int8(STAIRCASE), kind[b.start + rows])
    return replace(d, kind=kind)


def _rows(d: Differences, rows: NDArray[np.intp], out_shape: tuple[int, ...]) -> Differences:
    """Rows of ``d`` (coordinates x outputs) shaped ``(len(rows),) + out_shape``."""
    return Differences(
        **{
            f.name: getattr(d, f.name)[rows].reshape(rows.size, *out_shape)
            for f in fields(Differences)
        }
    )


def full_verdict(
    prob: Problem,
    leaves: list[Leaf],
    a: FloatArray,
    a_err: FloatArray | None,
    evaluate: Evaluate,
    o: Options,
    eps: FloatArray | None = None,
) -> tuple[Verdict, int]:
    """Judge ``a`` (coordinates x outputs) entry by entry; (verdict, extra evaluations).

    ``eps``: the analytic side's precision per coordinate (default: the parameters' dtype).
    """
    der = differentiate_all(prob, leaves, o.ulps, o.step, evaluate)
    d, extra, note = der.d, 0, ""
    if o.complex_fn is not None:
        d, extra, note = complex_refine(
            o.complex_fn, prob.base, d, der.s, ulps=o.ulps, safety=SAFETY
        )
    out_shape = prob.f0.shape

    def verdict_of(d: Differences) -> Verdict:
        return judge(
            a,
            d,
            der.s,
            eps_g(leaves) if eps is None else eps,
            der.blocks,
            out_shape,
            ulps=o.ulps,
            rtol=o.rtol,
            atol=o.atol,
            a_err=a_err,
        )

    verdict = verdict_of(d)
    if verdict.status is Status.FAIL:  # a fail must rest on a converged estimate
        d = _rechecked(prob, der, d, verdict, o, evaluate)
        verdict = verdict_of(d)
    if verdict.status is Status.FAIL:  # ... and on a step at which f moves
        d = _staircases(prob, der, d, verdict, a, o, evaluate)
        verdict = verdict_of(d)
    if note:
        verdict = replace(verdict, reason=f"{verdict.reason} {note}".strip())
    return verdict, extra
