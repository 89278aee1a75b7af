"""GRU-1 … GRU-7, ERR-18, ERR-19, PLOT-A: the four GRU variants, their Jacobians and bounds.

The variant (the article's / Cho's convention × reset before / after the recurrent matmul) is
drawn with the sizes, scales, spectral norm and seed; every backward and Jacobian is judged by
the checker against finite differences, and the article's literal readings are shown rejected.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from scipy.special import expit

import gradcheck
from lstm_gradients.proofs.kit import (
    EPS,
    EXPENSIVE,
    SEEDS,
    GRUProblem,
    assert_pass,
    differs,
    gru_problems,
    make_gru,
    tiny_gru,
)
from lstm_gradients.specs import gru, lstm, spec
from lstm_gradients.specs.gru import (
    coupled_cell_update,
    direct_path,
    frozen_step,
    gate_bound,
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    jacobian_norms_by_lag,
    multi_step_bound,
    negate_update_gate,
    parameter_counts,
    state_jacobian,
    step_jacobian,
)

STEP_NAMES = ("x", "h_prev", "W_x", "W_h", "b_x", "b_h")
SEQ_NAMES = ("x", "h_0", "W_x", "W_h", "b_x", "b_h")


# ---------------------------------------------------------------------------------------------
# GRU-1 / GRU-7: backward passes against finite differences, all four variants
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("GRU-1", "GRU-3", "GRU-5")
@given(p=gru_problems(N=(1, 2), T=(1, 1)), seed=SEEDS)
@example(p=tiny_gru(), seed=0).via("all dims 1, article convention")
@example(p=tiny_gru(variant=("cho", "after")), seed=0).via("all dims 1, PyTorch's variant")
@EXPENSIVE
def test_step_backward_matches_finite_differences_for_every_variant(p, seed):
    assume(p.moderate)
    step = p.spec("step")
    args = (p.x[:, 0], p.h_0, *p.params)
    res = gradcheck.check_vjp(step.forward, gru_step_backward, args, seed=seed, names=STEP_NAMES)
    assert_pass(res)


@pytest.mark.proves("GRU-7", "GRU-3")
@given(p=gru_problems(N=(1, 2), T=(1, 4), D=(1, 2), H=(1, 3)), seed=SEEDS)
@example(p=tiny_gru(), seed=0).via("all dims 1, T = 1")
@example(p=tiny_gru(T=5, H=2, D=2, variant=("cho", "after")), seed=1).via("T = 5, PyTorch's")
@EXPENSIVE
def test_sequence_backward_matches_finite_differences_including_h0(p, seed):
    """BPTT, every parameter tensor and h_0 (GRU-7); the carry is J_tᵀ (GRU-3). Sizes small
    (H <= 3, T <= 4, D <= 2; T = 5 in the example): FD costs 4 forward passes per entry."""
    assume(p.moderate)
    res = gradcheck.check_vjp(
        p.spec("sequence").forward, gru_backward, p.args, seed=seed, names=SEQ_NAMES
    )
    assert_pass(res)


@pytest.mark.proves("GRU-1")
@given(p=gru_problems(T=(1, 6)), seed=SEEDS)
def test_reset_before_and_after_coincide_when_the_reset_gate_is_one(p, seed):
    """GRU-1's variant note: with r ≡ 1 (W_r = 0, b_r = 40, so σ(40) rounds to exactly 1.0)
    both placements compute x W_xn + b_xn + h W_hn + b_hn, summed in different orders. One
    step at a time from the same h_{t−1}: each candidate pre-activation differs by at most
    3ε·Σ|terms| (one re-association of the sum, Higham Thm 3.5 to first order); tanh and the
    convex update are 1-Lipschitz and round identically, + 4ε for their own roundings."""
    H = p.H
    W_x, W_h, b_x, b_h = (a.copy() for a in p.params)
    W_x[:, H : 2 * H] = 0.0
    W_h[:, H : 2 * H] = 0.0
    b_x[H : 2 * H], b_h[H : 2 * H] = 40.0, 0.0
    hs = gru_forward(p.x, p.h_0, W_x, W_h, b_x, b_h, convention=p.convention)[0]
    prev = np.concatenate([p.h_0[:, None], hs[:, :-1]], axis=1)
    for t in range(p.x.shape[1]):
        args = (p.x[:, t], prev[:, t], W_x, W_h, b_x, b_h)
        before = gru_step_forward(*args, convention=p.convention, reset="before")[0]
        after = gru_step_forward(*args, convention=p.convention, reset="after")[0]
        mag = (
            np.abs(p.x[:, t]) @ np.abs(W_x)
            + np.abs(prev[:, t]) @ np.abs(W_h)
            + np.abs(b_x)
            + np.abs(b_h)
        )[:, 2 * H :]
        assert np.all(np.abs(before - after) <= 3 * EPS * mag + 4 * EPS)


# ---------------------------------------------------------------------------------------------
# GRU-2 / GRU-3 / ERR-18: the direct path and the full Jacobian
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("GRU-2", "ERR-18")
@given(p=gru_problems(N=(1, 1), T=(1, 1), H=(1, 6)))
@example(p=tiny_gru()).via("all dims 1")
def test_detached_skip_edge_is_diag_one_minus_z_in_the_articles_convention(p):
    """∂⁺h_t/∂h_{t−1} with z_t, h̃_t frozen: diag(1 − z_t) (article), diag(z_t) (Cho), by FD
    of the frozen function; the article's (1 − z_t) read in Cho's convention is rejected
    whenever z is not ≈ ½ (ERR-18)."""
    h = p.h_0[0]
    P = gru._parts(p.x[0, 0], h, *p.params, p.reset)
    z, n = P["z"], P["n"]
    res = gradcheck.check_jacobian(
        lambda hh: frozen_step(hh, z, n, p.convention), lambda hh: direct_path(z, p.convention), h
    )
    assert_pass(res)
    if p.convention == "cho":
        assume(np.max(np.abs(1 - 2 * z)) > 1e-3)
        wrong = gradcheck.check_jacobian(
            lambda hh: frozen_step(hh, z, n, "cho"), lambda hh: direct_path(z, "article"), h
        )
        assert wrong.status == "fail", str(wrong)


@pytest.mark.proves("GRU-3", "ERR-18")
@given(p=gru_problems(N=(1, 1), T=(1, 1), H=(1, 5)))
@example(p=tiny_gru()).via("all dims 1")
@example(p=tiny_gru(H=2, variant=("cho", "after"))).via("PyTorch's variant")
def test_step_jacobian_matches_finite_differences_for_every_variant(p):
    """J_t = ∂h_t/∂h_{t−1} including the z, h̃ and r paths (the "…" of the article)."""
    assume(p.moderate)
    x = p.x[0, 0]

    def step(h):
        return gru_step_forward(x[None], h[None], *p.params, **p.variant)[0][0]

    res = gradcheck.check_jacobian(
        step,
        lambda h: step_jacobian(x, h, *p.params, **p.variant),
        p.h_0[0],
        ulps=cancellation_ulps(x, p.h_0[0], p),
    )
    assert_pass(res)


def cancellation_ulps(xs: np.ndarray, h: np.ndarray, p: GRUProblem) -> float:
    """The checker's ``ulps`` for ``h ↦ h_t`` (the steps' inputs ``xs``, (D,) or (T, D)) where
    an output cancels.

    The checker bounds output o's rounding by ulps·ε·|h_t,o|, but a step
    h_s = u⊙h_{s−1} + (1−u)⊙ñ_s rounds like its terms: the products and the sum add
    ≤ 2ε(|u h_{s−1}| + |(1−u) ñ_s|), and u's own error (a few ε, from σ) enters as
    |h_{s−1} − ñ_s|·δu, so the noise is a small multiple of ε·(|h_{s−1}| + |ñ_s|), which an
    output that cancels to near 0 does not bound (seen: h_t,o = −3.5e-4 from terms ≈ 0.35, a
    noise of 2 000 ulps of h_t,o, reported as "not smooth": a false inconclusive, 1 draw in
    several thousand). So the default 32 ulps are scaled by the worst cancellation
    κ = Σ_s max(|h_{s−1}| + |ñ_s|) / min_o |h_t,o| (≥ 1): earlier steps' noise reaches h_t
    through J_{t←s}, whose entries are O(1) on these moderate draws, hence the sum over
    steps. The allowed rounding grows only where the spec's own rounding does."""
    scale, ht = 0.0, h
    for x in np.atleast_2d(xs):
        n = gru._parts(x, ht, *p.params, p.reset)["n"]
        scale += float(np.max(np.abs(ht) + np.abs(n)))
        ht = gru_step_forward(x[None], ht[None], *p.params, **p.variant)[0][0]
    kappa = scale / max(float(np.min(np.abs(ht))), np.finfo(float).tiny)
    return 32.0 * max(kappa, 1.0)


