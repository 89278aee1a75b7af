r"""The measured rounding noise of f: the floor of the error model's rounding bound.

The error model (`gradcheck._engine.numdiff`) bounds one evaluation's rounding by
:math:`\text{ulps}\cdot\varepsilon_f` times f's magnitude and conditioning. Some functions
are noisier: a float32 computation inside a float64 f (noise ~1e-7 |f|), a loss near 0 made of
O(1) terms. `measured` probes f near the base point and, when most probes find it noisier than
the model, sets the problem's noise floor and, from it, a longer step
(`gradcheck._engine.numdiff.relative_step`).

**Probes.** Full mode probes each leaf on its own, along its `NOISE_COORDINATES` coordinates
that move f most by f's own values (its stencils move one coordinate; a leaf computed in
float32 and another in float64 get their own floors); fast mode probes one random direction.
A probe evaluates f at offsets ±η and ±φη (φ the golden ratio: not commensurate, so that
values snapped to a float32 grid cannot look exactly linear), with η `NOISE_STEP` times the
stencil's step. What the least-squares quadratic through those 4 values and f0 leaves is
rounding (plus :math:`\eta^3 f^{(3)}`, ~1e-20 relative for a smooth f): its root mean square
over the 2 degrees of freedom, σ, estimates one evaluation's rounding error. A probe is *quiet* when
``3σ`` is within the model's bound. Otherwise η shrinks by φ (2 evaluations: ±η become the
new ±φη) until the probe is quiet (what was loud was structure finer than the probe's step:
``j0`` at 1e6, ``sin(x / 1e4)`` at 1e12; a smooth f's residual shrinks by φ³ per level), or
until f stops moving at all: the step fell below the resolution of f's values, which snap to
a coarser grid than float64 (a float32 computation inside f); then f is *noisy*, by the σ
of the last level that moved it. When σ stops shrinking for two levels in a row, the probe is
repeated `CONFIRM` (2^-12) times closer: rounding that persists there with fresh values is
noise (a loss near 0 made of O(1) terms); the same values again are a jump (the probe
abstains); smooth values there mean either a float32 part of f frozen below its resolution
next to a float64 part, or a structure the probe spanned without resolving: rounding when σ
is below `ROUNDING_AT_MOST` of f's magnitude, else structure (a pole), and the probe goes on
from the closer step. A probe that does not move f at all is first lengthened, up to the
stencil's own step (`BLIND_GROWTH`); one that never settles in `PROBE_LEVELS` shrinkings
abstains. A floor that is too large costs power, never a false alarm: a stencil accepted
below the first level, or any stencil of a noisy f, must be confirmed by the next level
(`gradcheck._engine.numdiff.differentiate`).

**Locality.** f is noisy when a strict majority of the probes that moved f are noisy; the
floor is then 3 times their median σ, and otherwise 3 times the median σ of the quiet probes
(a probe is quiet against the model of its own coordinate, whose conditioning
:math:`|x_i \partial_i f|` can hide a rounding of f that every other coordinate of the leaf
sees: a loss near 0 made of O(1) terms; a floor within the model changes nothing, and a
loud minority, a kink, never enters it). A leaf none of whose probes
moved f at all (its effect below f's resolution) measured nothing; its floor is the rounding
model of f's own values (`grid_floor`), not a floor borrowed from another leaf: the other
leaf may be a single coordinate whose kink reads as noise (found by the thorough zoo: a
saturated leaf took a kinked leaf's floor, and its allowed error went from 4.3e-13 to 3.6e-5).
One coordinate whose stencil meets a kink, a jump or a pole is one loud probe among quiet
ones, or a leaf of its own: it changes no other leaf's rounding bound or step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.calls import readonly
from gradcheck._engine.numdiff import (
    CHUNK,
    FloatArray,
    IntArray,
    chunks,
    leaf_scale,
    scales,
    step_factor,
    steps,
)
from gradcheck._engine.options import DEFAULT_ULPS
from gradcheck._engine.problem import Problem, on_float32_grid

#: coordinates probed in full mode (4 evaluations each, 2 more per halving of a loud one).
NOISE_COORDINATES = 3
#: coordinates screened for them (`coordinate_probes`: one evaluation each): enough that a
#: leaf most of whose entries do not move f (max pooling's unselected inputs, a ReLU's flat
#: side) still yields 3 that do, few against full mode's 4 evaluations per entry.
SCREEN = 12
#: the probe's first step, relative to the stencil's: a smooth f's fourth difference is then
#: ~1e-26 relative and a kink adds only ~ J h / 64, while f moves by many of its own ulps (and
#: a float32 computation inside f by several float32 ulps).
NOISE_STEP = 2.0**-6
#: a probe is loud when its σ, times this, exceeds the model's bound; the floor is this times
#: the probes' median σ (a 3-sigma bound on one evaluation's error).
NOISE_BOUND = 3.0
#: a probe that does not move f at all is lengthened 4-fold this many times (up to 64 times
#: the first step, the stencil's own step): a float32 computation inside f rounds moves below
#: its resolution away.
BLIND_GROWTH = 3
#: shortenings (by φ) of a loud probe's step before it gives up (φ^32 ~ 5e6).
PROBE_LEVELS = 32
#: a plateau's σ above this fraction of f's magnitude is structure (a pole or a jump the probe
#: spans), below it rounding (float32 inside f: ~1e-7).
ROUNDING_AT_MOST = 2.0**-8
#: a probe whose σ stopped shrinking is confirmed this much closer to x (2^-12): rounding
#: persists there with fresh values, a structure the probe spanned is resolved, a jump repeats.
CONFIRM = 2.0**-12
Probe = Callable[[float], list[FloatArray]]
"""A probe: ``at(k)`` is the parameter list moved by ``k`` probe steps (a new array for each
leaf that moves, built on demand: a probe stores nothing of the parameters' size)."""

Gauged = tuple[Probe, FloatArray, bool]
"""A probe with its conditioning: ``(at, cond, per_step)``; ``cond`` is ``|x_i a_i|``, or with
``per_step`` ``|x_i| / η``, which f's own change per probe step turns into the conditioning."""


def measured(prob: Problem, probe: str, analytic: Sequence[FloatArray]) -> Problem:
    """``prob`` with its noise floors and step ratios measured along ``probe``:
    ``"coordinates"`` (full mode, and fast mode's named entries: each leaf on its own, from
    its own coordinates) or ``"direction"`` (fast mode: one floor for every leaf).
    ``analytic[j]`` holds leaf ``j``'s analytic derivatives, shaped ``(size, m)`` (``m``
    outputs): read along a direction only, as the conditioning ``||x ∘ a||₂`` of the model's
    bound; coordinate probes are chosen, and measure their conditioning ``|x_i ∂_i f|``, from
    f's own values (`coordinate_probes`). Both walk the leaves
    `~gradcheck._engine.numdiff.CHUNK` entries at a time (fast mode's memory bound)."""
    factor = step_factor(DEFAULT_ULPS, prob.eps_f)
    if probe == "direction":
        floor, ratio, _ = _floor(prob, [direction_probe(prob.base, factor, analytic)])
        n = len(prob.base)
        return replace(prob, floors=[floor] * n, ratios=[ratio] * n)
    found = [_floor(prob, coordinate_probes(prob, j, factor)) for j in range(len(prob.base))]
    floors, ratios = [f for f, _, _ in found], [r for _, r, _ in found]
    # a leaf none of whose probes moved f (its effect is below f's resolution) measured
    # nothing: its floor is the resolution of f's own values (`grid_floor`), never a floor
    # measured on another leaf, which one kinked or poled coordinate can dominate
    own = grid_floor(prob)
    for k, (_, _, informed) in enumerate(found):
        if not informed:
            floors[k], ratios[k] = own
    return replace(prob, floors=floors, ratios=ratios)


def grid_floor(prob: Problem) -> tuple[FloatArray, float]:
    """The floor of a leaf whose probes never moved f, from f's own values: the rounding
    model ``ulps eps |f|`` at the precision of the grid f's base value lies on. A float64
    value that is exactly a float32 (probability 2^-29 for a float64 computation) is read as
    float32's grid (a float32 computation inside f), else f's own ``eps_f``; exactly 0 (the
    model alone) where f0 is 0. Nothing another leaf measured enters it."""
    f0 = prob.f0
    eps32 = float(np.finfo(np.float32).eps)
    if prob.eps_f >= eps32:
        return np.zeros_like(f0), 0.0
    on_grid = on_float32_grid(f0)
    scale = np.fmax(np.abs(f0), prob.mag0)
    floor = np.where(on_grid, DEFAULT_ULPS * eps32 * scale, 0.0)
    ratio = float(np.max(np.where(on_grid, DEFAULT_ULPS * eps32, 0.0), initial=0.0))
    return np.asarray(floor, dtype=np.float64), ratio


def _floor(prob: Problem, probes: list[Gauged]) -> tuple[FloatArray, float, bool]:
    """The floor (0 unless a strict majority of the probes that moved f are noisy), its
    ratio to f's magnitude, and whether any probe moved f at all."""
    shape = prob.f0.shape
    found = [_probe(prob, at, cond.reshape(shape), per_step) for at, cond, per_step in probes]
    sigma = np.array([p[0] for p in found])
    used = np.array([p[1] for p in found])
    loud = np.array([p[2] for p in found])
    rounding = np.array([p[3] for p in found])
    noisy = 2 * loud.sum(axis=0) > used.sum(axis=0)
    # quiet probes are quiet against THEIR coordinates' model (|x_i ∂_i f| in it), yet their σ
    # is f's rounding, which every coordinate of the leaf sees (a loss near 0 made of O(1)
    # terms: σ 10-20 times ulps eps |f|, dev seed 130): they set the floor too, with the loud
    # probes whose loudness is rounding for certain (it persisted with fresh values closer, or
    # f froze below its resolution), never a loud minority that may be a kink. Their largest
    # σ, not the median: a probe's σ has 2 degrees of freedom, and on values on a grid coarser
    # than f's ulps (E = ½ d², d a difference of O(1) values) about 1 probe in 10 fits its
    # quadratic almost exactly (σ 50-100 times low, the `@example`s of
    # tests/test_ladder.py::test_a_loss_near_0_made_of_O1_terms_checks_every_entry): the
    # median of 3 then fell below the rounding that the other coordinates' stencils see, which
    # named a smooth entry "jump" (dev seed 223) or failed a correct one (1 draw in 2,000).
    # A quiet probe's σ is within its model (3σ <= ulps eps max(|f|, |x_i ∂_i f|)), so the
    # largest one is bounded too.
    floor = NOISE_BOUND * np.where(
        noisy, _median(sigma, used), _largest(sigma, (used & ~loud) | rounding)
    )
    floor = np.asarray(floor, dtype=np.float64).reshape(shape)
    scale = np.fmax(np.abs(prob.f0), prob.mag0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(noisy & (floor > 0), floor / scale, 0.0)
    return floor, float(np.max(ratio)) if ratio.size else 0.0, bool(np.any(used))


def _largest(sigma: FloatArray, used: NDArray[np.bool_]) -> FloatArray:
    """Per output, the largest finite σ of the probes ``used`` (0 where none)."""
    with np.errstate(invalid="ignore"):
        got = np.where(used & np.isfinite(sigma), sigma, 0.0)
    return np.asarray(np.max(got, axis=0, initial=0.0), dtype=np.float64)


def _median(sigma: FloatArray, used: NDArray[np.bool_]) -> FloatArray:
    """Per output, the median σ of the probes that moved f (0 where none did, or it is not
    finite). Written out: ``np.nanmedian`` imports ``numpy.ma`` on first use, half a megabyte
    that would count against fast mode's memory bound."""
    ordered = np.sort(np.where(used, sigma, np.inf), axis=0)
    k = used.sum(axis=0)
    lo = np.take_along_axis(ordered, np.maximum((k - 1) // 2, 0)[None], axis=0)[0]
    hi = np.take_along_axis(ordered, np.maximum(k // 2, 0)[None], axis=0)[0]
    with np.errstate(invalid="ignore", over="ignore"):
        median = np.where(k > 0, (lo + hi) / 2, 0.0)
    return np.asarray(np.nan_to_num(median, nan=0.0, posinf=0.0), dtype=np.float64)


def _weights(x: FloatArray, a: FloatArray, lo: int, hi: int) -> FloatArray:
    """``|x_i a_i|`` for flat entries ``lo..hi-1``, shaped ``(hi - lo, m)``."""
    xc = np.abs(x.reshape(-1)[lo:hi].astype(np.float64, copy=False))
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(xc[:, None] * np.abs(a[lo:hi]), dtype=np.float64)


def coordinate_probes(prob: Problem, j: int, factor: float) -> list[Gauged]:
    """`NOISE_COORDINATES` coordinates of leaf ``j``, chosen from f's own values: of the
    `SCREEN` candidates (`_candidates`), those whose move by the stencil's first step changes f
    most (one evaluation each; a leaf of at most `NOISE_COORDINATES` entries is probed whole,
    unscreened). Each is moved by `NOISE_STEP` times its stencil's step; with ``|x_i| / η``
    (`Gauged`: f's own change per probe step makes it the conditioning). Nothing of the
    gradient under test enters: a wrong analytic value cannot choose the probes, hence cannot
    move the floor, the steps or the allowed error (zoo dev seed 286 of soak 10: a planted
    error at a flat ReLU entry took a probe from a kinked entry, the leaf stopped reading as
    noisy, and its allowed error grew 200-fold)."""
    x = prob.base[j]
    flat = x.reshape(-1)
    rms = leaf_scale(x)
    cand = _candidates(x)
    h = steps(scales(flat[cand], rms), factor)  # the stencil's first steps
    if cand.size > NOISE_COORDINATES:
        moved = np.empty(cand.size)
        for k, (i, hk) in enumerate(zip(cand, h, strict=True)):
            value, _ = prob.point(_coordinate(prob.base, j, int(i), float(hk))(1.0))
            with np.errstate(invalid="ignore", over="ignore"):
                change = float(np.max(np.abs(value - prob.f0), initial=0.0))
            moved[k] = change if np.isfinite(change) else -1.0  # a pole's: probed last
        best = np.argsort(-moved, kind="stable")[:NOISE_COORDINATES]
        cand, h = cand[best], h[best]
    m = prob.f0.size
    out = []
    for i, hk in zip(cand, h * NOISE_STEP, strict=True):
        # the conditioning from f alone: |x_i| / h times f's change per probe step (`_probe`)
        per_step = np.full(m, abs(float(flat[i])) / float(hk))
        out.append((_coordinate(prob.base, j, int(i), float(hk)), per_step, True))
    return out


def _candidates(x: FloatArray) -> IntArray:
    """The coordinates `coordinate_probes` screens: all of a leaf of at most `SCREEN` entries;
    of a larger one the `SCREEN` of largest ``|x_i|`` (the first ones on ties), found
    `~gradcheck._engine.numdiff.CHUNK` entries at a time. From the point alone."""
    flat = x.reshape(-1)
    if flat.size <= SCREEN:
        return np.arange(flat.size)
    candidates: list[tuple[float, int]] = []
    for lo, hi in chunks(0, flat.size):  # the leading entries of every chunk, then of them all
        w = np.abs(flat[lo:hi].astype(np.float64, copy=False))
        w = np.where(np.isfinite(w), w, -1.0)
        best = np.argsort(-w, kind="stable")[:SCREEN]
        candidates.extend((-float(w[k]), lo + int(k)) for k in best)
    return np.array([i for _, i in sorted(candidates)[:SCREEN]], dtype=np.intp)


def _coordinate(base: list[FloatArray], j: int, i: int, h: float) -> Probe:
    """Entry ``i`` of leaf ``j`` moved by ``k h`` (formed in float64, cast to the leaf's dtype)."""
    x = base[j]

    def at(k: float) -> list[FloatArray]:
        y = np.array(x, copy=True)
        y.reshape(-1)[i] = np.float64(x.reshape(-1)[i]) + k * h
        return [readonly(y) if m == j else b for m, b in enumerate(base)]

    return at


def direction_probe(
    base: list[FloatArray], factor: float, analytic: Sequence[FloatArray]
) -> Gauged:
    """One random direction over all parameters (entries ±[0.5, 1] of their own scale), with
    its conditioning ``||x ∘ a||₂`` (independent roundings add in quadrature). The direction is
    drawn `~gradcheck._engine.numdiff.CHUNK` entries at a time, each chunk from a random stream
    of its own (a fixed seed), and regenerated for every point instead of stored; when all
    parameters together hold at most one chunk, the direction is kept (the common small case,
    where drawing it costs more than f; at most `CHUNK` floats)."""
    rms = [leaf_scale(x) for x in base]
    keep = sum(x.size for x in base) <= CHUNK
    kept: dict[int, FloatArray] = {}

    def unit(j: int, lo: int, hi: int) -> FloatArray:
        if j in kept:
            return kept[j]
        rng = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(j, lo // CHUNK)))
        size = rng.choice([-1.0, 1.0], hi - lo) * rng.uniform(0.5, 1.0, hi - lo)
        x = base[j].reshape(-1)[lo:hi]
        out = np.asarray(size * steps(scales(x, rms[j]), factor * NOISE_STEP), dtype=np.float64)
        if keep:  # then leaf j is one chunk: lo, hi = 0, its size
            kept[j] = out
        return out

    def at(k: float) -> list[FloatArray]:
        out = []
        for j, x in enumerate(base):
            flat = x.reshape(-1)
            y = np.empty_like(flat)
            for lo, hi in chunks(0, flat.size):
                y[lo:hi] = flat[lo:hi].astype(np.float64, copy=False) + k * unit(j, lo, hi)
            out.append(readonly(y.reshape(x.shape)))
        return out

    total = np.zeros(analytic[0].shape[1] if analytic else 0)
    for x, a in zip(base, analytic, strict=True):
        for lo, hi in chunks(0, x.size):
            with np.errstate(over="ignore"):
                total = total + np.sum(np.square(_weights(x, a, lo, hi)), axis=0)
    return at, np.asarray(np.sqrt(total)), False


def _probe(
    prob: Problem, probe: Probe, cond: FloatArray, per_step: bool
) -> tuple[FloatArray, NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """(σ, moved f, loud, loud by rounding for certain) along one probe, per output (see the
    module docstring): loud by rounding when the noise persisted with fresh values closer, or
    f froze below its resolution after a loud level; a plateau that resolved closer and is
    small against f (a float32 part frozen, or a kink the probe spanned) is loud, not certain."""
    point, f0 = prob.point, prob.f0

    def at(k: float) -> tuple[FloatArray, FloatArray]:
        value, mag = point(probe(k))
        return value - f0, mag

    vals, mags, scale = {}, [np.abs(f0), prob.mag0], 1.0
    for _ in range(BLIND_GROWTH + 1):  # f blind to the first step: lengthen it (float32 inside)
        for k in _OFFSETS:
            vals[k], mag = at(k * scale)
            mags.append(mag)
        first = _sigma(vals)  # the first level's, below (the same values)
        if np.any(first[1]):
            break
        scale *= 4
    if per_step:  # a coordinate probe: |x_i| times f's slope along it, from f's values
        with np.errstate(invalid="ignore", over="ignore"):
            slope = np.fmax(*(np.abs(vals[k] - vals[-k]) / (2 * k) for k in (1.0, _PHI)))
            cond = np.nan_to_num(cond * slope / scale, nan=0.0, posinf=0.0)
    model = DEFAULT_ULPS * prob.eps_f * np.fmax(np.max(mags, axis=0), cond)
    size = np.fmax(np.abs(f0), prob.mag0)  # f's magnitude at x (not where a pole makes it huge)
    shape = f0.shape
    sigma = np.zeros(shape)
    used = np.zeros(shape, dtype=bool)
    loud = np.zeros(shape, dtype=bool)
    certain = np.zeros(shape, dtype=bool)
    open_ = np.ones(shape, dtype=bool)
    previous = np.full(shape, np.inf)
    flat = np.zeros(shape, dtype=bool)
    for level in range(PROBE_LEVELS + 1):
        s, moved_f = first if level == 0 else _sigma(vals)
        blind = ~moved_f & np.isfinite(previous)  # below f's resolution after a loud level
        quiet = ~moved_f | (NOISE_BOUND * s <= model)
        done = open_ & quiet
        sigma[done] = np.where(blind, previous, s)[done]
        used[done] = (moved_f | blind)[done]
        loud[done] = certain[done] = blind[done]
        open_ &= ~done
        shrank = s < previous / 2.5  # a smooth f's residual shrinks by φ³ = 4.2 per level
        plateau = open_ & ~shrank & flat
        flat = open_ & ~shrank
        if plateau.any():  # two levels in a row without shrinking: rounding, or structure?
            tiny = {k: at(k * scale * CONFIRM)[0] for k in _OFFSETS}
            noisy, sure, s_noise, jump, resolved, s_tiny = _confirm(vals, tiny, s, plateau, size)
            sigma[noisy] = s_noise[noisy]
            used[noisy], loud[noisy], certain[sure] = True, True, True
            open_ &= ~(noisy | jump)  # a jump or an isolated value abstains
            if resolved.any():
                scale *= CONFIRM
                vals, previous, flat = tiny, np.where(open_, s_tiny, previous), flat & False
                continue
        if not open_.any():
            break
        previous = np.where(open_, s, previous)
        scale /= _PHI  # the inner points become the outer ones: 2 new evaluations
        inner = {k: at(k * scale)[0] for k in (-1.0, 1.0)}
        vals = {-_PHI: vals[-1.0], -1.0: inner[-1.0], 1.0: inner[1.0], _PHI: vals[1.0]}
    # never settled: structure at every scale tried (a pole), not rounding
    used[open_] = False
    certain &= used
    return sigma, used, loud, certain


def _confirm(
    vals: dict[float, FloatArray],
    tiny: dict[float, FloatArray],
    s: FloatArray,
    plateau: NDArray[np.bool_],
    size: FloatArray,
) -> tuple[
    NDArray[np.bool_],
    NDArray[np.bool_],
    FloatArray,
    NDArray[np.bool_],
    NDArray[np.bool_],
    FloatArray,
]:
    """What a plateau (σ = ``s`` at ``vals``) is, from the probe repeated `CONFIRM` closer
    (``tiny``): (noisy, noisy for certain: it persisted with fresh values or froze, its σ, a
    jump, a structure resolved there, σ there)."""
    s_tiny, tiny_moved = _sigma(tiny)
    same = _norm(tiny, vals, subtract=True) <= _norm(vals) / 2  # the values reproduced
    # f blind that close (values on a coarse grid), or as noisy with fresh values
    persists = plateau & ((s_tiny >= s / 2.5) | ~tiny_moved)
    # smooth that close: a structure the probe spanned, or a float32 part of f frozen below
    # its resolution (next to a float64 part that still moves): rounding when small against
    # f, else structure to resolve from the closer step
    small = NOISE_BOUND * s <= ROUNDING_AT_MOST * size
    certain = persists & (~same | ~tiny_moved)
    noisy = certain | (plateau & ~persists & small)
    jump = persists & same & tiny_moved
    resolved = plateau & ~persists & ~small
    return noisy, certain, np.where(persists, np.fmax(s, s_tiny), s), jump, resolved, s_tiny


def _norm(
    a: dict[float, FloatArray], b: dict[float, FloatArray] | None = None, *, subtract: bool = False
) -> FloatArray:
    """The root sum of squares of a probe's values (of their differences from ``b``'s)."""
    parts = [a[k] - b[k] if subtract and b is not None else a[k] for k in _OFFSETS]
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(np.sqrt(sum(np.square(p) for p in parts)), dtype=np.float64)


#: the probe's offsets, in units of its step: ±1 and ±φ (the golden ratio), not commensurate,
#: so that a float32 computation inside f, whose values snap to a grid, cannot look exactly
#: linear along the probe the way it can at offsets ±1, ±2.
_PHI = (1 + 5**0.5) / 2
_OFFSETS = (-_PHI, -1.0, 1.0, _PHI)
_T = np.array([-_PHI, -1.0, 0.0, 1.0, _PHI])
_X = np.stack([np.ones(5), _T, _T**2], axis=1)
#: projects a probe's 5 values (f0 included) onto what no quadratic explains: rounding (and a
#: cubic term of order η³ times the third derivative, ~1e-20 relative at the probe's step).
_RESIDUAL = np.eye(5) - _X @ np.linalg.solve(_X.T @ _X, _X.T)


def _sigma(vals: dict[float, FloatArray]) -> tuple[FloatArray, NDArray[np.bool_]]:
    """σ from one probe level's values (f minus f0): the root mean square residual of the
    least-squares quadratic through the 5 points (2 degrees of freedom); and whether f moved."""
    v = np.stack([vals[-_PHI], vals[-1.0], np.zeros_like(vals[1.0]), vals[1.0], vals[_PHI]])
    with np.errstate(invalid="ignore", over="ignore"):
        r = np.tensordot(_RESIDUAL, v, axes=1)
        s = np.sqrt(np.sum(r**2, axis=0) / 2)
    moved_f = np.logical_or.reduce([x != 0 for x in vals.values()])
    return np.where(np.isfinite(s), s, np.inf), moved_f
