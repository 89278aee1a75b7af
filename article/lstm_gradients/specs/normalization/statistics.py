r"""Part III's experiments: how the batch statistics behave (NORM-11, PLOT-C), how gradients grow
through a deep BN network at initialisation (NORM-13, ERR-20, PLOT-D), and the spectrum of the
standardization's Jacobian against ε (PLOT-F).

Everything here is data for a statistical test or a figure, computed from the layers of
`lstm_gradients.specs.normalization.layers`; randomness comes from an explicit
``np.random.Generator`` or seed. Mathematics and references: the package docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from lstm_gradients.specs.normalization.layers import (
    batchnorm_forward,
    jacobian_eigenvalues,
    normalize_backward,
    standardize_jacobian,
)

Array = NDArray[np.float64]

__all__ = [
    "BNDeepNet",
    "BatchStatistics",
    "batch_statistics_monte_carlo",
    "batch_statistics_theory",
    "bn_deep_forward",
    "bn_deep_gradient_norms",
    "bn_deep_gradients",
    "bn_deep_net",
    "per_sample_xhat_std",
    "plot_c_data",
    "plot_d_data",
    "plot_f_data",
]


# ---------------------------------------------------------------------------------------------
# NORM-11 / PLOT-C: batch-size statistics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchStatistics:
    """Moments of the batch statistics of m iid values (NORM-11); Monte Carlo or theory.

    ``var_mean`` Var(μ_B); ``mean_var`` E[σ_B²]; ``var_var`` Var(σ_B²); ``mse_var``
    E[(σ_B² − σ²)²]. Monte Carlo results also carry standard errors (``se_*``), else NaN.
    """

    m: int
    var_mean: float
    mean_var: float
    var_var: float
    mse_var: float
    se_var_mean: float = float("nan")
    se_mean_var: float = float("nan")
    se_var_var: float = float("nan")
    se_mse_var: float = float("nan")


def batch_statistics_theory(
    m: int, sigma2: float = 1.0, mu4: float | None = None
) -> BatchStatistics:
    r"""Closed forms of NORM-11 for iid data with variance σ² and 4th central moment μ₄
    (Gaussian μ₄ = 3σ⁴ by default).

    .. math::  \mathrm{Var}(\mu_B)=\sigma^2/m,\quad E[\sigma_B^2]=\tfrac{m-1}{m}\sigma^2,\quad
        \mathrm{Var}(\sigma_B^2)=\big(\tfrac{m-1}{m}\big)^2\tfrac1m\big(\mu_4-\tfrac{m-3}{m-1}
        \sigma^4\big),\quad \mathrm{MSE}=\mathrm{Var}(\sigma_B^2)+(\sigma^2/m)^2 .

    Gaussian: Var(σ_B²) = 2(m−1)σ⁴/m², MSE = (2m−1)σ⁴/m² (strictly decreasing in m ≥ 1).
    For m = 1 the variance terms are 0 (σ_B² ≡ 0) and the MSE is σ⁴.
    """
    mu4 = 3.0 * sigma2**2 if mu4 is None else mu4
    var_var = 0.0 if m == 1 else ((m - 1) / m) ** 2 / m * (mu4 - (m - 3) / (m - 1) * sigma2**2)
    return BatchStatistics(
        m, sigma2 / m, (m - 1) / m * sigma2, var_var, var_var + (sigma2 / m) ** 2
    )


def _var_and_se(z: Array) -> tuple[float, float]:
    """Sample variance of z and its standard error sqrt(Var((z - z̄)²)/R)."""
    d2 = (z - z.mean()) ** 2
    return float(d2.mean()), float(d2.std() / np.sqrt(z.size))


def _mean_and_se(z: Array) -> tuple[float, float]:
    return float(z.mean()), float(z.std() / np.sqrt(z.size))


def batch_statistics_monte_carlo(
    m: int,
    R: int,
    rng: np.random.Generator,
    *,
    sigma: float = 1.0,
    mu: float = 0.0,
    dist: str = "normal",
) -> BatchStatistics:
    """Monte Carlo of NORM-11: R batches of m iid values with mean ``mu`` and std ``sigma``,
    each giving μ_B and the biased σ_B²; returns the empirical moments with standard errors.
    ``dist``: ``"normal"`` (μ₄ = 3σ⁴) or ``"exponential"`` (shifted Exp(1): μ₄ = 9σ⁴)."""
    if dist == "normal":
        z = rng.standard_normal((R, m))
    elif dist == "exponential":
        z = rng.standard_exponential((R, m)) - 1.0
    else:
        raise ValueError(f"dist must be 'normal' or 'exponential', got {dist!r}")
    x = mu + sigma * z
    mu_b = x.mean(axis=1)
    var_b = x.var(axis=1)
    vm, se_vm = _var_and_se(mu_b)
    mv, se_mv = _mean_and_se(var_b)
    vv, se_vv = _var_and_se(var_b)
    mse, se_mse = _mean_and_se((var_b - sigma**2) ** 2)
    return BatchStatistics(m, vm, mv, vv, mse, se_vm, se_mv, se_vv, se_mse)


def per_sample_xhat_std(z0: float, m: int, R: int, rng: np.random.Generator) -> float:
    r"""NORM-11 per-sample noise: the std over R batches of :math:`\hat x(x_0)` for a fixed
    :math:`x_0=z_0` inside a batch of m − 1 standard-normal batch-mates (ε = 0). Delta
    method: :math:`\approx\sqrt{(1+z_0^2/2)/m}` for large m."""
    x = rng.standard_normal((R, m))
    x[:, 0] = z0
    xhat0 = (x[:, 0] - x.mean(axis=1)) / x.std(axis=1)
    return float(xhat0.std())


def plot_c_data(ms: Any, R: int, seed: int, z0: float = 1.0) -> dict[str, Array]:
    """PLOT-C data: Monte Carlo (with standard errors, ``*_se``) and theory of Var(μ_B),
    Var(σ_B²), MSE(σ_B²) and the per-sample std of x̂ (at ``z0``; NaN for m ≤ 2, where x̂ = ±1)
    against m, standard-normal data, R batches per m, one seed."""
    rng = np.random.default_rng(seed)
    ms = np.asarray(ms, dtype=int)
    mc = [batch_statistics_monte_carlo(int(m), R, rng) for m in ms]
    th = [batch_statistics_theory(int(m)) for m in ms]
    return {
        "m": ms,
        "var_mean_mc": np.array([s.var_mean for s in mc]),
        "var_mean_se": np.array([s.se_var_mean for s in mc]),
        "var_var_se": np.array([s.se_var_var for s in mc]),
        "mse_var_se": np.array([s.se_mse_var for s in mc]),
        "var_mean_theory": np.array([s.var_mean for s in th]),
        "var_var_mc": np.array([s.var_var for s in mc]),
        "var_var_theory": np.array([s.var_var for s in th]),
        "mse_var_mc": np.array([s.mse_var for s in mc]),
        "mse_var_theory": np.array([s.mse_var for s in th]),
        "xhat_std_mc": np.array(
            [per_sample_xhat_std(z0, int(m), R, rng) if m > 2 else np.nan for m in ms]
        ),
        "xhat_std_delta": np.sqrt((1 + z0**2 / 2) / ms),
    }


# ---------------------------------------------------------------------------------------------
# NORM-13 / ERR-20 / PLOT-D: gradient growth through a deep BN network at initialisation
# ---------------------------------------------------------------------------------------------

_ACTS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "linear": (lambda z: z, np.ones_like),
}


class BNDeepNet(NamedTuple):
    """The deep BN network of NORM-13 at initialisation: input h_0 (batch, width), the weights
    W_1 … W_L (width, width), the upstream gradient g at h_L, the activation's name and ε."""

    h0: Array
    Ws: list[Array]
    g: Array
    activation: str
    eps: float


