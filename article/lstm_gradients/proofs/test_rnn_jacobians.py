"""RNN-3, RNN-7, RNN-8, ERR-10, ERR-11, FIG-4, PLOT-A: Jacobian products and their bounds.

The step Jacobian and the ordered products are judged by the checker against finite
differences; the reversed product order and the total-derivative reading of the article's last
factor are shown rejected by the same checker (negative controls, ERR-10). The bounds are
asserted on every draw, and the witnesses reach them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import assume, currently_in_test_context, event, example, given
from hypothesis import strategies as st

import gradcheck
from gradcheck.strategies import orthogonal_matrices, rngs
from lstm_gradients.proofs.kit import (
    EPS,
    SLACK,
    RNNProblem,
    assert_pass,
    loss_at_step,
    rnn_problems,
    tiny_rnn,
)
from lstm_gradients.specs.rnn import (
    article_dEt_dparams,
    direct_partials,
    exploding_witness,
    jacobian_norms_by_lag,
    loss_forward,
    per_lag_contributions,
    rnn_forward,
    rnn_loss_forward,
    rnn_untied_backward,
    rnn_untied_forward,
    saturated_non_example,
    state_jacobian,
    step_jacobian,
    vanishing_bounds,
)


def states(p: RNNProblem, n: int = 0) -> np.ndarray:
    """s_1 … s_T of sequence n, (T, H)."""
    return rnn_forward(*p.rnn_args)[0][n]


def preactivations(p: RNNProblem, n: int = 0) -> np.ndarray:
    """a_1 … a_T of sequence n, (T, H): the specs take tanh' from them (1 − s² loses digits
    where s nears ±1, relative ε/(1 − s²))."""
    return np.stack([step.a[n] for step in rnn_forward(*p.rnn_args)[1].steps])


def run_from(s_k: np.ndarray, p: RNNProblem, k: int, t: int) -> np.ndarray:
    """s_{k+1} … s_t of sequence 0 started from s_k at step k, (t − k, H)."""
    return rnn_forward(p.x[:1, k:t], s_k[None], p.W_x, p.W_s, p.b)[0][0]


def reversed_product(s: np.ndarray, W_s: np.ndarray, t: int, k: int) -> np.ndarray:
    """The wrong order J_{k+1} J_{k+2} ⋯ J_t (negative control)."""
    P = np.eye(W_s.shape[0])
    for j in range(k + 1, t + 1):
        P = P @ step_jacobian(s[j - 1], W_s)
    return P


def checkable(s: np.ndarray, W_s: np.ndarray, t: int, k: int) -> bool:
    """FD can resolve ∂s_t/∂s_k only if it is not vanishingly small: its norm is at most RNN-7's
    Π max_a(1 − s_j[a]²) ρ (computed from the states alone, not from the product under test).
    Below 1e-3 the entries approach FD's noise floor (~1e-9 for O(1) states), where the checker
    rightly answers "inconclusive" (seen: a 5-step H = 1 chain with |a| ~ 6 gave 3.6e-9)."""
    return vanishing_bounds(s, W_s, t, k)[0] >= 1e-3


def ks(data, T: int) -> tuple[int, int]:
    """Draw 0 <= k <= t <= T (data None: the whole sequence)."""
    if data is None:
        return T, 0
    t = data.draw(st.integers(1, T), label="t")
    return t, data.draw(st.integers(0, t), label="k")


# ---------------------------------------------------------------------------------------------
# RNN-3: step Jacobian and ordered products against FD; the reversed order is rejected
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("RNN-3")
@given(p=rnn_problems(N=(1, 1), T=(1, 1)))
@example(p=tiny_rnn()).via("H = D = 1")
def test_step_jacobian_is_diag_one_minus_s_squared_times_W_s(p):
    assume(p.moderate)

    def step(s_prev: np.ndarray) -> np.ndarray:
        return run_from(s_prev, p, 0, 1)[0]

    res = gradcheck.check_jacobian(step, lambda s: step_jacobian(step(s), p.W_s), p.s_0[0])
    assert_pass(res)


@pytest.mark.proves("RNN-3")
@given(p=rnn_problems(N=(1, 1), T=(1, 10)), data=st.data())
@example(p=tiny_rnn(T=4, H=2), data=None).via("W_s = rho I, the whole sequence")
def test_ordered_product_of_step_jacobians_is_the_multi_step_jacobian(p, data):
    """∂s_t/∂s_k = J_t J_{t−1} ⋯ J_{k+1} (the identity when k = t), against FD of s_k ↦ s_t."""
    assume(p.moderate)
    t, k = ks(data, p.x.shape[1])
    s = states(p)
    s_k = p.s_0[0] if k == 0 else s[k - 1]
    assume(checkable(s, p.W_s, t, k))

    def forward(s_k: np.ndarray) -> np.ndarray:
        return run_from(s_k, p, k, t)[-1] if t > k else s_k.copy()

    def jac(s_k: np.ndarray) -> np.ndarray:
        return state_jacobian(run_from(s_k, p, k, t), p.W_s, t - k, 0)

    assert_pass(gradcheck.check_jacobian(forward, jac, s_k))


@pytest.mark.proves("RNN-3", "ERR-10")
@given(p=rnn_problems(N=(1, 1), T=(2, 8), H=(2, 5), rho=(0.5, 2.0)), data=st.data())
def test_product_taken_in_the_reversed_order_is_rejected(p, data):
    """Negative control: J_{k+1} ⋯ J_t (earliest step on the left) is not ∂s_t/∂s_k; the
    checker rejects it whenever the two orders differ by more than FD can resolve.

    The filter keeps draws where the orders differ by > 1e-4 of the Jacobian's scale: the
    J_j need not fail to commute by much (e.g. W_s near a multiple of I), and a difference
    below FD's ~1e-8 resolution cannot be rejected by any checker."""
    assume(p.moderate)
    T = p.x.shape[1]
    t = data.draw(st.integers(2, T), label="t")
    k = data.draw(st.integers(0, t - 2), label="k")
    s = states(p)
    s_k = p.s_0[0] if k == 0 else s[k - 1]
    assume(checkable(s, p.W_s, t, k))
    right, wrong = state_jacobian(s, p.W_s, t, k), reversed_product(s, p.W_s, t, k)
    assume(np.abs(right - wrong).max() > 1e-4 * np.abs(right).max())

    def forward(s_k: np.ndarray) -> np.ndarray:
        return run_from(s_k, p, k, t)[-1]

    def jac(s_k: np.ndarray) -> np.ndarray:
        return reversed_product(run_from(s_k, p, k, t), p.W_s, t - k, 0)

    assert gradcheck.check_jacobian(forward, jac, s_k).status == "fail"


