"""Functions with closed-form gradients, for testing the checker itself.

Each family builds ``(f, grad, params)`` from a generator, a parameter scale ``s`` (the
magnitude of the parameters) and an output scale ``m``. The functions are written in the
scaled variable ``x / s`` so that their structure sits at the parameters' own scale: the
checker's relative steps must make its verdicts independent of ``s`` and ``m``.
Gradients are computed in the parameters' dtype (float32 parameters get a float32 gradient).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, log_softmax, softmax

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Problem:
    name: str
    f: Callable[[Any], float]
    grad: Callable[[Any], Any]
    params: Any


def _cast(tree: Any, dtype: Any) -> Any:
    if isinstance(tree, dict):
        return {k: v.astype(dtype) for k, v in tree.items()}
    return tree.astype(dtype)


def polynomial(rng: np.random.Generator, n: int, s: float, m: float, dtype: Any) -> Problem:
    """f = m Σ a_i (x_i/s)^k_i, k_i in 1..4."""
    a = rng.standard_normal(n)
    k = rng.integers(1, 5, n)
    x = (rng.standard_normal(n) * s).astype(dtype)

    def f(x: Array) -> float:
        return float(m * np.sum(a * (x / s) ** k))

    def grad(x: Array) -> Array:
        return (m * a * k * (x / s) ** (k - 1) / s).astype(x.dtype)

    return Problem("polynomial", f, grad, x)


def exp_sin_log(rng: np.random.Generator, n: int, s: float, m: float, dtype: Any) -> Problem:
    """f = m Σ exp(sin(x/s)) + log(1 + (x/s)^2)."""
    x = (rng.standard_normal(n) * s).astype(dtype)

    def f(x: Array) -> float:
        u = x / s
        return float(m * np.sum(np.exp(np.sin(u)) + np.log1p(u**2)))

    def grad(x: Array) -> Array:
        u = x / s
        return (m * (np.exp(np.sin(u)) * np.cos(u) + 2 * u / (1 + u**2)) / s).astype(x.dtype)

    return Problem("exp_sin_log", f, grad, x)


def sigmoid_tanh(rng: np.random.Generator, n: int, s: float, m: float, dtype: Any) -> Problem:
    """f = m Σ w σ(3 tanh(x/s) + c), with c up to ±40 so some units saturate in float64."""
    w = rng.standard_normal(n)
    c = rng.choice([0.0, 5.0, -20.0, 40.0], n)
    x = (rng.standard_normal(n) * s).astype(dtype)

    def f(x: Array) -> float:
        return float(m * np.sum(w * expit(3 * np.tanh(x / s) + c)))

    def grad(x: Array) -> Array:
        t = np.tanh(x / s)
        z = expit(3 * t + c)
        # σ' = σ(1 − σ) in float: exactly 0 for the c = 40 units, whose true value is ~1e-17.
        return (m * w * z * (1 - z) * 3 * (1 - t**2) / s).astype(x.dtype)

    return Problem("sigmoid_tanh", f, grad, x)


def matrix_product(rng: np.random.Generator, n: int, s: float, m: float, dtype: Any) -> Problem:
    """f = ½ m ‖A (X/s) B − C‖_F², gradient m Aᵀ R Bᵀ / s."""
    p, q = 1 + n % 3, 1 + n % 4
    A, B, C = rng.standard_normal((3, p)), rng.standard_normal((q, 2)), rng.standard_normal((3, 2))
    X = (rng.standard_normal((p, q)) * s).astype(dtype)

    def f(X: Array) -> float:
        return float(0.5 * m * np.sum((A @ (X / s) @ B - C) ** 2))

    def grad(X: Array) -> Array:
        R = A @ (X / s) @ B - C
        return (m * A.T @ R @ B.T / s).astype(X.dtype)

    return Problem("matrix_product", f, grad, X)


def softmax_cross_entropy(
    rng: np.random.Generator, n: int, s: float, m: float, dtype: Any
) -> Problem:
    """f = −m Σ_n log softmax(x W/s)[y_n], gradient m xᵀ (softmax − onehot) / s."""
    N, D, K = 1 + n % 4, 2, 3
    x = rng.standard_normal((N, D))
    y = rng.integers(0, K, N)
    W = (rng.standard_normal((D, K)) * s).astype(dtype)
    onehot = np.eye(K)[y]

    def f(W: Array) -> float:
        return float(-m * np.sum(log_softmax(x @ (W / s), axis=1)[np.arange(N), y]))

    def grad(W: Array) -> Array:
        return (m * x.T @ (softmax(x @ (W / s), axis=1) - onehot) / s).astype(W.dtype)

    return Problem("softmax_cross_entropy", f, grad, W)


def small_mlp(rng: np.random.Generator, n: int, s: float, m: float, dtype: Any) -> Problem:
    """A sigmoid-tanh two-layer net with a squared loss; params a dict of three leaves."""
    N, D, H = 1 + n % 3, 3, 2
    x, y = rng.standard_normal((N, D)), rng.standard_normal((N, 1))
    params = _cast(
        {
            "W1": rng.standard_normal((D, H)) * s,
            "b1": rng.standard_normal(H) * s,
            "W2": rng.standard_normal((H, 1)) * s,
        },
        dtype,
    )

    def forward(p: dict[str, Array]) -> tuple[Array, Array]:
        hid = np.tanh(x @ (p["W1"] / s) + p["b1"] / s)
        return hid, expit(hid @ (p["W2"] / s))

    def f(p: dict[str, Array]) -> float:
        return float(0.5 * m * np.sum((forward(p)[1] - y) ** 2))

    def grad(p: dict[str, Array]) -> dict[str, Array]:
        hid, out = forward(p)
        da = m * (out - y) * out * (1 - out)
        dh = da @ (p["W2"] / s).T * (1 - hid**2)
        g = {"W1": x.T @ dh / s, "b1": dh.sum(axis=0) / s, "W2": hid.T @ da / s}
        return {k: v.astype(p[k].dtype) for k, v in g.items()}

    return Problem("small_mlp", f, grad, params)


FAMILIES = (
    polynomial,
    exp_sin_log,
    sigmoid_tanh,
    matrix_product,
    softmax_cross_entropy,
    small_mlp,
)
