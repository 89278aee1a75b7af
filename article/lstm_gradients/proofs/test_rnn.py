"""RNN-1 … RNN-6, RNN-9: the vanilla RNN's forward pass, BPTT and the article's RNN-4.

Every backward is judged by the project's checker against finite differences; the article's
literal sum of Jacobian products (RNN-4) is compared with the O(T) BPTT recursion. Problems are
built by `rnn_problems`: hypothesis draws the sizes, the scales, the spectral norm of W_s and a
seed; the arrays come from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import gradcheck
from lstm_gradients.proofs.kit import (
    EPS,
    SEEDS,
    RNNProblem,
    assert_pass,
    loss_at_step,
    rnn_problems,
    tiny_rnn,
)
from lstm_gradients.specs.rnn import (
    article_dE_dparams,
    article_dEt_dparams,
    loss_backward,
    loss_forward,
    output_backward,
    output_forward,
    output_grad_bound,
    output_sigmoid_backward,
    output_sigmoid_forward,
    rnn_backward,
    rnn_forward,
    rnn_loss_backward,
    rnn_loss_forward,
    rnn_step_backward,
    rnn_step_forward,
    rnn_unrolled,
    rnn_untied_backward,
    rnn_untied_forward,
)

NAMES = ("x", "s_0", "W_x", "W_s", "b", "W_o", "y")


# ---------------------------------------------------------------------------------------------
# Backward passes against finite differences (the checker)
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("RNN-1", "RNN-3")
@given(p=rnn_problems(T=(1, 1)), seed=SEEDS)
@example(p=tiny_rnn(), seed=0).via("all dims 1")
def test_step_backward_matches_finite_differences_for_every_argument(p, seed):
    assume(p.moderate)
    args = (p.x[:, 0], p.s_0, p.W_x, p.W_s, p.b)
    res = gradcheck.check_vjp(
        rnn_step_forward,
        rnn_step_backward,
        args,
        seed=seed,
        names=("x", "s_prev", "W_x", "W_s", "b"),
    )
    assert_pass(res)


@pytest.mark.proves("RNN-1", "RNN-4", "RNN-5")
@given(p=rnn_problems(), seed=SEEDS)
@example(p=tiny_rnn(), seed=0).via("all dims 1, T = 1")
@example(p=tiny_rnn(T=6, H=2, D=2), seed=1).via("T = 6, W_s = rho I")
def test_sequence_backward_matches_finite_differences_including_s0(p, seed):
    assume(p.moderate)
    res = gradcheck.check_vjp(rnn_forward, rnn_backward, p.rnn_args, seed=seed, names=NAMES[:5])
    assert_pass(res)


@pytest.mark.proves("RNN-2", "RNN-4", "RNN-5", "RNN-6")
@given(p=rnn_problems(N=(1, 2), T=(1, 6)), seed=SEEDS)
@example(p=tiny_rnn(), seed=0).via("all dims 1, T = 1")
def test_loss_backward_matches_finite_differences_for_every_parameter(p, seed):
    """E = Σ_t ½‖y_t − o_t‖² against all seven arguments (x, s_0, W_x, W_s, b, W_o, y)."""
    assume(p.moderate)
    res = gradcheck.check_vjp(rnn_loss_forward, rnn_loss_backward, p.args, seed=seed, names=NAMES)
    assert_pass(res)


@pytest.mark.proves("RNN-6")
@given(p=rnn_problems(), seed=SEEDS)
@example(p=tiny_rnn(), seed=0).via("all dims 1")
def test_output_head_backward_matches_finite_differences(p, seed):
    s = rnn_forward(*p.rnn_args)[0]
    res = gradcheck.check_vjp(
        output_forward, output_backward, (s, p.W_o), seed=seed, names=("s", "W_o")
    )
    assert_pass(res)


@pytest.mark.proves("RNN-6")
@given(p=rnn_problems(), seed=SEEDS)
@example(p=tiny_rnn(), seed=0).via("all dims 1")
def test_output_head_with_a_sigmoid_activation_matches_finite_differences(p, seed):
    """The article allows an activation on the head ("加激活函数也可以"); with φ = σ the
    backward (φ' ⊙ do) is FD-correct and still has no Jacobian product over time."""
    s = rnn_forward(*p.rnn_args)[0]
    res = gradcheck.check_vjp(
        output_sigmoid_forward, output_sigmoid_backward, (s, p.W_o), seed=seed, names=("s", "W_o")
    )
    assert_pass(res)


@pytest.mark.proves("RNN-2")
@given(p=rnn_problems(K=(2, 3)), seed=SEEDS)
def test_sequence_loss_gradient_is_o_minus_y(p, seed):
    o = rnn_forward(*p.rnn_args)[0] @ p.W_o
    res = gradcheck.check_vjp(loss_forward, loss_backward, (o, p.y), seed=seed, names=("o", "y"))
    assert_pass(res)


# ---------------------------------------------------------------------------------------------
# RNN-4 / RNN-5 as the article writes them, against BPTT and against FD
# ---------------------------------------------------------------------------------------------


def abs_path_sums(p: RNNProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Σ over every path of the product of |factors| (the componentwise rounding scale).

    Higham, Accuracy and Stability, §3.5: an entry computed as a sum of products of at most
    m factors, in any order, is off by at most γ_n times the same sum with every factor
    replaced by its absolute value, n = factors + summands. This computes that sum for the
    W_x, W_s, b gradients by the BPTT recursion on |·|.
    """
    s = rnn_forward(*p.rnn_args)[0]
    d = np.abs(1.0 - s**2)
    prev = np.concatenate([p.s_0[:, None], s[:, :-1]], axis=1)
    direct = np.abs(s @ p.W_o - p.y) @ np.abs(p.W_o).T
    r = np.zeros_like(p.s_0)
    gx, gs, gb = np.zeros_like(p.W_x), np.zeros_like(p.W_s), np.zeros_like(p.b)
    for t in reversed(range(s.shape[1])):
        r = direct[:, t] + r
        da = r * d[:, t]
        gx += np.abs(p.x[:, t]).T @ da
        gs += np.abs(prev[:, t]).T @ da
        gb += da.sum(axis=0)
        r = da @ np.abs(p.W_s).T
    return gx, gs, gb


@pytest.mark.proves("RNN-4", "RNN-5", "ERR-10")
@given(p=rnn_problems(T=(1, 6)))
@example(p=tiny_rnn()).via("all dims 1, T = 1")
@example(p=tiny_rnn(T=5, H=3, N=2)).via("T = 5, W_s = rho I")
def test_article_sum_of_jacobian_products_equals_the_bptt_recursion(p):
    """The article's Σ_i ∂E_t/∂o_t ∂o_t/∂s_t (∏ J_j) ∂⁺s_i/∂W_x, summed over t (the sum the
    article leaves unstated), equals rnn_loss_backward's O(T) recursion for W_x, W_s and b.

    Tolerance: both are sums of products of at most T + 2 factors of size <= m = max(D, H, K),
    with at most N T² summands; Higham's componentwise bound gives |A − B| <= 2 γ_n S with S
    the sum of |factor| products (`abs_path_sums`) and n = (T + 2) m + N T² (factors times
    inner dimension, plus the summation length). 2n eps S is that bound to first order."""
    literal = article_dE_dparams(*p.args)
    bptt = rnn_loss_backward(np.asarray(1.0), rnn_loss_forward(*p.args)[1])[2:5]
    N, T, D = p.x.shape
    n = (T + 2) * max(D, p.W_s.shape[0], p.W_o.shape[1]) + N * T * T
    for lit, eff, scale in zip(literal, bptt, abs_path_sums(p), strict=True):
        assert lit.shape == eff.shape
        assert np.all(np.abs(lit - eff) <= 2 * n * EPS * scale)


@pytest.mark.proves("RNN-4", "RNN-5")
@given(p=rnn_problems(N=(1, 1)), data=st.data())
@example(p=tiny_rnn(), data=None).via("all dims 1, t = T = 1")
def test_article_gradient_of_one_step_loss_matches_finite_differences(p, data):
    """∂E_t/∂(W_x, W_s, b) by the article's literal formula, for one t, is FD-correct."""
    assume(p.moderate)
    T = p.x.shape[1]
    t = T if data is None else data.draw(st.integers(1, T), label="t")
    seq = p.sequence()
    params = {"W_x": p.W_x, "W_s": p.W_s, "b": p.b}

    def grad(q: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = article_dEt_dparams(seq[0], seq[1], q["W_x"], q["W_s"], q["b"], seq[5], seq[6], t)
        return dict(zip(("W_x", "W_s", "b"), g, strict=True))

    assert_pass(gradcheck.check_grad(loss_at_step(t, seq), grad, params, seed=p.seed))


@pytest.mark.proves("RNN-5")
@given(p=rnn_problems(N=(1, 2), T=(1, 4), H=(1, 4)), seed=SEEDS)  # small: FD over T weight copies
@example(p=tiny_rnn(), seed=0).via("all dims 1, T = 1")
def test_tied_gradient_is_the_sum_of_the_untied_copies_gradients(p, seed):
    """RNN-5: ∇_{W_x}E|tied = Σ_t ∇_{W_x^{(t)}}E at all copies = W_x (same for W_s and b);
    the untied per-copy gradients are themselves FD-correct.

    Tolerance: both sides sum the same T per-step terms g_t (computed by the same
    rnn_step_backward on the same numbers, hence bitwise equal) in different orders; the
    difference is at most 2 (T − 1) eps Σ_t |g_t| (recursive summation bound, each side)."""
    assume(p.moderate)
    T = p.x.shape[1]
    copies = (np.stack([p.W_x] * T), np.stack([p.W_s] * T), np.stack([p.b] * T))
    s_tied, c_tied = rnn_forward(*p.rnn_args)
    s_untied, c_untied = rnn_untied_forward(p.x, p.s_0, *copies)
    assert np.array_equal(s_tied, s_untied)  # same operations on the same numbers
    ds = np.random.default_rng(seed).standard_normal(s_tied.shape)
    tied = rnn_backward(ds, c_tied)
    untied = rnn_untied_backward(ds, c_untied)
    assert np.array_equal(tied[0], untied[0])
    assert np.array_equal(tied[1], untied[1])
    for g, per_copy in zip(tied[2:], untied[2:], strict=True):
        bound = 2 * max(T - 1, 0) * EPS * np.abs(per_copy).sum(axis=0)
        assert np.all(np.abs(g - per_copy.sum(axis=0)) <= bound)
    res = gradcheck.check_vjp(
        rnn_untied_forward,
        rnn_untied_backward,
        (p.x, p.s_0, *copies),
        seed=seed,
        names=("x", "s_0", "W_xs", "W_ss", "bs"),
    )
    assert_pass(res)


# ---------------------------------------------------------------------------------------------
# RNN-1 invariant, RNN-9 structure, RNN-6 bound
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("RNN-9", "RNN-1")
@given(p=rnn_problems(T=(1, 12), H=(1, 6)))
@example(p=tiny_rnn()).via("all dims 1, T = 1")
def test_the_unrolled_composition_of_tied_layers_equals_the_loop(p):
    """RNN-9's structural half: T composed tied layers compute exactly the loop (bitwise:
    the same floating-point operations in the same order)."""
    assert np.array_equal(rnn_unrolled(*p.rnn_args), rnn_forward(*p.rnn_args)[0])


@pytest.mark.proves("RNN-1")
@given(p=rnn_problems(T=(1, 12), H=(1, 6)))
def test_states_stay_strictly_inside_the_unit_cube(p):
    """‖s_t‖_∞ < 1 for t >= 1. In float64 tanh rounds to ±1.0 once |a| >~ 19.1, so the strict
    inequality is a floating-point fact only for moderate pre-activations (|a| <= 10 here)."""
    assume(p.moderate)
    assert np.max(np.abs(rnn_forward(*p.rnn_args)[0])) < 1.0


@pytest.mark.proves("RNN-6")
@given(p=rnn_problems(K=(1, 3)), data=st.data())
@example(p=tiny_rnn(), data=None).via("all dims 1")
def test_output_weight_gradient_of_one_step_is_an_outer_product_bounded_by_sqrt_H(p, data):
    """∂E_t/∂W_o = s_t^T (o_t − y_t) (ours; the article's (o_t − y_t) s_t^T), from the
    backward with the loss of step t only; ‖·‖_F = ‖o_t − y_t‖‖s_t‖ <= √H ‖o_t − y_t‖.

    Tolerances: the outer product is computed by one einsum with a single nonzero summand per
    entry, so it is exact up to one rounding (1 ulp relative per entry, 4 ulps margin); the
    norm identity ‖u v^T‖_F = ‖u‖‖v‖ is exact in reals, float error <= (H K + H + K) eps
    relative; the bound is strict in reals since ‖s_t‖_∞ < 1, so (1 + 1e-10) only absorbs
    rounding (~1e-15)."""
    T = p.x.shape[1]
    t = T if data is None else data.draw(st.integers(1, T), label="t")
    s = rnn_forward(*p.rnn_args)[0]
    o = s @ p.W_o
    do = np.zeros_like(o)
    do[0, t - 1] = o[0, t - 1] - p.y[0, t - 1]
    dW_o = output_backward(do, output_forward(s, p.W_o)[1])[1]
    outer = np.outer(s[0, t - 1], do[0, t - 1])
    assert np.all(np.abs(dW_o - outer) <= 4 * EPS * np.abs(outer))
    H, K = p.W_o.shape
    fro = np.linalg.norm(dW_o)
    product = np.linalg.norm(do[0, t - 1]) * np.linalg.norm(s[0, t - 1])
    assert abs(fro - product) <= (H * K + H + K) * EPS * product
    assert fro <= output_grad_bound(o[0, t - 1], p.y[0, t - 1], H) * (1 + 1e-10)
