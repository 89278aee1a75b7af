r"""Fast mode: random directional checks whose cost does not grow with n, and localization.

**Directions.** `DIRECTIONS` random directions :math:`u` over all parameters at once, with
entries :math:`u_i = z_i s_i`, :math:`z_i \sim N(0, 1)` and :math:`s_i` the entry's own
magnitude (`gradcheck._engine.numdiff.scales`, as full mode's steps): every entry moves by
the same relative amount, whatever its neighbours (an array holding 1e4 and 1e12 moves the
1e4 by ~1e-5 of itself), and contributes :math:`g_i s_i z_i`, in units of f. When every
direction passes, every parameter passes (with the power below: :math:`\sigma^2` sums over
all parameters). When one does not, its part in each parameter is checked alone, so each
parameter (each argument of `check_vjp`) gets its own verdict. The "coordinate" is :math:`t`
in :math:`f(x + t u)`; it is differenced on the same step ladder and by the same error model
as one coordinate in full mode (`gradcheck._engine.numdiff`), from :math:`t = c\,`SKEW, with
f's noise measured along one random direction (`gradcheck._engine.noise`). The stencil points
are the floats :math:`x + o t u` actually formed; the analytic side is :math:`\langle g,
\tilde u\rangle` with :math:`\tilde u` the accepted stencil's combination of the *actual*
displacements (so the rounding of :math:`x + o t u` does not enter as a false error). Its own
rounding is the sum of the entries' full-mode floors weighted by :math:`|\tilde u_i|`, plus
the dot product's :math:`n\varepsilon\sum|g_i\tilde u_i|`. A failing direction is rechecked
from steps about 20 and 414 times shorter, as full mode rechecks an entry; a direction whose stencil
meets a kink is inconclusive, never a fail (several entries' kinks add up along it, and their
subgradients, each right for its entry, need not lie between the direction's one-sided
derivatives).

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
coordinate (with full mode's noise probes, measured once when first needed, and its recheck)
and reported like full mode (path, index, analytic, numeric, allowed). A final
check of the remaining coordinates (the leaf minus what was found) says whether more is
wrong; localization continues until `REPORTED` entries are named.

**Memory.** Fast mode holds nothing of the parameters' size beyond the analytic gradient, the
entries' scales :math:`s` and the one perturbed point f is evaluated at (about 3x float64
parameters, plus what f allocates itself): a direction is drawn chunk by chunk from random
streams of its own and regenerated where it is needed instead of stored (every level of the
ladder, every recheck and the noise probe's direction rebuild their points from it),
:math:`\tilde u`, the analytic side and the conditioning :math:`\lVert x\circ g\rVert_2` are
summed chunk by chunk (`CHUNK` entries), and the loop builds one point at a time
(`gradcheck._engine.stacks`). ``vectorized=True`` stacks the 4 points of a stencil in one
call, 4 copies of the moved parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.analytic import Gradient
from gradcheck._engine.judge import REPORTED, SAFETY, Block, Verdict, judge_one
from gradcheck._engine.noise import measured
from gradcheck._engine.numdiff import (
    CHUNK,
    OFFSETS,
    SMOOTH,
    STAIRCASE,
    UNCONVERGED,
    Differences,
    FloatArray,
    IntArray,
    chunks,
    differentiate,
    joined,
    leaf_scale,
    relative_step,
    scales,
    steps,
)
from gradcheck._engine.problem import (
    RECHECK,
    Problem,
    coordinate_differences,
    may_be_staircase,
    recheck,
    staircase,
)
from gradcheck._engine.stacks import Stack, copies, stack_evaluator
from gradcheck._result import Entry, ParamReport, Status
from gradcheck._tree import Leaf

#: random directions (over all parameters at once).
DIRECTIONS = 2

_NO_INDEX: NDArray[np.intp] = np.zeros(0, dtype=np.intp)


@dataclass(frozen=True)
class _Ctx:
    """What every directional check of one run shares."""

    prob: Problem
    stack: Stack
    grads: list[FloatArray]  # analytic gradient per leaf (float64)
    a_err: list[FloatArray | None]  # measured low-precision rounding of it, per leaf (flat)
    eps_g: list[float]
    s: list[FloatArray]  # scale per entry, per leaf (flat)
    g_scale: float  # max_j |a_j| s_j over every leaf (full mode's G)
    ulps: float
    step: float | None  # the user's relative step
    factor: float  # relative step c
    seed: int
    rms: list[float]  # each leaf's scale (`gradcheck._engine.numdiff.leaf_scale`)
    small: dict[tuple[int, int], FloatArray] = field(default_factory=dict)  # whole small parts
    entry_prob: list[Problem] = field(default_factory=list)  # full mode's noise, when needed

    def as_full_mode(self) -> Problem:
        """The problem as full mode measures it (its noise probed along coordinates)."""
        if not self.entry_prob:
            analytic = [g.reshape(-1, 1) for g in self.grads]
            self.entry_prob.append(measured(self.prob, "coordinates", analytic))
        return self.entry_prob[0]

    def u(self, k: int, j: int, lo: int, hi: int) -> FloatArray:
        """`draw`, kept for leaves of at most one `CHUNK` (the common small case)."""
        if self.s[j].size > CHUNK:
            return self.draw(k, j, lo, hi)
        if (k, j) not in self.small:
            self.small[k, j] = self.draw(k, j, 0, self.s[j].size)
        return self.small[k, j][lo:hi]

    def draw(self, k: int, j: int, lo: int, hi: int) -> FloatArray:
        """Entries ``lo..hi-1`` (flat) of direction ``k``'s part in leaf ``j``: ``z s``.

        ``z`` is drawn chunk by chunk, each `CHUNK` from a random stream of its own (spawned
        from the seed, direction, leaf and chunk), so any slice is regenerated exactly
        without the direction ever being stored whole.
        """
        out = np.empty(hi - lo)
        for c in range(lo // CHUNK, (hi - 1) // CHUNK + 1 if hi > lo else lo // CHUNK):
            c0 = c * CHUNK
            c1 = min(c0 + CHUNK, self.s[j].size)
            seq = np.random.SeedSequence(self.seed, spawn_key=(k, j, c))
            z = np.random.default_rng(seq).standard_normal(c1 - c0)
            a, b = max(c0, lo), min(c1, hi)
            out[a - lo : b - lo] = z[a - c0 : b - c0]
        out *= self.s[j][lo:hi]
        return out


@dataclass(frozen=True)
class _Part:
    """Direction ``k``'s part in leaf ``j``, on flat entries ``lo..hi-1`` except ``keep``
    (entries already named, which stay at the base point)."""

    k: int
    j: int
    lo: int
    hi: int
    keep: NDArray[np.intp] = field(default_factory=lambda: _NO_INDEX)


Direction = list[_Part]
"""A direction: the parts of the leaves that move (other leaves stay at the base point)."""


def _moved(xc: FloatArray, step: float, uc: FloatArray, dtype: np.dtype[Any]) -> FloatArray:
    """``x + step u`` formed in float64 and rounded to the leaf's dtype (as a float64 array)."""
    y = step * uc
    y += xc
    return y.astype(dtype, copy=False).astype(np.float64, copy=False)


