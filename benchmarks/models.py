"""Hand-written numpy models for the benchmarks: loss, analytic gradient, stackable forward.

Each model's loss is ``sum(w * out)`` with a fixed random, non-uniform weight ``w`` (a
random upstream gradient), so its gradient is the layer's backward applied to ``w``.
CS231n conventions: batch-first rows, ``x @ W`` with ``W`` shaped ``(D_in, D_out)``, LSTM
gates packed ``i, f, o, g``. The forward passes broadcast over a leading stack axis of every
parameter (``vectorized=True``): ``x @ Wx`` with ``Wx`` of shape ``(B, D, 4H)`` gives
``(B, N, 4H)``, and biases are indexed ``b[..., None, :]``. The backward passes are the
classic per-sample CS231n loops and are never stacked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

Array = np.ndarray[Any, Any]
Params = dict[str, Array]


@dataclass(frozen=True)
class Model:
    name: str
    params: Params
    loss: Callable[[Params], Any]  # scalar for plain params, (B,) for stacked params
    grad: Callable[[Params], Params]

    @property
    def size(self) -> int:
        return sum(p.size for p in self.params.values())


# --- LSTM (CS231n lstm_forward / lstm_backward) -------------------------------------------


def lstm_forward(x: Array, h0: Array, p: Params) -> tuple[Array, list[tuple[Array, ...]]]:
    """Hidden states ``(..., N, T, H)``; ``x`` (N, T, D), ``h0`` (N, H)."""
    N, T, D = x.shape
    H = p["Wh"].shape[-2]
    # the input projection of every step in one matmul: (..., N*T, 4H), then per step
    ax = (x.reshape(N * T, D) @ p["Wx"] + p["b"][..., None, :]).reshape(
        *p["Wx"].shape[:-2], N, T, 4 * H
    )
    h, c = h0, np.zeros_like(h0)
    hs, caches = [], []
    for t in range(T):
        a = ax[..., t, :] + h @ p["Wh"]
        sig = expit(a[..., : 3 * H])
        i, f, o = sig[..., :H], sig[..., H : 2 * H], sig[..., 2 * H :]
        g = np.tanh(a[..., 3 * H :])
        c_prev, h_prev = c, h
        c = f * c + i * g
        tc = np.tanh(c)
        h = o * tc
        hs.append(h)
        caches.append((x[:, t], h_prev, c_prev, i, f, o, g, tc))
    return np.stack(hs, axis=-2), caches


def lstm_backward(dh: Array, caches: list[tuple[Array, ...]], p: Params) -> Params:
    """CS231n lstm_backward: gradients of ``sum(dh * h)`` with respect to Wx, Wh, b."""
    dWx, dWh, db = (np.zeros_like(p[k]) for k in ("Wx", "Wh", "b"))
    dh_next = np.zeros_like(dh[:, 0])
    dc_next = np.zeros_like(dh_next)
    for t in reversed(range(dh.shape[1])):
        xt, h_prev, c_prev, i, f, o, g, tc = caches[t]
        dht = dh[:, t] + dh_next
        dc = dc_next + dht * o * (1 - tc**2)
        da = np.concatenate(
            [
                dc * g * i * (1 - i),
                dc * c_prev * f * (1 - f),
                dht * tc * o * (1 - o),
                dc * i * (1 - g**2),
            ],
            axis=1,
        )
        dWx += xt.T @ da
        dWh += h_prev.T @ da
        db += da.sum(axis=0)
        dh_next = da @ p["Wh"].T
        dc_next = dc * f
    return {"Wx": dWx, "Wh": dWh, "b": db}


def lstm(N: int, T: int, D: int, H: int, seed: int = 0) -> Model:
    """An LSTM over a fixed sequence; 4H(D + H + 1) parameters."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D))
    h0 = 0.5 * rng.standard_normal((N, H))
    w = rng.standard_normal((N, T, H))
    params = {
        "Wx": rng.standard_normal((D, 4 * H)) / np.sqrt(D),
        "Wh": rng.standard_normal((H, 4 * H)) / np.sqrt(H),
        "b": 0.1 * rng.standard_normal(4 * H),
    }

    def loss(p: Params) -> Any:
        hs, _ = lstm_forward(x, h0, p)
        return np.sum(w * hs, axis=(-3, -2, -1))

    def grad(p: Params) -> Params:
        _, caches = lstm_forward(x, h0, p)
        return lstm_backward(w, caches, p)

    return Model(f"LSTM H={H} D={D} T={T} N={N}", params, loss, grad)


# --- tanh RNN ------------------------------------------------------------------------------


def rnn(N: int, T: int, D: int, H: int, seed: int = 0) -> Model:
    """A vanilla tanh RNN, h_t = tanh(x_t Wx + h_{t-1} Wh + b); H(D + H + 1) parameters."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D))
    h0 = 0.5 * rng.standard_normal((N, H))
    w = rng.standard_normal((N, T, H))
    params = {
        "Wx": rng.standard_normal((D, H)) / np.sqrt(D),
        "Wh": rng.standard_normal((H, H)) / np.sqrt(H),
        "b": 0.1 * rng.standard_normal(H),
    }

    def forward(p: Params) -> tuple[Array, list[Array]]:
        h, hs = h0, []
        for t in range(T):
            h = np.tanh(x[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"][..., None, :])
            hs.append(h)
        return np.stack(hs, axis=-2), hs

    def loss(p: Params) -> Any:
        return np.sum(w * forward(p)[0], axis=(-3, -2, -1))

    def grad(p: Params) -> Params:
        _, hs = forward(p)
        g = {k: np.zeros_like(v) for k, v in p.items()}
        dh_next = np.zeros_like(h0)
        for t in reversed(range(T)):
            h_prev = hs[t - 1] if t else h0
            da = (w[:, t] + dh_next) * (1 - hs[t] ** 2)
            g["Wx"] += x[:, t].T @ da
            g["Wh"] += h_prev.T @ da
            g["b"] += da.sum(axis=0)
            dh_next = da @ p["Wh"].T
        return g

    return Model(f"tanh RNN H={H} D={D} T={T} N={N}", params, loss, grad)


# --- batch norm (training mode, CS231n batchnorm_forward / batchnorm_backward_alt) --------


def batchnorm(N: int, D: int, seed: int = 0, eps: float = 1e-5) -> Model:
    """Batch norm of x (N, D) with gamma, beta; the input x is a parameter too."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((N, D))
    params = {
        "x": 2.0 + 3.0 * rng.standard_normal((N, D)),
        "gamma": 1.0 + 0.1 * rng.standard_normal(D),
        "beta": 0.1 * rng.standard_normal(D),
    }

    def normalized(x: Array) -> tuple[Array, Array]:
        mu = x.mean(axis=-2, keepdims=True)
        inv = 1.0 / np.sqrt(x.var(axis=-2, keepdims=True) + eps)
        return (x - mu) * inv, inv

    def loss(p: Params) -> Any:
        xhat, _ = normalized(p["x"])
        out = p["gamma"][..., None, :] * xhat + p["beta"][..., None, :]
        return np.sum(w * out, axis=(-2, -1))

    def grad(p: Params) -> Params:
        xhat, inv = normalized(p["x"])
        dxhat = w * p["gamma"]
        dx = inv * (dxhat - dxhat.mean(axis=0) - xhat * np.mean(dxhat * xhat, axis=0))
        return {"x": dx, "gamma": np.sum(w * xhat, axis=0), "beta": w.sum(axis=0)}

    return Model(f"batch norm N={N} D={D}", params, loss, grad)