@pytest.mark.proves("GRU-2", "GRU-3", "ERR-18")
@given(p=gru_problems(N=(1, 1), T=(1, 1), H=(1, 5), rho=(0.5, 2.0)))
def test_direct_path_alone_is_not_the_step_jacobian(p):
    """Negative control (ERR-18): "那一串省略号我们还是不管" — the direct path diag(1 − z) is
    not ∂h_t/∂h_{t−1}; the checker rejects it whenever the dropped terms are resolvable."""
    assume(p.moderate)
    x = p.x[0, 0]
    h = p.h_0[0]
    z = gru._parts(x, h, *p.params, p.reset)["z"]
    assume(differs(direct_path(z, p.convention), step_jacobian(x, h, *p.params, **p.variant)))

    def step(hh):
        return gru_step_forward(x[None], hh[None], *p.params, **p.variant)[0][0]

    def direct(hh):
        return direct_path(gru._parts(x, hh, *p.params, p.reset)["z"], p.convention)

    res = gradcheck.check_jacobian(step, direct, h)
    assert res.status == "fail", str(res)


@pytest.mark.proves("GRU-3")
@given(p=gru_problems(N=(1, 1), T=(1, 6), H=(1, 4)), data=st.data())
@example(p=tiny_gru(T=4, H=2), data=None).via("whole sequence")
def test_ordered_product_of_step_jacobians_is_the_multi_step_jacobian(p, data):
    """h is the GRU's Markov state: ∂h_t/∂h_k = J_t ⋯ J_{k+1}, against FD of h_k ↦ h_t."""
    assume(p.moderate)
    T = p.x.shape[1]
    t = T if data is None else data.draw(st.integers(1, T), label="t")
    k = 0 if data is None else data.draw(st.integers(0, t), label="k")
    x = p.x[0]

    def run(h):
        if t == k:
            return h.copy()
        return gru_forward(x[None, k:t], h[None], *p.params, **p.variant)[0][0, -1]

    def jac(h):
        return state_jacobian(x[k:t], h, *p.params, t - k, 0, **p.variant)

    h_k = p.states()[k]
    assert_pass(gradcheck.check_jacobian(run, jac, h_k, ulps=cancellation_ulps(x[k:t], h_k, p)))


