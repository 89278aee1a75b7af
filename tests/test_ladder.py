"""The step fits each entry, and one bad entry never decides another's verdict (issue 11, 2-3).

Each test reproduces a case measured in the issue; every one of them failed before the step
ladder and the local rounding estimate (`gradcheck._engine.numdiff`).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import special as sp

import gradcheck

seeds = st.integers(0, 2**32 - 1)


def statuses(res, path="params"):
    """Each entry's verdict of one parameter (full mode)."""
    return next(p.statuses for p in res.params if p.path == path).tolist()


def note(res, index, path="params"):
    return next(e.note for e in res.worst if e.path == path and e.index == index)


# --- 1/p with p[0] next to the pole -----------------------------------------------------


def _inverse_sum(p):
    return float(np.sum(1 / p))


def test_an_entry_next_to_a_pole_is_checked_at_its_own_step():
    # p[0] = 1e-9: a step from the leaf's rms (2e-5) crossed the pole at 0 and the correct
    # gradient failed. Its own magnitude gives h ~ 1e-14 and a converged derivative.
    p = np.array([1e-9, 1.0, 2.0])
    res = gradcheck.check_grad(_inverse_sum, lambda p: -1 / p**2, p)
    assert res.status == "pass", res


def test_a_wrong_entry_beside_a_huge_one_fails_and_the_huge_one_is_not_blamed():
    # |f| = 1e9 (from p[0]) makes p[1]'s rounding large at its first step; the refit from a
    # longer step resolves it to ~1e-2, so a 100 % error there fails, named, and p[0] passes.
    p = np.array([1e-9, 1.0, 2.0])

    def wrong(p):
        g = -1 / p**2
        g[1] *= 2
        return g

    res = gradcheck.check_grad(_inverse_sum, wrong, p)
    assert res.status == "fail", res
    assert statuses(res) == ["pass", "fail", "pass"], res
    assert (res.worst[0].path, res.worst[0].index) == ("params", (1,))


# --- kinks near the point: a ReLU layer -------------------------------------------------


@given(seed=seeds, n=st.integers(2, 6), near=st.integers(1, 3))
@example(seed=0, n=4, near=3)
def test_a_relu_layer_with_inputs_next_to_the_kink_never_fails(seed, n, near):
    # pre-activations within 1e-9 of 0 (some exactly 0): the stencils of the weights that
    # feed them straddle the kink. Those entries are inconclusive (kink) or converge; every
    # weight whose pre-activations are all clear of 0 passes.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 3))
    W = rng.standard_normal((3, n))
    z = x @ W
    rows = rng.choice(5, size=near, replace=False)
    col = int(rng.integers(n))
    # move W[:, col] so that z[rows[0], col] sits within 1e-9 of 0 (or exactly at it)
    W[:, col] -= (
        x[rows[0]] * (z[rows[0], col] - rng.choice([0.0, 1e-9, -1e-9])) / (x[rows[0]] @ x[rows[0]])
    )
    v = rng.standard_normal((5, n))

    def f(W):
        return float(np.sum(v * np.maximum(x @ W, 0)))

    def grad(W):
        return x.T @ (v * (x @ W > 0))

    res = gradcheck.check_grad(f, grad, W)
    assert res.status != "fail", res
    near_kink = np.abs(x @ W) < 1e-6
    clear = ~np.any(near_kink, axis=0)  # columns of W whose every pre-activation is clear
    got = np.array(statuses(res))
    assert np.all(got[:, clear] == "pass"), res
    for e in res.worst:
        if e.status == "inconclusive":
            assert e.note.startswith(("kink", "did not converge")), e.note


# --- jumps: a ±1 target -------------------------------------------------------------------


