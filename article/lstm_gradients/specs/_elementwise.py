"""The elementwise functions the specs take from outside numpy, in one module a prover swaps.

numpy runs its own elementwise functions (``np.exp``, ``np.tanh``) on an object array by
calling a method of each entry, so they work on `gradcheck.symbolic`'s symbolic arrays; scipy's
ufuncs refuse object arrays. The specs therefore call scipy only through this module, by
attribute at call time (``ew.sigmoid(a)``, never ``from ... import sigmoid``), and a symbolic
proof swaps the names here for the duration of the proof
(``prove_vjp(..., swap={_elementwise: {"sigmoid": gradcheck.symbolic.sigmoid}})``,
``proofs/test_symbolic.py``). σ' is here too: its stable form costs sympy minutes per record
where σ(1−σ) costs seconds, so the record proofs swap it for σ(1−σ) and one proof of its own
shows the stable form equal to σ(1−σ) for all x.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

__all__ = ["sigmoid", "sigmoid_prime"]

#: σ(x) = 1/(1+e^{-x}) for every float64 x, without overflow (scipy's ``expit``).
sigmoid = expit


def sigmoid_prime(x: NDArray[np.float64]) -> NDArray[np.float64]:
    r""":math:`\sigma'(x)=(\tfrac12/\cosh(x/2))^2`, at most ¼ in floating point (see
    `lstm_gradients.specs.activations.sigmoid_prime`, which documents the form). Shapes: any."""
    with np.errstate(over="ignore"):  # cosh = inf for |x| > 1420, where σ' < 5e-324: ½/inf = 0
        return (0.5 / np.cosh(0.5 * x)) ** 2
