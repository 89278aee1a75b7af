"""CLIP-1 … CLIP-4, ERR-6, PLOT-E: gradient clipping by global norm and by value.

Gradients are lists of 1–4 small arrays built from a drawn seed and a log-uniform scale in
[1e-3, 1e6]; thresholds τ ∈ [1e-3, 1e3]. Norms of n ≤ 4·27 entries are computed with relative
error ≤ (n + 2)·eps/2 (Higham §3.1), so "rel 1e-12" leaves ≥ 2 orders above rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from lstm_gradients.proofs.kit import EPS, SEEDS
from lstm_gradients.specs.clipping import (
    clip_by_norm,
    clip_by_norm_robust,
    clip_by_value,
    clip_factor,
    clip_rows,
    dominated_cosine,
    global_norm,
    global_norm_scaled,
)
from lstm_gradients.specs.mlp import mlp_loss_backward, mlp_loss_forward

REL = 1e-12  # see the module docstring
LOG_SCALES = st.floats(-3.0, 6.0).map(lambda e: 10.0**e)
TAUS = st.floats(-3.0, 3.0).map(lambda e: 10.0**e)


@st.composite
def grads(draw, scale=LOG_SCALES):
    """A list of 1–4 arrays (shapes with 1–3 dims of size 1–3), scale × N(0, 1)."""
    rng = np.random.default_rng(draw(SEEDS))
    k = draw(st.integers(1, 4))
    shapes = [tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))) for _ in range(k)]
    s = draw(scale)
    return [s * rng.standard_normal(sh) for sh in shapes]


def flat(g):
    return np.concatenate([t.ravel() for t in g])


def norm(g):
    return float(np.linalg.norm(flat(g)))


# ---------------------------------------------------------------------------------------------
# CLIP-1: exact properties
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("CLIP-1")
@given(g=grads(), tau=TAUS)
@example(g=[np.array([3.0, 4.0])], tau=1.0).via("‖g‖ = 5 → (0.6, 0.8)")
def test_clipped_norm_is_the_smaller_of_the_norm_and_the_threshold(g, tau):
    """(a) ‖clip(g)‖ = min(‖g‖, τ); (b) clip(g) = c·g with one c ∈ (0, 1] for every tensor
    (global, not per tensor), c = min(1, τ/‖g‖) from an independent norm; (f) ⟨clip(g), g⟩ =
    c‖g‖² > 0."""
    out = clip_by_norm(g, tau)
    n = norm(g)
    assert abs(norm(out) - min(n, tau)) <= REL * min(n, tau)
    c = min(1.0, tau / n)
    assert 0.0 < c <= 1.0
    for t, o in zip(g, out, strict=True):
        assert np.all(np.abs(o - c * t) <= REL * np.abs(c * t))
    assert float(flat(out) @ flat(g)) > 0.0


@pytest.mark.proves("CLIP-1")
@given(g=grads(), tau=TAUS)
def test_clipping_is_the_identity_exactly_inside_the_ball_and_idempotent(g, tau):
    """(c) identity iff ‖g‖ ≤ τ (then c = 1 and the arrays are returned bit for bit); (d)
    clip(clip(g)) = clip(g): the second norm is τ(1 ± n·eps), so its factor is 1 or
    1 − O(n·eps), and the result moves by ≤ REL relative."""
    out = clip_by_norm(g, tau)
    same = all(np.array_equal(t, o) for t, o in zip(g, out, strict=True))
    if global_norm(g) <= tau:
        assert same
    elif same:  # c = τ/‖g‖ < 1 can only leave every entry unchanged if c is within ulps of 1
        assert global_norm(g) - tau <= 4 * EPS * tau
    again = clip_by_norm(out, tau)
    for o, a in zip(out, again, strict=True):
        assert np.all(np.abs(a - o) <= REL * np.abs(o))


@pytest.mark.proves("CLIP-1")
@given(g=grads(), h_scale=LOG_SCALES, tau=TAUS, seed=SEEDS)
def test_clipping_is_the_projection_onto_the_ball_and_non_expansive(g, h_scale, tau, seed):
    """(e) clip(g) is the nearest point of B(0, τ): no random point p of the ball is closer
    to g; and ‖clip(g) − clip(h)‖ ≤ ‖g − h‖ on random pairs (same shapes). Slack: each side
    is a norm of a difference whose entries carry ≤ 2 eps of the operands' size, so add
    4·eps·(‖g‖ + ‖h‖)·√n absolute."""
    rng = np.random.default_rng(seed)
    fg = flat(g)
    p = rng.standard_normal((8, fg.size))
    p *= (tau * rng.uniform(0, 1, (8, 1)) ** (1 / fg.size)) / np.linalg.norm(p, axis=1)[:, None]
    cg = flat(clip_by_norm(g, tau))
    slack = 4 * EPS * (np.linalg.norm(fg) + tau) * np.sqrt(fg.size)
    assert np.all(np.linalg.norm(fg - cg) <= np.linalg.norm(fg - p, axis=1) + slack)
    h = [h_scale * rng.standard_normal(t.shape) for t in g]
    ch, fh = flat(clip_by_norm(h, tau)), flat(h)
    slack = 4 * EPS * (np.linalg.norm(fg) + np.linalg.norm(fh)) * np.sqrt(fg.size)
    assert np.linalg.norm(cg - ch) <= np.linalg.norm(fg - fh) + slack


# ---------------------------------------------------------------------------------------------
# CLIP-2: a clipped step still descends, and is bounded
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("CLIP-2")
@given(seed=SEEDS, w_scale=st.floats(2.0, 6.0), shrink=st.floats(1.5, 100.0))
def test_a_clipped_gradient_step_still_descends_and_is_at_most_eta_tau(seed, w_scale, shrink):
    """On the MLP loss with scaled-up weights and τ = ‖g‖/shrink (clipping active):
    ‖Δw‖ = η‖clip(g)‖ ≤ ητ(1 + REL), E decreases, and the first-order ratio along d = clip(g),
    r = (E(w) − E(w − ηd))/(η⟨g, d⟩), obeys |r − 1| ≤ Kη + rounding with
    K = c|gᵀHg|/‖g‖² + 1 (Taylor: dᵀHd/⟨g, d⟩ = c·gᵀHg/‖g‖²; Hg by a central difference of
    the analytic gradient; the +1 as in OPT-1) and rounding = 4·c_E·eps·E/(η⟨g, d⟩), c_E = 60
    ≥ the roundings per loss entry of this 2-3-2 net."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((3, 2)), rng.uniform(0, 1, (3, 2))
    shapes = ((2, 3), (3,), (3, 2), (2,))
    cuts = np.cumsum([0, 6, 3, 6, 2])

    def unpack(w):
        return [w[cuts[k] : cuts[k + 1]].reshape(sh) for k, sh in enumerate(shapes)]

    def E(w):
        return float(mlp_loss_forward(x, y, *unpack(w))[0])

    def grad(w):
        cache = mlp_loss_forward(x, y, *unpack(w))[1]
        return flat(mlp_loss_backward(1.0, cache)[2:])

    w = w_scale * rng.standard_normal(cuts[-1])
    g = grad(w)
    n = float(np.linalg.norm(g))
    assume(n > 1e-6)
    tau = n / shrink
    d = clip_by_norm(g, tau)
    c = tau / n
    t = 1e-5 / n
    K = c * abs(float(g @ (grad(w + t * g) - grad(w - t * g))) / (2 * t)) / n**2 + 1
    for eta in (1e-3, 1e-4, 1e-5):
        assert np.linalg.norm(eta * d) <= eta * tau * (1 + REL)
        gd = eta * float(g @ d)
        drop = E(w) - E(w - eta * d)
        rounding = 4 * 60 * EPS * E(w) / gd
        assume(rounding < 1e-3)
        assert drop > 0
        assert abs(drop / gd - 1) <= K * eta + rounding


