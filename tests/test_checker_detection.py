"""The checker catches wrong gradients, names where, and its error estimates are honest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradcheck
from gradcheck._engine.numdiff import scales
from tests._families import FAMILIES, sigmoid_tanh, small_mlp

seeds = st.integers(0, 2**32 - 1)
magnitudes = st.sampled_from([1e-6, 1e-3, 1.0, 1e3, 1e6])
families = st.sampled_from(FAMILIES)


def _flat(tree):
    leaves = list(tree.values()) if isinstance(tree, dict) else [tree]
    return [np.asarray(v) for v in leaves]


def _perturbed(grad, leaf_key, flat_index, delta):
    """``grad`` with one entry moved by ``delta`` (leaf_key None: the gradient is an array)."""

    def wrong(p):
        g = grad(p)
        target = g if leaf_key is None else g[leaf_key]
        target.flat[flat_index] += delta
        return g

    return wrong


def _entry(prob, k):
    """(leaf key, flat index, path, index) of the k-th entry in flattening order."""
    if isinstance(prob.params, dict):
        for key, v in prob.params.items():
            if k < v.size:
                idx = tuple(int(i) for i in np.unravel_index(k, v.shape))
                return key, k, f"params[{key!r}]", idx
            k -= v.size
    idx = tuple(int(i) for i in np.unravel_index(k, prob.params.shape))
    return None, k, "params", idx


@given(family=families, seed=seeds, n=st.integers(1, 8), s=magnitudes, m=magnitudes, data=st.data())
def test_an_entry_off_by_twice_its_allowed_error_fails_and_is_named(family, seed, n, s, m, data):
    # The result states, per entry, the smallest error it detects (`allowed`); an error of
    # twice that in any single entry must fail, and the report must point at that entry.
    prob = family(np.random.default_rng(seed), n, s, m, np.float64)
    base = gradcheck.check_grad(prob.f, prob.grad, prob.params)
    assume(base.status == "pass")
    allowed = np.concatenate([p.allowed.ravel() for p in base.params])
    k = data.draw(st.integers(0, allowed.size - 1), label="entry")
    sign = data.draw(st.sampled_from([-1.0, 1.0]), label="sign")
    key, flat, path, idx = _entry(prob, k)
    wrong = _perturbed(prob.grad, key, flat, sign * 2 * allowed[k])
    res = gradcheck.check_grad(prob.f, wrong, prob.params)
    assert res.status == "fail", res
    assert (res.worst[0].path, res.worst[0].index) == (path, idx), res


def test_an_error_of_twice_allowed_on_a_small_f_of_cancelling_terms_is_not_a_staircase():
    # Soak 8, dev seed 253: f = 7.4e-9 is the sum of terms ~1e-6 (m = s = 1e-6, sigmoid units
    # saturated at c = 40), so its values lie on a grid of ulp(1e-6) ~ 2e-22, 270 times its
    # rounding model ulp(f); the measured noise lengthened x_0's step (x_0 = 1.2e-8), and at
    # the model's own step f was flat bit for bit on one side. The planted error (analytic
    # 1.76e-10 against 4.36e-10, allowed 1.32e-10) was within that flat stencil's rounding of
    # 0, so the fail was read as a staircase (inconclusive). A staircase's derivative is 0 or
    # the long step's slope; 1.76e-10 is off both by more than its allowed error: it fails.
    # (Full mode: the allowed error is full mode's per-entry statement.)
    prob = small_f_of_cancelling_terms()
    base = gradcheck.check_grad(prob.f, prob.grad, prob.params)
    assert base.status == "pass", base
    allowed = float(base.params[0].allowed[0])
    wrong = _perturbed(prob.grad, None, 0, -2 * allowed)
    res = gradcheck.check_grad(prob.f, wrong, prob.params)
    assert res.status == "fail", res
    assert (res.worst[0].path, res.worst[0].index) == ("params", (0,)), res


def small_f_of_cancelling_terms():
    """dev seed 253's draw (soak 8): sigmoid_tanh at seed=4505267, n=6, s=m=1e-6."""
    return sigmoid_tanh(np.random.default_rng(4505267), 6, 1e-6, 1e-6, np.float64)


@given(family=families, seed=seeds, n=st.integers(1, 8), s=magnitudes, m=magnitudes)
def test_largest_entry_off_by_a_relative_1e_5_fails(family, seed, n, s, m):
    # The dominant entry (largest |a_i| s_i, i.e. the one that moves f most) is resolved far
    # better than 1e-5 relative: its allowed error is 4 x (truncation ~ h^2 f''' + rounding
    # ~ 3 x 32 eps |f| / h) + 32 eps |a|, about 1e-9 of it when |f| is of the order of
    # |a_i| s_i. Saturated draws where |f| >> |a_i| s_i (sigmoid units at +40) are the
    # exception the error model exists for: there the stated `allowed` says so (see the
    # previous test), and we require the resolution before demanding detection.
    prob = family(np.random.default_rng(seed), n, s, m, np.float64)
    leaves = _flat(prob.params)
    a = np.concatenate([g.ravel() for g in _flat(prob.grad(prob.params))])
    sc = np.concatenate([scales(x).ravel() for x in leaves])
    k = int(np.argmax(np.abs(a) * sc))
    assume(abs(prob.f(prob.params)) <= 1e3 * abs(a[k]) * sc[k])
    key, flat, path, idx = _entry(prob, k)
    wrong = _perturbed(prob.grad, key, flat, 1e-5 * a[k])
    res = gradcheck.check_grad(prob.f, wrong, prob.params)
    assert res.status == "fail", res
    assert (res.worst[0].path, res.worst[0].index) == (path, idx), res