def test_a_target_that_jumps_is_inconclusive_and_the_input_is_still_checked():
    # torch's hinge_embedding_loss: s where y == 1, max(0, 1 - s) where y == -1, with the ±1
    # target y a parameter: moving y off 1 switches branch (a jump); off -1 changes nothing.
    # y's entries at 1 are inconclusive (jump), the input's gradient is judged as if y were not
    # a parameter, and a planted error there fails. (Before: the whole check was "vacuous".)
    rng = np.random.default_rng(0)
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    params = {"s": rng.uniform(0.2, 0.8, 6), "y": y}

    def f(p):
        return float(np.sum(np.where(p["y"] == 1, p["s"], np.maximum(0, 1 - p["s"]))))

    def grad(p):
        return {"s": np.where(p["y"] == 1, 1.0, -1.0), "y": np.zeros(6)}

    res = gradcheck.check_grad(f, grad, params)
    assert res.status == "inconclusive", res
    assert statuses(res, "params['s']") == ["pass"] * 6, res
    got = statuses(res, "params['y']")
    assert got == ["inconclusive", "pass"] * 3, res
    assert all(e.note.startswith("jump") for e in res.worst if e.path == "params['y']"), res

    def wrong(p):
        g = grad(p)
        g["s"][2] *= 1.01
        return g

    bad = gradcheck.check_grad(f, wrong, params)
    assert bad.status == "fail", bad
    assert (bad.worst[0].path, bad.worst[0].index) == ("params['s']", (2,)), bad


# --- the step fits the function -----------------------------------------------------------

# (name, f, f', x): exact derivative identities (DLMF 10.6.3, 6.6.2, 5.15.1, 7.2.1, 4.1.2).
FITTING = [
    ("j0 at 1e6", sp.j0, lambda x: -sp.j1(x), 1e6),
    ("Si at 1e6", lambda x: sp.sici(x)[0], lambda x: np.sin(x) / x, 1e6),
    ("gammaln at -2 + 1e-6", sp.gammaln, sp.digamma, -2 + 1e-6),
    ("digamma at -2 + 1e-6", sp.digamma, lambda x: sp.polygamma(1, x), -2 + 1e-6),
    ("gamma at -2 + 1e-6", sp.gamma, lambda x: sp.gamma(x) * sp.digamma(x), -2 + 1e-6),
    ("erfc at 22", sp.erfc, lambda x: -2 / np.sqrt(np.pi) * np.exp(-(x**2)), 22.0),
    ("erfc at 26", sp.erfc, lambda x: -2 / np.sqrt(np.pi) * np.exp(-(x**2)), 26.0),
    ("log1p at -0.9", np.log1p, lambda x: 1 / (1 + x), -0.9),
]


@pytest.mark.parametrize(("name", "fn", "deriv", "x0"), FITTING, ids=[c[0] for c in FITTING])
@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_step_too_long_for_the_function_is_shortened_not_failed(name, fn, deriv, x0, mode):
    x = np.array([x0])
    with np.errstate(all="ignore"):
        res = gradcheck.check_grad(lambda x: float(np.sum(fn(x))), deriv, x, mode=mode, seed=0)
        assert res.status == "pass", res

        def wrong(x):
            return deriv(x) * 1.01

        bad = gradcheck.check_grad(lambda x: float(np.sum(fn(x))), wrong, x, mode=mode, seed=0)
    assert bad.status == "fail", bad


def test_fast_mode_moves_each_entry_by_its_own_magnitude():
    # one array from 1e4 to 1e7 through digamma's poles at the negative integers (distance
    # 1/2): a direction scaled by the array's rms moved x = -1e4 by ~1e2, across ~1e2 poles.
    x = -(np.logspace(4, 7, 4) + 0.5)
    res = gradcheck.check_grad(
        lambda x: float(np.sum(sp.digamma(x))), lambda x: sp.polygamma(1, x), x, mode="fast"
    )
    assert res.status == "pass", res


# --- float32 inside a float64 f ----------------------------------------------------------


def _f32(x):
    return float(np.sum(np.exp(np.sin(x.astype(np.float32)))))


def _g32(x):
    return np.exp(np.sin(x)) * np.cos(x)


@given(seed=seeds)
@example(seed=0)
def test_a_float32_computation_inside_gets_a_float32_step(seed):
    # measured noise ~ 1e-7 |f|: the step grows to ~1e-2 (from 2e-5), so a 1 % error in an
    # entry of ordinary size is caught (allowed ~ 1e-3 relative), and no correct entry fails.
    x = np.random.default_rng(seed).uniform(0.5, 1.5, 20) * np.sign(
        np.random.default_rng(seed + 1).standard_normal(20)
    )
    ok = gradcheck.check_grad(_f32, _g32, x)
    assert ok.status == "pass", ok
    assert min(e.step for e in ok.worst) > 1e-3, ok
    fast = gradcheck.check_grad(_f32, _g32, x, mode="fast", seed=seed)
    assert fast.status == "pass", fast

    i = int(np.argmax(np.abs(_g32(x))))  # an entry of ordinary size (|g_i| ~ 1)

    def wrong(x):
        g = _g32(x)
        g[i] *= 1.01
        return g

    bad = gradcheck.check_grad(_f32, wrong, x)
    assert bad.status == "fail", bad
    assert (bad.worst[0].path, bad.worst[0].index) == ("params", (i,)), bad


