r"""gradcheck for JAX (extra ``[jax]``): check a ``custom_vjp`` / ``custom_jvp`` rule (or any
differentiable function) against finite differences, with the error model.

>>> import jax, jax.numpy as jnp, numpy as np, gradcheck.jax
>>> @jax.custom_vjp
... def f(x):
...     return jnp.sin(x)
>>> f.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (g * jnp.cos(x),))
>>> gradcheck.jax.check(f, np.linspace(-1, 1, 5), seed=0).status
<Status.PASS: 'pass'>

The check runs with 64-bit types enabled (``jax.enable_x64(True)``, scoped to the check and
restored after it), so float32 inputs are differenced in float64 and float64 inputs stay
float64. The result is the `gradcheck.CheckResult` of `gradcheck.check_grad`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jax

from gradcheck import _complex
from gradcheck._engine.calls import Calls
from gradcheck._engine.options import DEFAULT_ULPS, Options, check_flag, draw_seed, title
from gradcheck._engine.run import run_scalar
from gradcheck._result import CheckResult
from gradcheck.jax._evaluate import Evaluator, Wrt, cotangent, make_call

__all__ = ["check"]


def check(
    f: Callable[..., Any],
    *inputs: Any,
    mode: str = "full",
    seed: int | None = None,
    wrt: Wrt = None,
    label: str | None = None,
    rtol: float = 0.0,
    atol: float = 0.0,
    step: float | None = None,
    ulps: float = DEFAULT_ULPS,
    vmap: bool = True,
) -> CheckResult:
    r"""Check the gradient JAX computes for ``f`` (through its ``custom_vjp`` /
    ``custom_jvp`` rules) against finite differences of ``f``.

    ``inputs`` are ``f``'s arguments, named ``inputs[0]``, ... (pytrees: ``inputs[0]['W']``),
    or one dict passed as keyword arguments and named by its keys; every floating or complex
    array leaf is checked unless ``wrt`` selects some inputs, as `gradcheck.check_vjp` reads
    it (a position or the name ``"inputs[1]"``, a dict key, or a tuple of them); the others
    are constants, passed unchanged and never differenced. ``f`` may return any pytree; its
    floating and complex leaves enter the real loss :math:`L = \sum \operatorname{Re}\langle
    v, y\rangle` with a random non-uniform cotangent :math:`v` drawn from ``seed``, whose
    gradient ``jax.grad`` computes. JAX returns
    the conjugate of PyTorch's convention for complex inputs; it is conjugated back, so a
    complex gradient is judged as in `gradcheck._complex`. Perturbed points are evaluated
    through ``jax.vmap`` (a loop where ``f`` cannot be vmapped, which the result's ``notes``
    say, or ``vmap=False``). ``label`` titles the report (default: ``f``'s name). Other
    options: see `gradcheck.check_grad`.
    """
    user = Calls("f", "jax.grad")
    check_flag("vmap", vmap)
    o = Options(mode, rtol, atol, step, ulps, seed)
    o = replace(o, seed=draw_seed(o.seed))
    assert o.seed is not None
    name = title(label, f)
    with jax.enable_x64(True):
        call = make_call(f, inputs, wrt)
        loss = cotangent(call, o.seed)
        ev = Evaluator(loss, call.leaves, user, vmap=vmap)
        return run_scalar(
            ev.raw,
            ev.analytic,
            _complex.split(call.leaves),
            "<v, f(*inputs)>",
            name,
            o,
            user,
            ev.stack_factory(),
        )
