r"""Turning numeric derivatives and their error estimates into verdicts.

For entry :math:`i` (a coordinate, and for vector functions an output), the analytic value
:math:`a_i`, the numeric :math:`N_i` and the allowed error are those of the error model
(`gradcheck._engine.numdiff`, the one place it is written). An entry whose stencil was
accepted **fails** when :math:`|a_i - N_i| > \text{allowed}_i`. An entry whose stencil met a
kink, a jump or a pole, or did not converge, is **inconclusive** with that cause named, unless
at a kink :math:`a_i` lies outside both one-sided derivatives (then it fails: no subgradient).
Such entries are left out of everything the other entries are judged by (the gradient's scale
:math:`G`, vacuity), so they never decide another entry's verdict. A check whose accepted
analytic and numeric values all sit below their noise floor (so that an all-zero gradient would
have passed too) is **vacuous**: it proves nothing, and says so. The same holds for one
parameter: when every accepted entry of a parameter sits below the noise floor, its entries
are inconclusive, since a wrong formula of that size could not be told from a right one,
unless both sides are exactly 0 in every entry (a parameter f does not depend on). A numeric
0 alone is not enough: f's rounding can swamp a small parameter's effect entirely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.numdiff import (
    JUMP,
    KINK,
    POLE,
    SMOOTH,
    STAIRCASE,
    UNCONVERGED,
    Differences,
    FloatArray,
)
from gradcheck._result import Entry, ParamReport, Status

#: the estimated error of a numeric derivative is multiplied by this before comparing.
SAFETY = 4.0
#: how many entries the report lists.
REPORTED = 5

_PASS, _FAIL, _INCONCLUSIVE = 0, 1, 2
_STATUS = (Status.PASS, Status.FAIL, Status.INCONCLUSIVE)


@dataclass(frozen=True)
class Block:
    """One parameter's slice of the coordinate axis, and how to name its entries."""

    path: str
    shape: tuple[int, ...]  # the parameter's shape
    dtype: str
    start: int
    stop: int


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str
    params: tuple[ParamReport, ...]
    worst: tuple[Entry, ...]
    worst_ratio: float
    max_rel_error: float


