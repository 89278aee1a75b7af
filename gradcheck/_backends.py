"""One entry point for the three backends: `check_backward` picks numpy, PyTorch or JAX from the
inputs, and the pytest fixture ``assert_backward`` (`gradcheck.pytest_plugin`) asserts on it.

* PyTorch tensors among the inputs: `gradcheck.torch.check(fn, *inputs, **options)`;
* JAX arrays: `gradcheck.jax.check(fn, *inputs, **options)`;
* numpy arrays: `gradcheck.check_vjp(fn, backward, inputs, **options)`, with ``fn`` the
  forward of the CS231n contract (``fn(*inputs) -> (out, cache)``) and ``backward=`` required.

Every check reports itself to the proof plugin the same way (`gradcheck._evidence`), so a test
marked ``@pytest.mark.proves("ID")`` proves its ID whichever backend it checks. torch and jax
are imported only when the inputs are theirs: the numpy core never needs them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from gradcheck._errors import GradientMismatch, InvalidInputError
from gradcheck._result import CheckResult, Status

BACKENDS = ("numpy", "torch", "jax")


def backend_of(inputs: tuple[Any, ...]) -> str:
    """``"torch"``, ``"jax"`` or ``"numpy"``: whose arrays ``inputs`` hold (nested too)."""
    torch, jax = sys.modules.get("torch"), sys.modules.get("jax")
    for x in _leaves(inputs):
        if torch is not None and isinstance(x, torch.Tensor):
            return "torch"
        if jax is not None and isinstance(x, jax.Array):
            return "jax"
    return "numpy"


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [y for v in tree.values() for y in _leaves(v)]
    if isinstance(tree, list | tuple):
        return [y for v in tree for y in _leaves(v)]
    return [tree]


def check_backward(
    fn: Callable[..., Any],
    *inputs: Any,
    backward: Callable[..., Any] | None = None,
    **options: Any,
) -> CheckResult:
    """Check ``fn``'s backward with the adapter its inputs call for (see the module doc)."""
    which = backend_of(inputs)
    if which == "numpy":
        if backward is None:
            raise InvalidInputError(
                "numpy inputs: pass `backward=` (backward(dout, cache) -> grads) with fn the "
                "forward (fn(*inputs) -> (out, cache)); torch and jax functions carry their "
                "own backward."
            )
        from gradcheck._vector import check_vjp

        return check_vjp(fn, backward, list(inputs), **options)
    if backward is not None:
        raise InvalidInputError(
            f"{which} inputs: `backward=` is for numpy; {which} computes fn's backward itself."
        )
    if which == "torch":
        from gradcheck.torch import check as torch_check

        return torch_check(fn, *inputs, **options)
    from gradcheck.jax import check as jax_check

    return jax_check(fn, *inputs, **options)


def assert_backward(
    fn: Callable[..., Any],
    *inputs: Any,
    backward: Callable[..., Any] | None = None,
    **options: Any,
) -> CheckResult:
    """`check_backward`, raising unless it passes: `GradientMismatch` on a fail, an
    ``AssertionError`` with the report when inconclusive (nothing passes unverified)."""
    result = check_backward(fn, *inputs, backward=backward, **options)
    if result.status is Status.FAIL:
        raise GradientMismatch(result)
    if result.status is Status.INCONCLUSIVE:
        raise AssertionError(f"the check could not verify the backward:\n{result}")
    return result