def bn_deep_net(
    L: int, width: int, batch: int, activation: str, rng: np.random.Generator, eps: float = 1e-5
) -> BNDeepNet:
    r"""NORM-13's random network: :math:`h_0\sim\mathcal N(0,1)`, :math:`W_l\sim\mathcal N(0,1/n)`,
    a standard-normal upstream gradient at :math:`h_L` (drawn in this order from ``rng``)."""
    if activation not in _ACTS:
        raise ValueError(f"activation must be one of {tuple(_ACTS)}, got {activation!r}")
    h0 = rng.standard_normal((batch, width))
    Ws = [rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(L)]
    return BNDeepNet(h0, Ws, rng.standard_normal((batch, width)), activation, eps)


def bn_deep_forward(net: BNDeepNet, h: Array, start: int = 0) -> tuple[Array, list[Any]]:
    r""":math:`h_l=\phi(\mathrm{BN}(h_{l-1}W_l))` (γ = 1, β = 0) from layer ``start`` (h is
    :math:`h_{\rm start}`) to L; returns :math:`h_L` and the tape for `bn_deep_gradients`."""
    phi = _ACTS[net.activation][0]
    width = h.shape[1]
    ones, zeros = np.ones(width), np.zeros(width)
    tape = []
    for W in net.Ws[start:]:
        z, cache = batchnorm_forward(h @ W, ones, zeros, net.eps)
        tape.append((W, cache, z))
        h = phi(z)
    return h, tape


