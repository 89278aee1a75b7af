"""The complex step sharpens checks of holomorphic functions and falls back where unsafe."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import gradcheck

seeds = st.integers(0, 2**32 - 1)


def f(x):
    return np.sum(np.exp(np.sin(x)) * np.tanh(x / 2))


def grad(x):
    t = np.tanh(x / 2)
    return np.exp(np.sin(x)) * (np.cos(x) * t + (1 - t**2) / 2)


@given(seed=seeds, n=st.integers(1, 6))
def test_complex_step_resolves_errors_central_differences_cannot(seed, n):
    # Central differences carry ~1e-10 of rounding (3·32·ε·|f|/h with h ~ 2e-5); the complex
    # step has no subtraction, so its allowed error is ~32 ε: a 1e-9 relative error in one
    # entry is invisible to the first and caught by the second.
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    k = int(rng.integers(n))

    def wrong(x):
        g = grad(x)
        g[k] *= 1 + 1e-9
        return g

    exact = gradcheck.check_grad(f, grad, x, complex_step=True)
    assert exact.status == "pass", exact
    assert exact.max_rel_error < 1e-13, exact
    caught = gradcheck.check_grad(f, wrong, x, complex_step=True)
    assert caught.status == "fail", caught
    assert caught.worst[0].index == (k,)


def test_a_function_that_drops_the_imaginary_part_falls_back_to_central_differences():
    x = np.array([0.5, -1.5, 2.0])
    res = gradcheck.check_grad(
        lambda x: float(np.sum(np.abs(x) ** 3)), lambda x: 3 * x * np.abs(x), x, complex_step=True
    )
    assert res.status == "pass", res
    assert "complex step not used" in res.reason


def test_a_non_holomorphic_function_is_caught_by_the_cross_check():
    # x·conj(x) = |x|² returns a complex dtype with zero imaginary part, so the complex step
    # claims a derivative of 0. It disagrees with central differences and is not used.
    x = np.array([0.5, -1.5, 2.0])
    res = gradcheck.check_grad(
        lambda x: np.sum(x * np.conj(x)), lambda x: 2 * x, x, complex_step=True
    )
    assert res.status == "pass", res
    assert "disagreed with central differences on 3 entries" in res.reason