# --- one bad entry never decides another's verdict ----------------------------------------


def _poison(kind):
    """A term of one coordinate, exactly 0 at its base point p0, whose stencil meets ``kind``
    at every step; and p0. (The zoo's poisons, `gradcheck.zoo.ZooCase.poisoned`.)"""
    q = 1.5
    p0 = q * (1 + 2.0**-50) if kind in ("pole", "edge") else q
    d = p0 - q
    terms = {
        "kink": lambda p: abs(p - q),
        "jump": lambda p: float(p > q),
        "isolated": lambda p: float(p != q),
        "pole": lambda p: 1 / (p - q) - 1 / d,
        "edge": lambda p: np.sqrt(p - q) - np.sqrt(d),
    }
    return terms[kind], p0


@given(
    seed=seeds,
    n=st.integers(1, 6),
    kind=st.sampled_from(["kink", "jump", "isolated", "pole", "edge"]),
    at=st.floats(0, 1),
    wrong=st.booleans(),
)
@example(seed=0, n=2, kind="pole", at=0.5, wrong=True)
def test_a_poisoned_entry_in_the_same_array_changes_no_other_verdict(seed, n, kind, at, wrong):
    # random smooth f of n clean entries (of magnitude 0.1 to 10, so that each entry's scale is
    # its own and not its array's), and the same f with a poisoned coordinate inserted among
    # them: every clean entry gets exactly the same verdict, the poisoned one is inconclusive.
    # With ``wrong``, one clean entry's gradient is 10 % off, so that fails are compared too.
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], n) * 10 ** rng.uniform(-1, 1, n)
    w, phase, v = rng.uniform(0.5, 2, n), rng.uniform(0, 6, n), rng.standard_normal(n)
    k = int(at * n)
    term, p0 = _poison(kind)

    def f(x):
        return float(np.sum(w * np.sin(x + phase)) + (v @ x) ** 2 / 4)

    def grad(x):
        g = w * np.cos(x + phase) + v * (v @ x) / 2
        if wrong:
            g[0] *= 1.1
        return g

    def f_poisoned(y):
        with np.errstate(all="ignore"):
            return f(np.delete(y, k)) + term(y[k])

    def grad_poisoned(y):
        return np.insert(grad(np.delete(y, k)), k, 0.0)

    clean = gradcheck.check_grad(f, grad, x)
    poisoned = gradcheck.check_grad(f_poisoned, grad_poisoned, np.insert(x, k, p0))
    got = statuses(poisoned)
    assert np.delete(got, k).tolist() == statuses(clean), (clean, poisoned)
    assert got[k] == "inconclusive", poisoned


# --- a leaf whose probes never move f borrows no floor from a poisoned leaf ----------------


def _saturated(x):
    # 1e-3 expit(x + 30) at x = 0.7586: the true gradient 4e-17 moves f by ~1e-21 at the
    # step, below f's resolution (ulp 2e-19): no noise probe of this leaf moves f.
    return 1e-3 * sp.expit(x[0] + 30)


def _saturated_grad(x):
    return 1e-3 * sp.expit(x + 30) * sp.expit(-(x + 30))


def test_a_leaf_f_cannot_see_borrows_no_floor_from_a_poisoned_leaf():
    # Found by the thorough zoo (saturated:expit(z+30) + poison kink). The clean leaf's probes
    # never move f, and it took "the largest floor measured on the other leaves": here the
    # poison's, whose kink reads as noise, so its allowed error went from 4.3e-13 to 3.6e-5
    # and an error planted at 4x the clean allowed error passed. Its floor now comes from f
    # itself, which the poison (exactly 0 at the point) does not change.
    x = np.array([0.75863741])
    clean = gradcheck.check_grad(_saturated, _saturated_grad, x)
    allowed = float(clean.params[0].allowed[0])
    assert clean.status != "fail", clean
    assert 0 < allowed < 1e-11, clean

    def wrong(x):
        return _saturated_grad(x) + 4 * allowed

    def poisoned_f(p):
        return _saturated(p["clean"]) + abs(float(p["poison"]) - 1.5)

    def poisoned_grad(p):
        return {"clean": wrong(p["clean"]), "poison": np.array(0.0)}

    params = {"clean": x, "poison": np.array(1.5)}
    alone = gradcheck.check_grad(_saturated, wrong, x)
    poisoned = gradcheck.check_grad(poisoned_f, poisoned_grad, params)
    assert alone.status == "fail", alone
    assert statuses(poisoned, "params['clean']") == statuses(alone), (alone, poisoned)
    assert statuses(poisoned, "params['poison']") == "inconclusive", poisoned