# ---------------------------------------------------------------------------------------------
# ERR-10: the direct partial, the loss's norm, the unstated sum over t
# ---------------------------------------------------------------------------------------------


def total_dsi_dWx(s: np.ndarray, x: np.ndarray, s_0: np.ndarray, W_s: np.ndarray, i: int):
    """The total derivative ds_i/dW_x = Σ_{k<=i} (∂s_i/∂s_k) ∂⁺s_k/∂W_x, (H, D, H)."""
    out = 0.0
    for k in range(1, i + 1):
        prev = s_0 if k == 1 else s[k - 2]
        direct = direct_partials(x[k - 1], prev, s[k - 1])[0]
        out = out + np.einsum("ab,bdc->adc", state_jacobian(s, W_s, i, k), direct)
    return out


def rejected_where_resolvable(
    f: Callable[[np.ndarray], float],
    passed: gradcheck.CheckResult,
    wrong: Callable[[np.ndarray], np.ndarray],
    W: np.ndarray,
    seed: int,
) -> bool:
    """A negative control with power 1 wherever the wrong formula is resolvable, asserted there.

    ``passed`` is the check of the right gradient a at W (same f, point and seed); it bounds
    every entry's |a_j − n_j| by allowed_j, n the FD estimate. The wrong check sees the same n
    (the FD side does not depend on the analytic: same seed, steps and directions, bitwise) and
    an allowed'_j that differs from allowed_j only through its ulps·eps·|analytic| term, by
    < 1e-6 relative here. So |wrong_j − a_j| > 2.001·allowed_j gives |wrong_j − n_j| >
    1.001·allowed_j > allowed'_j: rejected, surely. Below that, the wrong formula's error is
    under the error model's resolution at this draw (in saturation the double-counted paths
    carry products of 1 − s² ~ 1e-6: seed 4 of the dev profile drew one, ratio 0.6), and no FD
    check could reject it; the test says so with an event instead of failing."""
    (report,) = passed.params
    assert report.analytic is not None
    assert report.allowed is not None
    gap = np.abs(wrong(W) - report.analytic)
    resolvable = bool(np.any(gap > 2.001 * report.allowed))
    if currently_in_test_context():  # a Hypothesis example: count the draws of each kind
        event("negative control " + ("resolvable" if resolvable else "below the FD resolution"))
    if resolvable:
        assert gradcheck.check_grad(f, wrong, W, seed=seed).status == "fail"
    return resolvable


