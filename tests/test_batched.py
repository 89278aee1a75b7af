"""vectorized=True: the perturbed points evaluated in stacked, memory-bounded chunks give the
loop's results (bitwise for elementwise f, to rounding for a matmul), and a non-broadcasting
f is a typed error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import gradcheck
from gradcheck._engine import stacks as _batched
from gradcheck._engine.numdiff import scales

seeds = st.integers(0, 2**32 - 1)


def mlp(seed, N, D, H):
    """loss = Σ_n w_n · tanh(x W1 + b1) W2: broadcasts over a leading axis of W1, b1, W2."""
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((N, D)), rng.standard_normal(N)
    params = {
        "W1": rng.standard_normal((D, H)) / np.sqrt(D),
        "b1": 0.1 * rng.standard_normal(H),
        "W2": rng.standard_normal(H) / np.sqrt(H),
    }

    def loss(p):
        z = np.tanh(x @ p["W1"] + p["b1"][..., None, :])
        return np.sum(w * np.sum(z * p["W2"][..., None, :], axis=-1), axis=-1)

    def grad(p):
        z = np.tanh(x @ p["W1"] + p["b1"])
        da = (w[:, None] * p["W2"]) * (1 - z**2)
        return {"W1": x.T @ da, "b1": da.sum(axis=0), "W2": z.T @ w}

    return loss, grad, params


def elementwise(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)

    def loss(x):
        return np.sum(np.exp(np.sin(x)) + x**2 / 3, axis=-1)

    def grad(x):
        return np.cos(x) * np.exp(np.sin(x)) + 2 * x / 3

    return loss, grad, x


@given(seed=seeds, N=st.integers(1, 6), D=st.integers(1, 6), H=st.integers(1, 6))
@example(seed=0, N=1, D=1, H=1)
def test_batched_full_mode_agrees_with_the_loop_to_rounding(seed, N, D, H):
    loss, grad, params = mlp(seed, N, D, H)
    loop = gradcheck.check_grad(loss, grad, params)
    vec = gradcheck.check_grad(loss, grad, params, vectorized=True)
    assert loop.status == vec.status == "pass", (loop, vec)
    assert loop.evaluations == vec.evaluations
    for p, q in zip(loop.params, vec.params, strict=True):
        # identical stencil points; a stacked matmul may sum in another order, moving each
        # value of f by a few ulps, which each numeric's rounding estimate already bounds.
        assert np.all(np.abs(p.numeric - q.numeric) <= p.error + q.error), (p, q)


@given(seed=seeds, n=st.integers(1, 100))
@example(seed=0, n=1)
def test_batched_elementwise_f_is_bitwise_the_loop(seed, n):
    # the same float operations on the same points: exp, sin and a row sum do not care
    # whether a row sits in a stack.
    loss, grad, x = elementwise(seed, n)
    loop = gradcheck.check_grad(loss, grad, x)
    vec = gradcheck.check_grad(loss, grad, x, vectorized=True)
    assert np.array_equal(loop.params[0].numeric, vec.params[0].numeric)
    assert str(loop) == str(vec)


@given(seed=seeds, n=st.integers(50, 200), budget=st.sampled_from([2**14, 2**16]))
@example(seed=0, n=200, budget=2**14)
def test_chunks_respect_the_memory_budget_and_change_nothing(seed, n, budget):
    loss, grad, x = elementwise(seed, n)
    sizes = []

    def recorded(x):
        sizes.append(x.shape[0] if x.ndim == 2 else 0)
        return loss(x)

    whole = gradcheck.check_grad(loss, grad, x, vectorized=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_batched, "MEMORY_BUDGET", budget)
        chunked = gradcheck.check_grad(recorded, grad, x, vectorized=True)
    stacked = [b for b in sizes if b]
    # f allocates at least sin(x) and exp(...) of B n float64 each: after the measured first
    # chunk, B <= budget / (16 n) stacked items per call.
    assert max(stacked[1:], default=0) <= max(1, budget // (16 * n)), stacked
    assert len(stacked) > 1
    assert np.array_equal(whole.params[0].numeric, chunked.params[0].numeric)


@given(seed=seeds, n=st.integers(2, 100), pos=st.floats(0, 1, exclude_max=True))
@example(seed=0, n=2, pos=0.0)
@example(seed=1246, n=48, pos=0.90625)
def test_batched_fast_mode_names_the_same_entry_as_the_loop(seed, n, pos):
    # The plant is R = 1e5 times the detection bound fast mode states (|e| s_i = R x the
    # directions' allowed error, read from a pass at the same seed; see test_fast's
    # test_the_stated_detection_power_is_honest): missed with probability <= R^-2 = 1e-10 per
    # example, <= 1e-7 per run of 1000. A fixed 1e-3 missed at seed=1246, n=48, pos=0.90625
    # (x_i = -0.016, so |e| s_i was only 43 x the bound: <= 5e-4 per example; 20-seed soak,
    # dev seed 140).
    loss, grad, x = elementwise(seed, n)
    i = int(pos * n)
    ok = gradcheck.check_grad(loss, grad, x, mode="fast", seed=seed)
    allowed = max(e.allowed for e in ok.worst)
    plant = 1e5 * allowed / float(scales(x)[i])

    def wrong(x):
        g = grad(x)
        g[i] += plant
        return g

    loop = gradcheck.check_grad(loss, wrong, x, mode="fast", seed=seed)
    vec = gradcheck.check_grad(loss, wrong, x, mode="fast", seed=seed, vectorized=True)
    assert loop.status == vec.status == "fail", (loop, vec)
    assert loop.worst[0].index == vec.worst[0].index == (i,)
    assert loop.evaluations == vec.evaluations


def test_an_f_that_does_not_broadcast_is_a_typed_error_that_says_so():
    def scalar_only(x):
        return float(np.sum(x**2))

    with pytest.raises(gradcheck.InvalidTypeError, match="vectorized=True"):
        gradcheck.check_grad(scalar_only, lambda x: 2 * x, np.ones(3), vectorized=True)
