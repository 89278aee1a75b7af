"""MLP-8, MLP-9, ACT-5, ACT-6, OPT-1; ERR-5, ERR-8; PLOT-B: gains, depth, descent.

Bounds are asserted as ``lhs <= rhs * SLACK`` (the kit's 1 + 1e-10): both sides are computed
with at most ~(width + depth + 10) roundings of relative size eps, i.e. ≲ 1e-13 relative, so
1e-10 leaves three orders of margin and still fails on any real violation (which would be
O(1)).
Sharpness is shown on constructed equality cases.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import gradcheck
from gradcheck.strategies import spectral_matrices
from lstm_gradients.proofs.kit import EPS, SEEDS, SLACK
from lstm_gradients.specs import spec
from lstm_gradients.specs.activations import IDENTITY, RELU, SIGMOID, sigmoid
from lstm_gradients.specs.mlp import (
    backprop_deltas,
    deep_backward,
    deep_forward,
    delta_profile,
    first_order_ratio,
    hidden_delta,
    layer_gain_bound,
    mlp_loss_backward,
    mlp_loss_forward,
    xor_network,
)

DEEP_SIGMOID = spec("mlp.deep_sigmoid")


def top_right_singular_vector(W):
    """v₁ of W as a map R^l → R^q acting on columns (W @ v₁ = σ₁ u₁)."""
    return np.linalg.svd(W)[2][0]


# ---------------------------------------------------------------------------------------------
# MLP-8 / ERR-5: one sigmoid layer
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("MLP-8", "ERR-5")
@given(
    seed=SEEDS,
    q=st.integers(1, 6),
    l=st.integers(1, 6),
    w=st.floats(0.1, 20.0),
    a=st.floats(0.0, 20.0),
)
@example(seed=0, q=1, l=1, w=1.0, a=0.0).via("one unit, centred")
def test_one_sigmoid_layer_has_gain_at_most_a_quarter_of_the_spectral_norm(seed, q, l, w, a):  # noqa: E741
    """‖e‖ ≤ ¼‖W‖₂‖g‖ for an arbitrary upstream g (e = D W g, 0 ≺ D ⪯ ¼I), and elementwise
    |e_h| ≤ ¼ Σ_j |w_hj||g_j| (the article's e_h with b_h(1−b_h) ≤ ¼)."""
    rng = np.random.default_rng(seed)
    W = w * rng.standard_normal((q, l))
    g = rng.standard_normal(l)
    a_h = a * rng.standard_normal(q)
    e = hidden_delta(g, W, a_h)
    assert np.linalg.norm(e) <= layer_gain_bound(W, g) * SLACK
    assert np.all(np.abs(e) <= 0.25 * (np.abs(W) @ np.abs(g)) * SLACK)


@st.composite
def layer_weights(draw):
    """W (q, l) with a drawn spectral norm ρ ∈ [0.1, 20] (U diag(s) Vᵀ, s₁ = ρ)."""
    q, l = draw(st.integers(1, 6)), draw(st.integers(1, 6))  # noqa: E741
    return draw(spectral_matrices((q, l), rho=st.floats(0.1, 20.0)))


@pytest.mark.proves("MLP-8", "ERR-5")
@given(W=layer_weights())
def test_the_layer_bound_is_attained_with_centred_units_and_the_top_singular_vector(W):
    """Sharpness: α − γ = 0 (b = ½, σ' = ¼) and g = v₁ give ‖e‖ = ¼σ₁ exactly in real
    arithmetic; computed, e = ¼·W v₁ carries ~(l+2) eps relative error and the SVD is
    backward stable (~eps‖W‖), so 1e-12 relative is 3 orders above rounding. ERR-5: the
    gain ‖e‖/‖g‖ = ‖W‖₂/4 exceeds 1 iff ‖W‖₂ > 4 — large weights alone do not explode."""
    q, _ = W.shape
    g = top_right_singular_vector(W)
    e = hidden_delta(g, W, np.zeros(q))
    rho = np.linalg.norm(W, 2)
    gain = np.linalg.norm(e) / np.linalg.norm(g)
    assert abs(gain - rho / 4) <= 1e-12 * rho
    if abs(rho - 4) > 1e-9:  # away from the break-even point, the rounding cannot flip it
        assert (gain > 1) == (rho > 4)


@pytest.mark.proves("ERR-5")
@given(seed=SEEDS, q=st.integers(1, 6), rho=st.floats(4.5, 1e3), a=st.floats(20.0, 30.0))
def test_large_weights_do_not_explode_through_saturated_units(seed, q, rho, a):
    """ERR-5: "w_{hj} … 造成梯度爆炸的主要原因" needs the units unsaturated: with |α−γ| ≥ 20,
    σ' ≤ e^{-20} ≈ 2e-9, so even ‖W‖₂ = 1000 gives a gain ≤ 1000·2e-9 < 1e-5."""
    rng = np.random.default_rng(seed)
    W = rho * np.linalg.qr(rng.standard_normal((q, q)))[0]
    g = rng.standard_normal(q)
    e = hidden_delta(g, W, a * np.sign(rng.standard_normal(q)))
    assert np.linalg.norm(e) <= rho * np.exp(-a) * np.linalg.norm(g) * SLACK
    assert np.linalg.norm(e) < 1e-5 * np.linalg.norm(g)


# ---------------------------------------------------------------------------------------------
# MLP-9, ACT-5, ERR-8, PLOT-B: deep nets
# ---------------------------------------------------------------------------------------------


@st.composite
def deep_nets(draw, w_scale=(0.1, 5.0)):
    """L ∈ [1, 8], widths ∈ [1, 6], weight scale, x ~ N(0, 4), upstream ∇_{h_L}E ~ N(0, 1)."""
    rng = np.random.default_rng(draw(SEEDS))
    L = draw(st.integers(1, 8))
    n = [draw(st.integers(1, 6)) for _ in range(L + 1)]
    s = draw(st.floats(*w_scale))
    Ws = [s * rng.standard_normal((n[k], n[k + 1])) / np.sqrt(n[k]) for k in range(L)]
    bs = [rng.standard_normal(n[k + 1]) for k in range(L)]
    return 2.0 * rng.standard_normal(n[0]), Ws, bs, rng.standard_normal(n[L])


@pytest.mark.proves("MLP-9", "PLOT-B")
@given(net=deep_nets())
def test_every_sigmoid_layer_delta_is_within_the_vanishing_bound(net):
    """‖δ_l‖ ≤ (¼)^{L−l+1} ∏_{k>l}‖W_k‖₂ ‖∇_{h_L}E‖ for every l, and ‖∇_xE‖ ≤ (¼)^L ∏‖W_k‖₂
    ‖∇_{h_L}E‖: "越是低层的网络层梯度在连乘过程中可能会变得越来越小" made exact."""
    p = delta_profile(*net, SIGMOID)
    assert np.all(p.norms <= p.bounds * SLACK)
    assert p.input_norm <= p.input_bound * SLACK


@pytest.mark.proves("MLP-9")
@given(net=deep_nets())
def test_weight_gradient_norm_is_the_delta_norm_times_the_layer_input_norm(net):
    """∇_{W_l}E = h_{l−1}^T δ_l (one sample: an outer product), so ‖∇_{W_l}E‖_F =
    ‖δ_l‖‖h_{l−1}‖ ≤ √n_{l−1}‖δ_l‖ (sigmoid outputs < 1); rounding ≤ (n+2) eps relative."""
    x, Ws, bs, dh = net
    params = [p for wb in zip(Ws, bs, strict=True) for p in wb]
    _, cache = deep_forward(x[None], *params)
    grads = deep_backward(dh[None], cache)
    deltas, _ = backprop_deltas(x[None], Ws, bs, dh[None])
    for k, (layer, dW, delta) in enumerate(zip(cache.layers, grads[1::2], deltas, strict=True)):
        h_prev = layer.h_prev
        fro, prod = np.linalg.norm(dW), np.linalg.norm(delta) * np.linalg.norm(h_prev)
        assert abs(fro - prod) <= 16 * EPS * prod
        if k > 0:  # h_{l−1} is a sigmoid output, entries in (0, 1); h_0 = x is not
            assert fro <= np.sqrt(h_prev.size) * np.linalg.norm(delta) * SLACK


def aligned_chain(widths, rhos, act_gamma_centres=True):
    """Rank-one W_l = ρ_l u_{l−1} u_lᵀ (‖W_l‖₂ = ρ_l) with biases that centre every unit
    (a_l = 0, so σ'(a_l) = ¼): the equality case of MLP-9."""
    rng = np.random.default_rng(7)
    us = [v / np.linalg.norm(v) for v in (rng.standard_normal(n) for n in widths)]
    Ws = [r * np.outer(us[k], us[k + 1]) for k, r in enumerate(rhos)]
    bs, h = [], np.zeros(widths[0])
    for W in Ws:
        bs.append(-(h @ W))
        h = sigmoid(h @ W + bs[-1])
    return np.zeros(widths[0]), Ws, bs, us[-1]


@pytest.mark.proves("MLP-9", "PLOT-B")
@given(widths=st.lists(st.integers(1, 6), min_size=2, max_size=9), rho=st.floats(0.1, 10.0))
def test_the_deep_bound_is_attained_by_centred_units_and_aligned_singular_vectors(widths, rho):
    """Sharp: with every a_l = 0 and W_l = ρ u_{l−1}u_lᵀ, δ_{l} = ¼ρ·δ_{l+1}'s norm along u_l,
    so every layer meets its bound; relative 1e-12 covers ~L·(n+4) eps of rounding."""
    L = len(widths) - 1
    p = delta_profile(*aligned_chain(widths, [rho] * L), SIGMOID)
    assert np.allclose(p.norms, p.bounds, rtol=1e-12, atol=0)
    assert abs(p.input_norm - p.input_bound) <= 1e-12 * p.input_bound


@pytest.mark.proves("PLOT-B")
@given(net=deep_nets(), relu=st.booleans())
def test_delta_profile_reports_what_the_backward_pass_computes(net, relu):
    """PLOT-B's data are the backward pass's own δ_l (one sample: db_l = δ_l) and ∇_x,
    bit for bit (same operations, same order)."""
    x, Ws, bs, dh = net
    act = RELU if relu else SIGMOID
    params = [p for wb in zip(Ws, bs, strict=True) for p in wb]
    grads = deep_backward(dh[None], deep_forward(x[None], *params, act=act)[1])
    p = delta_profile(x, Ws, bs, dh, act)
    assert np.array_equal(p.norms, [np.linalg.norm(db) for db in grads[2::2]])
    assert p.input_norm == np.linalg.norm(grads[0])


def backward_in_reversed_layer_order(dh, cache):
    """The chain rule applied bottom-up: δ·D_1W_1ᵀ·D_2W_2ᵀ… instead of δ·D_LW_Lᵀ…D_1W_1ᵀ
    (the reversed Jacobian order; shape-valid only when every width is equal)."""
    for layer in cache.layers:
        dh = (dh * cache.act.fprime(layer.a)) @ layer.W.T
    return (dh, *(np.zeros_like(p) for ly in cache.layers for p in (ly.W, ly.a[0])))


@settings(max_examples=20)  # a full FD check per example; the miss is O(1) on every draw
@pytest.mark.proves("MLP-9")
@given(seed=SEEDS, L=st.integers(2, 4), n=st.integers(2, 4), w=st.floats(0.5, 3.0))
def test_checker_rejects_the_layer_jacobians_multiplied_in_reversed_order(seed, L, n, w):
    """Negative control for the deep backward: the input gradient with the layer Jacobians in
    the reversed order fails the checker (matrix products do not commute). The wrong
    backward returns zero weight gradients (they fail trivially), so the assertion that
    matters is on ``x``, whose verdict is its own."""
    rng = np.random.default_rng(seed)
    params = [
        p
        for _ in range(L)
        for p in (w * rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n))
    ]
    x = rng.standard_normal((1, n))
    assume(DEEP_SIGMOID.well_conditioned(x, *params))  # the record's FD trust region
    res = gradcheck.check_vjp(
        deep_forward, backward_in_reversed_layer_order, (x, *params), seed=seed
    )
    assert res.status == "fail"
    assert res.params[0].status == "fail", str(res)