@dataclass(frozen=True)
class _Along:
    """The stencil's points along one `_Part` (the `gradcheck._engine.stacks.Points` of fast
    mode): point ``b`` is the leaf with entries ``lo..hi-1`` moved to ``x + steps[b] u``,
    formed in float64 and cast to the leaf's dtype, built chunk by chunk."""

    ctx: _Ctx
    part: _Part
    steps: FloatArray

    @property
    def count(self) -> int:
        return int(self.steps.size)

    def rows(self, start: int, stop: int) -> NDArray[np.floating]:
        p, x = self.part, self.ctx.prob.base[self.part.j]
        flat = x.reshape(-1)
        out = copies(flat, stop - start)
        for a, b in chunks(p.lo, p.hi):
            uc = self.ctx.u(p.k, p.j, a, b)
            xc = flat[a:b].astype(np.float64, copy=False)
            for r in range(stop - start):
                out[r, a:b] = _moved(xc, self.steps[start + r], uc, x.dtype)
        if p.keep.size:
            out[:, p.keep] = flat[p.keep]
        return out.reshape(stop - start, *x.shape)


def _analytic_part(ctx: _Ctx, p: _Part, t: float) -> tuple[float, float]:
    """``<g, ũ>`` over one part and the analytic side's rounding along it (`_along`)."""
    x = ctx.prob.base[p.j].reshape(-1)
    g, s, err = ctx.grads[p.j].reshape(-1), ctx.s[p.j], ctx.a_err[p.j]
    a = weighted = dot = 0.0
    for lo, hi in chunks(p.lo, p.hi):
        uc, xc = ctx.u(p.k, p.j, lo, hi), x[lo:hi].astype(np.float64, copy=False)
        disp = [_moved(xc, o * t, uc, x.dtype) - xc for o in OFFSETS]
        ut = (8 * (disp[2] - disp[1]) - (disp[3] - disp[0])) / (6 * t)
        inside = p.keep[(p.keep >= lo) & (p.keep < hi)] - lo
        ut[inside] = 0.0
        gc, w = g[lo:hi], np.abs(ut)
        per_entry = ctx.ulps * ctx.eps_g[p.j] * (np.abs(gc) + ctx.g_scale / s[lo:hi])
        if err is not None:
            per_entry += SAFETY * err[lo:hi]
        a += float(np.dot(gc, ut))
        weighted += float(np.dot(per_entry, w))
        dot += float(np.dot(np.abs(gc), w))
    return a, weighted + g.size * float(np.finfo(np.float64).eps) * dot


