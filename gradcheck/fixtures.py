"""gradcheck's pytest fixtures (a ``pytest11`` plugin of their own, beside the proof plugin,
which reaches the checkers only through `gradcheck._evidence`).

``assert_backward`` checks a backward the same way for numpy, PyTorch and JAX::

    def test_layer(assert_backward):
        assert_backward(torch_fn, x, w)                      # a torch callable
        assert_backward(jax_fn, x, w)                        # a custom_vjp function
        assert_backward(forward, x, w, backward=backward)    # numpy, CS231n contract

The backend comes from the inputs' type (`gradcheck._backends`); options (``mode``, ``seed``,
...) go to the checker. It returns the `gradcheck.CheckResult` of a pass and raises
`gradcheck.GradientMismatch` on a fail and an ``AssertionError`` when inconclusive; the check
counts as the test's evidence for the IDs of its ``proves`` marker, whichever the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="session")
def assert_backward() -> Callable[..., Any]:
    """`gradcheck._backends.assert_backward` (session-scoped: usable under ``@given``)."""
    from gradcheck._backends import assert_backward as run

    return run
