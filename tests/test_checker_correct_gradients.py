"""The checker never cries wolf: exact gradients pass, across scales, dtypes and saturation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import gradcheck
from tests._families import FAMILIES

seeds = st.integers(0, 2**32 - 1)
magnitudes = st.sampled_from([1e-6, 1e-3, 1.0, 1e3, 1e6])
dtypes = st.sampled_from([np.float64, np.float32])


@pytest.mark.parametrize("family", FAMILIES, ids=lambda fam: fam.__name__)
@given(seed=seeds, n=st.integers(1, 8), s=magnitudes, m=magnitudes, dtype=dtypes)
@example(seed=0, n=1, s=1.0, m=1.0, dtype=np.float64)
@example(seed=1, n=8, s=1e-6, m=1e6, dtype=np.float32)
def test_exact_gradient_is_never_a_failure(family, seed, n, s, m, dtype):
    prob = family(np.random.default_rng(seed), n, s, m, dtype)
    res = gradcheck.check_grad(prob.f, prob.grad, prob.params, seed=seed)
    # smooth functions, no kinks: the only acceptable non-pass is a vacuous check
    # (all saturated units), which must say so.
    assert res.status == "pass" or "vacuous" in res.reason, res


@given(seed=seeds, n=st.integers(2, 8), s=magnitudes, m=magnitudes)
def test_float64_correct_gradients_agree_to_1e8_relative(seed, n, s, m):
    # Richardson error O(h^4) ~ 1e-19 and rounding 3 ε |f| / h ~ 1e-11 |f|/s (h ~ 2e-5 s):
    # with |f| at most a few times the gradient scale times s, agreement is far below 1e-8.
    prob = FAMILIES[1](np.random.default_rng(seed), n, s, m, np.float64)
    res = gradcheck.check_grad(prob.f, prob.grad, prob.params)
    assert res.max_rel_error < 1e-8, res


def test_saturated_sigmoid_zero_is_not_a_bug():
    # σ'(40) = 4.2e-18, but z(1 − z) with z = σ(40) rounds to 0 (ERR-4's effect inside a
    # gradient). Next to an unsaturated unit, that entry is judged against the gradient's
    # scale and passes.
    def f(x):
        return float(np.sum(1 / (1 + np.exp(-x))))

    def grad(x):
        z = 1 / (1 + np.exp(-x))
        return z * (1 - z)

    x = np.array([40.0, 0.3])
    assert grad(x)[0] == 0.0
    res = gradcheck.check_grad(f, grad, x)
    assert res.status == "pass", res


def test_all_saturated_is_reported_vacuous_not_passed():
    def f(x):
        return float(np.sum(1 / (1 + np.exp(-x))))

    def grad(x):
        z = 1 / (1 + np.exp(-x))
        return z * (1 - z)

    res = gradcheck.check_grad(f, grad, np.array([40.0, 45.0, 50.0]))
    assert res.status == "inconclusive", res
    assert "vacuous" in res.reason


def test_uniform_upstream_gradient_through_standardization_is_vacuous():
    # Σ_i x̂_i ≡ 0 for a standardized x, so with a uniform upstream gradient both sides are 0
    # up to rounding (checker-anchors pain point 11): a pass would prove nothing.
    def standardized_sum(x):
        return float(np.sum((x - x.mean()) / np.sqrt(x.var() + 1e-5)))

    def grad(x):
        x_hat = (x - x.mean()) / np.sqrt(x.var() + 1e-5)
        g = np.ones_like(x)
        return (g - g.mean() - x_hat * np.mean(g * x_hat)) / np.sqrt(x.var() + 1e-5)

    x = np.random.default_rng(3).standard_normal(6)
    res = gradcheck.check_grad(standardized_sum, grad, x)
    assert res.status == "inconclusive", res
    assert "vacuous" in res.reason


@given(seed=seeds, n=st.integers(1, 6))
def test_float32_parameters_are_differenced_in_float64(seed, n):
    prob = FAMILIES[2](np.random.default_rng(seed), n, 1.0, 1.0, np.float32)
    seen = []

    def f(x):
        seen.append(x.dtype)
        return prob.f(x)

    res = gradcheck.check_grad(f, prob.grad, prob.params)
    assert set(seen) == {np.dtype(np.float64)}
    assert res.status != "fail", res


def test_float32_only_function_is_differenced_in_float32():
    # f refuses float64: the checker falls back to the parameters' dtype, with ε of float32
    # in its rounding bound and a larger step (ε^(1/3) scaling).
    def f(x):
        if x.dtype != np.float32:
            raise TypeError("float32 only")
        return np.float32(np.sum(np.sin(x)))

    def grad(x):
        return np.cos(x)

    x = np.random.default_rng(0).standard_normal(5).astype(np.float32)
    res = gradcheck.check_grad(f, grad, x)
    assert res.status == "pass", res
    assert min(e.step for e in res.worst) > 1e-4


def test_relu_away_from_zero_passes():
    x = np.array([-1.5, 0.7, 2.0, -0.1])
    res = gradcheck.check_grad(
        lambda x: float(np.sum(np.maximum(x, 0) ** 2)), lambda x: 2 * np.maximum(x, 0), x
    )
    assert res.status == "pass", res


def test_zero_gradient_entries_next_to_large_ones_pass():
    # f depends on x[0] only: numeric derivatives of the rest are exactly 0, analytic 0.
    x = np.array([2.0, 1e-8, -3.0, 0.0])
    res = gradcheck.check_grad(
        lambda x: float(np.exp(x[0])), lambda x: np.array([np.exp(x[0]), 0, 0, 0]), x
    )
    assert res.status == "pass", res
