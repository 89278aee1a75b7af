"""The cases issue 11 names (parts 2-3), each with its verdict as a user sees it.

    python -m benchmarks.named_cases           # print the table rows (markdown)
    PYTHONPATH=<an older checkout> python -m benchmarks.named_cases   # the same, before

Every case is deterministic (full mode draws nothing, fast mode uses seed 0), so the rows are
exact, not samples. A row gives the overall verdict and the entries that drive it (failures,
then inconclusive entries with their named cause). References are exact derivative identities
(DLMF 10.6.3, 6.6.2, 5.15.1, 7.2.1) or hand-written gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special as sp

import gradcheck

Case = tuple[str, Callable[[Any], float], Callable[[Any], Any], Any, str]


def _inverse_sum(p: Any) -> float:
    return float(np.sum(1 / p))


def _inverse_grad(p: Any) -> Any:
    return -1 / p**2


def _inverse_wrong(p: Any) -> Any:
    g = -1 / p**2
    g[1] *= 2  # 100 % off
    return g


def _relu_layer() -> tuple[Callable[[Any], float], Callable[[Any], Any], Any]:
    # 3 pre-activations within 1e-9 of 0 (one exactly 0), as tests/test_ladder.py builds them
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    for row, col, off in ((0, 1, 0.0), (2, 1, 1e-9), (4, 3, -1e-9)):
        z = x[row] @ W[:, col]
        W[:, col] -= x[row] * (z - off) / (x[row] @ x[row])
    v = rng.standard_normal((5, 4))

    def f(W: Any) -> float:
        return float(np.sum(v * np.maximum(x @ W, 0)))

    def grad(W: Any) -> Any:
        return x.T @ (v * (x @ W > 0))

    return f, grad, W


def _hinge() -> tuple[Callable[[Any], float], Callable[[Any], Any], Any]:
    # torch's hinge_embedding_loss with its ±1 target y a parameter
    s = np.random.default_rng(0).uniform(0.2, 0.8, 6)
    params = {"s": s, "y": np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])}

    def f(p: Any) -> float:
        return float(np.sum(np.where(p["y"] == 1, p["s"], np.maximum(0, 1 - p["s"]))))

    def grad(p: Any) -> Any:
        return {"s": np.where(p["y"] == 1, 1.0, -1.0), "y": np.zeros(6)}

    return f, grad, params


def _wrong(grad: Callable[[Any], Any], key: str | None = None, i: int = 0) -> Callable[[Any], Any]:
    """``grad`` with entry ``i`` (of ``key``) 1 % off."""

    def g(p: Any) -> Any:
        out = grad(p)
        (out if key is None else out[key]).reshape(-1)[i] *= 1.01
        return out

    return g


def _elementwise(fn: Callable[[Any], Any]) -> Callable[[Any], float]:
    def f(x: Any) -> float:
        with np.errstate(all="ignore"):
            return float(np.sum(fn(x)))

    return f


def _f32(x: Any) -> float:
    return float(np.sum(np.exp(np.sin(x.astype(np.float32)))))


def _g32(x: Any) -> Any:
    return np.exp(np.sin(x)) * np.cos(x)


def cases() -> list[Case]:
    """(name, f, grad, params, mode) for every row."""
    p = np.array([1e-9, 1.0, 2.0])
    relu_f, relu_g, W = _relu_layer()
    hinge_f, hinge_g, hinge_p = _hinge()
    specials = [
        ("j0 at 1e6", sp.j0, lambda x: -sp.j1(x), 1e6),
        ("sici (Si) at 1e6", lambda x: sp.sici(x)[0], lambda x: np.sin(x) / x, 1e6),
        ("sici (Ci) at 1e6", lambda x: sp.sici(x)[1], lambda x: np.cos(x) / x, 1e6),
        ("gammaln at -2 + 1e-6", sp.gammaln, sp.digamma, -2 + 1e-6),
        ("digamma at -2 + 1e-6", sp.digamma, lambda x: sp.polygamma(1, x), -2 + 1e-6),
        ("gamma at -2 + 1e-6", sp.gamma, lambda x: sp.gamma(x) * sp.digamma(x), -2 + 1e-6),
    ]
    out: list[Case] = [
        ("sum(1/p), p = [1e-9, 1, 2], correct", _inverse_sum, _inverse_grad, p, "full"),
        ("sum(1/p), p[1] 100 % wrong", _inverse_sum, _inverse_wrong, p, "full"),
        ("ReLU layer, 3 inputs within 1e-9 of 0, correct", relu_f, relu_g, W, "full"),
        ("ReLU layer, W[0, 0] 1 % wrong", relu_f, _wrong(relu_g), W, "full"),
        ("hinge loss, ±1 target y a parameter, correct", hinge_f, hinge_g, hinge_p, "full"),
        ("hinge loss, s[2] 1 % wrong", hinge_f, _wrong(hinge_g, "s", 2), hinge_p, "full"),
    ]
    for name, fn, d, x0 in specials:
        x = np.array([x0])
        for mode in ("full", "fast"):
            out.append((f"{name}, correct, {mode}", _elementwise(fn), d, x, mode))
            out.append((f"{name}, 1 % wrong, {mode}", _elementwise(fn), _wrong(d), x, mode))
    wide = np.logspace(4, 12, 9)
    wide_neg = -(np.logspace(4, 12, 9).round() + 0.5)  # digamma's poles at -n, 1/2 away
    for name, fn, d, x in (
        ("fast, one array 1e4..1e12: gammaln", sp.gammaln, sp.digamma, wide),
        ("fast, one array -(1e4..1e12 + 1/2): digamma", sp.digamma, _trigamma, wide_neg),
    ):
        out.append((f"{name}, correct", _elementwise(fn), d, x, "fast"))
        out.append((f"{name}, x[8] 1 % wrong", _elementwise(fn), _wrong(d, None, 8), x, "fast"))
    x32 = np.random.default_rng(0).uniform(0.5, 1.5, 20) * np.array([1.0, -1.0] * 10)
    i32 = int(np.argmax(np.abs(_g32(x32))))
    for mode in ("full", "fast"):
        name = "float32 inside a float64 f (20 entries)"
        out.append((f"{name}, correct, {mode}", _f32, _g32, x32, mode))
        bad = _wrong(_g32, None, i32)
        out.append((f"{name}, x[{i32}] 1 % wrong, {mode}", _f32, bad, x32, mode))
    x2 = x32[:2]
    out.append(("float32 inside (2 entries), correct, fast", _f32, _g32, x2, "fast"))
    out.append(("float32 inside (2 entries), x[0] 1 % wrong, fast", _f32, _wrong(_g32), x2, "fast"))
    return out


def _trigamma(x: Any) -> Any:
    # polygamma(1, x) for x = -(n + 1/2): the reflection psi'(1-x) + psi'(x) = pi^2/sin^2(pi x)
    # with sin^2 = 1 at half-integers, so psi'(x) = pi^2 - psi'(1 - x) (no cancellation).
    return np.pi**2 - sp.polygamma(1, 1 - x)


def _cause(note: str) -> str:
    """A note's first clause (the named cause)."""
    for sep in (" (", ":", ";", ". ", ","):
        note = note.split(sep)[0]
    return note.rstrip(".")


def verdict(res: Any) -> str:
    """``status: entry (cause), ...`` for the entries that drive the verdict."""
    shown = [
        f"{e.where()} {e.status.value}" + (f" ({_cause(e.note)})" if e.note else "")
        for e in res.worst
        if e.status.value != "pass"
    ][:4]
    return f"**{res.status.value}**" + (": " + ", ".join(shown) if shown else "")


def main() -> None:
    for name, f, grad, params, mode in cases():
        try:
            res = gradcheck.check_grad(f, grad, params, mode=mode, seed=0)
            text = verdict(res)
        except gradcheck.GradcheckError as e:  # pragma: no cover - shown as it is
            text = f"error: {type(e).__name__}"
        print(f"| {name} | {text} |")


if __name__ == "__main__":
    main()
