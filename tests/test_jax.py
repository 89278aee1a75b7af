"""gradcheck.jax: custom_vjp / custom_jvp rules checked with the error model, x64 scoped to the
check, complex gradients conjugated to PyTorch's convention, wrong rules caught and named."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax", reason="the [jax] extra (jax==0.10.2) is not installed")

import jax.numpy as jnp  # noqa: E402

import gradcheck.jax as gj  # noqa: E402
from gradcheck import InvalidInputError, InvalidTypeError  # noqa: E402

seeds = st.integers(0, 2**32 - 1)
#: every check compiles its loss, gradient and vmapped stencil with XLA (~0.3 s on this machine):
#: the property tests draw a few examples in the default run; `thorough` draws more.
JAX_EXAMPLES = settings(max_examples=settings().max_examples // 10 or 1)


def _sin_with_bug(bug):
    @jax.custom_vjp
    def f(x):
        return jnp.sin(x)

    def bwd(x, g):
        if bug is None:
            return (g * jnp.cos(x),)
        scale = jnp.ones(x.size).at[bug].set(1 + 1e-4)
        return (g * jnp.cos(x) * jnp.reshape(scale, x.shape),)

    f.defvjp(lambda x: (jnp.sin(x), x), bwd)
    return f


@jax.custom_jvp
def _softplus(x):
    return jnp.logaddexp(x, 0.0)


_softplus.defjvp(lambda p, t: (_softplus(p[0]), jax.nn.sigmoid(p[0]) * t[0]))


@pytest.mark.parametrize("mode", ["full", "fast"])
@JAX_EXAMPLES
@given(seed=seeds, n=st.integers(1, 6), dtype=st.sampled_from([np.float32, np.float64]))
def test_correct_custom_rules_pass(mode, seed, n, dtype):
    x = np.random.default_rng(seed).uniform(-2, 2, (n, 2)).astype(dtype)
    for f in (_sin_with_bug(None), _softplus):
        res = gj.check(f, x, mode=mode, seed=seed)
        assert res.status == "pass", res


@pytest.mark.parametrize("mode", ["full", "fast"])
@JAX_EXAMPLES
@given(seed=seeds, n=st.integers(2, 12), data=st.data())
def test_a_wrong_custom_vjp_entry_is_caught_and_named(mode, seed, n, data):
    # as in tests/test_torch.py: |cos x| >= 0.5 on [-1, 1], a relative 1e-4 error against an
    # allowed ~1e-10 (full), missed by fast mode with probability <= R^-2; draws whose
    # cotangent entry is ~0 hide the error and are skipped.
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    k = data.draw(st.integers(0, n - 1))
    res = gj.check(_sin_with_bug(k), x, mode=mode, seed=seed)
    correct = gj.check(_sin_with_bug(None), x, mode="full", seed=res.seed)
    entry = correct.params[0].analytic.ravel()[k]  # v_k cos(x_k)
    if abs(entry) < 1e-2 * abs(np.cos(x[k])):
        return  # the cotangent's entry is ~0: the error is invisible along it
    assert res.status == "fail", res
    assert any(e.status == "fail" and (e.path, e.index) == ("inputs[0]", (k,)) for e in res.worst)


def test_x64_is_enabled_for_the_check_and_restored_after():
    seen = []

    def f(x):
        seen.append(x.dtype)
        return jnp.sin(x)

    before = jnp.zeros(1).dtype
    assert gj.check(f, np.linspace(0, 1, 3), seed=0).status == "pass"
    assert jnp.dtype("float64") in seen
    assert jnp.zeros(1).dtype == before


def test_complex_gradients_are_judged_in_pytorchs_convention():
    # jax.grad of Re(z²) is 2z (JAX's conjugate convention); gradcheck conjugates it to 2 conj z
    # and compares with finite differences of the real and imaginary parts: a pass means the
    # conversion is right. A rule that returns the conjugate of JAX's convention fails.
    z = np.array([1 + 2j, -0.5 + 0.25j])
    assert gj.check(lambda z: jnp.real(z**2), z, seed=0).status == "pass"

    @jax.custom_vjp
    def square(z):
        return z * z

    square.defvjp(lambda z: (z * z, z), lambda z, g: (g * jnp.conj(2 * z),))
    res = gj.check(square, z, seed=0)
    assert res.status == "fail", res
    assert all(e.path.startswith("inputs[0].") for e in res.worst if e.status == "fail")


def test_pytrees_dicts_and_constants_are_named():
    p = {"W": np.full((2, 3), 0.3), "b": np.array([0.1, -0.2])}
    idx = np.array([1, 0])
    res = gj.check(lambda p, x, i: jnp.tanh(p["W"] @ x + p["b"])[i], p, np.arange(3.0), idx)
    assert res.status == "pass", res
    assert [q.path for q in res.params] == ["inputs[0]['W']", "inputs[0]['b']", "inputs[1]"]
    res = gj.check(lambda x, y: x * y, {"x": np.ones(2), "y": np.arange(2.0)}, wrt="y", seed=0)
    assert [q.path for q in res.params] == ["y"]


def test_zero_d_and_several_outputs():
    res = gj.check(
        lambda a, b: (a * b, {"s": jnp.sin(a) * b.sum()}),
        0.5 * np.ones(()),
        np.arange(1.0, 4.0),
        seed=0,
    )
    assert res.status == "pass", res


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_wrong_rule_at_a_0d_input_is_named_by_its_own_name_and_index(mode):
    @jax.custom_vjp
    def scale(a, b):
        return a * jnp.sin(b)

    def bwd(res, g):
        a, b = res
        return (jnp.sum(g * jnp.sin(b)) * 1.001, g * a * jnp.cos(b))  # 0.1% off in a

    scale.defvjp(lambda a, b: (scale(a, b), (a, b)), bwd)
    res = gj.check(scale, np.array(0.7), np.linspace(0.2, 1.2, 4), mode=mode, seed=0)
    assert res.status == "fail", res
    assert [(p.path, p.shape) for p in res.params] == [("inputs[0]", ()), ("inputs[1]", (4,))]
    named = [(e.path, e.index) for e in res.worst if e.status == "fail"]
    assert named[0] == ("inputs[0]", ()), res


def test_bad_input_gets_a_typed_error():
    with pytest.raises(InvalidInputError, match="nothing to check"):
        gj.check(lambda i: i * 2, np.arange(3))
    with pytest.raises(InvalidInputError, match="not an input"):
        gj.check(jnp.sin, np.ones(2), wrt=2)
    with pytest.raises(InvalidTypeError, match="`wrt` must"):
        gj.check(jnp.sin, np.ones(2), wrt=0.5)
    with pytest.raises(InvalidTypeError, match="no floating"):
        gj.check(lambda x: jnp.argmax(x), np.ones(2))


def test_f_that_cannot_be_vmapped_is_looped_and_still_checked():
    # a foreign (numpy) kernel inside a custom_vjp: jax.vmap refuses the callback
    @jax.custom_vjp
    def f(x):
        return jax.pure_callback(np.sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x)

    f.defvjp(lambda x: (f(x), x), lambda x, g: (g * jnp.cos(x),))
    res = gj.check(f, np.linspace(-1, 1, 4), seed=0)
    assert res.status == "pass", res
    assert "cannot be vmapped" in " ".join(res.notes), res.notes