# ---------------------------------------------------------------------------------------------
# GRU-4: the gate controls the gradient
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("GRU-4")
@given(
    p=gru_problems(
        N=(1, 1),
        T=(1, 10),
        H=(1, 5),
        rho=(0.1, 3.0),
        b_z=(-20.0, 0.0),
        variants=(("article", "before"), ("article", "after")),
    )
)
@example(p=make_gru(0, np.ones((1, 3)), T=3, b_z=-20.0)).via("b_z = −20, H = 1")
def test_distance_of_the_jacobian_from_identity_is_bounded_by_the_update_gate(p):
    """||J_t − I||_2 <= κ_t = ζ[1 + 2||U_z|| + ||U_h||(1 + ¼||U_r||)] (reset after: the last
    factor is ||U_n|| + ¼||q||_∞||U_r||) when ||h_{t−1}||_∞ <= 1, and over several steps
    ||∂h_t/∂h_k − I|| <= ∏(1 + κ_j) − 1. The analytic J (checked against FD above) is used,
    so saturated draws (b_z down to −20) are valid. Bound slack 1e-10 relative: the norms
    are computed to a few ε, far below it."""
    x = p.x[0]
    hs = p.states()
    T = x.shape[0]
    eye = np.eye(p.H)
    kappas = np.empty(T)
    for j in range(T):
        J = step_jacobian(x[j], hs[j], *p.params, **p.variant)
        kappas[j] = gate_bound(x[j], hs[j], *p.params, **p.variant)
        assert np.linalg.norm(J - eye, 2) <= kappas[j] * (1 + 1e-10) + 4 * EPS
    P = state_jacobian(x, hs[0], *p.params, T, 0, **p.variant)
    assert np.linalg.norm(P - eye, 2) <= multi_step_bound(kappas) * (1 + 1e-10) + 4 * T * EPS