def judge(
    a: FloatArray,
    d: Differences,
    scale: FloatArray,
    eps_g: FloatArray,
    blocks: Sequence[Block],
    out_shape: tuple[int, ...],
    *,
    ulps: float,
    rtol: float,
    atol: float,
    a_err: FloatArray | None = None,
    subgradients: bool = True,
) -> Verdict:
    """Verdicts for ``a`` (shape ``(n, m)``: coordinates x outputs) against ``d``.

    ``subgradients=False`` (fast mode's directions): a kink is never a fail. Along a direction
    several entries' kinks add up, and their subgradients, each right for its entry, need not
    lie between the direction's one-sided derivatives when f is not convex."""
    col = (slice(None), None)
    smooth = d.smooth
    g_scale = np.max(np.where(smooth, np.abs(a) * scale[col], 0.0), axis=0, initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        floor = ulps * eps_g[col] * (np.abs(a) + g_scale[None, :] / scale[col])
        if a_err is not None:  # measured low-precision rounding of the analytic side
            floor = floor + SAFETY * a_err
        slack = floor + atol + rtol * np.abs(d.numeric)
        noise = SAFETY * d.error + floor
        allowed = noise + atol + rtol * np.abs(d.numeric)
        diff = np.abs(a - d.numeric)
        rel = np.where(diff == 0, 0.0, diff / (np.abs(d.numeric) + g_scale / scale[col]))
        no_subgradient = (d.kind == KINK) & ((a < d.low - slack) | (a > d.high + slack))
        no_subgradient &= subgradients
    code = np.full(a.shape, _INCONCLUSIVE)
    code[smooth] = _PASS
    code[smooth & (diff > allowed)] = _FAIL
    code[no_subgradient] = _FAIL
    # Vacuity: an all-zero gradient would have passed as well (both sides within the noise
    # part of the allowed error of 0), so the check could not tell this gradient from zero.
    below = smooth & (np.abs(a) <= noise) & (np.abs(d.numeric) <= noise)
    vacuous = bool(np.any(smooth)) and bool(np.all(below[smooth]))
    hidden = [] if vacuous else _vacuous_blocks(a, d, below, code, blocks)
    for b in hidden:
        part = code[b.start : b.stop]
        part[smooth[b.start : b.stop]] = _INCONCLUSIVE
    entries = _entries(a, d, allowed, code, blocks, out_shape)
    params = tuple(_param_report(b, a, d, allowed, code, out_shape) for b in blocks)
    status, reason = _overall(code, d.kind, vacuous, [b.path for b in hidden])
    finite_rel = rel[np.isfinite(rel) & smooth]
    return Verdict(
        status=status,
        reason=reason,
        params=params,
        worst=entries,
        worst_ratio=max((e.ratio for e in entries), default=0.0),
        max_rel_error=float(finite_rel.max()) if finite_rel.size else float("nan"),
    )


def judge_one(
    a: float,
    d: Differences,
    floor: float,
    block: Block,
    *,
    subgradients: bool = True,
) -> Verdict:
    """`judge` for one scalar derivative (``d`` of shape ``(1, 1)``, one `Block` of one entry)
    with the analytic side's rounding ``floor`` given (``a_err = floor / SAFETY``; no ``eps_g``,
    ``rtol`` or ``atol``): fast mode's directions and named entries. The same rule, written
    for one number in Python floats (`judge`'s array machinery costs more than a tiny f);
    its ``params`` are empty (fast mode builds its own), everything else is `judge`'s
    (`tests/test_fast.py` compares the two)."""
    kind = int(d.kind.item())
    smooth = kind == SMOOTH
    numeric, error = float(d.numeric.item()), float(d.error.item())
    g_scale = abs(a) if smooth else 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        total = float(np.float64(0.0) * (abs(a) + g_scale)) + SAFETY * (floor / SAFETY)
        noise = SAFETY * error + total
        allowed = noise + 0.0 + 0.0 * abs(numeric)
        diff = abs(a - numeric)
        rel = 0.0 if diff == 0 else float(np.float64(diff) / (abs(numeric) + g_scale))
    code = _INCONCLUSIVE
    if smooth:
        code = _FAIL if diff > allowed else _PASS
    slack = total + 0.0 + 0.0 * abs(numeric)
    low, high = float(d.low.item()), float(d.high.item())
    if subgradients and kind == KINK and (a < low - slack or a > high + slack):
        code = _FAIL
    vacuous = smooth and abs(a) <= noise and abs(numeric) <= noise
    as_array = np.array([[code]])
    status, reason = _overall(as_array, d.kind.reshape(1, 1), vacuous, [])
    entry = Entry(
        path=block.path,
        index=tuple(int(i) for i in np.unravel_index(0, block.shape)),
        analytic=a,
        numeric=numeric,
        error=error,
        allowed=allowed,
        step=float(d.step.item()),
        status=_STATUS[code],
        note=_note(d, 0, 0, code),
    )
    return Verdict(
        status=status,
        reason=reason,
        params=(),
        worst=(entry,),
        worst_ratio=entry.ratio,
        max_rel_error=rel if smooth and np.isfinite(rel) else float("nan"),
    )


def _vacuous_blocks(
    a: FloatArray,
    d: Differences,
    below: NDArray[np.bool_],
    code: NDArray[np.int_],
    blocks: Sequence[Block],
) -> list[Block]:
    """Parameters whose every accepted entry is below the noise floor, not both sides exactly
    zero (entries whose stencil was not accepted are inconclusive anyway, and do not count)."""
    out = []
    for b in blocks:
        part = slice(b.start, b.stop)
        ok = d.smooth[part]
        if not np.any(ok) or not np.all(below[part][ok]) or np.any(code[part] == _FAIL):
            continue
        if np.all((a[part][ok] == 0) & (d.numeric[part][ok] == 0)):
            continue  # f is flat in it bit for bit and grad says exactly 0: checked, not vacuous
        out.append(b)
    return out


#: how the report names each cause of an inconclusive entry.
CAUSES = {
    KINK: "kink",
    JUMP: "jump",
    POLE: "pole",
    UNCONVERGED: "did not converge",
    STAIRCASE: "staircase",
}


def _overall(
    code: NDArray[np.int_], kind: NDArray[np.int8], vacuous: bool, hidden: list[str]
) -> tuple[Status, str]:
    n_fail = int(np.sum(code == _FAIL))
    n_inc = int(np.sum(code == _INCONCLUSIVE))
    if n_fail:
        return Status.FAIL, (
            f"{n_fail} {'entry disagrees' if n_fail == 1 else 'entries disagree'} with finite "
            "differences beyond the error model: the analytic gradient is wrong there."
        )
    if vacuous:
        return Status.INCONCLUSIVE, (
            "vacuous: every analytic and numeric entry is below the noise floor, so agreement "
            "proves nothing. Check at a point where the gradient is not ~0 (for a layer: a "
            "non-uniform upstream gradient)."
        )
    if hidden:
        names = ", ".join(f"`{p}`" for p in hidden)
        return Status.INCONCLUSIVE, (
            f"vacuous for {names}: every entry is within its allowed error of 0 (an all-zero "
            "gradient would have passed too), so agreement there proves nothing. Check it at "
            "a point where its gradient is not ~0 next to the others (for a layer: a "
            "non-uniform upstream gradient), or check it on its own."
        )
    if n_inc:
        causes = ", ".join(
            f"{int(np.sum(kind == k))} {name}" for k, name in CAUSES.items() if np.any(kind == k)
        )
        return Status.INCONCLUSIVE, (
            f"{n_inc} {'entry' if n_inc == 1 else 'entries'} could not be checked ({causes}; "
            "see the notes below); every other entry agrees."
        )
    return Status.PASS, ""


def _index(block: Block, coord: int, out: int, out_shape: tuple[int, ...]) -> tuple[int, ...]:
    inner = tuple(int(i) for i in np.unravel_index(coord - block.start, block.shape))
    if not out_shape:
        return inner
    return tuple(int(i) for i in np.unravel_index(out, out_shape)) + inner


def _note(d: Differences, c: int, o: int, code: int) -> str:
    """Why an entry is inconclusive (or fails at a kink), in the words of the report."""
    kind, h = int(d.kind[c, o]), float(d.step[c, o])
    if kind == KINK:
        lo, hi = float(d.low[c, o]), float(d.high[c, o])
        if code == _FAIL:
            return (
                "kink: f is not smooth here, and the difference exceeds what its slope jump "
                f"can explain: the analytic value lies outside the one-sided derivatives "
                f"[{lo:.6g}, {hi:.6g}], so it is no subgradient."
            )
        return (
            "kink: f's slope jumps at this point (the slope jump stays constant as the step "
            f"halves; one-sided derivatives within [{lo:.6g}, {hi:.6g}]): f is not smooth "
            "here (ReLU at 0, a max tie, abs), so its derivative cannot be checked."
        )
    if kind == JUMP:
        return (
            "jump: f jumps in value at this point (its differences stay the same size as h "
            "halves, so difference quotients grow like 1/h): not differentiable here (a sign, "
            "a threshold, a comparison such as y == 1?)."
        )
    if kind == POLE:
        return (
            f"pole: f is not finite at x ± h, or grows without bound as h halves, down to "
            f"h = {h:.3g}: the step leaves f's domain or meets a pole."
        )
    if kind == STAIRCASE:
        return (
            "staircase: f is flat bit for bit on one side of x at the error model's own step "
            "(or a shorter one), and slopes only at the long step h = "
            f"{h:.3g} that its measured noise asked for (values on a grid, "
            "like round(x, 3)): its derivative is 0 (the analytic value) or the slope of its "
            "envelope, and finite differences cannot choose between the two."
        )
    if kind == UNCONVERGED:
        return (
            f"did not converge: the differences never settled in the halvings of the step down "
            f"to h = {h:.3g} (f noisier than the error model here, or varying on a finer scale "
            "than any step tried)."
        )
    if code == _INCONCLUSIVE:
        return (
            "vacuous: every entry of this parameter is within its allowed error of 0: "
            "agreement proves nothing."
        )
    return ""


def _entries(
    a: FloatArray,
    d: Differences,
    allowed: FloatArray,
    code: NDArray[np.int_],
    blocks: Sequence[Block],
    out_shape: tuple[int, ...],
) -> tuple[Entry, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(a - d.numeric) / allowed
    ratio = np.nan_to_num(ratio, nan=np.inf)
    for kind in (_FAIL, _INCONCLUSIVE, _PASS):
        picked = np.argwhere(code == kind)
        if picked.size:
            break
    order = np.argsort(-ratio[tuple(picked.T)], kind="stable")[:REPORTED]
    out: list[Entry] = []
    for c, o in picked[order]:
        block = next(b for b in blocks if b.start <= c < b.stop)
        out.append(
            Entry(
                path=block.path,
                index=_index(block, int(c), int(o), out_shape),
                analytic=float(a[c, o]),
                numeric=float(d.numeric[c, o]),
                error=float(d.error[c, o]),
                allowed=float(allowed[c, o]),
                step=float(d.step[c, o]),
                status=_STATUS[int(code[c, o])],
                note=_note(d, int(c), int(o), int(code[c, o])),
            )
        )
    return tuple(out)


def _param_report(
    b: Block,
    a: FloatArray,
    d: Differences,
    allowed: FloatArray,
    code: NDArray[np.int_],
    out_shape: tuple[int, ...],
) -> ParamReport:
    def shaped(x: FloatArray) -> FloatArray:
        part = x[b.start : b.stop]  # (n_b, m)
        return np.asarray(part.T.reshape(out_shape + b.shape), dtype=np.float64)

    c = code[b.start : b.stop]
    counts = {s.value: int(np.sum(c == k)) for k, s in enumerate(_STATUS)}
    status = (
        Status.FAIL
        if counts["fail"]
        else Status.INCONCLUSIVE
        if counts["inconclusive"]
        else Status.PASS
    )
    names = np.array([s.value for s in _STATUS])
    statuses = names[c].T.reshape(out_shape + b.shape)
    return ParamReport(
        path=b.path,
        shape=out_shape + b.shape,
        dtype=b.dtype,
        status=status,
        analytic=shaped(a),
        numeric=shaped(d.numeric),
        error=shaped(d.error),
        allowed=shaped(allowed),
        counts=counts,
        statuses=statuses,
    )