# --- the numeric side depends on f only: a planted error cannot move its own bound ---------

_W = np.array([-1.6930041363148327, -1.615419813662598])
_X = np.array([999999.4069114068, 999998.6205177648])


def _offset_tanh(x):
    return 1e-3 * float(np.sum(_W * np.tanh(x - 1e6)))


def _offset_tanh_grad(x):
    return 1e-3 * _W / np.cosh(x - 1e6) ** 2


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_an_error_planted_at_twice_the_stated_bound_fails_where_the_gradient_is_conditioned(sign):
    # Found by the thorough zoo (offset:tanh at x ~ 1e6, where |x_i a_i| = 362 >> |f|). The
    # analytic value entered the rounding bound through the conditioning |x_i| min(|a_i|, |D|):
    # moved by 2 x its allowed error (0.08 % of it), it flipped one level's quiet decision, the
    # planted run accepted a step twice as long with 4x the allowed error, and passed. Steps,
    # quiet decisions and error estimates now come from f alone: the analytic value enters only
    # the comparison, so the stated bound holds for every gradient judged at this point.
    ok = gradcheck.check_grad(_offset_tanh, _offset_tanh_grad, _X)
    assert ok.status == "pass", ok
    allowed = float(ok.params[0].allowed[1])

    def wrong(x):
        g = _offset_tanh_grad(x)
        g[1] += sign * 2 * allowed
        return g

    res = gradcheck.check_grad(_offset_tanh, wrong, _X)
    assert res.status == "fail", res
    assert statuses(res) == ["pass", "fail"], res


@given(
    f0=st.floats(-1e3, 1e3),
    slope=st.floats(-1e3, 1e3),
    bend=st.floats(-1e6, 1e6),
    noise=st.lists(st.floats(-1, 1), min_size=4, max_size=4),
    scale=st.sampled_from([0.0, 1e-16, 1e-13, 1e-10, 1e-3]),
    h=st.floats(1e-9, 1e-2),
    ulps=st.sampled_from([1.0, 16.0, 1e6]),
    odd=st.booleans(),
)
@example(1.0, 2.0, 0.0, [0.0, 0.0, 0.0, 0.0], 0.0, 1e-5, 16.0, False)  # exactly linear
@example(0.0, 1.0, 0.0, [1.0, -1.0, 1.0, -1.0], 1e-3, 1e-5, 16.0, False)  # loud: the ladder
@example(0.0, 0.0, 0.0, [1.0, 0.0, 0.0, 0.69], 1e-13, 1e-5, 16.0, False)  # |Δ4| = 48 δ: loud
def test_the_scalar_first_level_is_the_ladders(f0, slope, bend, noise, scale, h, ulps, odd):
    # fast mode's one scalar row takes `_quiet_first`, a Python-float copy of the ladder's
    # first level; the ladder itself (an output of shape (1,) takes the array path) must give
    # the same numbers bit for bit, whether the level is accepted or the ladder goes on.
    from gradcheck._engine import numdiff

    def values(offsets):
        t = offsets  # the displacements themselves (h times the stencil's offsets)
        cubic = bend * t**3 if odd else bend * t**2
        wobble = scale * np.resize(np.asarray(noise), t.shape)
        return f0 + slope * t + cubic + wobble

    def rows(k, offsets):
        v = values(offsets)
        return v, np.abs(v) + 1.0

    def rounding(k, mag, slope_):
        return ulps * 2.2e-16 * np.fmax(mag, slope_)

    def vector_rows(k, offsets):
        v, m = rows(k, offsets)
        return v[..., None], m[..., None]

    with np.errstate(all="ignore"):
        got = numdiff.differentiate(np.array(f0), rows, np.array([h]), rounding, width=4.0)
        want = numdiff.differentiate(
            np.array([f0]), vector_rows, np.array([h]), rounding, width=4.0
        )
    for name in ("numeric", "truncation", "rounding", "hidden", "kind", "step", "low", "high"):
        a, b = getattr(got, name), getattr(want, name).reshape(-1)
        assert np.array_equal(a, b, equal_nan=True), (name, a, b)


