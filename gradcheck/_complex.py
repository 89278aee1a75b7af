r"""Complex parameters: the one convention every checker and adapter of gradcheck follows.

A complex parameter :math:`z = x + iy` of a **real** loss :math:`L` is two real parameters,
:math:`x` and :math:`y`. Its gradient is the complex array

.. math::
    g = \frac{\partial L}{\partial x} + i\,\frac{\partial L}{\partial y}
      = 2\,\frac{\partial L}{\partial \bar z},

twice the conjugate Wirtinger derivative: PyTorch's convention (``z.grad`` after
``L.backward()``), and the direction of steepest ascent (:math:`L(z + t g)` grows fastest).
``jax.grad`` returns the conjugate, :math:`\partial L/\partial x - i\,\partial L/\partial y`;
`gradcheck.jax` conjugates it before judging.

**Worked example.** :math:`L(z) = \operatorname{Re}(z^2) = x^2 - y^2` at :math:`z = 1 + 2i`:
:math:`\partial L/\partial x = 2x = 2` and :math:`\partial L/\partial y = -2y = -4`, so the
gradient is :math:`2 - 4i = 2\bar z`, not :math:`2z = 2 + 4i` (the complex derivative of
:math:`z^2`, which a gradient that forgets the conjugate returns, and which gradcheck reports as
wrong in the imaginary part)::

    >>> import numpy as np, gradcheck
    >>> z = np.array([1 + 2j])
    >>> L = lambda z: float(np.sum((z**2).real))
    >>> gradcheck.check_grad(L, lambda z: 2 * np.conj(z), z).status
    <Status.PASS: 'pass'>
    >>> gradcheck.check_grad(L, lambda z: 2 * z, z).worst[0].where()
    'params.imag[0]'

**Complex outputs.** A function with a complex output :math:`y` is checked through a complex
cotangent :math:`v` with independent random real and imaginary parts: the real loss
:math:`L = \sum \operatorname{Re}(\bar v\,y) = \sum (\operatorname{Re} v \operatorname{Re} y +
\operatorname{Im} v \operatorname{Im} y)` checks the real and the imaginary part of the output
at once, and its gradient is what a backward returns for the upstream gradient :math:`v`
(PyTorch's ``y.backward(v)``).

**How it is checked.** Each complex leaf is split into its real and imaginary parts, two real
parameters named ``path.real`` and ``path.imag``, differenced and judged by the error model of
`gradcheck._engine.numdiff` like any real parameter (complex64 parts in float32, complex128
parts in float64); ``f`` and ``grad`` always see the joined complex arrays, read-only or fresh
as `gradcheck._engine.calls` gives the parts, and what they write into is noted by the
complex parameter's own path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.calls import same
from gradcheck._tree import Leaf


def is_complex(a: NDArray[Any]) -> bool:
    return bool(np.iscomplexobj(a))


def split(leaves: list[Leaf]) -> list[Leaf]:
    """Real leaves: each complex leaf becomes its ``.real`` and ``.imag`` parts (copies)."""
    out = []
    for leaf in leaves:
        if is_complex(leaf.array):
            out.append(Leaf(f"{leaf.path}.real", leaf.array.real.copy()))
            out.append(Leaf(f"{leaf.path}.imag", leaf.array.imag.copy()))
        else:
            out.append(leaf)
    return out


def join(leaves: list[Leaf], xs: list[Any]) -> list[Any]:
    """Arrays for ``leaves`` (the original ones) from ``xs``, aligned with ``split(leaves)``:
    a complex leaf's two parts are joined, in the complex dtype of the parts' precision. A
    joined array is read-only when both its parts are (`gradcheck._engine.calls`: f first gets
    read-only arrays, and fresh copies once it writes into one)."""
    out, it = [], iter(xs)
    for leaf in leaves:
        x = next(it)
        if is_complex(leaf.array):
            y = next(it)
            z = np.empty(np.broadcast_shapes(x.shape, y.shape), _complex_of(x.dtype))
            z.real, z.imag = x, y
            z.flags.writeable = _writeable(x) or _writeable(y)
            x = z
        out.append(x)
    return out


def written(leaves: list[Leaf], xs: list[Any], zs: list[Any]) -> list[str]:
    """The paths of the complex leaves whose joined array (``zs``, from `join`) the user's
    code wrote into: it no longer holds the parts ``xs`` it was joined from."""
    out, it = [], iter(xs)
    for leaf, z in zip(leaves, zs, strict=True):
        x = next(it)
        if is_complex(leaf.array):
            y = next(it)
            if not (same(z.real, x) and same(z.imag, y)):
                out.append(leaf.path)
    return out


def _writeable(a: Any) -> bool:
    return bool(np.asarray(a).flags.writeable)


def split_values(leaves: list[Leaf], gs: list[NDArray[Any]]) -> list[NDArray[Any]]:
    """Per-leaf values (gradients) aligned with ``split(leaves)``: complex ones in two parts."""
    out: list[NDArray[Any]] = []
    for leaf, g in zip(leaves, gs, strict=True):
        out.extend([g.real.copy(), g.imag.copy()] if is_complex(leaf.array) else [g])
    return out


def _complex_of(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.result_type(dtype, np.complex64)