@pytest.mark.proves("ACT-5", "PLOT-B")
@given(net=deep_nets())
def test_every_relu_layer_delta_is_within_the_weight_product_bound(net):
    """ACT-5: ReLU' ∈ {0, 1}, so ‖δ_l‖ ≤ ∏_{k>l}‖W_k‖₂‖δ_L‖-type bound with γ = 1."""
    p = delta_profile(*net, RELU)
    assert np.all(p.norms <= p.bounds * SLACK)
    assert p.input_norm <= p.input_bound * SLACK


@pytest.mark.proves("ACT-5", "ERR-8")
@given(
    L=st.integers(1, 10),
    n=st.integers(1, 6),
    rho=st.sampled_from([0.25, 0.5, 2.0, 4.0]),
    seed=SEEDS,
)
def test_relu_keeps_gradient_one_yet_the_weights_still_vanish_or_explode(L, n, rho, seed):
    """ERR-8: with live units (x > 0, W_l = ρI, b = 0) every ReLU' is exactly 1, and yet
    ∇_x = ρ^L ∇_{h_L} exactly (ρ a power of 2): vanishing for ρ < 1, exploding for ρ > 1.
    "稳稳维持1的梯度" holds for the activation factor only."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2.0, n)
    dh = rng.standard_normal(n)
    _, dx = backprop_deltas(x, [rho * np.eye(n)] * L, [np.zeros(n)] * L, dh, RELU)
    assert np.array_equal(dx, rho**L * dh)


@pytest.mark.proves("ACT-5", "ERR-8")
@given(net=deep_nets(w_scale=(0.1, 1.0)))
def test_a_bias_of_minus_ten_kills_every_relu_gradient_exactly(net):
    """Dead units: with bias −10 on every unit and |h_{l−1}W_l| < 10, every a_l < 0, so the
    gradients with respect to x, every W_l and every b_l are exactly 0.0 (not small: zero)."""
    x, Ws, _, dh = net
    x = x / 4  # |x W_1| ≤ ‖x‖‖W_1‖ small; the check below makes it certain
    bs = [np.full(W.shape[1], -10.0) for W in Ws]
    params = [p for wb in zip(Ws, bs, strict=True) for p in wb]
    h, cache = deep_forward(x[None], *params, act=RELU)
    assume(all(np.all(layer.a < 0) for layer in cache.layers))
    grads = deep_backward(dh[None], cache)
    assert all(np.all(g == 0.0) for g in grads)
    assert np.all(h == 0.0)


# ---------------------------------------------------------------------------------------------
# ACT-6: a nonlinearity is needed
# ---------------------------------------------------------------------------------------------

CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR = np.array([0.0, 1.0, 1.0, 0.0])


@st.composite
def linear_nets(draw):
    """Weights and biases of an identity-activation net with 2 inputs, 1 output, L ∈ [1, 6]."""
    rng = np.random.default_rng(draw(SEEDS))
    L = draw(st.integers(1, 6))
    n = [2, *(draw(st.integers(1, 6)) for _ in range(L - 1)), 1]
    s = draw(st.floats(0.1, 3.0))
    return [
        p
        for k in range(L)
        for p in (s * rng.standard_normal((n[k], n[k + 1])), rng.standard_normal(n[k + 1]))
    ]


@pytest.mark.proves("ACT-6")
@given(params=linear_nets())
def test_a_linear_network_of_any_depth_cannot_fit_xor(params):
    """With identity activations f is affine, so f(0,0) + f(1,1) = f(0,1) + f(1,0) (rounding:
    each output is a sum of ≤ L·(n+1) rounded products of the abs scale S, hence 4·L·(n+2)·eps·S
    per combination), and the XOR targets would need 0 = 2, so some corner misses by ≥ ½."""
    f = deep_forward(CORNERS, *params, act=IDENTITY)[0][:, 0]
    S = deep_forward(np.abs(CORNERS), *[np.abs(p) for p in params], act=IDENTITY)[0][:, 0]
    L, n = len(params) // 2, max(max(W.shape) for W in params[::2])
    assert abs(f[0] + f[3] - f[1] - f[2]) <= 4 * L * (n + 2) * EPS * S.sum()
    assert np.abs(f - XOR).max() >= 0.5 - 4 * L * (n + 2) * EPS * S.sum()


@pytest.mark.proves("ACT-6")
def test_a_two_two_one_sigmoid_network_fits_xor():
    """h₁ = σ(20(x₁+x₂−0.5)), h₂ = σ(20(x₁+x₂−1.5)), o = σ(20(h₁−h₂−0.5)): max error 4.55e-5."""
    err = np.abs(xor_network(CORNERS) - XOR).max()
    assert err < 4.6e-5
    assert err > 4.5e-5  # the inventory's 4.55e-5, to its printed digits


# ---------------------------------------------------------------------------------------------
# OPT-1: descent along −∇E
# ---------------------------------------------------------------------------------------------


def flat_problem(seed, d, q, l, w_scale):  # noqa: E741
    """E(w) and ∇E(w) of the MLP on a flat parameter vector w = (V, γ, W, θ)."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((3, d)), rng.uniform(0, 1, (3, l))
    shapes = [(d, q), (q,), (q, l), (l,)]
    sizes = np.cumsum([0] + [int(np.prod(s)) for s in shapes])

    def unpack(w):
        return [w[sizes[k] : sizes[k + 1]].reshape(s) for k, s in enumerate(shapes)]

    def E(w):
        return float(mlp_loss_forward(x, y, *unpack(w))[0])

    def grad(w):
        return np.concatenate(
            [g.ravel() for g in mlp_loss_backward(1.0, mlp_loss_forward(x, y, *unpack(w))[1])[2:]]
        )

    return E, grad, w_scale * rng.standard_normal(sizes[-1])