@pytest.mark.proves("ERR-10", "RNN-4")
@given(p=rnn_problems(N=(1, 1), T=(2, 5), rho=(0.3, 2.0)), data=st.data())
def test_total_derivative_in_place_of_the_direct_partial_double_counts_and_is_rejected(p, data):
    """The article's last factor ∂s_i/∂W_x read as the *total* derivative counts the path
    through s_k (k < i) once for every i in [k, t]: the literal reading fails FD, the direct
    partial (the spec) passes. t >= 2 (for t = 1 both readings coincide)."""
    assume(p.moderate)
    total_reading_is_rejected(p, data.draw(st.integers(2, p.x.shape[1]), label="t"))


def total_reading_is_rejected(p: RNNProblem, t: int) -> bool:
    """The spec's ∂E_t/∂W_x passes; the total-derivative reading is rejected where resolvable
    (returns whether it was)."""
    x, s_0, W_x, W_s, b, W_o, y = p.sequence()

    def literal_total(W: np.ndarray) -> np.ndarray:
        s = rnn_forward(x[None], s_0[None], W, W_s, b)[0][0]
        row = (s[t - 1] @ W_o - y[t - 1]) @ W_o.T
        return sum(
            np.einsum(
                "a,adc->dc", row @ state_jacobian(s, W_s, t, i), total_dsi_dWx(s, x, s_0, W_s, i)
            )
            for i in range(1, t + 1)
        )

    E_t = loss_at_step(t, p.sequence())
    f = lambda W: E_t({"W_x": W, "W_s": W_s, "b": b})  # noqa: E731
    direct = lambda W: article_dEt_dparams(x, s_0, W, W_s, b, W_o, y, t)[0]  # noqa: E731
    right = gradcheck.check_grad(f, direct, W_x, seed=p.seed)
    assert_pass(right)
    return rejected_where_resolvable(f, right, literal_total, W_x, p.seed)


@pytest.mark.proves("ERR-10", "RNN-2")
@given(p=rnn_problems(K=(2, 3)))
def test_the_article_loss_written_literally_is_a_vector_and_the_norm_reading_is_the_spec(p):
    """`E_t = \\frac{1}{2}{(y_t-o_t)^{2}}` evaluated literally on a K-vector (K >= 2) gives a
    K-vector, not a scalar loss; the squared-norm reading ½‖y_t − o_t‖² is what the spec
    computes. Tolerance: loss_forward and the literal expression sum the same N T K squares
    in different orders: |Δ| <= N T K eps Σ squares."""
    o = rnn_forward(*p.rnn_args)[0] @ p.W_o
    literal = 0.5 * (p.y - o) ** 2
    assert literal.shape[-1] == p.y.shape[-1] >= 2  # per-component, not a scalar per step
    E = float(loss_forward(o, p.y)[0])
    assert abs(E - literal.sum()) <= literal.size * EPS * literal.sum()


