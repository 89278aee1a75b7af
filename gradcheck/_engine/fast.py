r"""Fast mode: random directional checks whose cost does not grow with n, and localization.

**Directions.** `DIRECTIONS` random directions :math:`u` over all parameters at once, with
entries :math:`u_i = z_i s_i`, :math:`z_i \sim N(0, 1)` and :math:`s_i = \max(|x_i|,
\mathrm{rms}(\text{leaf}))` the entry's own scale (as full mode's steps): a 1e4-scale leaf
and a 1e-4-scale one are each moved by the same relative amount, and each entry contributes
:math:`g_i s_i z_i`, in units of f. When every direction passes, every parameter passes
(with the power below: :math:`\sigma^2` sums over all parameters). When one does not, its
part in each parameter is checked alone (4 evaluations per parameter), so each parameter
(each argument of `check_vjp`) gets its own verdict. The "coordinate" is :math:`t` in
:math:`f(x + t u)`; it is differenced with the same stencil and error model as one
coordinate in full mode (`gradcheck._engine.numdiff`), with the power-of-two step :math:`t =
2^{\mathrm{round}(\log_2 c)}`. The stencil points are the floats :math:`x + o t u` actually
formed; the analytic side is :math:`\langle g, \tilde u\rangle` with :math:`\tilde u` the
stencil's combination of the *actual* displacements (so the rounding of :math:`x + o t u`
does not enter as a false error). Its own rounding is the sum of the entries' full-mode
floors weighted by :math:`|\tilde u_i|`, plus the dot product's
:math:`n\varepsilon\sum|g_i\tilde u_i|`.

**Detection power.** A gradient error :math:`e` shows in direction :math:`u` as
:math:`\langle e, \tilde u\rangle \sim N(0, \sigma^2)`, :math:`\sigma = \lVert e\circ
s\rVert_2`. The direction fails when :math:`|\langle e, \tilde u\rangle|` exceeds its allowed
error :math:`A` plus the numeric side's own error (at most :math:`A/4`), so it is missed with
probability :math:`P(|Z| \le 1.25A/\sigma) \le \sqrt{2/\pi}\,1.25A/\sigma \approx A/\sigma`,
and all :math:`K` directions miss with probability at most :math:`(A/\sigma)^K`. The allowed
error of a direction is about :math:`s_i` times full mode's allowed error of entry :math:`i`
(both are dominated by the rounding :math:`3\delta/h`, with :math:`h = c s_i` there and
:math:`t = c` here), so a single wrong entry that full mode flags by a factor :math:`R` is
missed by fast mode with probability at most about :math:`R^{-K}`.

**Localization** (group testing). When a parameter's part fails, the direction is masked to
half of the coordinates and re-checked (4 evaluations, reusing the one analytic gradient);
the failing half is bisected further, so one wrong entry among n is found with about
:math:`4\log_2 n` evaluations; the survivor is then checked exactly as full mode checks a
coordinate and reported like full mode (path, index, analytic, numeric, allowed). A final
check of the remaining coordinates (the leaf minus what was found) says whether more is
wrong; localization continues until `REPORTED` entries are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.judge import REPORTED, SAFETY, Block, Verdict, judge
from gradcheck._engine.numdiff import (
    OFFSETS,
    Differences,
    FloatArray,
    differences,
    joined,
    relative_step,
    scales,
    steps,
)
from gradcheck._engine.problem import Problem
from gradcheck._engine.stacks import Stack, moved_copies
from gradcheck._result import Entry, ParamReport, Status
from gradcheck._tree import Leaf

#: random directions (over all parameters at once).
DIRECTIONS = 2


@dataclass(frozen=True)
class _Ctx:
    """What every directional check of one run shares."""

    prob: Problem
    stack: Stack
    grads: list[FloatArray]  # analytic gradient per leaf (float64)
    a_err: list[FloatArray]  # measured low-precision rounding of it, per leaf (flat)
    eps_g: list[float]
    g_scale: float  # max_j |a_j| s_j over every leaf (full mode's G)
    ulps: float
    factor: float  # relative step c


def _floor(ctx: _Ctx, j: int, ut: FloatArray) -> float:
    """The analytic side's rounding along ``ut``: the entries' full-mode floors, weighted."""
    g = ctx.grads[j].ravel()
    s = scales(ctx.prob.base[j].astype(np.float64)).ravel()
    w = np.abs(ut.ravel())
    per_entry = SAFETY * ctx.a_err[j] + ctx.ulps * ctx.eps_g[j] * (np.abs(g) + ctx.g_scale / s)
    dot = g.size * float(np.finfo(np.float64).eps) * float(np.sum(np.abs(g) * w))
    return float(np.sum(per_entry * w)) + dot


Direction = dict[int, FloatArray]
"""A direction: leaf number -> that leaf's part of ``u`` (leaves not listed do not move)."""