def test_the_scalar_first_level_is_taken_on_a_quiet_stencil():
    # the comparison above is vacuous if the scalar path is never taken: on a straight line it
    # is, and gives the slope
    from gradcheck._engine import numdiff

    h = 1e-5
    offsets = h * numdiff.OFFSETS[None]
    got = numdiff._quiet_first(
        1.0, 1.0 + 3.0 * offsets, np.ones((1, 4)), h, lambda k, m, s: 1e-15 * m, 4.0
    )
    assert got is not None
    assert got.kind[0] == numdiff.SMOOTH
    # values ~1 round by ~1.1e-16 each; N's rounding is ~3 x 1.1e-16 / h ~ 3.3e-11: 1e-9 is
    # 30 times that
    assert abs(float(got.numeric[0]) - 3.0) < 1e-9


# --- a loss near 0 made of O(1) terms: every coordinate sees f's rounding ---------------


def _residual_loss(x, d, V, w):
    """E = ½ (ŷ - y)² with ŷ = σ(w · σ(V x)) ~ 0.5 and y = ŷ(V0) - d: E ~ d²/2, while ŷ and y
    carry roundings of eps |ŷ| ~ 1e-16, so E's rounding is ~ d 1e-16, not eps E."""
    y = sp.expit(w @ sp.expit(V @ x)) - d

    def E(V):
        return float(0.5 * (sp.expit(w @ sp.expit(V @ x)) - y) ** 2)

    def grad(V):
        b = sp.expit(V @ x)
        yhat = sp.expit(w @ b)
        g = (yhat - y) * yhat * (1 - yhat)
        return np.outer(g * w * b * (1 - b), x)

    return E, grad


@given(seed=seeds, log_d=st.floats(-4, -2))
@example(seed=0, log_d=-3.0)  # before the fix: entries of V named "jump"
@example(seed=10254, log_d=-3.0)  # dev seed 170: the planted error did not converge
@example(seed=21769, log_d=-3.0)  # dev seed 223 (soak 7): V[3, 2] named "jump"
@example(seed=357, log_d=-3.876)  # a false FAIL (1.48x) on V[3, 2], found scanning 2,000 draws
def test_a_loss_near_0_made_of_O1_terms_checks_every_entry(seed, log_d):
    # Found by the 20-seed soak (dev seed 130, test_mlp's index formulas): E = 6.4e-7 from
    # ŷ ≈ y ≈ 0.56. The noise probes of V measured σ = 3e-20 to 8e-20, 10-20 times
    # ulps eps |E| = 4.6e-21, yet each was quiet against its own coordinate's model (which
    # holds |x_i ∂_i E| ~ 3e-5); with no floor, the entries of V that move E least never found
    # a quiet stencil at 4.6e-21 and were named "jump". Quiet probes' σ is now the leaf's floor.
    # Soak 7 (dev seed 223): E's values lie on a grid of d ulp(ŷ) ~ 1e-19, far above ulp(E),
    # and a probe's 2-degree-of-freedom σ fits such values almost exactly about 1 time in 10:
    # two of three probes 10-50 times low made the median floor too small, and a smooth entry
    # was named "jump" (seed=21769) or, 1 draw in 2,000, a correct entry failed (seed=357).
    # The floor is now the largest σ of the quiet probes and of the loud ones that are
    # rounding for certain. Scanned on this test's body, seed s with log_d drawn by
    # default_rng([s, 99]).uniform(-4, -2): 0 non-passes in 24,000 draws (s in 0..3,999 and
    # 10,000..29,999); before, 2 in the first 2,000 (seed=357: FAIL; seed=1717: inconclusive).
    rng = np.random.default_rng(seed)
    x, V, w = rng.uniform(0, 0.3, 3), rng.standard_normal((5, 3)), rng.standard_normal(5)
    E, grad = _residual_loss(x, 10.0**log_d, V, w)
    ok = gradcheck.check_grad(E, grad, V)
    assert ok.status == "pass", ok
    # power, deterministic: the planted run's allowed error A is the same (f alone sets steps
    # and bounds; ulps eps_g |a| moves it by 1e-14 relative), and |a + 2A - N| >= 2A - |a - N|
    # > A, so an error of 2A in the entry that moves E least never passes. It fails, or, where
    # the rechecks from shorter steps (noisier, at E ~ 1e-6) do not reproduce the estimate, it
    # did not converge (dev seed 170: seed=10254, 1.79x its allowed error, inconclusive with
    # the old 1/16, 1/256 rechecks; a fail with today's).
    i = np.unravel_index(np.argmin(np.abs(V * grad(V))), V.shape)
    allowed = float(ok.params[0].allowed[i])

    def wrong(V):
        g = grad(V)
        g[i] += 2 * allowed
        return g

    res = gradcheck.check_grad(E, wrong, V)
    assert res.status != "pass", res
    assert statuses(res)[i[0]][i[1]] in ("fail", "inconclusive"), res


