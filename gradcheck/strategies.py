"""Hypothesis strategies for gradient tests: seeded generators, scaled arrays, spectral weights.

Every strategy here draws a **seed** (and, where asked, a scale or a spectral norm) and builds
its arrays with ``np.random.default_rng(seed)``. Hypothesis therefore shrinks integers and
floats, not thousands of array entries, and a failing example is reproducible from the printed
seed alone.

>>> from hypothesis import given
>>> from gradcheck.strategies import rngs, spectral_matrices
>>> @given(W=spectral_matrices((4, 4), rho=0.9), rng=rngs())
... def test_contraction(W, rng):
...     x = rng.standard_normal(4)
...     assert np.linalg.norm(x @ W) <= 0.9 * np.linalg.norm(x) * (1 + 1e-12)

Strategies
----------
`rngs`               ``np.random.Generator`` built from a drawn seed; its repr shows the seed.
`scaled_arrays`      float64 arrays ``scale * N(0, 1)`` of a fixed shape.
`spectral_matrices`  float64 matrices ``U diag(s) V^T`` with ``||W||_2 = rho`` exactly
                     (up to rounding): ``s_1 = rho``, ``s_2.. ~ U[0, rho]``.
`orthogonal_matrices` float64 square matrices with orthonormal columns (``||W||_2 = 1``,
                     every singular value 1).
`checker_zoo`        random functions of parameter trees with exact gradients, planted
                     errors and poisoned entries, for testing a gradient checker
                     (`gradcheck.zoo`).

References
----------
Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks",
ICML, §2.1 (the largest singular value of the recurrent matrix controls vanishing/exploding).
Mezzadri (2007), "How to generate random matrices from the classical compact groups",
Notices AMS 54(5) (QR of a Gaussian with the signs of diag(R) fixed gives Haar measure).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import NDArray

from gradcheck.zoo import checker_zoo

__all__ = [
    "checker_zoo",
    "orthogonal_matrices",
    "rngs",
    "scaled_arrays",
    "spectral_matrices",
]

FloatArray = NDArray[np.float64]
FloatOrStrategy = float | st.SearchStrategy[float]

_SEEDS = st.integers(0, 2**32 - 1)


class SeededGenerator(np.random.Generator):
    """A ``np.random.Generator`` that remembers its seed, so its repr reproduces it.

    It draws exactly what ``np.random.default_rng(seed)`` draws (same ``PCG64`` stream).
    """

    def __init__(self, seed: int) -> None:
        super().__init__(np.random.PCG64(seed))
        self.seed = seed

    def __repr__(self) -> str:
        return f"np.random.default_rng({self.seed})"


def rngs() -> st.SearchStrategy[np.random.Generator]:
    """Strategy of fresh ``np.random.Generator`` objects, each built from a drawn seed.

    The seed is drawn from ``st.integers(0, 2**32 - 1)``, so it shrinks towards 0, and a failing
    example prints as ``np.random.default_rng(<seed>)``. Each example gets a new generator:
    no state is shared between examples and nothing touches numpy's global random state.
    """
    return _SEEDS.map(SeededGenerator)


def _check_shape(shape: object, argname: str, ndim: int | None = None) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) for n in shape
    ):
        raise InvalidArgument(
            f"{argname}={shape!r} must be a tuple of ints, e.g. {argname}=(3, 4)."
        )
    if ndim is not None and len(shape) != ndim:
        raise InvalidArgument(
            f"{argname}={shape!r} has {len(shape)} dimensions; pass exactly {ndim}, "
            f"e.g. {argname}=(3, 4)."
        )
    if any(n < 1 for n in shape):
        raise InvalidArgument(
            f"{argname}={shape!r} has a dimension < 1; every dimension must be >= 1."
        )
    return tuple(int(n) for n in shape)


def _check_nonneg(value: object, argname: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidArgument(
            f"{argname}={value!r} must be a real number or a strategy of floats, "
            f"e.g. {argname}=1.0 or {argname}=st.floats(0.1, 2.0)."
        )
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise InvalidArgument(f"{argname}={value!r} must be finite and >= 0.")
    return v


def _as_strategy(value: object, argname: str) -> st.SearchStrategy[float]:
    """A fixed number becomes ``st.just``; a strategy is checked value by value when drawn."""
    if isinstance(value, st.SearchStrategy):
        return value.map(lambda v: _check_nonneg(v, argname))
    return st.just(_check_nonneg(value, argname))


def _haar_columns(rng: np.random.Generator, n: int, k: int) -> FloatArray:
    """``n x k`` matrix with orthonormal columns: QR of a Gaussian, signs of diag(R) made +."""
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    out: FloatArray = q * signs
    return out


def scaled_arrays(
    shape: int | tuple[int, ...], scale: FloatOrStrategy = 1.0
) -> st.SearchStrategy[FloatArray]:
    """Strategy of float64 arrays ``scale * Z`` with ``Z`` i.i.d. standard normal.

    Parameters
    ----------
    shape : int or tuple of ints >= 1.
    scale : a float >= 0, or a strategy of such floats (drawn once per array).

    The entries come from ``np.random.default_rng(seed).standard_normal(shape)`` with a drawn
    seed, so shrinking acts on the seed and the scale only.
    """
    shape_ = _check_shape(shape, "shape")
    scales = _as_strategy(scale, "scale")

    def build(seed: int, s: float) -> FloatArray:
        out: FloatArray = s * np.random.default_rng(seed).standard_normal(shape_)
        return out

    return st.builds(build, _SEEDS, scales)


def spectral_matrices(
    shape: tuple[int, int], rho: FloatOrStrategy
) -> st.SearchStrategy[FloatArray]:
    """Strategy of float64 matrices ``W = U diag(s) V^T`` whose spectral norm is ``rho``.

    ``U`` (m x k) and ``V`` (n x k), ``k = min(m, n)``, have orthonormal columns from the QR of
    Gaussian matrices with the signs of ``diag(R)`` fixed (Haar-distributed); ``s_1 = rho`` and
    ``s_2, ..., s_k ~ U[0, rho]``. Hence ``||W||_2 = sigma_max(W) = rho`` up to rounding:
    ``np.linalg.norm(W, 2)`` agrees with ``rho`` to a few ``eps * rho`` (tested to 1e-14
    relative). This is formula-inventory §0.2's recipe for weights with a chosen spectral norm.

    Parameters
    ----------
    shape : ``(m, n)``, both >= 1.
    rho : the spectral norm, a float >= 0 or a strategy of such floats.

    Examples
    --------
    ``spectral_matrices((H, H), rho=st.floats(0.05, 3.0))`` draws recurrent weights ``W_s``
    across the vanishing (rho < 1) and possibly-exploding (rho > 1) regimes.
    """
    m, n = _check_shape(shape, "shape", ndim=2)
    rhos = _as_strategy(rho, "rho")
    k = min(m, n)

    def build(seed: int, r: float) -> FloatArray:
        rng = np.random.default_rng(seed)
        u = _haar_columns(rng, m, k)
        v = _haar_columns(rng, n, k)
        s = np.concatenate(([r], rng.uniform(0.0, r, size=k - 1)))
        out: FloatArray = (u * s) @ v.T
        return out

    return st.builds(build, _SEEDS, rhos)


def orthogonal_matrices(n: int) -> st.SearchStrategy[FloatArray]:
    """Strategy of ``n x n`` orthogonal float64 matrices (Haar-distributed, every s_i = 1).

    Useful where a norm must be preserved exactly, e.g. a linear recurrence ``s_t = s_{t-1} W``
    with ``||s_t|| = ||s_{t-1}||`` (formula-inventory ERR-11's counter-demo).
    """
    (n_,) = _check_shape(n, "n", ndim=1)

    def build(seed: int) -> FloatArray:
        return _haar_columns(np.random.default_rng(seed), n_, n_)

    return st.builds(build, _SEEDS)