def _directional(ctx: _Ctx, u: Direction, t: float, name: str) -> Verdict:
    """Check the derivative of ``f(x + t u)`` at 0 against ``<g, ũ>``."""
    return _judge_one(ctx, *_along(ctx, u, t), name, (), "float64")


def _fails_along(ctx: _Ctx, u: Direction, t: float) -> bool:
    """`_directional`'s fail decision without building a report (bisection's inner test).

    The rule of `gradcheck._engine.judge` for one entry with the analytic floor given: fail when
    ``|a - N| > SAFETY E + floor``, the stencil is finite, and a kink's slope jump cannot
    explain the difference. Only steers the search: every named entry is judged by `judge`.
    """
    values, mags, h, a, floor = _along(ctx, u, t)
    d = _differences(ctx, values, mags, h)
    diff = float(np.abs(a - d.numeric).item())
    allowed = float((SAFETY * d.error).item()) + floor
    if not bool(d.finite.item()) or not diff > allowed:
        return False
    return not (bool(d.kink.item()) and diff <= allowed + 2 * float(d.slope_jump.item()))


def _along(ctx: _Ctx, u: Direction, t: float) -> tuple[FloatArray, FloatArray, float, float, float]:
    """f's stencil along ``u``: values, magnitudes, step, analytic ``<g, ũ>`` and its floor."""
    moved, a, floor = {}, 0.0, 0.0
    for j, uj in u.items():
        x = ctx.prob.base[j]
        mj = (x[None].astype(np.float64) + np.multiply.outer(OFFSETS * t, uj)).astype(x.dtype)
        disp = mj.astype(np.float64) - x.astype(np.float64)  # the displacements really made
        ut = (8 * (disp[2] - disp[1]) - (disp[3] - disp[0])) / (6 * t)
        a += float(np.sum(ctx.grads[j] * ut))
        floor += _floor(ctx, j, ut)
        moved[j] = mj
    values, mags = ctx.stack(moved)
    return values, mags, t, a, floor


def _differences(ctx: _Ctx, values: FloatArray, mags: FloatArray, h: float) -> Differences:
    delta = ctx.prob.delta(mags.max(axis=0), ctx.ulps)
    d = differences(ctx.prob.f0, values[None], np.array([h]), delta[None])
    return joined([d], (1, 1))


def _judge_one(
    ctx: _Ctx,
    values: FloatArray,
    mags: FloatArray,
    h: float,
    a: float,
    floor: float,
    path: str,
    shape: tuple[int, ...],
    dtype: str,
) -> Verdict:
    """Judge one scalar derivative (stencil ``values`` at `OFFSETS` times ``h``)."""
    d = _differences(ctx, values, mags, h)
    block = Block(path, shape, dtype, 0, 1)
    return judge(
        np.array([[a]]),
        d,
        np.array([h]),
        np.ones(1),
        np.zeros(1),
        [block],
        (),
        ulps=ctx.ulps,
        rtol=0.0,
        atol=0.0,
        a_err=np.array([[floor / SAFETY]]),
    )


def _entry_check(ctx: _Ctx, j: int, i: int, leaf: Leaf) -> Entry:
    """Coordinate ``i`` of leaf ``j`` checked exactly as full mode checks it."""
    x = ctx.prob.base[j]
    s = float(scales(x.astype(np.float64)).ravel()[i])
    h = float(steps(np.array([s]), ctx.factor)[0])
    values, mags = ctx.stack({j: moved_copies(x, np.array([i]), (OFFSETS * h)[None])})
    g = float(ctx.grads[j].ravel()[i])
    floor = SAFETY * ctx.a_err[j][i] + ctx.ulps * ctx.eps_g[j] * (abs(g) + ctx.g_scale / s)
    v = _judge_one(ctx, values, mags, h, g, floor, leaf.path, (1,), str(leaf.array.dtype))
    index = tuple(int(k) for k in np.unravel_index(i, leaf.array.shape))
    return replace(v.worst[0], index=index)


