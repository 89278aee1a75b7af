"""Deliberately wrong normalization backwards (dropped terms), the negative controls shared by
proofs/test_norm_backward.py and proofs/test_checker_regressions.py. Each takes and returns what
`specs.normalization.normalize_backward` does."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_gradients.specs.normalization import normalize_backward


def without_variance_path(dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """Wrong: drops the −x̂·mean(dx̂ x̂) term (treats σ² as a constant)."""
    x, _, g, (_, s, axes), shape, _ = cache
    dxhat = (dy * g).reshape(shape)
    dx = (dxhat - dxhat.mean(axis=axes, keepdims=True)) / s
    _, dg, db = normalize_backward(dy, cache)
    return dx.reshape(x.shape), dg, db


def without_mean_path(dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """Wrong: drops the −mean(dx̂) term (treats μ as a constant)."""
    x, xhat, g, (_, s, axes), shape, _ = cache
    dxhat = (dy * g).reshape(shape)
    xh = xhat.reshape(shape)
    dx = (dxhat - xh * (dxhat * xh).mean(axis=axes, keepdims=True)) / s
    _, dg, db = normalize_backward(dy, cache)
    return dx.reshape(x.shape), dg, db


def without_gamma(dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """Wrong: forgets ∂y/∂x̂ = γ (uses dy for dx̂)."""
    x, xhat, g, kcache, shape, eps = cache
    return normalize_backward(dy, (x, xhat, np.ones_like(g), kcache, shape, eps))[0], *(
        normalize_backward(dy, cache)[1:]
    )