@pytest.mark.proves("GRU-4", "ERR-18")
@given(b_z=st.floats(-20.0, -2.0), H=st.integers(1, 4), seed=SEEDS)
@example(b_z=-20.0, H=2, seed=0).via("verified ||J − I|| = 1.5e-8 at b_z = −20")
def test_jacobian_tends_to_identity_as_z_goes_to_zero(b_z, H, seed):
    """As b_z → −∞ (z → 0 in the article's convention) J_t → I: κ_t → 0 like σ(b_z + O(1)).
    Witness: with the update gate's weights zero, z = σ(b_z) exactly, and κ_t is at most
    z(…) with z ≈ e^{b_z}; at b_z = −20 both are below 1e-6 (the inventory saw 1.5e-8)."""
    rng = np.random.default_rng(seed)
    W_h = rng.standard_normal((H, 3 * H))
    W_h[:, :H] = 0.0
    p = make_gru(seed, W_h, T=1, D=2, b_z=0.0)
    p.W_x[:, :H] = 0.0
    p.b_x[:H], p.b_h[:H] = b_z, 0.0
    x, h = p.x[0, 0], p.h_0[0]
    J = step_jacobian(x, h, *p.params, **p.variant)
    kappa = gate_bound(x, h, *p.params, **p.variant)
    z = 1 / (1 + np.exp(-b_z))
    dist = np.linalg.norm(J - np.eye(H), 2)
    assert dist <= kappa * (1 + 1e-10)
    scale = (
        1
        + 2 * np.linalg.norm(W_h[:, :H].T, 2)
        + np.linalg.norm(W_h[:, 2 * H :].T, 2) * (1 + 0.25 * np.linalg.norm(W_h[:, H : 2 * H].T, 2))
    )
    assert kappa <= z * scale * (1 + 1e-12)
    if b_z == -20.0:
        assert dist < 1e-6


# ---------------------------------------------------------------------------------------------
# GRU-5 / ERR-18: the two conventions are one GRU with the update gate negated
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("GRU-5", "ERR-18")
@given(p=gru_problems(T=(1, 8), variants=(("article", "before"), ("article", "after"))))
@example(p=tiny_gru()).via("all dims 1")
def test_negating_the_update_gate_maps_the_article_convention_onto_chos(p):
    """Cho's GRU with (−W_z, −U_z, −b_z) is the article's GRU: per step from the same h_{t−1}
    the outputs differ only by the rounding of 1 − σ(a) against σ(−a) (<= ε each) and of
    the update's two products and sum: |Δh| <= 4ε(|h_{t−1}| + |h̃|). The direct paths switch
    between diag(z) and diag(1 − z); the backward passes agree with the z-blocks negated."""
    neg = negate_update_gate(*p.params)
    hs = gru_forward(p.x, p.h_0, *p.params, **p.variant)[0]
    prev = np.concatenate([p.h_0[:, None], hs[:, :-1]], axis=1)
    H = p.H
    for t in range(p.x.shape[1]):
        art, cache = gru_step_forward(p.x[:, t], prev[:, t], *p.params, **p.variant)
        cho, cache_c = gru_step_forward(
            p.x[:, t], prev[:, t], *neg, convention="cho", reset=p.reset
        )
        n = cache.n
        assert np.all(np.abs(art - cho) <= 4 * EPS * (np.abs(prev[:, t]) + np.abs(n)))
        assert np.all(np.abs(cache.z - (1 - cache_c.z)) <= EPS)
        dh = np.random.default_rng(p.seed).standard_normal(art.shape)
        g_art = gru_step_backward(dh, cache)
        g_cho = gru_step_backward(dh, cache_c)
        # The caches agree except u (1 − z against σ(−a), <= ε apart, absolute): every
        # gradient entry is a sum of at most N·3H products, each linear in u or z(1 − z) with
        # its other factors bounded by `scale`, so the gap is <= 4ε·N·3H·scale.
        N = dh.shape[0]
        scale = (
            np.abs(dh).max()
            * (1 + np.abs(prev[:, t]).max() + np.abs(n).max())
            * max(1.0, np.abs(p.x[:, t]).max(), np.abs(p.W_h).max(), np.abs(p.W_x).max())
        )
        for k, (ga, gc) in enumerate(zip(g_art, g_cho, strict=True)):
            gc = gc.copy()
            if k >= 2:  # W_x, W_h, b_x, b_h: the z-block flips sign
                gc[..., :H] *= -1
            assert np.all(np.abs(ga - gc) <= 4 * EPS * N * 3 * H * scale)
    z = np.random.default_rng(p.seed).uniform(0, 1, H)
    assert np.array_equal(direct_path(1 - z, "cho"), direct_path(z, "article"))


