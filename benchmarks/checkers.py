"""Every checker of the comparison, run on one `Model`: wall time, calls of f, max error.

Each runner returns a `Run`. The error column is one metric for every tool, the one
gradcheck reports as ``max_rel_error``: for each entry ``|a_i - n_i| / (|n_i| + G / s_i)``,
``G = max_j |a_j| s_j``, ``s_i`` the entry's own magnitude as gradcheck scales it
(`gradcheck._engine.numdiff.scales`: ``|x_i|``, at least 2^-20 of the leaf's rms, the rms for
an exact 0) (a relative error that judges tiny entries against the gradient's scale, not
against themselves). For fast mode it is the
same quantity over the checked directions. "calls" counts parameter sets f was evaluated
at (a vectorized call of B stacked sets counts B; the Python calls are given as well).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import gradcheck
from benchmarks.models import Model, Params
from gradcheck._engine.numdiff import scales

Array = np.ndarray[Any, Any]


@dataclass
class Run:
    checker: str
    seconds: float
    calls: int
    max_rel_error: float
    verdict: str = ""
    python_calls: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# --- flat views of a model -------------------------------------------------------------


def flat(m: Model) -> tuple[Array, Callable[[Array], Params], Array]:
    """The parameters as one vector, the map back (accepting a leading stack axis), scales."""
    keys = list(m.params)
    shapes = [m.params[k].shape for k in keys]
    sizes = [int(np.prod(s)) for s in shapes]
    x0 = np.concatenate([m.params[k].ravel() for k in keys])

    def unflat(x: Array) -> Params:
        lead = x.shape[:-1]
        parts = np.split(x, np.cumsum(sizes)[:-1], axis=-1)
        return {k: p.reshape(*lead, *s) for k, p, s in zip(keys, parts, shapes, strict=True)}

    s = np.concatenate([scales(v.astype(np.float64)).ravel() for v in m.params.values()])
    return x0, unflat, s


def flat_grad(m: Model) -> Array:
    g = m.grad(m.params)
    return np.concatenate([g[k].ravel() for k in m.params])


def rel_error(a: Array, n: Array, s: Array) -> float:
    G = float(np.max(np.abs(a) * s))
    return float(np.max(np.abs(a - n) / (np.abs(n) + G / s)))


class Counter:
    """Wraps f(params) -> float; counts calls."""

    def __init__(self, m: Model) -> None:
        self.m, self.calls = m, 0
        _, self.unflat, _ = flat(m)

    def __call__(self, x: Array) -> float:
        self.calls += 1
        return float(self.m.loss(self.unflat(x)))


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def unit_seconds(m: Model, repeats: int = 50) -> float:
    """One forward+backward: a call of the model's gradient (which runs the forward)."""
    t, _ = timed(lambda: [m.grad(m.params) for _ in range(10)], repeats)
    return t / 10


# --- gradcheck -----------------------------------------------------------------------------


def run_gradcheck(m: Model, mode: str, vectorized: bool, repeats: int = 1, seed: int = 0) -> Run:
    def go() -> gradcheck.CheckResult:
        return gradcheck.check_grad(
            m.loss, m.grad, m.params, mode=mode, vectorized=vectorized, seed=seed
        )

    sec, res = timed(go, repeats)
    name = f"gradcheck {mode}{' batched' if vectorized else ''}"
    return Run(
        name, sec, res.evaluations, res.max_rel_error, str(res.status), extra={"result": res}
    )


# --- peers ---------------------------------------------------------------------------------


def run_scipy_check_grad(m: Model) -> Run:
    from scipy.optimize import approx_fprime, check_grad

    x0, _, s = flat(m)
    f = Counter(m)
    sec, norm = timed(lambda: check_grad(f, lambda x: flat_grad(m), x0), 1)
    calls = f.calls
    n = approx_fprime(x0, f)  # the same forward differences check_grad takes
    err = rel_error(flat_grad(m), n, s)
    return Run(
        "scipy.optimize.check_grad",
        sec,
        calls,
        err,
        f"returns {norm:.2g}",
        note="an absolute 2-norm, no threshold",
    )


