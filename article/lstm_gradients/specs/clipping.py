r"""Part I's remedy for exploding gradients: clipping by global norm and by value (CLIP-1 … 4).

Equation IDs (``formula-inventory.md`` §1): CLIP-1, CLIP-2, CLIP-3, CLIP-4; erratum ERR-6;
plot PLOT-E (`clip_by_norm`, `clip_by_value` are cheap, vectorised, 2-D friendly).

Article (Part I, point 2):
"(梯度爆炸不是问题,做个梯度裁剪就行了,对梯度乘以一个缩放因子,我们主要考虑的是梯度消失问题)"
and, in Part II, "梯度爆炸不是什么大问题".

A gradient is an ndarray or a list/tuple of ndarrays (one per parameter tensor); the
clipping functions return the same structure. Clipping by norm uses the **global** norm of
the concatenation (Pascanu et al. 2013, Algorithm 1), so every tensor is scaled by the same
factor :math:`c=\min(1,\tau/\|g\|_2)`.

Article notes
-------------
* *Imprecise (ERR-6):* clipping is a heuristic with a threshold τ. It bounds the step and keeps
  the direction (CLIP-1), but (a) an inf entry makes :math:`c=\tau/\infty=0` and
  :math:`0\cdot\infty=` NaN, and finite entries whose squared norm overflows (1e200) make the
  naive norm inf and the update **silently zero** (`clip_by_norm`, literal Algorithm 1);
  (b) the clipped direction stays dominated by the long-range component
  (`dominated_cosine`); (c) it never enlarges a vanishing gradient.
  `clip_by_norm_robust` fixes (a)'s overflow with a scaled norm and refuses non-finite input.

References
----------
.. [A] 《漫谈LSTM系列的梯度问题》, NLP Weekly (Zhihu), 2018, Part I point 2) and Part II.
.. [1] R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training recurrent neural
   networks", ICML 2013, §3.2 and Algorithm 1, arXiv:1211.5063.
.. [2] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002, §27.8
   (scaling to avoid overflow in the 2-norm; LAPACK ``dnrm2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from lstm_gradients.specs._spec import Spec

Array = NDArray[np.float64]
Grad = TypeVar("Grad", Array, list[Array], tuple[Array, ...])

__all__ = [
    "SPECS",
    "clip_by_norm",
    "clip_by_norm_robust",
    "clip_by_value",
    "clip_factor",
    "clip_rows",
    "dominated_cosine",
    "global_norm",
    "global_norm_scaled",
]


def _leaves(g: Array | Sequence[Array]) -> list[Array]:
    return [np.asarray(g)] if isinstance(g, np.ndarray) else [np.asarray(t) for t in g]


def _rebuild(g: Grad, leaves: list[Array]) -> Grad:
    if isinstance(g, np.ndarray):
        return leaves[0]
    return type(g)(leaves)


def global_norm(g: Array | Sequence[Array]) -> float:
    r""":math:`\|g\|_2=\sqrt{\sum_p\|g_p\|_F^2}`, the naive way (sum of squares, then sqrt).

    Overflows to inf once :math:`\sum g_i^2>1.8\times10^{308}`, e.g. for entries of 1e200,
    although the norm itself is representable (CLIP-4a). Under the suite's
    ``np.errstate(over="raise")`` that overflow raises; wrap calls in ``np.errstate``.
    """
    return float(np.sqrt(sum(float(np.sum(t * t)) for t in _leaves(g))))


def global_norm_scaled(g: Array | Sequence[Array]) -> float:
    r"""The global 2-norm without overflow: :math:`m\sqrt{\sum(g_i/m)^2}`, :math:`m=\max|g_i|`.

    Every :math:`|g_i/m|\le1`, so the sum is at most the entry count; the result is exact to a
    few ulps whenever the norm is representable (Higham §27.8). inf if any entry is ±inf,
    NaN if any is NaN, 0 for the zero gradient.
    """
    leaves = _leaves(g)
    m = max((float(np.max(np.abs(t), initial=0.0)) for t in leaves), default=0.0)
    if m == 0.0 or not np.isfinite(m):
        return m
    return m * float(np.sqrt(sum(float(np.sum((t / m) ** 2)) for t in leaves)))


def clip_factor(norm: float, tau: float) -> float:
    r"""Pascanu's factor :math:`c=\min(1,\tau/\|g\|)` (1 for ‖g‖ = 0; 0 for ‖g‖ = inf)."""
    return 1.0 if norm <= tau else tau / norm