def bn_deep_gradients(net: BNDeepNet, g: Array, tape: list[Any]) -> list[Array]:
    r""":math:`\nabla_{h_l}\langle g,h_L\rangle` for every layer of ``tape`` (first to last),
    then g itself: back through φ', `normalize_backward` and :math:`W_l^\top`."""
    dphi = _ACTS[net.activation][1]
    grads = [g]
    for W, cache, z in reversed(tape):
        g = normalize_backward(g * dphi(z), cache)[0] @ W.T
        grads.append(g)
    return grads[::-1]


def bn_deep_gradient_norms(
    L: int, width: int, batch: int, activation: str, rng: np.random.Generator, eps: float = 1e-5
) -> Array:
    r"""NORM-13 / PLOT-D: :math:`\|\nabla_{h_l}\ell\|_F` for l = 0 … L in the net
    :math:`h_l=\phi(\mathrm{BN}(h_{l-1}W_l))`, :math:`W_l\sim\mathcal N(0,1/n)`, γ = 1, β = 0,
    with a random standard-normal upstream gradient at :math:`h_L` (Yang et al. 2019 setting;
    `bn_deep_net`). Backward through `normalize_backward` (`bn_deep_gradients`). Returns L + 1
    norms, index l = layer."""
    net = bn_deep_net(L, width, batch, activation, rng, eps)
    _, tape = bn_deep_forward(net, net.h0)
    return np.array([np.linalg.norm(g) for g in bn_deep_gradients(net, net.g, tape)])


def plot_d_data(
    activations: tuple[str, ...] = ("relu", "tanh", "linear"),
    L: int = 50,
    width: int = 100,
    batch: int = 32,
    seed: int = 0,
) -> dict[str, NDArray[Any]]:
    """PLOT-D data: log‖∇_{h_l}‖ against layer l for each activation (`bn_deep_gradient_norms`,
    one network per activation, all from ``seed``), plus ``"layer"`` = 0 … L."""
    rng = np.random.default_rng(seed)
    out = {"layer": np.arange(L + 1)}
    for act in activations:
        out[act] = np.log(bn_deep_gradient_norms(L, width, batch, act, rng))
    return out


def plot_f_data(eps: Any = None, m: int = 8, seed: int = 0) -> dict[str, Array]:
    """PLOT-F data: the eigenvalues of `standardize_jacobian` for one group of m standard-normal
    values against ε (log grid 1e-6 … 1e2 by default), numerically (``"numeric"``, sorted,
    shape (len(eps), m)) and from `jacobian_eigenvalues` (``"theory"``), with σ² of the group."""
    eps = np.logspace(-6, 2, 33) if eps is None else np.asarray(eps, dtype=float)
    x = np.random.default_rng(seed).standard_normal(m)
    sigma2 = float(x.var())
    numeric = np.array([np.linalg.eigvalsh(standardize_jacobian(x, e)) for e in eps])
    theory = np.array([np.sort(jacobian_eigenvalues(sigma2, e, m)) for e in eps])
    return {"eps": eps, "numeric": numeric, "theory": theory, "sigma2": np.array(sigma2)}
