"""The elementwise functions the specs take from outside numpy, in one module a prover swaps.

numpy runs its own elementwise functions (``np.exp``, ``np.tanh``) on an object array by
calling a method of each entry, so they work on `gradcheck.symbolic`'s symbolic arrays; scipy's
ufuncs refuse object arrays. The specs therefore call scipy only through this module, by
attribute at call time (``ew.sigmoid(a)``, never ``from ... import sigmoid``), and a symbolic
proof swaps the names here for the duration of the proof
(``prove_vjp(..., swap={_elementwise: {"sigmoid": gradcheck.symbolic.sigmoid}})``,
``proofs/test_symbolic.py``).
"""

from __future__ import annotations

from scipy.special import expit

__all__ = ["sigmoid"]

#: σ(x) = 1/(1+e^{-x}) for every float64 x, without overflow (scipy's ``expit``).
sigmoid = expit
