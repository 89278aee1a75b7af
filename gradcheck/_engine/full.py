"""Full mode: every coordinate of every leaf differenced (4 evaluations each) and judged.

The numeric side and its error are those of the error model (`gradcheck._engine.numdiff`);
with ``complex_step`` the derivatives are refined where the complex step agrees with them
(`gradcheck._engine.complex_step`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gradcheck._engine.analytic import eps_g
from gradcheck._engine.complex_step import complex_refine
from gradcheck._engine.judge import SAFETY, Block, Verdict, judge
from gradcheck._engine.numdiff import (
    OFFSETS,
    Differences,
    Evaluate,
    FloatArray,
    differences,
    joined,
    relative_step,
    scales,
    steps,
)
from gradcheck._engine.options import Options
from gradcheck._engine.problem import Problem
from gradcheck._tree import Leaf


@dataclass(frozen=True)
class Derivatives:
    """Numeric derivatives of every coordinate: ``d`` shaped (coordinates, outputs)."""

    d: Differences
    h: FloatArray  # step per coordinate
    s: FloatArray  # scale per coordinate
    blocks: list[Block]  # each leaf's slice of the coordinates


def differentiate(
    prob: Problem, leaves: list[Leaf], ulps: float, step: float | None, evaluate: Evaluate
) -> Derivatives:
    """Richardson derivatives of every coordinate of every leaf."""
    factor = relative_step(step, ulps, prob.eps_f)
    parts, hs, ss, blocks, start = [], [], [], [], 0
    for j, (leaf, x) in enumerate(zip(leaves, prob.base, strict=True)):
        s = scales(x.astype(np.float64)).ravel()
        h = steps(s, factor)
        values, mags = evaluate(j, np.arange(x.size), np.outer(h, OFFSETS))
        parts.append(differences(prob.f0, values, h, prob.delta(mags.max(axis=1), ulps)))
        hs.append(h)
        ss.append(s)
        blocks.append(
            Block(leaf.path, leaf.array.shape, str(leaf.array.dtype), start, start + x.size)
        )
        start += x.size
    d = joined(parts, (start, prob.f0.size))
    return Derivatives(d, np.concatenate(hs), np.concatenate(ss), blocks)


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
    der = differentiate(prob, leaves, o.ulps, o.step, evaluate)
    d, extra, note = der.d, 0, ""
    if o.complex_fn is not None:
        d, extra, note = complex_refine(
            o.complex_fn, prob.base, d, der.s, ulps=o.ulps, safety=SAFETY
        )
    out_shape = prob.f0.shape
    verdict = judge(
        a,
        d,
        der.h,
        der.s,
        eps_g(leaves) if eps is None else eps,
        der.blocks,
        out_shape,
        ulps=o.ulps,
        rtol=o.rtol,
        atol=o.atol,
        a_err=a_err,
    )
    if note:
        verdict = replace(verdict, reason=f"{verdict.reason} {note}".strip())
    return verdict, extra