@pytest.mark.proves("OPT-1")
@given(
    seed=SEEDS,
    d=st.integers(1, 4),
    q=st.integers(1, 4),
    l=st.integers(1, 3),
    w_scale=st.floats(0.1, 2.0),
)
def test_a_small_gradient_step_lowers_the_loss_at_the_first_order_rate(seed, d, q, l, w_scale):  # noqa: E741
    """r(η) = (E(w) − E(w−ηg))/(η‖g‖²) → 1: |r − 1| ≤ Kη + ρ(η), K = |gᵀHg|/‖g‖² + 1 (Taylor;
    the +1 covers the O(η²) remainder at η ≤ 1e-3 for these smooth, O(1) losses; Hg by a
    central difference of the analytic gradient), ρ(η) = 4·c·eps·E/(η‖g‖²) the rounding of
    the difference of two losses each accurate to c = 3(d+q+l+4) eps relative. And halving
    from η = 1 finds a decrease within 60 halvings (the descent lemma)."""
    E, grad, w = flat_problem(seed, d, q, l, w_scale)
    g = grad(w)
    gg = float(g @ g)
    assume(np.sqrt(gg) > 1e-6)
    t = 1e-5 / np.sqrt(gg)
    K = abs(float(g @ (grad(w + t * g) - grad(w - t * g))) / (2 * t)) / gg + 1
    c = 3 * (d + q + l + 4)
    for eta in (1e-3, 1e-4, 1e-5):
        rounding = 4 * c * EPS * E(w) / (eta * gg)
        assume(rounding < 1e-3)
        assert abs(first_order_ratio(E, w, g, eta) - 1) <= K * eta + rounding
    eta = 1.0
    for _ in range(60):
        if E(w - eta * g) < E(w):
            break
        eta /= 2
    assert E(w - eta * g) < E(w)