# ---------------------------------------------------------------------------------------------
# GRU-6 / ERR-19: a coupled-gate LSTM cell update, and what else the GRU changes
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("GRU-6", "ERR-19")
@given(p=gru_problems(T=(1, 10), variants=(("article", "before"), ("article", "after"))))
@example(p=tiny_gru()).via("all dims 1")
def test_gru_update_is_an_lstm_cell_update_with_coupled_gates(p):
    """h_t = f ⊙ h_{t−1} + i ⊙ g with f = 1 − z, i = z, g = h̃ (CIFG, c ≡ h). Rounding: the
    GRU computes 1 − (1 − z) where the cell uses z (<= ε apart) and the same two products
    and sum: |Δ| <= 4ε(|h_{t−1}| + |h̃|). Convexity: ||h_t||_∞ <= max(||h_{t−1}||_∞,
    ||h̃||_∞)(1 + 2ε) (two products, one sum, each rounding once)."""
    hs = gru_forward(p.x, p.h_0, *p.params, **p.variant)[0]
    prev = np.concatenate([p.h_0[:, None], hs[:, :-1]], axis=1)
    for t in range(p.x.shape[1]):
        h, cache = gru_step_forward(p.x[:, t], prev[:, t], *p.params, **p.variant)
        z, n = cache.z, cache.n
        cell = coupled_cell_update(prev[:, t], z, n)
        assert np.all(np.abs(h - cell) <= 4 * EPS * (np.abs(prev[:, t]) + np.abs(n)))
        bound = np.maximum(np.abs(prev[:, t]).max(1), np.abs(n).max(1))
        assert np.all(np.abs(h).max(1) <= bound * (1 + 2 * EPS))


@pytest.mark.proves("GRU-6", "ERR-19")
@given(T=st.integers(2, 30), H=st.integers(1, 4), D=st.integers(1, 4))
def test_the_gru_is_more_than_merged_gates(T, H, D):
    """ERR-19: "把LSTM的input gate和forget gate整合成一个update gate" leaves out that the GRU
    merges c and h and drops the output gate and tanh. Executable consequences: (1) the
    parameter count is 3 blocks, not 4 (one fewer, not two: the reset gate takes a block
    back), read off the registry's shapes; (2) an LSTM cell with f, i, g near 1 grows like t
    (c_T > T(1 − 1e-3), LSTM-2's witness) while the GRU driven as hard stays in (−1, 1)."""
    shapes_l = spec("lstm.step").arg_shapes(N=1, D=D, H=H)[3:]
    # W_x, W_h, b_x (one bias)
    shapes_g = spec("gru.step[article,reset_before]").arg_shapes(N=1, D=D, H=H)[2:5]
    counts = parameter_counts(D, H)
    assert counts["lstm"] == sum(int(np.prod(s)) for s in shapes_l)
    assert counts["gru"] == sum(int(np.prod(s)) for s in shapes_g)
    assert 4 * counts["gru"] == 3 * counts["lstm"]
    zeros = np.zeros
    b = zeros(4 * H)
    b[: 2 * H] = b[3 * H :] = 12.0
    (_, c), _ = lstm.lstm_forward(
        zeros((1, T, 1)), zeros((1, H)), zeros((1, H)), zeros((1, 4 * H)), zeros((H, 4 * H)), b
    )
    assert np.all(c[0, -1] > T * (1 - 1e-3))
    assert np.all(c[0, -1] > 1)
    b_x = np.full(3 * H, 12.0)
    h = gru_forward(
        zeros((1, T, 1)), zeros((1, H)), zeros((1, 3 * H)), zeros((H, 3 * H)), b_x, zeros(3 * H)
    )[0]
    assert np.all(np.abs(h) < 1)