def _directional(ctx: _Ctx, u: Direction, t: float, name: str, *, recheck: bool = True) -> Verdict:
    """Check the derivative of ``f(x + t u)`` at 0 against ``<g, ũ>`` (a fail rechecked from
    shorter steps, `_checked`, unless ``recheck`` is False)."""
    d, a, floor = _checked(ctx, u, t) if recheck else _along(ctx, u, t)
    return _judge_one(ctx, d, a, floor, name, (), "float64", subgradients=False)


def _fails_along(ctx: _Ctx, u: Direction, t: float) -> bool:
    """`_directional`'s fail decision without building a report (bisection's inner test).

    Bisection only steers the search, and spends no recheck: a recheck only ever turns a fail
    into "did not converge", and the directions reported and every entry named are rechecked.
    """
    return _rule(*_along(ctx, u, t))


def _rule(d: Differences, a: float, floor: float) -> bool:
    """The rule of `gradcheck._engine.judge` for a direction with the analytic floor given: an
    accepted stencil fails when ``|a - N| > SAFETY E + floor``."""
    if int(d.kind.item()) != SMOOTH:
        return False  # a direction's kink is inconclusive (`judge`, ``subgradients=False``)
    return bool(abs(a - float(d.numeric.item())) > float((SAFETY * d.error).item()) + floor)


def _checked(ctx: _Ctx, u: Direction, t: float) -> tuple[Differences, float, float]:
    """`_along`, with a failing accepted estimate rechecked from steps about 20 and 414 times
    shorter (as full mode rechecks an entry: `gradcheck._engine.problem.recheck`): not
    reproduced there, it did not converge, and the direction is inconclusive."""
    d, a, floor = _along(ctx, u, t)
    if not (bool(d.smooth.item()) and _rule(d, a, floor)):
        return d, a, floor
    previous = d
    for k in (1, 2):
        again, _, _ = _along(ctx, u, t * RECHECK**k, confirm=True)
        agree = abs(float(again.numeric.item()) - float(previous.numeric.item())) <= float(
            (previous.error + again.error).item()
        )
        if not (bool(again.smooth.item()) and agree):
            return replace(d, kind=np.full_like(d.kind, UNCONVERGED)), a, floor
        previous = again
    if _on_staircase(ctx, u, t, a, float((SAFETY * d.error).item()) + floor):
        return replace(d, kind=np.full_like(d.kind, STAIRCASE)), a, floor
    return d, a, floor