# --- a staircase: flat at the model's step, sloped at the noise floor's ---------------------


def _stairs(v, decimals):
    def f(x):
        return float(v @ np.round(x, decimals))

    return f


@given(
    seed=seeds,
    n=st.integers(1, 20),
    decimals=st.integers(1, 4),
    mode=st.sampled_from(["full", "fast"]),
)
@example(seed=0, n=20, decimals=3, mode="full")
@example(seed=0, n=20, decimals=3, mode="fast")
def test_a_staircase_with_gradient_0_is_inconclusive_never_failed(seed, n, decimals, mode):
    # Found on torch's OpInfo samples: round.decimals_3 failed in both modes. f = v . round(x,
    # 3) is a staircase with stairs of 1e-3; its noise probes read the stairs as noise, the
    # floor lengthened the step to ~0.3, and there the envelope's slope v disagreed with the
    # (correct, almost everywhere) 0. A fail on a noisy leaf is now rechecked at the model's
    # own step: f is flat there on one side of x, so 0 is one of f's two readings.
    rng = np.random.default_rng(seed)
    x = rng.uniform(-9, 9, n)
    v = rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 2, n)
    f = _stairs(v, decimals)
    res = gradcheck.check_grad(f, lambda x: np.zeros_like(x), x, mode=mode, seed=seed)
    assert res.status != "fail", res


@given(seed=seeds, n=st.integers(1, 5))
@example(seed=0, n=5)
@example(seed=8, n=5)  # one entry's stencil meets a stair's edge: a jump, rightly
def test_a_staircase_never_excuses_a_gradient_that_is_not_0(seed, n):
    # power, deterministic: |3 v_i| >= 1.5 is far above a flat stencil's 12 ulps eps |f| / h
    # (~1e-9), so no entry is called a staircase and none passes (f's derivative is 0 at the
    # model's step and v's envelope at the noise's); an entry whose stencil meets a stair's
    # edge may be a jump, every other one fails.
    rng = np.random.default_rng(seed)
    x = rng.uniform(-9, 9, n)
    v = rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 2, n)
    res = gradcheck.check_grad(_stairs(v, 3), lambda x: 3 * v, x)
    assert "pass" not in statuses(res), res
    assert not any(e.note.startswith("staircase") for e in res.worst), res
    assert res.status == "fail" or all(e.note.startswith("jump") for e in res.worst), res


# --- a recheck off the ladder's grid: a step at a multiple of f's period -------------------