@pytest.mark.proves("ERR-10", "RNN-4")
@given(p=rnn_problems(N=(1, 1), T=(2, 5), rho=(0.3, 2.0)))
def test_the_gradient_of_E_is_the_sum_over_t_not_the_last_steps_term(p):
    """The article derives ∂E_t/∂W_x only; ∂E/∂W_x = Σ_t ∂E_t/∂W_x (unstated). The sum passes
    FD of E; the single term ∂E_T/∂W_x alone is rejected (T >= 2)."""
    assume(p.moderate)
    last_term_alone_is_rejected(p)


def last_term_alone_is_rejected(p: RNNProblem) -> bool:
    """Σ_t ∂E_t/∂W_x passes; ∂E_T/∂W_x alone is rejected where resolvable (returns whether)."""
    x, s_0, W_x, W_s, b, W_o, y = p.sequence()
    T = x.shape[0]

    def E(W: np.ndarray) -> float:
        return float(rnn_loss_forward(x[None], s_0[None], W, W_s, b, W_o, y[None])[0])

    def summed(W: np.ndarray) -> np.ndarray:
        return sum(article_dEt_dparams(x, s_0, W, W_s, b, W_o, y, t)[0] for t in range(1, T + 1))

    def last_only(W: np.ndarray) -> np.ndarray:
        return article_dEt_dparams(x, s_0, W, W_s, b, W_o, y, T)[0]

    right = gradcheck.check_grad(E, summed, W_x, seed=p.seed)
    assert_pass(right)
    return rejected_where_resolvable(E, right, last_only, W_x, p.seed)


@pytest.mark.proves("ERR-10", "RNN-4")
def test_both_readings_are_rejected_on_a_moderate_draw():
    """The two controls above skip only draws where the wrong formula is below the FD
    resolution; on a moderate one (T = 3, D = 2, no saturation) each is resolvable and
    rejected, so neither control is vacuous."""
    p = tiny_rnn(seed=1, T=3, D=2)
    assert p.moderate
    assert total_reading_is_rejected(p, 3)
    assert last_term_alone_is_rejected(p)


# ---------------------------------------------------------------------------------------------
# RNN-7: Pascanu's vanishing bound; FIG-4's per-lag bound
# ---------------------------------------------------------------------------------------------

# Bounds are asserted as lhs <= rhs · SLACK (the kit's 1 + 1e-10): lhs is a spectral norm of
# a product of at most 30 H x H matrices (H <= 6), each matmul rounding <= H eps relative in
# norm, so lhs is off by <~ 30 * 6 * eps ~ 4e-14 relative, and rhs (a product of <= 30 floats)
# by <~ 30 eps. 1e-10 is ~2000x that, and ~1e6x below any real violation the theorems rule out.


@pytest.mark.proves("RNN-7", "RNN-3")
@given(p=rnn_problems(N=(1, 1), T=(1, 30), H=(1, 6), rho=(0.05, 3.0)))
@example(p=tiny_rnn()).via("all dims 1, T = 1")
@example(p=tiny_rnn(T=30, H=3, rho=3.0)).via("T = 30, W_s = 3 I")
def test_jacobian_products_obey_the_pascanu_vanishing_bound_for_every_lag(p):
    """‖∂s_t/∂s_k‖₂ <= Π max_a(1 − s_j[a]²) ρ <= ρ^{t−k} for every 0 <= k <= t = T, and
    ‖∂E_t/∂s_k‖ <= ‖W_o(o_t − y_t)‖ ρ^{t−k}. ρ = ‖W_s‖₂ from 0.05 to 3, T up to 30."""
    s = states(p)
    T = s.shape[0]
    back = p.W_o @ (s[T - 1] @ p.W_o - p.y[0, T - 1])  # the article's W_o^T (o_t − y_t)
    for k in range(T + 1):
        P = state_jacobian(s, p.W_s, T, k)
        tight, loose = vanishing_bounds(s, p.W_s, T, k)
        assert np.linalg.norm(P, 2) <= tight * SLACK
        assert tight <= loose * SLACK
        assert np.linalg.norm(P.T @ back) <= np.linalg.norm(back) * p.rho ** (T - k) * SLACK
        if p.W_s.shape[0] == 1:  # H = 1: every factor is a scalar, the tight bound is attained
            assert np.linalg.norm(P, 2) >= tight / SLACK