def _on_staircase(ctx: _Ctx, u: Direction, t: float, a: float, allowed: float) -> bool:
    """`gradcheck._engine.problem.staircase` along ``u``: a noisy f's failing direction that is
    flat bit for bit on one side at the model's own step (or 16, 256 times shorter), with
    ``a`` within that flat stencil's rounding error of 0 and within the fail's ``allowed``
    error of 0 (else ``a`` is wrong on either reading of a staircase, 0 or its envelope)."""
    prob = ctx.prob
    if ctx.step is not None or not prob.noisy(None) or not abs(a) <= allowed:
        return False
    if not may_be_staircase(prob):
        return False
    f0 = prob.f0
    tm = t * relative_step(None, ctx.ulps, prob.eps_f) / ctx.factor
    for k in range(3):
        tk = tm * RECHECK**k
        values, mags = ctx.stack({p.j: _Along(ctx, p, tk * OFFSETS) for p in u})
        same = np.all((values == f0).reshape(4, -1), axis=1)
        size = float(np.max(np.fmax(np.abs(f0), np.max(mags, axis=0))))
        if ((same[0] and same[1]) or (same[2] and same[3])) and abs(a) <= (
            SAFETY * 3 * ctx.ulps * prob.eps_f * size / tk
        ):
            return True
    return False


def _conditioning(ctx: _Ctx, u: Direction) -> float:
    """``||x ∘ g||₂`` over the entries ``u`` moves (`gradcheck._engine.numdiff`: independent
    roundings add in quadrature), chunk by chunk."""
    total = 0.0
    for p in u:
        x, g = ctx.prob.base[p.j].reshape(-1), ctx.grads[p.j].reshape(-1)
        for lo, hi in chunks(p.lo, p.hi):
            with np.errstate(over="ignore"):
                w = np.abs(x[lo:hi].astype(np.float64, copy=False)) * np.abs(g[lo:hi])
                w[p.keep[(p.keep >= lo) & (p.keep < hi)] - lo] = 0.0
                total += float(np.dot(w, w))
    return float(np.sqrt(total))


def _along(
    ctx: _Ctx, u: Direction, t: float, confirm: bool = False
) -> tuple[Differences, float, float]:
    """The step ladder along ``u`` from ``t``: its differences, the analytic ``<g, ũ>`` at the
    accepted step and the analytic side's rounding floor there.

    Every level's points are the floats ``x + o t u`` actually formed, rebuilt from the
    direction's random streams (nothing of the parameters' size is kept between levels); ``ũ``
    is the accepted stencil's combination of the displacements really made."""

    def rows(k: IntArray, offsets: FloatArray) -> tuple[FloatArray, FloatArray]:
        values, mags = ctx.stack({p.j: _Along(ctx, p, offsets[0]) for p in u})
        return values[None], mags[None]

    cond = _conditioning(ctx, u)  # inf: no limit, the slope decides (min below)

    def rounding(k: IntArray, mag: FloatArray, slope: FloatArray) -> FloatArray:
        return ctx.prob.rounding(mag, np.fmin(cond, slope), ctx.ulps, None)

    noisy = ctx.prob.noisy(None) or confirm
    d = differentiate(ctx.prob.f0, rows, np.array([t]), rounding, width=SAFETY, confirm_first=noisy)
    d = joined([d], (1, 1))
    tk = float(d.step.item())
    a = floor = 0.0
    for p in u:
        ap, fp = _analytic_part(ctx, p, tk)
        a, floor = a + ap, floor + fp
    return d, a, floor


def _judge_one(
    ctx: _Ctx,
    d: Differences,
    a: float,
    floor: float,
    path: str,
    shape: tuple[int, ...],
    dtype: str,
    *,
    subgradients: bool = True,
) -> Verdict:
    """Judge one scalar derivative, with the analytic side's rounding ``floor`` given."""
    return judge_one(a, d, floor, Block(path, shape, dtype, 0, 1), subgradients=subgradients)


