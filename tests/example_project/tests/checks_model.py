"""The example project's proofs: each test names the catalogue IDs it proves."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcheck


@pytest.mark.proves("SQ-1")
@settings(max_examples=5, derandomize=True, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4))
def test_squared_norm_gradient_is_w(seed, n):
    w = np.random.default_rng(seed).standard_normal(n)
    res = gradcheck.check_grad(lambda p: 0.5 * float(p @ p), lambda p: p.copy(), w, seed=0)
    assert res.status == "pass", res


@pytest.mark.proves("LIN-1")
def test_least_squares_gradient():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))

    def loss(W):
        return 0.5 * float(np.sum((x @ W - y) ** 2))

    res = gradcheck.check_grad(loss, lambda W: x.T @ (x @ W - y), rng.standard_normal((3, 2)))
    assert res.status == "pass", res


@pytest.mark.proves("BOUND-1")
@settings(max_examples=5, derandomize=True, deadline=None)
@given(a=st.floats(-30, 30))
def test_tanh_derivative_is_at_most_one(a, proof):
    slope = 1.0 - np.tanh(a) ** 2
    proof.record(examples=1, error=slope / 1.0)  # the bound's ratio: <= 1 holds
    assert slope <= 1.0