def abs_term_scales(s: np.ndarray, W_s: np.ndarray, back: np.ndarray, x: np.ndarray, t: int):
    """‖(|J_{i+1}|ᵀ ⋯ |J_t|ᵀ |back| ⊙ (1 − s_i²)) |x_i|ᵀ‖_F for i = 1 … t: the |·|-product scale
    of FIG-4's term i (Higham §3.5: any evaluation order of the product is off by <= γ_n times
    this, componentwise)."""
    out = np.empty(t)
    r = np.abs(back)
    for i in range(t, 0, -1):
        d = 1.0 - s[i - 1] ** 2
        out[i - 1] = np.linalg.norm(r * d) * np.linalg.norm(x[i - 1])
        r = np.abs(step_jacobian(s[i - 1], W_s)).T @ r
    return out


@pytest.mark.slow
@pytest.mark.proves("RNN-7", "PLOT-A")
@given(p=rnn_problems(N=(1, 1), T=(100, 100), H=(8, 8), rho=(0.05, 3.0)))
def test_plot_a_setting_t_100_h_8_obeys_the_vanishing_bound_at_every_lag(p):
    """Heavy campaign (-m slow): PLOT-A's own setting, T = 100, H = 8; the curve lies under
    both RNN-7 bounds at every lag (tolerance: SLACK, argued above; 100 products of 8 x 8
    matrices round to <~ 100 * 8 eps ~ 2e-13 relative, still far below 1e-10)."""
    x, s_0, W_x, W_s, b = p.x[0], p.s_0[0], p.W_x, p.W_s, p.b
    curve = jacobian_norms_by_lag(x, s_0, W_x, W_s, b)
    s = states(p)
    T = s.shape[0]
    a = preactivations(p)  # the curve takes tanh' from them, so must its bound
    for L in range(T + 1):
        tight, loose = vanishing_bounds(s, W_s, T, T - L, a)
        assert curve[L] <= tight * SLACK
        assert tight <= loose * SLACK


@pytest.mark.proves("FIG-4", "RNN-4", "RNN-7")
@given(p=rnn_problems(N=(1, 1), T=(1, 12), rho=(0.05, 3.0)), data=st.data())
@example(p=tiny_rnn(), data=None).via("all dims 1, t = 1")
def test_per_lag_contributions_are_the_untied_copies_gradients_and_obey_their_bound(p, data):
    """FIG-4: term i of RNN-4, (δ_{t,i} ⊙ (1 − s_i²)) x_iᵀ, is the gradient of E_t with respect
    to step i's own copy of W_x (RNN-5's untied net, loss at step t only); its Frobenius norm
    is at most ρ^{t−i} ‖W_o(o_t − y_t)‖ ‖x_i‖ (RNN-7).

    Tolerance of the equality: the two evaluate the same product of <= t + 1 factors of inner
    dimension <= H in different association orders, so they differ by <= 2 γ_n times the
    |·|-product scale (`abs_term_scales`), n = (t + 2) H + D (products, then the norm)."""
    T = p.x.shape[1]
    t = T if data is None else data.draw(st.integers(1, T), label="t")
    norms, bounds = per_lag_contributions(*p.sequence(), t)
    assert norms.shape == bounds.shape == (t,)
    assert np.all(norms <= bounds * SLACK)
    copies = (np.stack([p.W_x] * t), np.stack([p.W_s] * t), np.stack([p.b] * t))
    s, cache = rnn_untied_forward(p.x[:1, :t], p.s_0[:1], *copies)
    back = p.W_o @ (s[0, t - 1] @ p.W_o - p.y[0, t - 1])
    ds = np.zeros_like(s)
    ds[0, t - 1] = back
    ref = np.linalg.norm(rnn_untied_backward(ds, cache)[2], axis=(1, 2))
    D, H = p.W_x.shape
    n = (t + 2) * H + D
    scale = abs_term_scales(s[0], p.W_s, back, p.x[0], t)
    assert np.all(np.abs(norms - ref) <= 2 * n * EPS * scale)