def _entry_check(ctx: _Ctx, j: int, i: int, leaf: Leaf) -> Entry:
    """Coordinate ``i`` of leaf ``j`` checked exactly as full mode checks it."""
    prob = ctx.as_full_mode()
    evaluate = stack_evaluator(ctx.stack, prob.base)
    factor = prob.factor(ctx.step, ctx.ulps, j)
    g = float(ctx.grads[j].reshape(-1)[i])
    args = (prob, j, np.array([i]), factor, ctx.ulps, evaluate, SAFETY)
    d, s = coordinate_differences(*args, rms=ctx.rms[j])
    err = ctx.a_err[j]
    floor = SAFETY * (0.0 if err is None else float(err[i]))
    floor += ctx.ulps * ctx.eps_g[j] * (abs(g) + ctx.g_scale / float(s[0]))
    dtype = str(leaf.array.dtype)
    v = _judge_one(ctx, joined([d], (1, 1)), g, floor, leaf.path, (1,), dtype)
    if v.status is Status.FAIL and bool(d.smooth.item()):  # as full mode: rechecked
        d = recheck(*args, d, rms=ctx.rms[j])
        v = _judge_one(ctx, joined([d], (1, 1)), g, floor, leaf.path, (1,), dtype)
    if v.status is Status.FAIL and ctx.step is None and prob.noisy(j):  # on a staircase?
        ga = np.full((1, *prob.f0.shape), g)
        allowed = np.full(ga.shape, v.worst[0].allowed)
        stair = staircase(prob, j, np.array([i]), ga, allowed, ctx.ulps, evaluate, SAFETY)
        if bool(np.all(stair)):
            d = replace(d, kind=np.full_like(d.kind, STAIRCASE))
            v = _judge_one(ctx, joined([d], (1, 1)), g, floor, leaf.path, (1,), dtype)
    index = tuple(int(k) for k in np.unravel_index(i, leaf.array.shape))
    return replace(v.worst[0], index=index)


def _fails(v: Verdict) -> bool:
    return v.status is Status.FAIL


@dataclass
class _Search:
    """Group testing inside one leaf along one failing direction."""

    ctx: _Ctx
    k: int
    j: int
    leaf: Leaf
    t: float
    limit: int  # entries to name before stopping
    found: list[Entry]
    unresolved: list[int]
    more: bool = False  # a failing remainder was left unsearched
    unseen: bool = False  # the remainder's check resolved nothing: it may hold more errors

    def _keep(self) -> NDArray[np.intp]:
        return np.array([self._flat(e) for e in self.found], dtype=np.intp)

    def test(self, lo: int, hi: int) -> bool:
        part = _Part(self.k, self.j, lo, hi, self._keep())
        return _fails_along(self.ctx, [part], self.t)

    def rest(self) -> bool | None:
        """Does the leaf minus the entries named still fail along the direction? None when
        its estimate has no significant digit (``E >= |N|``, or no accepted stencil): f's
        rounding above what its noise probe measured can push the ladder down to steps where
        f's differences are rounding alone (soak 8, dev seed 255: accepted at 1.7e-14 from
        t = 1.8e-5, E = 0.47, with two entries wrong by 0.8 and 0.9 left unnamed)."""
        part = _Part(self.k, self.j, 0, self.leaf.array.size, self._keep())
        d, a, floor = _along(self.ctx, [part], self.t)
        if _rule(d, a, floor):
            return True
        e, n = float(d.error.item()), abs(float(d.numeric.item()))
        return False if bool(d.smooth.item()) and e < n else None

    def bisect(self, lo: int, hi: int) -> None:
        """Entries ``lo..hi-1`` (minus those found) are known (or inferred) to hold an error:
        name one entry of them."""
        keep = set(self._keep().tolist())
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.test(lo, mid):
                hi = mid
            else:
                lo = mid
        if lo in keep:
            self.unresolved.append(lo)
            return
        e = _entry_check(self.ctx, self.j, lo, self.leaf)
        if e.status is Status.FAIL:
            self.found.append(e)
        else:
            self.unresolved.append(lo)

    def run(self) -> None:
        n = self.leaf.array.size
        self.bisect(0, n)
        while not self.unresolved:
            rest = False if len(self.found) >= n else self.rest()
            self.unseen = rest is None  # unresolved: search on; entry checks decide the names
            if rest is False:
                return
            if len(self.found) >= self.limit:
                self.more = rest is True
                return
            self.bisect(0, n)

    def _flat(self, e: Entry) -> int:
        return int(np.ravel_multi_index(e.index, self.leaf.array.shape))