@pytest.mark.proves("OPT-1")
@given(
    seed=SEEDS,
    d=st.integers(1, 4),
    q=st.integers(1, 4),
    l=st.integers(1, 3),
    w_scale=st.floats(0.5, 2.0),
)
def test_the_first_order_ratio_rejects_a_wrong_gradient(seed, d, q, l, w_scale):  # noqa: E741
    """Negative control: a gradient with every threshold component's sign flipped (the book's
    ERR-2 sign applied to θ, γ only) has r → ⟨∇E, g'⟩/‖g'‖² ≠ 1, an O(1) miss the test sees."""
    E, grad, w = flat_problem(seed, d, q, l, w_scale)
    g = grad(w)
    wrong = g.copy()
    sizes = np.cumsum([0, d * q, q, q * l, l])
    wrong[sizes[1] : sizes[2]] *= -1
    wrong[sizes[3] : sizes[4]] *= -1
    limit = float(g @ wrong) / float(wrong @ wrong)
    assume(abs(limit - 1) > 0.1 and float(wrong @ wrong) > 1e-8)
    assert abs(first_order_ratio(E, w, wrong, 1e-5) - 1) > 0.05


# ---------------------------------------------------------------------------------------------
# Where the inventory's statements are looser than the facts (recorded in the report)
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("MLP-8")
@given(seed=SEEDS, q=st.integers(2, 6), l=st.integers(1, 6), a=st.floats(1.0, 10.0))
def test_the_layer_bound_is_also_attained_with_an_uncentred_unit_the_signal_misses(seed, q, l, a):  # noqa: E741
    """MLP-8's equality case is "every α_h − γ_h = 0 and g = v₁"; the exact condition is weaker:
    σ'(a_h) = ¼ only where (W g)_h ≠ 0. With a zero row h₀ of W, unit h₀ may sit anywhere
    (here a_{h₀} = a ≥ 1, σ' < 0.2) and the bound is still attained (rel 1e-12, as in the
    sharpness test). So the inventory's "iff" is "if"."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((q, l))
    W[0] = 0.0
    g = top_right_singular_vector(W)
    a_h = np.zeros(q)
    a_h[0] = a
    e = hidden_delta(g, W, a_h)
    assert abs(np.linalg.norm(e) - layer_gain_bound(W, g)) <= 1e-12 * layer_gain_bound(W, g)


@pytest.mark.proves("MLP-9")
@given(seed=SEEDS, n0=st.integers(1, 6), x_scale=st.floats(2.0, 100.0))
def test_the_sqrt_width_weight_gradient_bound_needs_a_sigmoid_input_so_fails_at_layer_one(
    seed, n0, x_scale
):
    """MLP-9 states ‖∇_{W_l}E‖_F ≤ √n_{l−1}‖δ_l‖ via ‖h_{l−1}‖ ≤ √n_{l−1}; that holds for
    l ≥ 2 (sigmoid outputs in (0, 1)) but not for l = 1, where h₀ = x: with every |x_i| > 1
    the first layer's weight gradient exceeds √n₀‖δ₁‖ (exactly ‖x‖‖δ₁‖ > √n₀‖δ₁‖)."""
    rng = np.random.default_rng(seed)
    x = x_scale * rng.choice([-1.0, 1.0], n0) * rng.uniform(1.0, 2.0, n0)
    W, b = rng.standard_normal((n0, 2)) / (x_scale * n0), np.zeros(2)
    _, cache = deep_forward(x[None], W, b)
    _, dW, db = deep_backward(rng.standard_normal((1, 2)), cache)
    assume(np.linalg.norm(db) > 0)
    assert np.linalg.norm(dW) > np.sqrt(n0) * np.linalg.norm(db)