# ---------------------------------------------------------------------------------------------
# CLIP-3: by value changes the direction
# ---------------------------------------------------------------------------------------------


def cosine(a, b):
    return float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))


@pytest.mark.proves("CLIP-3", "PLOT-E")
def test_the_inventory_example_of_value_clipping():
    """(10, 0.1) with τ = 1 → (1, 0.1), cosine with g 0.99598 (to the printed digits); the
    norm clip keeps the direction exactly (cosine 1 to rounding)."""
    g = np.array([10.0, 0.1])
    v = clip_by_value(g, 1.0)
    assert np.array_equal(v, [1.0, 0.1])
    assert abs(cosine(v, g) - 0.99598) < 5e-6
    assert abs(cosine(clip_by_norm(g, 1.0), g) - 1.0) <= 4 * EPS


@pytest.mark.proves("CLIP-3")
@given(
    seed=SEEDS,
    n=st.integers(1, 6),
    scale=LOG_SCALES,
    tau=TAUS,
    ties=st.booleans(),
    zeros=st.booleans(),
)
def test_value_clipping_keeps_the_direction_exactly_when_the_criterion_holds(
    seed, n, scale, tau, ties, zeros
):
    """The direction of clip_v(g) equals g's iff no coordinate is clipped, or every nonzero
    coordinate is clipped and all nonzero |g_i| are equal. Proof via the 2×2 minors
    m_ij = v_i g_j − v_j g_i: ‖v∧g‖² = Σ m_ij² = ‖v‖²‖g‖² sin²θ, and m_ij ≠ 0 exactly when a
    clipped i meets an unclipped nonzero j, or two clipped |g| differ. Where the criterion
    fails the draw must give sinθ ≥ 1e-5, so 1 − cos ≥ sin²/2 = 5e-11 ≫ rounding (≈ n eps);
    where it holds, 1 − cos ≤ 8n eps. ``ties``/``zeros`` make equal magnitudes and zero
    coordinates likely."""
    rng = np.random.default_rng(seed)
    g = scale * rng.standard_normal(n)
    if ties:
        g = np.abs(g[0]) * rng.choice([-1.0, 1.0], n)
    if zeros:
        g[rng.random(n) < 0.4] = 0.0
    assume(np.any(g != 0))
    v = clip_by_value(g, tau)
    clipped = np.abs(g) > tau
    nz = g != 0
    keeps = not clipped.any() or (np.all(clipped[nz]) and np.all(np.abs(g[nz]) == np.abs(g[nz][0])))
    one_minus_cos = 1.0 - cosine(v, g)
    event(f"direction kept: {bool(keeps)}")
    if keeps:
        assert one_minus_cos <= 8 * n * EPS
    else:
        m = np.outer(v, g) - np.outer(g, v)
        sin = np.sqrt(np.sum(np.triu(m, 1) ** 2)) / (np.linalg.norm(v) * np.linalg.norm(g))
        assume(sin >= 1e-5)
        assert one_minus_cos >= 1e-12


