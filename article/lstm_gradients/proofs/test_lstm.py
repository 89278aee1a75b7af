"""LSTM-1, LSTM-2, LSTM-7, peepholes: the CS231n LSTM's forward pass, state bounds and backward.

Every backward (step, sequence, peephole step; every argument, h_0 and c_0 included) is judged
by the project's checker against finite differences on hypothesis-drawn sizes, scales, spectral
norms and seeds. Problems are built by `lstm_problems`; the arrays come from
``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import gradcheck
from lstm_gradients.proofs.kit import (
    EPS,
    EXPENSIVE,
    SEEDS,
    LSTMProblem,
    assert_pass,
    lstm_problems,
    tiny_lstm,
)
from lstm_gradients.specs import spec
from lstm_gradients.specs.lstm import (
    gates,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    peephole_step_backward,
    peephole_step_forward,
)

STEP_NAMES = ("x", "h_prev", "c_prev", "W_x", "W_h", "b")
SEQ_NAMES = ("x", "h_0", "c_0", "W_x", "W_h", "b")


# ---------------------------------------------------------------------------------------------
# LSTM-7: backward passes against finite differences (the checker)
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("LSTM-1", "LSTM-7")
@given(p=lstm_problems(N=(1, 2), T=(1, 1), H=(1, 3)), seed=SEEDS)
@example(p=tiny_lstm(), seed=0).via("all dims 1")
@EXPENSIVE
def test_step_backward_matches_finite_differences_for_every_argument(p, seed):
    """CS231n's lstm_step_backward, with random (dh, dc), against FD of <dh, h> + <dc, c>."""
    assume(p.moderate)
    res = gradcheck.check_vjp(
        lstm_step_forward, lstm_step_backward, p.step_args, seed=seed, names=STEP_NAMES
    )
    assert_pass(res)


@pytest.mark.proves("LSTM-1", "LSTM-5", "LSTM-7")
@given(p=lstm_problems(N=(1, 2), T=(1, 4), D=(1, 2), H=(1, 3)), seed=SEEDS)
@example(p=tiny_lstm(), seed=0).via("all dims 1, T = 1")
@example(p=tiny_lstm(T=5, H=2, D=2), seed=1).via("T = 5, W_h blocks = rho I")
@EXPENSIVE
def test_sequence_backward_matches_finite_differences_including_h0_and_c0(p, seed):
    """BPTT over (h, c) with random outside gradients at every step, every argument (LSTM-7);
    the carried (dh, dc) is J_{t+1}ᵀ applied to the carry (LSTM-5). Sizes are kept small
    (H <= 3, T <= 4, D <= 2; T = 5 in the example): FD costs 4 forward passes per entry."""
    assume(p.moderate)
    res = gradcheck.check_vjp(lstm_forward, lstm_backward, p.args, seed=seed, names=SEQ_NAMES)
    assert_pass(res)


@pytest.mark.proves("LSTM-7")
@given(p=lstm_problems(N=(1, 1), T=(2, 3), D=(1, 2), H=(1, 2)), seed=SEEDS)
@EXPENSIVE
def test_sequence_backward_with_a_dropped_cell_carry_is_rejected(p, seed):
    """Negative control: BPTT that forgets to carry dc_prev (only dh flows back) is the
    "other paths" gradient without the cell path; the checker rejects it on dW_x (for
    T >= 2 the cell carry is f_t·dc, which FD sees unless it is below resolution)."""
    assume(p.moderate)

    def wrong(douts, cache):
        dh, dc = douts
        N, T, D = cache.x_shape
        out = [np.zeros_like(a) for a in p.args]
        out[0] = np.empty((N, T, D))
        gh = np.zeros_like(p.h_0)
        for t in reversed(range(T)):
            out[0][:, t], gh, _, gx, gW, gb = lstm_step_backward(
                (dh[:, t] + gh, dc[:, t]), cache.steps[t]
            )
            out[3] += gx
            out[4] += gW
            out[5] += gb
        return tuple(out)

    res = gradcheck.check_vjp(lstm_forward, wrong, p.args, seed=seed, names=SEQ_NAMES)
    assert res.status == "fail", str(res)


@pytest.mark.proves("LSTM-4", "ERR-12")
@given(
    p=lstm_problems(N=(1, 2), T=(1, 1), D=(1, 2), H=(1, 3)), p_scale=st.floats(0.1, 1.0), seed=SEEDS
)
@example(p=tiny_lstm(), p_scale=1.0, seed=0).via("all dims 1")
@EXPENSIVE
def test_peephole_step_backward_matches_finite_differences(p, p_scale, seed):
    """The peephole variant (gates see the cell), every argument including the peepholes."""
    pp = p_scale * np.random.default_rng(p.seed + 1).standard_normal((3, p.H))
    args = (*p.step_args, pp)
    assume(spec("lstm.peephole_step").well_conditioned(*args))  # includes the peephole terms
    res = gradcheck.check_vjp(
        peephole_step_forward, peephole_step_backward, args, seed=seed, names=(*STEP_NAMES, "p")
    )
    assert_pass(res)


