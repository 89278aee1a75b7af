"""Deliberately wrong normalization backwards (dropped terms), the negative controls shared by
proofs/test_norm_backward.py and proofs/test_checker_regressions.py. Each takes and returns what
`specs.normalization.normalize_backward` does."""

from __future__ import annotations

import numpy as np

from lstm_gradients.specs.normalization import NormCache, normalize_backward


def without_variance_path(dy: np.ndarray, cache: NormCache) -> tuple[np.ndarray, ...]:
    """Wrong: drops the −x̂·mean(dx̂ x̂) term (treats σ² as a constant)."""
    s, axes = cache.kernel.s, cache.kernel.axes
    dxhat = (dy * cache.gamma).reshape(cache.view)
    dx = (dxhat - dxhat.mean(axis=axes, keepdims=True)) / s
    _, dg, db = normalize_backward(dy, cache)
    return dx.reshape(cache.x.shape), dg, db


def without_mean_path(dy: np.ndarray, cache: NormCache) -> tuple[np.ndarray, ...]:
    """Wrong: drops the −mean(dx̂) term (treats μ as a constant)."""
    s, axes = cache.kernel.s, cache.kernel.axes
    dxhat = (dy * cache.gamma).reshape(cache.view)
    xh = cache.xhat.reshape(cache.view)
    dx = (dxhat - xh * (dxhat * xh).mean(axis=axes, keepdims=True)) / s
    _, dg, db = normalize_backward(dy, cache)
    return dx.reshape(cache.x.shape), dg, db


def without_gamma(dy: np.ndarray, cache: NormCache) -> tuple[np.ndarray, ...]:
    """Wrong: forgets ∂y/∂x̂ = γ (uses dy for dx̂)."""
    dx = normalize_backward(dy, cache._replace(gamma=np.ones_like(cache.gamma)))[0]
    return dx, *normalize_backward(dy, cache)[1:]