def _fails(v: Verdict) -> bool:
    return v.status is Status.FAIL


@dataclass
class _Search:
    """Group testing inside one leaf along one failing direction."""

    ctx: _Ctx
    j: int
    leaf: Leaf
    u: FloatArray
    t: float
    limit: int  # entries to name before stopping
    found: list[Entry]
    unresolved: list[NDArray[np.intp]]
    more: bool = False  # a failing remainder was left unsearched

    def test(self, idx: NDArray[np.intp]) -> bool:
        masked = np.zeros_like(self.u).ravel()
        masked[idx] = self.u.ravel()[idx]
        return _fails_along(self.ctx, {self.j: masked.reshape(self.u.shape)}, self.t)

    def bisect(self, idx: NDArray[np.intp]) -> None:
        """``idx`` is known (or inferred) to hold an error: name one entry of it."""
        while len(idx) > 1:
            left, right = idx[: len(idx) // 2], idx[len(idx) // 2 :]
            idx = left if self.test(left) else right
        e = _entry_check(self.ctx, self.j, int(idx[0]), self.leaf)
        if e.status is Status.FAIL:
            self.found.append(e)
        else:
            self.unresolved.append(idx)

    def run(self) -> None:
        rest = np.arange(self.leaf.array.size)
        self.bisect(rest)
        while not self.unresolved:
            rest = np.setdiff1d(rest, [self._flat(e) for e in self.found])
            if not rest.size or not self.test(rest):
                return
            if len(self.found) >= self.limit:
                self.more = True
                return
            self.bisect(rest)

    def _flat(self, e: Entry) -> int:
        return int(np.ravel_multi_index(e.index, self.leaf.array.shape))


def fast_verdict(
    prob: Problem,
    leaves: Sequence[Leaf],
    grads: list[FloatArray],
    a_err: FloatArray,
    stack: Stack,
    *,
    ulps: float,
    step: float | None,
    seed: int,
) -> Verdict:
    """Directional checks of every leaf; localization in the leaves that fail."""
    sizes = np.cumsum([0] + [g.size for g in grads])
    ctx = _Ctx(
        prob=prob,
        stack=stack,
        grads=grads,
        a_err=[a_err[sizes[k] : sizes[k + 1]] for k in range(len(grads))],
        eps_g=[float(np.finfo(leaf.array.dtype).eps) for leaf in leaves],
        g_scale=max(
            float(np.max(np.abs(g) * scales(x.astype(np.float64))))
            for g, x in zip(grads, prob.base, strict=True)
        ),
        ulps=ulps,
        factor=relative_step(step, ulps, prob.eps_f),
    )
    t = float(np.exp2(np.round(np.log2(ctx.factor))))
    rng = np.random.default_rng(seed)
    base64 = [x.astype(np.float64) for x in prob.base]
    dirs = [
        {j: rng.standard_normal(x.shape) * scales(x) for j, x in enumerate(base64)}
        for _ in range(DIRECTIONS)
    ]
    rows = _vacuity(
        [_directional(ctx, u, t, f"direction u{k} (all parameters)") for k, u in enumerate(dirs)]
    )
    if _worst_status(rows) is Status.PASS:
        reports = tuple(_report(leaf, Status.PASS, 0) for leaf in leaves)
        return _assemble(rows, reports, [], [], t)
    return _per_leaf(ctx, leaves, dirs, rows, t)


def _per_leaf(
    ctx: _Ctx, leaves: Sequence[Leaf], dirs: list[Direction], rows: list[Verdict], t: float
) -> Verdict:
    """A direction did not pass: check it leaf by leaf, and bisect inside failing leaves."""
    k = int(np.argmax([v.worst_ratio if v.status is not Status.PASS else -1.0 for v in rows]))
    if len(leaves) == 1:
        leaf_rows = [rows[k]]
    else:
        name = f"·u{k}"
        leaf_rows = [
            _directional(ctx, {j: dirs[k][j]}, t, leaf.path + name) for j, leaf in enumerate(leaves)
        ]
        leaf_rows = [_devacuate(v) for v in leaf_rows]
    n_fail = sum(v.status is Status.FAIL for v in leaf_rows)
    limit = max(1, REPORTED // max(1, n_fail))
    reports: list[ParamReport] = []
    found: list[Entry] = []
    notes: list[str] = []
    for j, (leaf, v) in enumerate(zip(leaves, leaf_rows, strict=True)):
        named: list[Entry] = []
        if v.status is Status.FAIL:
            search = _Search(ctx, j, leaf, dirs[k][j], t, limit, [], [])
            search.run()
            named = search.found
            notes.extend(_search_notes(leaf, search))
        found.extend(named)
        reports.append(_report(leaf, v.status, len(named)))
    if any(_fails(v) for v in rows) and not n_fail:
        notes.append(
            "the direction over all parameters fails but no single parameter's part of it "
            "does (errors spread over several parameters?); run mode='full'."
        )
    extra = leaf_rows if len(leaves) > 1 else []
    return _assemble(rows + extra, tuple(reports), found, notes, t)


def _search_notes(leaf: Leaf, search: _Search) -> list[str]:
    if search.unresolved or not search.found:
        return [
            f"{leaf.path}: a direction fails but bisection could not name a single entry "
            "(errors spread over many entries that cancel in halves?); run mode='full' on it."
        ]
    if search.more:
        k = len(search.found)
        return [
            f"{leaf.path}: more than the {k} named entr{'y is' if k == 1 else 'ies are'} "
            "wrong (the rest of the parameter still fails); mode='full' lists them all."
        ]
    return []


def _report(leaf: Leaf, status: Status, n_found: int) -> ParamReport:
    return ParamReport(
        path=leaf.path,
        shape=leaf.array.shape,
        dtype=str(leaf.array.dtype),
        status=status,
        counts={"fail": n_found} if n_found else {},
    )


def _devacuate(v: Verdict) -> Verdict:
    """A single parameter's part of a direction that is below the noise floor agrees."""
    if v.status is Status.INCONCLUSIVE and v.reason.startswith("vacuous"):
        return replace(v, status=Status.PASS, reason="")
    return v


def _vacuity(rows: list[Verdict]) -> list[Verdict]:
    """Vacuity is judged over the whole check, as in full mode: a direction below its noise
    floor (a parameter f does not depend on) passes when another direction has signal."""
    vacuous = [v.status is Status.INCONCLUSIVE and v.reason.startswith("vacuous") for v in rows]
    if all(vacuous):
        return rows
    return [
        replace(v, status=Status.PASS, reason="") if w else v
        for v, w in zip(rows, vacuous, strict=True)
    ]


def _worst_status(vs: Sequence[Verdict]) -> Status:
    for s in (Status.FAIL, Status.INCONCLUSIVE):
        if any(v.status is s for v in vs):
            return s
    return Status.PASS


def _assemble(
    rows: list[Verdict],
    reports: tuple[ParamReport, ...],
    found: list[Entry],
    notes: list[str],
    t: float,
) -> Verdict:
    dir_entries = [v.worst[0] for v in rows]
    status = _worst_status(rows)
    allowed = max(e.allowed for e in dir_entries)
    power = (
        f"fast mode: {DIRECTIONS} random directions u over all parameters (entries N(0,1) x "
        f"the entry's scale s, step t = {t:.3g}); a ·u[k] row is the derivative along "
        f"direction k. An error e with ||e∘s||₂ = R x {allowed:.2g} is missed with "
        f"probability <= R^-{DIRECTIONS} (e.g. {100 * allowed:.2g} -> 1e-{2 * DIRECTIONS})."
    )
    if status is Status.FAIL:
        what = f"{len(found)} wrong entr{'y' if len(found) == 1 else 'ies'} named by bisection"
        reason = " ".join([f"a directional check fails; {what}.", *notes]) + "\n  " + power
        worst = tuple(found[:REPORTED]) + tuple(e for e in dir_entries if e.status is Status.FAIL)
    elif status is Status.INCONCLUSIVE:
        bad = [v.reason for v in rows if v.status is Status.INCONCLUSIVE]
        reason = f"a directional check is inconclusive: {bad[0]}\n  " + power
        worst = tuple(sorted(dir_entries, key=lambda e: e.status is Status.PASS))
    else:
        reason, worst = power, tuple(sorted(dir_entries, key=lambda e: -e.ratio))
    worst = worst[: max(REPORTED, len(found))]
    top = max(max(abs(e.analytic), abs(e.numeric)) for e in dir_entries)
    rel = max(e.difference for e in dir_entries) / top if top > 0 else float("nan")
    return Verdict(
        status=status,
        reason=reason,
        params=reports,
        worst=worst,
        worst_ratio=max((e.ratio for e in worst), default=0.0),
        max_rel_error=rel,
    )
