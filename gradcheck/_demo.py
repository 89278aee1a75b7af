"""The built-in example: a two-layer tanh network, its hand-written gradient, and a planted bug."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck._check import check_grad
from gradcheck._engine.options import seed_value
from gradcheck._result import CheckResult

Params = dict[str, np.ndarray[Any, np.dtype[np.float64]]]


def _data(seed: int) -> tuple[Params, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.standard_normal((4, 5)) / 2,
        "b1": rng.standard_normal(5) / 2,
        "W2": rng.standard_normal((5, 3)) / 2,
    }
    return params, rng.standard_normal((6, 4)), rng.standard_normal((6, 3))


def demo(seed: int = 0, bug: bool = False) -> CheckResult:
    """Check ``E = ½‖tanh(x W1 + b1) W2 − y‖²``; with ``bug``, dW1 forgets ``tanh'``."""
    params, x, y = _data(seed_value(seed) or 0)  # a typed error for a bad seed, not numpy's

    def loss(p: Params) -> float:
        s = np.tanh(x @ p["W1"] + p["b1"])
        return float(0.5 * np.sum((s @ p["W2"] - y) ** 2))

    def grad(p: Params) -> Params:
        s = np.tanh(x @ p["W1"] + p["b1"])
        do = s @ p["W2"] - y
        ds = do @ p["W2"].T
        da = ds if bug else ds * (1 - s**2)
        return {"W1": x.T @ da, "b1": da.sum(axis=0), "W2": s.T @ do}

    return check_grad(loss, grad, params, seed=seed, label="demo: two-layer tanh network")