def run_scipy_approx_fprime(m: Model) -> Run:
    from scipy.optimize import approx_fprime

    x0, _, s = flat(m)
    f = Counter(m)
    sec, n = timed(lambda: approx_fprime(x0, f), 1)
    return Run(
        "scipy.optimize.approx_fprime", sec, f.calls, rel_error(flat_grad(m), n, s), "no verdict"
    )


def run_scipy_jacobian(m: Model, chunk: int = 2048) -> Run:
    from scipy.differentiate import jacobian

    x0, unflat, s = flat(m)
    calls = [0, 0]

    def f(xi: Array) -> Array:  # xi (n, *batch) -> (1, *batch)
        batch = xi.shape[1:]
        pts = np.moveaxis(xi, 0, -1).reshape(-1, xi.shape[0])
        out = np.concatenate(
            [m.loss(unflat(pts[k : k + chunk])) for k in range(0, len(pts), chunk)]
        )
        calls[0] += len(pts)
        calls[1] += 1
        return out.reshape(1, *batch)

    sec, res = timed(lambda: jacobian(f, x0), 1)
    ok = int(np.sum(res.status == 0))
    return Run(
        "scipy.differentiate.jacobian",
        sec,
        calls[0],
        rel_error(flat_grad(m), res.df[0], s),
        f"{ok}/{x0.size} converged",
        python_calls=calls[1],
        note="vectorized",
    )


def run_numdifftools(m: Model) -> Run:
    import numdifftools as nd

    x0, _, s = flat(m)
    f = Counter(m)
    sec, n = timed(lambda: nd.Gradient(f)(x0), 1)
    return Run("numdifftools.Gradient", sec, f.calls, rel_error(flat_grad(m), n, s), "no verdict")


def run_central_loop(m: Model, h: float = 1e-5) -> Run:
    """CS231n eval_numerical_gradient: (f(x + h e_i) - f(x - h e_i)) / 2h, one entry at a time."""
    x0, _, s = flat(m)
    f = Counter(m)

    def go() -> Array:
        x, g = x0.copy(), np.empty_like(x0)
        for i in range(x.size):
            old = x[i]
            x[i] = old + h
            fp = f(x)
            x[i] = old - h
            fm = f(x)
            x[i] = old
            g[i] = (fp - fm) / (2 * h)
        return g

    sec, n = timed(go, 1)
    return Run(
        "central-difference loop (h=1e-5)",
        sec,
        f.calls,
        rel_error(flat_grad(m), n, s),
        "no verdict",
    )


# --- projection checkers, emulated (checker-anchors §2), for the detection experiment -------


def torch_fast_mode_passes(m: Model, wrong: Array, rng: np.random.Generator) -> bool:
    """torch.autograd.gradcheck(fast_mode=True) rule on a scalar f: u ~ U[0,1) normalized,
    v = 1; numerical (f(x+εu) - f(x-εu))/2ε with ε = 1e-6; pass iff |a - n| <= atol Σu Σv +
    rtol |n| with atol = 1e-5, rtol = 1e-3."""
    x0, _, _ = flat(m)
    f = Counter(m)
    u = rng.random(x0.size)
    u /= np.linalg.norm(u)
    eps = 1e-6
    num = (f(x0 + eps * u) - f(x0 - eps * u)) / (2 * eps)
    ana = float(wrong @ u)
    return abs(ana - num) <= 1e-5 * u.sum() * 1.0 + 1e-3 * abs(num)


def jax_check_grads_passes(m: Model, wrong: Array) -> bool:
    """jax check_grads(order=1) JVP rule: tangent t ~ randn (RandomState(0)), not normalized;
    (f(x+εt) - f(x-εt))/2ε with ε = 1e-4; assert_allclose(atol = rtol = 1e-5 · size(out))."""
    x0, _, _ = flat(m)
    f = Counter(m)
    t = np.random.RandomState(0).standard_normal(x0.size)
    eps = 1e-4
    num = (f(x0 + eps * t) - f(x0 - eps * t)) * 0.5 / eps
    ana = float(wrong @ t)
    return abs(ana - num) <= 1e-5 + 1e-5 * abs(num)