# ---------------------------------------------------------------------------------------------
# GRU-7: state bound
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("GRU-7")
@given(
    p=gru_problems(N=(1, 3), T=(1, 50), H=(1, 5), rho=(0.1, 3.0), b_z=(-5.0, 5.0)),
    x_scale=st.floats(0.1, 3.0),
    h_edge=st.booleans(),
)
@example(p=tiny_gru(T=50), x_scale=3.0, h_edge=True).via("50 steps, |h_0| = 1")
def test_hidden_state_stays_in_the_open_unit_cube(p, x_scale, h_edge):
    """||h_0||_∞ <= 1 ⟹ ||h_t||_∞ < 1 for t >= 1: h_t is a convex combination of h_{t−1}
    and h̃ ∈ (−1, 1) with both weights in (0, 1), so |h_t| <= 1 − min(z, 1 − z)(1 − |h̃|).
    For the strict inequality to survive float64 that margin must beat the update's
    rounding (3 roundings of O(1) numbers, <= 4ε): with every pre-activation below 8 in size,
    min(z, 1 − z) >= σ(−8) = 3.4e-4 and 1 − |h̃| >= 1 − tanh 8 = 2.3e-7, margin >= 7e-11 ≫ 4ε.
    (At |a| ~ 15 the margin is ~6e-20 and float64 may round h_t to exactly ±1; the claim is
    about real arithmetic.) h_0 is drawn on the edge |h_0| = 1 too (h_edge)."""
    h_0 = np.sign(p.h_0) if h_edge else p.h_0
    h_0 = np.where(h_0 == 0, 1.0, h_0)
    x = p.x * x_scale
    hs = gru_forward(x, h_0, *p.params, **p.variant)[0]
    prev = np.concatenate([h_0[:, None], hs[:, :-1]], axis=1)
    xa, ha = x @ p.W_x + p.b_x, prev @ p.W_h + p.b_h
    r = expit((xa + ha)[..., p.H : 2 * p.H])
    a_n = xa[..., 2 * p.H :] + (
        (r * prev) @ p.W_h[:, 2 * p.H :] + p.b_h[2 * p.H :]
        if p.reset == "before"
        else r * ha[..., 2 * p.H :]
    )
    assume(max(np.abs(xa + ha)[..., : 2 * p.H].max(), np.abs(a_n).max()) < 8.0)
    assert np.all(np.abs(hs) < 1)


# ---------------------------------------------------------------------------------------------
# PLOT-A (GRU curves)
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("PLOT-A", "GRU-3")
@given(p=gru_problems(N=(1, 1), T=(1, 10), H=(1, 4), b_z=(-5.0, 0.0)))
@example(p=tiny_gru(T=5, H=2)).via("W_h blocks = rho I")
def test_plot_a_curve_is_the_norm_of_the_jacobian_products(p):
    """jacobian_norms_by_lag[L] = ||∂h_t/∂h_{t−L}||_2 (by `state_jacobian`) for every lag;
    the products are associated differently (left-to-right against right-to-left), so they
    agree to 4HLε relative."""
    x = p.x[0]
    T = x.shape[0]
    curve = jacobian_norms_by_lag(x, p.h_0[0], *p.params, **p.variant)
    assert curve.shape == (T + 1,)
    assert curve[0] == 1.0
    for L in range(1, T + 1):
        ref = np.linalg.norm(state_jacobian(x, p.h_0[0], *p.params, T, T - L, **p.variant), 2)
        assert abs(curve[L] - ref) <= 4 * p.H * L * EPS * max(ref, 1.0)
