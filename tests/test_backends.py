"""One fixture, three backends: ``assert_backward`` checks a numpy, a PyTorch and a JAX tanh
layer the same way, passes the right backward, rejects the wrong one, and counts as evidence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcheck
from gradcheck import _evidence
from gradcheck._backends import backend_of


def _numpy_layer(bug):
    def forward(x, w):
        y = np.tanh(x @ w)
        return y, (x, w, y)

    def backward(dy, cache):
        x, w, y = cache
        dz = dy * (1 - y**2)
        dx, dw = dz @ w.T, x.T @ dz
        dw = dw * (1.001 if bug else 1.0)
        return dx, dw

    return (forward,), {"backward": backward}, lambda a: a


def _torch_layer(bug):
    torch = pytest.importorskip("torch", reason="the [torch] extra is not installed")

    class Layer(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            y = torch.tanh(x @ w)
            ctx.save_for_backward(x, w, y)
            return y

        @staticmethod
        def backward(ctx, dy):
            x, w, y = ctx.saved_tensors
            dz = dy * (1 - y**2)
            return dz @ w.T, x.T @ dz * (1.001 if bug else 1.0)

    return (Layer.apply,), {}, torch.from_numpy


def _jax_layer(bug):
    jax = pytest.importorskip("jax", reason="the [jax] extra is not installed")
    jnp = jax.numpy

    @jax.custom_vjp
    def layer(x, w):
        return jnp.tanh(x @ w)

    def fwd(x, w):
        y = jnp.tanh(x @ w)
        return y, (x, w, y)

    def bwd(cache, dy):
        x, w, y = cache
        dz = dy * (1 - y**2)
        return dz @ w.T, x.T @ dz * (1.001 if bug else 1.0)

    layer.defvjp(fwd, bwd)
    return (layer,), {}, jnp.asarray


LAYERS = {"numpy": _numpy_layer, "torch": _torch_layer, "jax": _jax_layer}


@pytest.mark.parametrize("backend", LAYERS)
@settings(max_examples=3)  # the jax checks compile with XLA (~0.3 s each)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(["full", "fast"]))
def test_one_fixture_checks_every_backend_alike(assert_backward, backend, seed, mode):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)) * 0.5
    (fn,), kw, wrap = LAYERS[backend](bug=False)
    assert backend_of((wrap(x), wrap(w))) == backend
    res = assert_backward(fn, wrap(x), wrap(w), mode=mode, seed=seed, **kw)
    assert res.status == "pass"
    # the 0.1% error of the weight's gradient: ~1e7 times float64's allowed error in full
    # mode; fast mode misses it with probability <= R^-2 ~ 1e-14 (gradcheck._engine.fast).
    (bad,), kw, _ = LAYERS[backend](bug=True)
    with pytest.raises(gradcheck.GradientMismatch) as info:
        assert_backward(bad, wrap(x), wrap(w), mode=mode, seed=seed, **kw)
    assert {e.path for e in info.value.result.worst if e.status == "fail" and e.index} <= {
        "args[1]",
        "inputs[1]",
    }


@pytest.mark.parametrize("backend", LAYERS)
def test_every_backend_reports_its_check_as_evidence(assert_backward, backend):
    (fn,), kw, wrap = LAYERS[backend](bug=False)
    seen = []
    with _evidence.listening(seen.append):
        assert_backward(fn, wrap(np.ones((2, 3))), wrap(np.full((3, 2), 0.3)), seed=0, **kw)
    assert [str(r.status) for r in seen] == ["pass"]


def test_inconclusive_is_not_a_pass_and_numpy_needs_a_backward(assert_backward):
    torch = pytest.importorskip("torch", reason="the [torch] extra is not installed")
    with pytest.raises(AssertionError, match="could not verify"):
        assert_backward(torch.relu, torch.tensor([0.0, 1.0], dtype=torch.float64), seed=0)
    with pytest.raises(gradcheck.InvalidInputError, match="backward="):
        assert_backward(np.tanh, np.ones(2))