@given(family=families, seed=seeds, n=st.integers(1, 8), s=magnitudes, m=magnitudes)
def test_error_estimate_bounds_the_actual_error(family, seed, n, s, m):
    # The families' gradients are exact formulas evaluated in float64, themselves accurate
    # to a few ulps of the gradient's scale; the checker's numeric derivative must lie within
    # its own estimated error of them, plus that analytic rounding (32 ulps, as the checker's
    # default allows the analytic side).
    prob = family(np.random.default_rng(seed), n, s, m, np.float64)
    res = gradcheck.check_grad(prob.f, prob.grad, prob.params)
    assume(res.status != "inconclusive")
    a = np.concatenate([p.analytic.ravel() for p in res.params])
    numeric = np.concatenate([p.numeric.ravel() for p in res.params])
    error = np.concatenate([p.error.ravel() for p in res.params])
    sc = np.concatenate([scales(x).ravel() for x in _flat(prob.params)])
    exact_rounding = 32 * np.finfo(float).eps * (np.abs(a) + np.max(np.abs(a) * sc) / sc)
    assert np.all(np.abs(numeric - a) <= error + exact_rounding), res


def _mlp(seed, N=3):
    prob = small_mlp(np.random.default_rng(seed), N - 1, 1.0, 1.0, np.float64)
    return prob


def _mutant(grad, mutate):
    def wrong(p):
        return mutate(grad(p), p)

    return wrong


MUTATIONS = {
    "sign flip of one parameter": (lambda g, p: {**g, "W1": -g["W1"]}, "params['W1']"),
    "missing factor 1/2 in one parameter": (lambda g, p: {**g, "W2": 2 * g["W2"]}, "params['W2']"),
    "bias gradient not summed over the batch": (
        lambda g, p: {**g, "b1": g["b1"] / 3},
        "params['b1']",
    ),
}


@pytest.mark.parametrize("name", MUTATIONS)
@given(seed=seeds)
def test_classic_mutations_fail_and_name_the_parameter(name, seed):
    mutate, path = MUTATIONS[name]
    prob = _mlp(seed)
    res = gradcheck.check_grad(prob.f, _mutant(prob.grad, mutate), prob.params)
    assert res.status == "fail", res
    assert res.worst[0].path == path, res
    others = [p for p in res.params if p.path != path]
    assert all(p.status == "pass" for p in others), res


@given(seed=seeds, n=st.integers(2, 5))
def test_transposed_and_swapped_gradients_fail(seed, n):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))

    def f(p):  # tr(A X B Y): gradients Aᵀ Yᵀ Bᵀ for X, Bᵀ Xᵀ Aᵀ for Y
        return float(np.trace(A @ p["X"] @ B @ p["Y"]))

    def grad(p):
        return {"X": A.T @ p["Y"].T @ B.T, "Y": B.T @ p["X"].T @ A.T}

    params = {"X": rng.standard_normal((n, n)), "Y": rng.standard_normal((n, n))}
    assert gradcheck.check_grad(f, grad, params).status == "pass"
    g = grad(params)
    assume(
        not np.allclose(g["X"], g["X"].T, rtol=1e-3) and not np.allclose(g["X"], g["Y"], rtol=1e-3)
    )
    transposed = gradcheck.check_grad(f, lambda p: {**grad(p), "X": grad(p)["X"].T}, params)
    swapped = gradcheck.check_grad(f, lambda p: {"X": grad(p)["Y"], "Y": grad(p)["X"]}, params)
    assert transposed.status == "fail", transposed
    assert transposed.worst[0].path == "params['X']"
    assert swapped.status == "fail", swapped


@given(seed=seeds)
def test_one_batch_sample_dropped_fails(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal(4)

    def f(w):
        return float(0.5 * np.sum((np.tanh(x @ w) - y) ** 2))

    def grad_without_last_sample(w):
        t = np.tanh(x[:-1] @ w)
        return x[:-1].T @ ((t - y[:-1]) * (1 - t**2))

    res = gradcheck.check_grad(f, grad_without_last_sample, rng.standard_normal(3))
    assert res.status == "fail", res


@given(seed=seeds, n=st.integers(1, 6))
def test_two_percent_error_in_a_float32_gradient_is_caught(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(np.float32)

    def f(x):
        return float(np.sum(np.sin(x) * np.exp(x / 3)))

    def grad(x):
        return (np.cos(x) * np.exp(x / 3) + np.sin(x) * np.exp(x / 3) / 3).astype(x.dtype)

    k = int(rng.integers(n))
    good = grad(x)
    assume(abs(good[k]) > 0.05 * np.abs(good).max())  # the wrong entry is not negligible

    def wrong(x):
        g = grad(x)
        g[k] *= 1.02
        return g

    assert gradcheck.check_grad(f, grad, x).status == "pass"
    res = gradcheck.check_grad(f, wrong, x)
    assert res.status == "fail", res
    assert res.worst[0].index == (k,)


def test_assert_grad_raises_gradient_mismatch_with_the_report():
    prob = _mlp(0)
    wrong = _mutant(prob.grad, MUTATIONS["sign flip of one parameter"][0])
    with pytest.raises(gradcheck.GradientMismatch, match=r"params\['W1'\]\[\d, \d\]") as info:
        gradcheck.assert_grad(prob.f, wrong, prob.params)
    assert isinstance(info.value, AssertionError)
    assert info.value.result.status == "fail"
    assert gradcheck.assert_grad(prob.f, prob.grad, prob.params).status == "pass"