# ---------------------------------------------------------------------------------------------
# LSTM-1: the slide's stacked W and the per-sample column form equal the code form
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("LSTM-1")
@given(p=lstm_problems(T=(1, 1)))
@example(p=tiny_lstm()).via("all dims 1")
def test_slide_form_with_stacked_W_equals_the_batch_code_form(p):
    """(i;f;o;g) = (σ;σ;σ;tanh)(W[h_{t−1}; x_t] + b) with W = [W_hᵀ W_xᵀ] (4H × (H+D)),
    one sample at a time as columns, equals the row-batch code `gates`.

    Tolerance: the two forms sum the same H + D + 1 products in different orders, so each
    pre-activation differs by at most 2(H + D + 1)·ε·Σ|terms| (two recursive summations,
    each within (H + D + 1)ε Σ|terms|, Higham Thm 3.5 to first order); σ and tanh are
    1-Lipschitz and add one rounding of their O(1) output each side."""
    W = np.hstack([p.W_h.T, p.W_x.T])
    x, h = p.x[:, 0], p.h_0
    code = np.concatenate(gates(x, h, *p.weights), axis=-1)
    H, D = p.H, x.shape[1]
    for n in range(x.shape[0]):
        z = np.concatenate([h[n], x[n]])
        a = W @ z + p.b
        slide = np.concatenate([1 / (1 + np.exp(-a[: 3 * H])), np.tanh(a[3 * H :])])
        mag = np.abs(W) @ np.abs(z) + np.abs(p.b)
        tol = 2 * (H + D + 1) * EPS * mag + 4 * EPS
        assert np.all(np.abs(slide - code[n]) <= tol)


# ---------------------------------------------------------------------------------------------
# LSTM-2 / ERR-17: gate ranges and state bounds
# ---------------------------------------------------------------------------------------------


def _preactivations(p: LSTMProblem) -> np.ndarray:
    (h, _), _ = lstm_forward(*p.args)
    prev = np.concatenate([p.h_0[:, None], h[:, :-1]], axis=1)
    return p.x @ p.W_x + prev @ p.W_h + p.b


@pytest.mark.proves("LSTM-2", "ERR-17")
@given(p=lstm_problems(T=(1, 10), rho=(0.1, 3.0)))
@example(p=tiny_lstm()).via("all dims 1")
def test_three_gates_lie_in_the_open_unit_interval_and_g_takes_both_signs(p):
    """i, f, o ∈ (0, 1); g ∈ (−1, 1) with the sign of its pre-activation: wherever
    a_g < 0, g < 0, so g is not a gate (ERR-17: "四个门层结构" are three gates and the block
    input). |a| < 15 keeps the strict inequalities exact in float64 (σ(15) = 1 − 3e-7,
    tanh(15) = 1 − 1.9e-13, both representable below 1)."""
    A = _preactivations(p)
    assume(np.abs(A).max() < 15.0)
    (h, _), _ = lstm_forward(*p.args)
    prev = np.concatenate([p.h_0[:, None], h[:, :-1]], axis=1)
    i, f, o, g = gates(p.x, prev, *p.weights)
    for gate in (i, f, o):
        assert np.all((gate > 0) & (gate < 1))
    assert np.all(np.abs(g) < 1)
    a_g = A[..., 3 * p.H :]
    assert np.all(np.sign(g) == np.sign(a_g))
    b = np.zeros_like(p.b)
    b[3 * p.H :] = -1.0
    assert np.all(gates(p.x[:, 0], p.h_0, p.W_x * 0, p.W_h * 0, b)[3] < 0)  # a "gate" < 0


@pytest.mark.proves("LSTM-2")
@given(p=lstm_problems(T=(1, 20), rho=(0.1, 3.0), b_f=(-5.0, 10.0)))
@example(p=tiny_lstm()).via("all dims 1")
def test_hidden_state_is_below_one_and_the_cell_grows_by_less_than_one_per_step(p):
    """|h_t| < 1 and ||c_t||_∞ < ||c_{t−1}||_∞ + 1 (so < ||c_0||_∞ + t).

    Rounding: |fl(f c)| <= |c| since f <= 1 and rounding is monotone; |fl(i g)| < 1; the
    sum adds one rounding, so the float bound is (||c_{t−1}||_∞ + 1)(1 + ε)."""
    A = _preactivations(p)
    assume(np.abs(A).max() < 15.0)
    (h, c), _ = lstm_forward(*p.args)
    assert np.all(np.abs(h) < 1)
    cs = np.concatenate([p.c_0[:, None], c], axis=1)
    norms = np.abs(cs).max(axis=2)  # (N, T+1)
    assert np.all(norms[:, 1:] <= (norms[:, :-1] + 1) * (1 + EPS))
    t = np.arange(cs.shape[1])
    assert np.all(norms <= (norms[:, :1] + t) * (1 + (t + 1) * EPS))


@pytest.mark.proves("LSTM-2")
@given(T=st.integers(1, 30), H=st.integers(1, 4))
def test_cell_bound_is_sharp_as_f_i_and_g_approach_one(T, H):
    """Witness: W = 0, b_i = b_f = b_g = 12, c_0 = 0 gives c_t = Σ_{s<t} f^s·i·g with
    f = i = σ(12) = 1 − 6.1e-6 and g = tanh(12) = 1 − 7.5e-11, so c_T > T(1 − 1e-3) for
    T <= 30 (c_T >= T·i·g·f^(T−1) and f^29 > 1 − 1.8e-4)."""
    b = np.zeros(4 * H)
    b[: 2 * H] = 12.0
    b[3 * H :] = 12.0
    z = np.zeros
    (_, c), _ = lstm_forward(z((1, T, 1)), z((1, H)), z((1, H)), z((1, 4 * H)), z((H, 4 * H)), b)
    assert np.all(c[0, -1] > T * (1 - 1e-3))
    assert np.all(c[0, -1] < T)