@pytest.mark.proves("RNN-7")
@given(lam=st.floats(0.3, 0.9), c=st.floats(0.0, 1.0), H=st.integers(2, 6), T=st.integers(2, 20))
def test_the_bound_needs_the_largest_singular_value_not_the_spectral_radius(lam, c, H, T):
    """RNN-7 is stated with σ_max(W_s): a non-normal W_s = λI + κN (N the shift, nilpotent) has
    spectral radius λ < 1, yet in the linear regime (zero state, J_j = W_sᵀ) its powers grow
    transiently: ‖W_s²‖₂ >= 2λκ > 1 for κ > 1/(2λ). A "spectral radius" reading of the bound
    (λ^L) is violated at lag 2; the σ_max bound still holds at every lag.

    κ is drawn in [1/(2λ) + 0.5, 1/(2λ) + 3] (from c) so 2λκ >= 1 + λ >= 1.3."""
    kappa = 1 / (2 * lam) + 0.5 + 2.5 * c
    W_s = lam * np.eye(H) + kappa * np.eye(H, k=1)
    # upper triangular with diagonal λ: every eigenvalue is λ (exactly, no eigensolver needed)
    assert not np.tril(W_s, -1).any()
    assert np.all(np.diag(W_s) == lam)
    zeros = np.zeros
    norms = jacobian_norms_by_lag(zeros((T, 1)), zeros(H), zeros((1, H)), W_s, zeros(H))
    assert norms[2] > 1.0 > lam**2  # transient growth despite spectral radius < 1
    rho = np.linalg.norm(W_s, 2)
    assert np.all(norms <= rho ** np.arange(T + 1) * SLACK)


# ---------------------------------------------------------------------------------------------
# RNN-8: necessary condition, witness, saturated non-example
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("RNN-8", "RNN-7")
@given(p=rnn_problems(N=(1, 1), T=(1, 30), H=(1, 6), rho=(0.05, 1.0)))
@example(p=tiny_rnn(T=30, H=4, rho=1.0)).via("W_s = I: the state-independent worst case")
def test_a_spectral_norm_at_most_one_never_amplifies_the_backward_signal(p):
    """Pascanu's necessary condition: ‖W_s‖₂ <= 1 ⇒ ‖∂s_t/∂s_k‖₂ <= 1 for every k."""
    s = states(p)
    T = s.shape[0]
    for k in range(T + 1):
        assert np.linalg.norm(state_jacobian(s, p.W_s, T, k), 2) <= SLACK


@pytest.mark.proves("RNN-8", "RNN-7", "PLOT-A")
@given(rho=st.floats(0.05, 3.0), H=st.integers(1, 6), T=st.integers(1, 30))
@example(rho=1.3, H=1, T=10).via("the inventory's 1.3^10 = 13.7858")
def test_the_zero_state_witness_reaches_rho_to_the_lag_exactly(rho, H, T):
    """x = 0, b = 0, s_0 = 0, W_s = ρI: s_t ≡ 0, every J_j = ρI, ‖∂s_T/∂s_{T−L}‖₂ = ρ^L, the
    RNN-7 bound with equality (explodes for ρ > 1, vanishes for ρ < 1).

    Tolerance: ρI products are diagonal with exact zeros; each of the L products rounds the
    diagonal once (<= ½ ulp), the SVD of a multiple of I returns it to a few ulps, and rho**L
    is within ~1 ulp: 2 (L + 8) eps relative."""
    norms = exploding_witness(rho, H, T)
    assert norms.shape == (T + 1,)
    lags = np.arange(T + 1)
    assert np.all(np.abs(norms - rho**lags) <= 2 * (lags + 8) * EPS * rho**lags)


@pytest.mark.proves("RNN-8")
@pytest.mark.parametrize("H", [1, 2, 5])
def test_a_saturated_network_with_spectral_norm_three_does_not_explode(H):
    """W_s = 3I (ρ = 3, ρ^{10} = 59049), b = 10·1, s_0 = 0: tanh saturates and
    ‖∂s_10/∂s_0‖ ≈ 3e-100 (< 1e-50, the inventory's threshold; the factor 1 − s_j² is
    ≈ 2e-11 per step, so the true value is ~1e-100 and 1e-50 leaves 50 orders of margin).
    A large spectral norm is necessary, not sufficient, for explosion."""
    value = saturated_non_example(T=10, H=H)
    assert 0.0 < value < 1e-50
    assert 3.0**10 > 5e4