@pytest.mark.proves("CLIP-3", "PLOT-E")
@given(seed=SEEDS, tau=TAUS, scale=LOG_SCALES)
def test_in_two_dimensions_norm_clipping_lands_on_the_disc_and_value_clipping_on_the_square(
    seed, tau, scale
):
    """PLOT-E's geometry: clip_n(g) is on the circle of radius τ (for ‖g‖ > τ) and no point of
    the disc is nearer; clip_v(g) is in the square [−τ, τ]² and no point of the square is
    nearer (it is the ∞-ball projection); random probe points, slack 4 eps·(‖g‖ + τ)."""
    rng = np.random.default_rng(seed)
    g = scale * rng.standard_normal(2)
    probes = tau * rng.uniform(-1, 1, (32, 2))
    slack = 4 * EPS * (np.linalg.norm(g) + tau)
    v = clip_by_value(g, tau)
    assert np.all(np.abs(v) <= tau)
    assert np.all(np.linalg.norm(g - v) <= np.linalg.norm(g - probes, axis=1) + slack)
    c = clip_by_norm(g, tau)
    disc = probes[np.linalg.norm(probes, axis=1) <= tau]
    assert np.all(np.linalg.norm(g - c) <= np.linalg.norm(g - disc, axis=1) + slack)
    if np.linalg.norm(g) > tau:
        assert abs(np.linalg.norm(c) - tau) <= REL * tau


@pytest.mark.proves("PLOT-E")
@given(seed=SEEDS, M=st.integers(1, 20), n=st.integers(1, 3), tau=TAUS, scale=LOG_SCALES)
def test_row_wise_clipping_for_the_figure_is_the_one_gradient_clip_per_row(seed, M, n, tau, scale):
    """PLOT-E draws `clip_rows`: row m equals clip_by_norm / clip_by_value of that row alone
    (value clipping bit for bit; norm clipping to 4 eps relative — the row norm is the same
    sum of ≤ 3 squares, possibly in another order), zero rows included."""
    rng = np.random.default_rng(seed)
    P = scale * rng.standard_normal((M, n))
    P[rng.random(M) < 0.1] = 0.0
    by_norm, by_value = clip_rows(P, tau)
    for m in range(M):
        assert np.array_equal(by_value[m], clip_by_value(P[m], tau))
        want = clip_by_norm(P[m], tau)
        assert np.all(np.abs(by_norm[m] - want) <= 4 * EPS * np.abs(want))