def clip_by_norm(g: Grad, tau: float) -> Grad:
    r"""CLIP-1: :math:`\mathrm{clip}_\tau(g)=\min(1,\tau/\|g\|_2)\,g` (Pascanu 2013, Alg. 1).

    Article: "做个梯度裁剪就行了,对梯度乘以一个缩放因子". Literal algorithm with the naive
    `global_norm`, so it shows CLIP-4a: ``[1, inf, 2]`` gives ``[0, nan, 0]`` and entries of
    1e200 give all zeros (call inside ``np.errstate(over="ignore", invalid="ignore")``).
    Properties (CLIP-1): ‖clip(g)‖ = min(‖g‖, τ); one factor c ∈ (0, 1] for every tensor;
    identity iff ‖g‖ ≤ τ; idempotent; the Euclidean projection onto the ball B(0, τ), hence
    non-expansive; ⟨clip(g), g⟩ = c‖g‖² > 0. ``g``: array or list/tuple of arrays; τ > 0.
    """
    c = clip_factor(global_norm(g), tau)
    return _rebuild(g, [c * t for t in _leaves(g)])


def clip_by_norm_robust(g: Grad, tau: float) -> Grad:
    r"""`clip_by_norm` with the overflow-free `global_norm_scaled`; refuses non-finite input.

    Entries of 1e200 are clipped to norm τ (not zeroed). A gradient with an inf or NaN has no
    direction to keep: raises ``FloatingPointError`` (the caller should skip the step, as
    ``torch.nn.utils.clip_grad_norm_(error_if_nonfinite=True)`` does).
    """
    n = global_norm_scaled(g)
    if not np.isfinite(n):
        raise FloatingPointError(f"gradient has a non-finite entry (norm {n}); skip this step")
    c = clip_factor(n, tau)
    return _rebuild(g, [c * t for t in _leaves(g)])


def clip_by_value(g: Grad, tau: float) -> Grad:
    r"""CLIP-3: elementwise :math:`\min(\max(g_i,-\tau),\tau)`, the projection onto the ∞-ball.

    It **changes the direction** unless no coordinate is clipped, or every nonzero coordinate
    is clipped and all nonzero :math:`|g_i|` are equal: (10, 0.1) → (1, 0.1), cosine 0.99598.
    ``g``: array or list/tuple of arrays (each clipped elementwise).
    """
    return _rebuild(g, [np.clip(t, -tau, tau) for t in _leaves(g)])


def clip_rows(P: Array, tau: float) -> tuple[Array, Array]:
    r"""PLOT-E helper: each row of ``P`` (M, n) clipped as its own gradient, by norm and by value.

    Returns ``(by_norm, by_value)``, both (M, n): row m is ``clip_by_norm(P[m], tau)`` (the
    projection onto the disc/ball of radius τ) and ``clip_by_value(P[m], tau)`` (onto the
    square/cube [−τ, τ]^n), computed with the same formulas, vectorised over rows. For a 2-D
    picture, ``P`` is a grid or cloud of points (M, 2).
    """
    norms = np.sqrt(np.sum(P * P, axis=1, keepdims=True))
    c = np.where(norms <= tau, 1.0, tau / np.where(norms == 0, 1.0, norms))
    return c * P, np.clip(P, -tau, tau)


def dominated_cosine(K: float) -> float:
    r"""CLIP-4b: :math:`\cos\angle(\mathrm{clip}(g_s+g_\ell),g_s)=1/\sqrt{1+K^2}` when
    :math:`g_\ell\perp g_s` and :math:`\|g_\ell\|=K\|g_s\|`: clipping rescales, it cannot
    restore the short-term component's share of the direction."""
    return 1.0 / float(np.hypot(1.0, K))


# Clipping acts on gradients, not on a layer's forward pass: there is no CS231n pair to check
# against finite differences, so this family registers no Spec records (its claims are exact
# properties, tested in proofs/test_clipping.py).
SPECS: tuple[Spec, ...] = ()
