"""Kinks are inconclusive (not failures), and randomness or hidden state is an error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradcheck

seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("subgradient", [0.0, 0.5, 1.0])
def test_relu_at_its_kink_is_inconclusive_and_named(subgradient):
    # The symmetric stencil gives exactly 1/2 at 0 with zero spread across steps (the
    # "confidently wrong" estimate of scipy.differentiate and numdifftools); the one-sided
    # slopes expose the kink whatever subgradient the analytic side chose.
    x = np.array([1.3, 0.0, -0.4])

    def grad(x):
        return np.where(x > 0, 1.0, np.where(x < 0, 0.0, subgradient))

    res = gradcheck.check_grad(lambda x: float(np.sum(np.maximum(x, 0))), grad, x)
    assert res.status == "inconclusive", res
    assert (res.worst[0].path, res.worst[0].index) == ("params", (1,))
    assert "not smooth" in res.worst[0].note
    assert res.params[0].counts == {"pass": 2, "fail": 0, "inconclusive": 1}


def test_max_tie_is_inconclusive():
    x = np.array([[2.0, 2.0, -1.0]])

    def grad(x):
        g = np.zeros_like(x)
        g[0, 0] = 1.0  # argmax picks the first of the tie
        return g

    res = gradcheck.check_grad(lambda x: float(np.max(x)), grad, x)
    assert res.status == "inconclusive", res
    assert {e.index for e in res.worst} == {(0, 0), (0, 1)}


def test_abs_at_zero_is_inconclusive_but_a_gradient_beyond_the_slope_jump_fails():
    x = np.array([0.0, 2.0])
    inconclusive = gradcheck.check_grad(lambda x: float(np.sum(np.abs(x))), np.sign, x)
    assert inconclusive.status == "inconclusive", inconclusive
    # |x| has one-sided slopes −1 and 1 at 0: an analytic 5 is no subgradient at all.
    wrong = gradcheck.check_grad(
        lambda x: float(np.sum(np.abs(x))), lambda x: np.where(x == 0, 5.0, np.sign(x)), x
    )
    assert wrong.status == "fail", wrong
    assert "exceeds what its slope jump can explain" in wrong.worst[0].note


@given(seed=seeds, n=st.integers(1, 6))
def test_relu_network_off_the_kinks_is_checked_exactly(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3))
    W = rng.standard_normal((3, n))
    assume(np.any(x @ W > 0))  # all units dead: f ≡ 0, a vacuous check (tested elsewhere)

    def f(W):
        return float(np.sum(np.maximum(x @ W, 0) ** 2))

    def grad(W):
        return x.T @ (2 * np.maximum(x @ W, 0))

    res = gradcheck.check_grad(f, grad, W)
    # a pre-activation within one step (~2e-5) of 0 is possible but has probability ~1e-4
    assert res.status == "pass" or "not smooth" in res.worst[0].note, res


def test_a_function_with_a_random_generator_inside_is_rejected():
    rng = np.random.default_rng(0)

    def dropout_loss(x):
        return float(np.sum(x * (rng.random(x.shape) > 0.5)))

    with pytest.raises(gradcheck.NondeterministicError, match="not deterministic"):
        gradcheck.check_grad(dropout_loss, np.ones_like, np.ones(3))


def test_a_function_whose_state_drifts_between_calls_is_rejected():
    # Like batch norm in training mode updating its running mean on every forward call: the
    # value at the base point is stable at first, then the state has moved it.
    state = {"calls": 0}

    def f(x):
        state["calls"] += 1
        return float(np.sum(x**2) + 1e-3 * (state["calls"] > 3))

    with pytest.raises(gradcheck.NondeterministicError, match="changes state between calls"):
        gradcheck.check_grad(f, lambda x: 2 * x, np.ones(2))


def test_a_nondeterministic_gradient_is_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(gradcheck.NondeterministicError, match="analytic gradient"):
        gradcheck.check_grad(
            lambda x: float(np.sum(x**2)), lambda x: 2 * x + 1e-12 * rng.random(x.shape), np.ones(2)
        )


def test_a_step_that_leaves_the_domain_is_inconclusive():
    # log at x = 1e-300: relative steps keep x ± h > 0, so this entry is fine; a parameter of
    # 0 next to ones has an absolute step from the leaf's RMS and leaves log's domain.
    x = np.array([0.0, 1.0, 1.0])

    def f(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.sum(np.sqrt(x)))

    with np.errstate(divide="ignore"):
        res = gradcheck.check_grad(
            f, lambda x: np.where(x > 0, 0.5 / np.sqrt(np.maximum(x, 1e-300)), 1e300), x
        )
    assert res.status == "inconclusive", res
    assert "leaves f's domain" in res.worst[0].note
