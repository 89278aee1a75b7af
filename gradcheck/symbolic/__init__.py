"""Proof for all inputs: run a numpy forward/backward pair on symbols and prove the backward.

>>> import numpy as np
>>> from gradcheck.symbolic import prove_vjp
>>> def forward(x, W):
...     a = x @ W
...     return np.tanh(a), (x, W, np.tanh(a))
>>> def backward(dy, cache):
...     x, W, y = cache
...     da = dy * (1 - y**2)
...     return da @ W.T, x.T @ da
>>> prove_vjp(forward, backward, [(2, 3), (3, 2)]).status
'proven'

`prove_vjp` builds each differentiable argument as a numpy object array of real sympy symbols
(`Symbolic` entries), runs ``forward`` and ``backward`` on them unchanged, and checks every
gradient entry against sympy's exact derivative of the forward's output contracted with a
symbolic upstream gradient: the identity is proven for all inputs and all ``dout``, not at
sampled points. The extra ``gradcheck[symbolic]`` brings sympy.

What runs on symbols
    Arithmetic, ``@``, reductions, broadcasting, and numpy's elementwise functions that call a
    method of the entry: ``np.exp``, ``np.log``, ``np.sqrt``, ``np.tanh``, ``np.sin``, … (see
    `Symbolic`). Functions numpy cannot dispatch (scipy's ufuncs such as ``expit``) are
    swapped while the proof runs: ``swap={module: {"expit": sigmoid}}`` (`elementwise` makes a
    replacement from any sympy function). Arrays must be allocated so that they can hold
    symbols (``np.empty_like(x)``, ``dtype=x.dtype``); a float64 array cannot, and the proof
    says so.

Piecewise code
    A comparison (``np.maximum(x, 0)``, ``x > 0``, ``np.clip``, ``np.where(x > 0, ...)``)
    splits the inputs into regions by the sign of ``lhs − rhs``; the pair is run and proven on
    each region (one per sign pattern reached), and a proven result says "on each of the k
    regions". ``np.abs`` needs no region: the proof treats |v| by the sign of v where the
    residual depends on it. Kinks (where a difference is 0) have measure zero and no
    derivative to check.

Verdicts
    ``"proven"``; ``"disproven"``, naming the first wrong entry, its residual (backward −
    exact) and a point where that residual is nonzero (evaluated to 50 digits); or
    ``"unsupported"`` with the reason (an operation without an exact meaning, a residual
    sympy cannot reduce to 0 that vanishes wherever it is evaluated, the time budget).
"""

from gradcheck.symbolic._functions import Exp, Sigmoid
from gradcheck.symbolic._prove import Fixed, SymbolicProof, fixed, prove_vjp
from gradcheck.symbolic._swap import elementwise, sigmoid
from gradcheck.symbolic._unsupported import SymbolicUnsupported
from gradcheck.symbolic._values import Symbolic

__all__ = [
    "Exp",
    "Fixed",
    "Sigmoid",
    "Symbolic",
    "SymbolicProof",
    "SymbolicUnsupported",
    "elementwise",
    "fixed",
    "prove_vjp",
    "sigmoid",
]
