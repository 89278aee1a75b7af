"""check_jacobian: every entry of an analytic Jacobian against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradcheck

seeds = st.integers(0, 2**32 - 1)


def step(x, W):
    """One tanh RNN step s' = tanh(W x): Jacobian diag(1 − s'²) W (numerator layout)."""
    return np.tanh(W @ x)


@given(seed=seeds, n=st.integers(1, 5), m=st.integers(1, 5))
def test_a_correct_jacobian_passes_and_a_reversed_one_fails(seed, n, m):
    rng = np.random.default_rng(seed)
    W, x = rng.standard_normal((m, n)), rng.standard_normal(n)

    def jac(x):
        return (1 - step(x, W) ** 2)[:, None] * W

    res = gradcheck.check_jacobian(lambda x: step(x, W), jac, x)
    assert res.status == "pass", res
    assert res.params[0].shape == (m, n)
    if n == m and n > 1:
        # the factor on the wrong side, W diag(1 − s'²): wrong unless the two products agree
        def wrong_side(x):
            return W * (1 - step(x, W) ** 2)[None, :]

        assume(np.max(np.abs(wrong_side(x) - jac(x))) > 1e-6 * np.max(np.abs(jac(x))))
        wrong = gradcheck.check_jacobian(lambda x: step(x, W), wrong_side, x)
        assert wrong.status == "fail", wrong


def test_a_wrong_entry_is_named_by_output_and_input_index():
    W = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]])
    x = np.array([0.3, -0.2])

    def jac(x):
        J = (1 - step(x, W) ** 2)[:, None] * W
        J[2, 1] *= 1.001
        return J

    res = gradcheck.check_jacobian(lambda x: step(x, W), jac, x)
    assert res.status == "fail", res
    assert res.worst[0].index == (2, 1)


def test_a_jacobian_of_the_wrong_shape_says_what_shape_is_needed():
    with pytest.raises(gradcheck.InvalidInputError, match=r"out.shape \+ x.shape = \(3, 2, 3, 2\)"):
        gradcheck.check_jacobian(np.tanh, lambda x: np.eye(3), np.ones((3, 2)))