# dev seed 163's zoo case (m = 1e-3, float32 inside f): gauss on k0, relu on k1, sin(x - 1e6)
# on k2. k2's ladder halved from its float32 step onto h = 25.1 ~ 8 pi (0.13 % short), where
# sin repeats: the stencil was quiet, confirmed by h/2 ~ 4 pi, and the slope it saw was the
# drift, -6.5e-7 against the true 2.8e-4. The rechecks from h/16 and h/256 halved onto the
# same steps and "reproduced" it: a false alarm. They now start off that dyadic grid.
_K0 = np.array(
    [-0.8605439180484566, 1.6403287958282873, 0.8154312097957965, 1.0709464121171075,
     -0.5278708853201801, -0.9852920769601197, 0.6458739091494543, 0.7459326787511442,
     -1.5756199434710894, -0.7766948885762679, 1.1248246565337796, -1.9672532396621056,
     -1.9348172292284376, 1.5321428993150072, -1.2200856544306382, -0.7707150468771304,
     0.5731084149177157, 1.9488732024674253, -1.1773165954313938, -0.4969715412003095,
     1.3599325844137506, 1.6203612943819066, 1.3421056117901689, 1.8594060981445346]
)  # fmt: skip
_W0 = np.array(
    [-0.7218830536774348, -1.7294400786789155, 1.5249303590048857, 1.6806454123322014,
     0.7874243885302028, -1.703546241701795, -0.7869858890858004, -0.6223289260452691,
     -1.7828404614306053, 1.7919252442665026, 1.8148056446248708, 1.2078645790381852,
     -0.9110725829205775, 0.5106377429047494, 1.4685813433624217, -1.5798640752630395,
     -1.7533538247504112, 0.9228167410468132, 0.8228272507444604, 1.4589970700998818,
     1.7075822497175146, 1.9455063092674563, 0.7257872456317662, 1.223318582299005]
)  # fmt: skip
_K1 = np.array([-1.532999694729606, -1.4115722188162705, 1.0330854729215906, 1.7744448595917386])
_W1 = np.array([-1.0126920859101696, -1.3155039345026833, 0.7944453276721302, -1.9942117851779417])
_C1 = np.array([-2.532999694729606, -2.4115722188162705, 1.0330854729215906, 1.7744448585917385])
_K2 = np.array([1000001.2970811556, 999998.2725361738])
_W2 = np.array([1.0475108952628385, 1.1725944640167265])


def _aliased(p):
    f32 = np.float32
    t0, t1 = p["k0"].astype(f32), p["k1"].astype(f32) - _C1.astype(f32)
    t2 = (p["k2"] - 1e6).astype(f32)
    terms = [
        np.sum(_W0.astype(f32) * np.exp(-(t0**2) / 2).astype(f32)),
        np.sum(_W1.astype(f32) * np.maximum(t1, f32(0))),
        np.sum(_W2.astype(f32) * np.sin(t2)),
    ]
    return float(f32(1e-3) * np.sum(np.array(terms, dtype=f32), dtype=f32))


def _aliased_grad(p):
    return {
        "k0": 1e-3 * _W0 * -p["k0"] * np.exp(-(p["k0"] ** 2) / 2),
        "k1": 1e-3 * _W1 * (p["k1"] - _C1 > 0),
        "k2": 1e-3 * _W2 * np.cos(p["k2"] - 1e6),
    }


def test_a_step_at_a_multiple_of_fs_period_is_not_reproduced_by_the_recheck():
    params = {"k0": _K0, "k1": _K1, "k2": _K2}
    res = gradcheck.check_grad(_aliased, _aliased_grad, params)
    assert res.status != "fail", res
    assert set(statuses(res, "params['k2']")) <= {"pass", "inconclusive"}, res


def test_refit_lengthens_a_weak_step_but_leaves_a_flat_stencil_alone():
    # Row 0 is flat (f does not depend on it: max pooling's unselected inputs, most of an
    # input): N = T = H = 0, and no step makes E <= WEAK |N| = 0, so refit leaves it; before,
    # it re-differenced every such entry (fractional_max_pool2d: twice the evaluations). Row 1
    # has a slope of 1e-9 on f ~ 2 at h = 1e-5: its rounding 3 delta / h ~ 4e-9 exceeds
    # WEAK |N| = 1e-13, a weak check that refit still re-differences from a longer step.
    from gradcheck._engine import numdiff

    slopes = np.array([0.0, 1e-9])
    seen = []

    def rows(k, offsets):
        seen.extend(int(i) for i in k)
        values = 2.0 + slopes[k][:, None] * offsets
        return values, np.full(offsets.shape, 2.0)

    def rounding(k, mag, slope):
        return 32 * np.finfo(np.float64).eps * mag

    h0 = np.array([1e-5, 1e-5])
    d = numdiff.differentiate(np.array(2.0), rows, h0, rounding)
    assert list(d.kind) == [numdiff.SMOOTH, numdiff.SMOOTH]
    assert d.numeric[0] == 0
    assert d.truncation[0] == 0
    assert d.hidden[0] == 0
    assert np.all(d.error > numdiff.WEAK * np.abs(d.numeric))  # both weak by E <= WEAK |N|
    seen.clear()
    out = numdiff.refit(np.array(2.0), rows, d, h0, rounding, largest=64 * h0, leaf=8 * h0)
    assert seen
    assert set(seen) == {1}
    assert out.numeric[0] == 0
    assert out.step[0] == h0[0]
    assert out.step[1] > h0[1]
    assert out.error[1] < d.error[1]