def _g_scale(grads: list[FloatArray], s: list[FloatArray]) -> float:
    """``max_j |a_j| s_j`` over every leaf, chunk by chunk."""
    out = 0.0
    for g, sj in zip(grads, s, strict=True):
        flat = g.reshape(-1)
        for lo, hi in chunks(0, flat.size):
            out = max(out, float(np.max(np.abs(flat[lo:hi]) * sj[lo:hi])))
    return out


def fast_verdict(
    prob: Problem,
    leaves: Sequence[Leaf],
    grad: Gradient,
    stack: Stack,
    *,
    ulps: float,
    step: float | None,
    seed: int,
) -> Verdict:
    """Directional checks of every leaf; localization in the leaves that fail."""
    grads = grad.values
    sizes = np.cumsum([0] + [g.size for g in grads])
    rms = [leaf_scale(x) for x in prob.base]
    s = [scales(x, r).reshape(-1) for x, r in zip(prob.base, rms, strict=True)]
    ctx = _Ctx(
        prob=prob,
        stack=stack,
        grads=grads,
        a_err=[
            None if grad.err is None else grad.err[sizes[k] : sizes[k + 1]]
            for k in range(len(grads))
        ],
        eps_g=list(grad.eps),
        s=s,
        g_scale=_g_scale(grads, s),
        ulps=ulps,
        step=step,
        factor=prob.factor(step, ulps),
        seed=seed,
        rms=rms,
    )
    t = float(steps(np.ones(1), ctx.factor)[0])
    dirs = [[_Part(k, j, 0, x.size) for j, x in enumerate(prob.base)] for k in range(DIRECTIONS)]
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
            _directional(ctx, [dirs[k][j]], t, leaf.path + name) for j, leaf in enumerate(leaves)
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
            search = _Search(ctx, k, j, leaf, t, limit, [], [])
            search.run()
            named = search.found
            notes.extend(_search_notes(leaf, search))
        found.extend(named)
        unnamed = v.status is Status.FAIL and not named  # not confirmed by any entry
        reports.append(_report(leaf, Status.INCONCLUSIVE if unnamed else v.status, len(named)))
    if any(_fails(v) for v in rows) and not n_fail:
        notes.append(
            "the direction over all parameters fails but no single parameter's part of it "
            "does (errors spread over several parameters?); run mode='full'."
        )
    extra = leaf_rows if len(leaves) > 1 else []
    return _assemble(rows + extra, tuple(reports), found, notes, t)


def _search_notes(leaf: Leaf, search: _Search) -> list[str]:
    if search.unseen:
        k = len(search.found)
        return [
            f"{leaf.path}: after the {k} named entr{'y' if k == 1 else 'ies'}, the rest of the "
            "parameter could not be resolved along the failing direction (no significant "
            "digit: f's rounding above its measured noise); more entries may be wrong, and "
            "mode='full' checks them all."
        ]
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
    if status is Status.FAIL and not found:
        # a fail rests on an entry that fails when checked alone, as in full mode
        status = Status.INCONCLUSIVE
        reason = (
            " ".join(["a directional check fails, but no entry fails when checked alone:", *notes])
            + " (kinks whose slope jumps cancel along the direction also do this)\n  "
            + power
        )
        worst = tuple(sorted(dir_entries, key=lambda e: e.status is not Status.FAIL))
    elif status is Status.FAIL:
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