# ---------------------------------------------------------------------------------------------
# CLIP-4 / ERR-6: what clipping does not do
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("CLIP-4", "ERR-6")
def test_an_infinite_gradient_clips_to_nan_and_an_overflowing_norm_to_silent_zeros():
    """ERR-6 (a): "梯度爆炸不是问题,做个梯度裁剪就行了" — Pascanu's Algorithm 1, literally:
    [1, inf, 2] → c = τ/inf = 0 → [0, nan, 0]; entries 1e200 (norm 1.7e200, representable)
    → Σg² overflows → norm inf → the update is all zeros, silently. np.linalg.norm overflows
    the same way. The overflow-free norm gives 1.7e200 and the robust clip the right vector,
    and it refuses the inf gradient instead of returning NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = clip_by_norm(np.array([1.0, np.inf, 2.0]), 1.0)
        assert out[0] == 0.0
        assert np.isnan(out[1])
        assert out[2] == 0.0
        big = [np.full(3, 1e200)]
        assert global_norm(big) == np.inf
        assert np.linalg.norm(big[0]) == np.inf
        assert np.all(clip_by_norm(big, 1.0)[0] == 0.0)
    assert abs(global_norm_scaled(big) - np.sqrt(3) * 1e200) <= 4 * EPS * 1.8e200
    robust = clip_by_norm_robust(big, 1.0)[0]
    assert np.allclose(robust, 1 / np.sqrt(3), rtol=4 * EPS, atol=0)
    with pytest.raises(FloatingPointError, match="non-finite"):
        clip_by_norm_robust([np.array([1.0, np.inf, 2.0])], 1.0)


@pytest.mark.proves("CLIP-4")
@given(g=grads(scale=st.floats(100.0, 300.0).map(lambda e: 10.0**e)), tau=TAUS)
def test_the_scaled_norm_clips_huge_finite_gradients_that_the_naive_norm_zeroes(g, tau):
    """For entries up to 1e300 the naive Σg² overflows (→ zeros) whenever ‖g‖² > 1.8e308, the
    scaled norm is exact to a few ulps and the robust clip has norm τ (rel 1e-12)."""
    with np.errstate(over="ignore"):
        naive = global_norm(g)
    fine = global_norm_scaled(g)
    assert np.isfinite(fine)
    if not np.isfinite(naive):
        with np.errstate(over="ignore", invalid="ignore"):
            assert all(np.all(t == 0) for t in clip_by_norm(g, tau))
    assert abs(norm_scaled_reference(g) - fine) <= REL * fine
    assert abs(global_norm_scaled(clip_by_norm_robust(g, tau)) - tau) <= REL * tau


def norm_scaled_reference(g):
    """An independent overflow-free norm: scale by a power of two (exact), then np.linalg."""
    m = max(np.abs(t).max() for t in g)
    k = np.floor(np.log2(m))
    return float(np.ldexp(np.linalg.norm(np.ldexp(flat(g), -int(k))), int(k)))


@pytest.mark.proves("CLIP-4", "ERR-6")
@given(seed=SEEDS, n=st.integers(2, 8), K=st.floats(0.0, 8.0).map(lambda e: 10.0**e), tau=TAUS)
@example(seed=0, n=2, K=1.0, tau=1.0).via("K = 1: cos = 1/√2")
def test_clipping_cannot_restore_the_share_of_the_short_term_component(seed, n, K, tau):
    """ERR-6 (b): g = g_s + g_ℓ, g_ℓ ⊥ g_s, ‖g_ℓ‖ = K‖g_s‖: cos∠(clip(g), g_s) = 1/√(1+K²)
    whatever τ — clipping rescales, the long-range part still dominates. Gram–Schmidt twice
    leaves |⟨g_ℓ, ĝ_s⟩| ≲ n·eps‖g_ℓ‖, which moves the cosine by ≲ n·eps·K/√(1+K²); relative to
    1/√(1+K²) that is n·eps·K, hence the tolerance 4n·eps·(1 + K) + REL."""
    rng = np.random.default_rng(seed)
    g_s = rng.standard_normal(n)
    u = rng.standard_normal(n)
    for _ in range(2):
        u -= (u @ g_s) / (g_s @ g_s) * g_s
    assume(np.linalg.norm(u) > 1e-3 * np.linalg.norm(g_s))
    g_l = K * np.linalg.norm(g_s) * u / np.linalg.norm(u)
    got = cosine(clip_by_norm(g_s + g_l, tau), g_s)
    want = dominated_cosine(K)
    assert abs(got - want) <= (4 * n * EPS * (1 + K) + REL) * want


@pytest.mark.proves("CLIP-4")
@given(g=grads(), tau=TAUS)
def test_clipping_never_enlarges_a_gradient(g, tau):
    """(c) ‖clip(g)‖ ≤ ‖g‖: a vanishing gradient stays vanishing (c ≤ 1 exactly, and
    multiplying by c ≤ 1 cannot increase any |entry| under monotone rounding)."""
    out = clip_by_norm(g, tau)
    assert clip_factor(global_norm(g), tau) <= 1.0
    assert all(np.all(np.abs(o) <= np.abs(t)) for t, o in zip(g, out, strict=True))