# ---------------------------------------------------------------------------------------------
# ERR-11 and PLOT-A
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("ERR-11", "RNN-9")
@given(H=st.integers(1, 6), T=st.integers(1, 20), data=st.data())
def test_orthogonal_weights_in_the_linear_regime_preserve_norms_tied_or_untied(H, T, data):
    """ERR-11: "相当于很深层的神经网络,因此梯度还比普通的神经网络要不稳定得多" is a heuristic.
    With x = 0, b = 0, s_0 = 0 the RNN stays in tanh's linear regime (s ≡ 0, tanh'(0) = 1) and
    J_j = W_sᵀ. For an orthogonal W_s the tied chain W_s^{T−k} and an untied chain of T distinct
    orthogonal layers both keep every singular value at 1: tying alone makes nothing less
    stable. (The literal claim would need the tied norms to drift from 1 more than the untied
    ones; both stay at 1.)

    Tolerance: each Q (orthogonal_matrices, or the same Householder QR for the untied ones)
    has singular values within 1e-14 of 1 (test_strategies), and a
    product of L such matrices multiplies those and adds <= H eps per matmul, so
    |σ − 1| <= L (1e-14 + H eps)."""
    tied = data.draw(orthogonal_matrices(H), label="W_s")
    rng = data.draw(rngs(), label="rng")  # untied layers: Q factors of Gaussians (orthogonal)
    untied = [np.linalg.qr(rng.standard_normal((H, H)))[0] for _ in range(T)]
    zeros = np.zeros
    s = rnn_forward(zeros((1, T, 1)), zeros((1, H)), zeros((1, H)), tied, zeros(H))[0][0]
    assert not s.any()  # the linear regime: tanh(0) = 0 exactly
    P_tied, P_untied = np.eye(H), np.eye(H)
    for L in range(1, T + 1):
        P_tied = P_tied @ step_jacobian(s[T - L], tied)
        P_untied = P_untied @ step_jacobian(s[T - L], untied[T - L])
        tol = L * (1e-14 + H * EPS)
        for P in (P_tied, P_untied):
            assert np.abs(np.linalg.svd(P, compute_uv=False) - 1.0).max() <= tol
    norms = jacobian_norms_by_lag(zeros((T, 1)), zeros(H), zeros((1, H)), tied, zeros(H))
    assert np.abs(norms - 1.0).max() <= T * (1e-14 + H * EPS)


@pytest.mark.proves("PLOT-A", "RNN-3", "RNN-7")
@given(p=rnn_problems(N=(1, 1), T=(1, 30), H=(1, 6), rho=(0.05, 3.0)))
@example(p=tiny_rnn()).via("all dims 1, T = 1")
def test_plot_a_curve_is_the_spectral_norm_of_the_ordered_product_and_stays_under_rho_to_the_lag(p):
    """PLOT-A's curve L ↦ ‖∂s_T/∂s_{T−L}‖₂ is the norm of `state_jacobian` (FD-checked above) at
    every lag, starts at 1 (L = 0) and lies under ρ^L (RNN-7).

    Tolerance of the equality: the same matmuls in the same order (P_L = P_{L−1} J_{T−L+1}),
    so equal up to the SVD's own rounding of the final norm: 8 H eps relative."""
    x, s_0, W_x, W_s, b = p.x[0], p.s_0[0], p.W_x, p.W_s, p.b
    curve = jacobian_norms_by_lag(x, s_0, W_x, W_s, b)
    s = states(p)
    T, H = s.shape
    assert curve.shape == (T + 1,)
    assert curve[0] == 1.0
    a = preactivations(p)
    direct = np.array(
        [np.linalg.norm(state_jacobian(s, W_s, T, T - L, a), 2) for L in range(T + 1)]
    )
    assert np.all(np.abs(curve - direct) <= 8 * H * EPS * direct)
    assert np.all(curve <= p.rho ** np.arange(T + 1) * SLACK)
