r"""Part III's layers: BN, LN, IN, GN as one standardization kernel, their backwards, BN with
running statistics and in inference mode, BN(uW + b), the kernel's Jacobian, and the registry.

The mathematics, the reduction-set table and the references are in the package docstring
(`lstm_gradients.specs.normalization`); the batch-statistics experiments and the plot data are
in `lstm_gradients.specs.normalization.statistics`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from lstm_gradients.specs._spec import Layout, Spec

Array = NDArray[np.float64]

__all__ = [
    "METHODS",
    "SPECS",
    "BNInferCache",
    "BNLinearCache",
    "BNTrainCache",
    "NormCache",
    "StandardizeCache",
    "batchnorm_backward",
    "batchnorm_forward",
    "batchnorm_infer_backward",
    "batchnorm_infer_forward",
    "batchnorm_train_backward",
    "batchnorm_train_forward",
    "bn_linear_backward",
    "bn_linear_forward",
    "bn_restoring_affine",
    "group_ids",
    "groupnorm_backward",
    "groupnorm_forward",
    "instancenorm_backward",
    "instancenorm_forward",
    "jacobian_eigenvalues",
    "layernorm_backward",
    "layernorm_forward",
    "normalize_backward",
    "normalize_backward_staged",
    "normalize_forward",
    "normalize_loop",
    "reduction_set",
    "reduction_size",
    "samuelson_bound",
    "standardize_backward",
    "standardize_forward",
    "standardize_jacobian",
    "standardize_std_literal",
    "well_conditioned",
]

METHODS = ("BN", "LN", "IN", "GN")

SOURCE_NORM1 = r"x_i'=\frac{x_i-\mu}{\sqrt{\sigma^{2}+\varepsilon}} ; y_i = \gamma x_i'+\beta"
SOURCE_NORM4 = {
    "BN": "BN:批量归一化,往batch方向做归一化,归一化维度是[N,H,W]",
    "LN": "LN:层次归一化,往channel方向做归一化,归一化维度为[C,H,W]",
    "IN": "IN:实例归一化,只在一个channel内做归一化,归一化维度为[H,W]",
    "GN": "GN:介于LN和IN之间,在channel方向分group来做归一化,归一化的维度为[C//G , H, W]",
}


# ---------------------------------------------------------------------------------------------
# NORM-4: the reduction set of each method, as the view the kernel reduces over
# ---------------------------------------------------------------------------------------------


def _view(x_shape: tuple[int, ...], method: str, G: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The shape of the grouped view of ``x`` and the axes the kernel reduces over (NORM-4)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if len(x_shape) == 2:
        axes = {"BN": (0,), "LN": (1,)}.get(method)
        if axes is None:
            raise ValueError(f"{method} needs (N, C, H, W) input; (N, D) supports BN and LN")
        return x_shape, axes
    if len(x_shape) != 4:
        raise ValueError(f"x must be (N, D) or (N, C, H, W), got shape {x_shape}")
    N, C, H, W = x_shape
    if method == "GN":
        if G < 1 or C % G:
            raise ValueError(f"GN needs G | C (contiguous groups of C/G channels); C={C}, G={G}")
        return (N, G, C // G, H, W), (2, 3, 4)
    return x_shape, {"BN": (0, 2, 3), "LN": (1, 2, 3), "IN": (2, 3)}[method]


def reduction_size(x_shape: tuple[int, ...], method: str, G: int = 1) -> int:
    """m = |S_i| (NORM-4): NHW for BN, CHW for LN, HW for IN, (C/G)HW for GN; N or D in 2-D."""
    shape, axes = _view(x_shape, method, G)
    return int(np.prod([shape[a] for a in axes]))


def group_ids(x_shape: tuple[int, ...], method: str, G: int = 1) -> NDArray[np.intp]:
    """Label of the normalisation group of every element, from the kernel's own view (NORM-4).

    Elements i and k share μ, σ² iff ``ids[i] == ids[k]``. The labels are the flat indices of
    the statistics array the kernel computes (``mean(view, axes, keepdims=True)``), so this is
    the set the forward pass actually uses; `reduction_set` is the article's table, written
    independently, and the tests check they agree (and FIG-8 is drawn from them).
    """
    shape, axes = _view(x_shape, method, G)
    stat_shape = tuple(1 if a in axes else n for a, n in enumerate(shape))
    labels = np.arange(int(np.prod(stat_shape))).reshape(stat_shape)
    return np.broadcast_to(labels, shape).reshape(x_shape)


def reduction_set(
    x_shape: tuple[int, ...], method: str, index: tuple[int, ...], G: int = 1
) -> NDArray[np.bool_]:
    r"""Boolean mask of :math:`S_i`, the elements whose statistics normalise element ``index``.

    NORM-4, written literally from the article's table (Wu & He 2018, eqs. 1-4 and 7), for
    ``index = (n, c, h, w)`` of an (N, C, H, W) tensor (or ``(n, d)`` of an (N, D) one):

    * BN ``[N,H,W]``: :math:`\{(n',c,h',w')\}`; LN ``[C,H,W]``: :math:`\{(n,c',h',w')\}`;
    * IN ``[H,W]``: :math:`\{(n,c,h',w')\}`;
    * GN ``[C//G, H, W]``: :math:`\{(n,c',h',w'):\lfloor c'/(C/G)\rfloor=\lfloor c/(C/G)\rfloor\}`.

    Used for FIG-8 (the axes cubes) and by `normalize_loop`.
    """
    _view(x_shape, method, G)  # validates method, shape and G | C
    mask = np.zeros(x_shape, dtype=bool)
    if len(x_shape) == 2:
        n, d = index
        mask[(slice(None), d) if method == "BN" else (n, slice(None))] = True
        return mask
    n, c = index[0], index[1]
    if method == "BN":
        mask[:, c] = True
    elif method == "LN":
        mask[n] = True
    elif method == "IN":
        mask[n, c] = True
    else:
        k = x_shape[1] // G
        mask[n, (c // k) * k : (c // k + 1) * k] = True
    return mask


# ---------------------------------------------------------------------------------------------
# NORM-1, NORM-8: the standardization kernel and its backward
# ---------------------------------------------------------------------------------------------


class StandardizeCache(NamedTuple):
    """The cache of `standardize_forward`: x̂, s = √(σ² + ε) (keepdims-shaped), the group axes."""

    xhat: Array
    s: Array
    axes: tuple[int, ...]


class NormCache(NamedTuple):
    """The cache of `normalize_forward`: x, x̂ (shaped like x), γ shaped to broadcast against
    x, the kernel's `StandardizeCache` on the group view, that view's shape, and ε."""

    x: Array
    xhat: Array
    gamma: Array
    kernel: StandardizeCache
    view: tuple[int, ...]
    eps: float


def standardize_forward(
    x: Array, *, axes: tuple[int, ...], eps: float
) -> tuple[Array, StandardizeCache]:
    r"""The kernel (NORM-1): :math:`\hat x=(x-\mu)/\sqrt{\sigma^2+\varepsilon}` over ``axes``.

    Article: ``x_i'=\frac{x_i-\mu}{\sqrt{\sigma^{2}+\varepsilon}}``, "其中 \mu 是均值,
    \sigma^{2}是标准差" — σ² is in fact the biased (1/m) variance (ERR-22).

    Shapes: ``x`` any shape; ``axes`` the group axes (m = product of their lengths). Returns
    ``xhat`` shaped like ``x`` and the cache `StandardizeCache` (``xhat``, ``s``, ``axes``).
    With ``eps = 0`` a constant group is 0/0 (NaN under numpy's default error state, ERR-23).
    """
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    s = np.sqrt(var + eps)
    xhat = xc / s
    return xhat, StandardizeCache(xhat, s, axes)


def standardize_backward(dxhat: Array, cache: StandardizeCache) -> tuple[Array]:
    r"""Backward of `standardize_forward`, compact form (NORM-8): ``(dx,)``.

    Derivation, per group, in the article's symbols: :math:`\partial\mu/\partial x_k=1/m`,
    :math:`\partial\sigma^2/\partial x_k=2(x_k-\mu)/m=2s\hat x_k/m`, so
    :math:`\partial\hat x_i/\partial x_k=(\delta_{ik}-\frac1m-\frac1m\hat x_i\hat x_k)/s` and

    .. math::  dx_i=\frac{1}{s}\Big[d\hat x_i-\overline{d\hat x}-\hat x_i\,
               \overline{d\hat x\,\hat x}\Big]
               =\frac{1}{ms}\Big[m\,d\hat x_i-\sum_jd\hat x_j-\hat x_i\sum_jd\hat x_j\hat x_j\Big],

    valid for every ε ≥ 0 with σ² + ε > 0 (bars are group means).
    """
    xhat, s, axes = cache.xhat, cache.s, cache.axes
    mean_d = dxhat.mean(axis=axes, keepdims=True)
    mean_dx = (dxhat * xhat).mean(axis=axes, keepdims=True)
    return ((dxhat - mean_d - xhat * mean_dx) / s,)


def _affine_shape(x_shape: tuple[int, ...]) -> tuple[int, ...]:
    return (1, x_shape[1], 1, 1) if len(x_shape) == 4 else (1, x_shape[1])


def normalize_forward(
    x: Array, gamma: Array, beta: Array, *, method: str, eps: float = 1e-5, G: int = 1
) -> tuple[Array, NormCache]:
    r"""BN / LN / IN / GN (NORM-1, NORM-4): :math:`y=\gamma_c\hat x+\beta_c`, S by ``method``.

    Article: ``y_i = \gamma x_i'+\beta`` and the four "归一化维度" (see the module table).

    Shapes: ``x`` (N, C, H, W) with ``gamma``, ``beta`` (C,), or ``x`` (N, D) with (D,) (BN and
    LN only); ``G`` the number of GN groups (G | C). Training-mode statistics. Returns ``y``
    shaped like ``x`` and the cache for `normalize_backward` / `normalize_backward_staged`.
    """
    shape, axes = _view(x.shape, method, G)
    xhat_v, kcache = standardize_forward(x.reshape(shape), axes=axes, eps=eps)
    xhat = xhat_v.reshape(x.shape)
    g = gamma.reshape(_affine_shape(x.shape))
    y = g * xhat + beta.reshape(_affine_shape(x.shape))
    return y, NormCache(x, xhat, g, kcache, shape, eps)


def _affine_sum_axes(x_shape: tuple[int, ...]) -> tuple[int, ...]:
    return (0, 2, 3) if len(x_shape) == 4 else (0,)


def normalize_backward(dy: Array, cache: NormCache) -> tuple[Array, Array, Array]:
    r"""Backward of `normalize_forward`: ``(dx, dgamma, dbeta)`` (NORM-8, compact form).

    :math:`d\hat x=\gamma_c\,dy`; ``dx`` from `standardize_backward` on the group view;
    :math:`d\gamma_c=\sum dy\odot\hat x` and :math:`d\beta_c=\sum dy` over every position of
    channel c (all n, h, w), whatever the method (the affine is per channel).
    """
    (dx_v,) = standardize_backward((dy * cache.gamma).reshape(cache.view), cache.kernel)
    ax = _affine_sum_axes(cache.x.shape)
    return dx_v.reshape(cache.x.shape), (dy * cache.xhat).sum(axis=ax), dy.sum(axis=ax)


def normalize_backward_staged(dy: Array, cache: NormCache) -> tuple[Array, Array, Array]:
    r"""Ioffe & Szegedy's staged chain rule (§3), literally, over the method's groups (NORM-8).

    .. math::
        \frac{\partial\ell}{\partial\hat x_i}=\frac{\partial\ell}{\partial y_i}\gamma,\quad
        \frac{\partial\ell}{\partial\sigma_B^2}=\sum_i\frac{\partial\ell}{\partial\hat x_i}
            (x_i-\mu_B)\Big(-\frac12\Big)(\sigma_B^2+\varepsilon)^{-3/2},

        \frac{\partial\ell}{\partial\mu_B}=\sum_i\frac{\partial\ell}{\partial\hat x_i}
            \frac{-1}{\sqrt{\sigma_B^2+\varepsilon}}+\frac{\partial\ell}{\partial\sigma_B^2}
            \frac{\sum_i-2(x_i-\mu_B)}{m},

        \frac{\partial\ell}{\partial x_i}=\frac{\partial\ell}{\partial\hat x_i}
            \frac{1}{\sqrt{\sigma_B^2+\varepsilon}}+\frac{\partial\ell}{\partial\sigma_B^2}
            \frac{2(x_i-\mu_B)}{m}+\frac{\partial\ell}{\partial\mu_B}\frac1m .

    The second term of ∂ℓ/∂μ_B is identically 0 (Σ(x_i − μ_B) = 0) but is kept, as the paper
    writes it. Returns ``(dx, dgamma, dbeta)``, equal to `normalize_backward` up to rounding.
    """
    x, xhat, g, shape, eps = cache.x, cache.xhat, cache.gamma, cache.view, cache.eps
    axes = cache.kernel.axes
    xv = x.reshape(shape)
    m = xv.size // np.prod([n for a, n in enumerate(shape) if a not in axes])
    mu = xv.mean(axis=axes, keepdims=True)
    var = ((xv - mu) ** 2).mean(axis=axes, keepdims=True)
    dxhat = (dy * g).reshape(shape)
    dvar = (dxhat * (xv - mu)).sum(axis=axes, keepdims=True) * -0.5 * (var + eps) ** -1.5
    dmu = (dxhat * -1.0 / np.sqrt(var + eps)).sum(axis=axes, keepdims=True) + dvar * (
        -2.0 * (xv - mu)
    ).sum(axis=axes, keepdims=True) / m
    dx = dxhat / np.sqrt(var + eps) + dvar * 2.0 * (xv - mu) / m + dmu / m
    ax = _affine_sum_axes(x.shape)
    return dx.reshape(x.shape), (dy * xhat).sum(axis=ax), dy.sum(axis=ax)


def normalize_loop(
    x: Array, gamma: Array, beta: Array, *, method: str, eps: float = 1e-5, G: int = 1
) -> Array:
    """Reference (NORM-1, NORM-4): the article's formula element by element over `reduction_set`.

    For every element i: μ and σ² of the values in :math:`S_i` (the article's table, not the
    kernel's view), then :math:`y_i=\\gamma_c(x_i-\\mu)/\\sqrt{\\sigma^2+\\varepsilon}+\\beta_c`.
    O(size²); for tests on small tensors only.
    """
    y = np.empty_like(x)
    for i in np.ndindex(x.shape):
        group = x[reduction_set(x.shape, method, i, G)]
        mu = sum(group) / group.size
        var = sum((group - mu) ** 2) / group.size
        y[i] = gamma[i[1]] * (x[i] - mu) / np.sqrt(var + eps) + beta[i[1]]
    return y


def _named(method: str, G: int = 1) -> tuple[Any, Any]:
    def forward(x: Array, gamma: Array, beta: Array, eps: float = 1e-5) -> tuple[Array, Any]:
        return normalize_forward(x, gamma, beta, method=method, eps=eps, G=G)

    return forward, normalize_backward


def batchnorm_forward(
    x: Array, gamma: Array, beta: Array, eps: float = 1e-5
) -> tuple[Array, NormCache]:
    """BN, training mode (NORM-1): S = ``[N,H,W]`` per channel, or axis 0 of (N, D). See
    `normalize_forward`. Article: "BN:批量归一化,往batch方向做归一化,归一化维度是[N,H,W]"."""
    return normalize_forward(x, gamma, beta, method="BN", eps=eps)


def layernorm_forward(
    x: Array, gamma: Array, beta: Array, eps: float = 1e-5
) -> tuple[Array, NormCache]:
    """LN (NORM-4): S = ``[C,H,W]`` per sample, or axis 1 of (N, D); per-channel γ, β.
    Article: "LN:层次归一化,往channel方向做归一化,归一化维度为[C,H,W]"."""
    return normalize_forward(x, gamma, beta, method="LN", eps=eps)


def instancenorm_forward(
    x: Array, gamma: Array, beta: Array, eps: float = 1e-5
) -> tuple[Array, NormCache]:
    """IN (NORM-4): S = ``[H,W]`` per (sample, channel).
    Article: "IN:实例归一化,只在一个channel内做归一化,归一化维度为[H,W]"."""
    return normalize_forward(x, gamma, beta, method="IN", eps=eps)


def groupnorm_forward(
    x: Array, gamma: Array, beta: Array, G: int, eps: float = 1e-5
) -> tuple[Array, NormCache]:
    """GN (NORM-4): S = ``[C//G, H, W]``: G contiguous groups of C/G channels per sample.
    Article: "GN:介于LN和IN之间,在channel方向分group来做归一化,归一化的维度为[C//G , H, W]"."""
    return normalize_forward(x, gamma, beta, method="GN", eps=eps, G=G)


batchnorm_backward = layernorm_backward = instancenorm_backward = groupnorm_backward = (
    normalize_backward
)


# ---------------------------------------------------------------------------------------------
# NORM-1: BN with running statistics (training) and population statistics (inference)
# ---------------------------------------------------------------------------------------------


class BNTrainCache(NamedTuple):
    """The cache of `batchnorm_train_forward`: BN's `NormCache`, the momentum ρ and m."""

    norm: NormCache
    momentum: float
    m: int


class BNInferCache(NamedTuple):
    """The cache of `batchnorm_infer_forward`: x̂, γ shaped to broadcast, s = √(v̄ + ε)."""

    xhat: Array
    gamma: Array
    s: Array


def batchnorm_train_forward(
    x: Array,
    gamma: Array,
    beta: Array,
    running_mean: Array,
    running_var: Array,
    *,
    momentum: float = 0.9,
    eps: float = 1e-5,
) -> tuple[tuple[Array, Array, Array], BNTrainCache]:
    r"""Training-mode BN that **returns** its new running statistics (NORM-1, I&S Alg. 1-2).

    Out: ``(y, running_mean_new, running_var_new)`` with
    :math:`\bar\mu'=\rho\bar\mu+(1-\rho)\mu_B` and
    :math:`\bar v'=\rho\bar v+(1-\rho)\frac{m}{m-1}\sigma_B^2` (ρ = ``momentum``; the unbiased
    factor of I&S Algorithm 2). Nothing is mutated, so calling it twice gives the same
    answer: the running statistics cannot drift between a checker's evaluations.

    Shapes: ``x`` (N, D) or (N, C, H, W); the other four arguments (D,) or (C,). Needs
    m ≥ 2 (the unbiased variance of one value is undefined).
    """
    m = reduction_size(x.shape, "BN")
    if m < 2:
        raise ValueError("training-mode BN with running statistics needs m = N·H·W >= 2")
    y, cache = batchnorm_forward(x, gamma, beta, eps)
    ax = _affine_sum_axes(x.shape)
    mu, var = x.mean(axis=ax), x.var(axis=ax)
    new_mean = momentum * running_mean + (1.0 - momentum) * mu
    new_var = momentum * running_var + (1.0 - momentum) * var * m / (m - 1)
    return (y, new_mean, new_var), BNTrainCache(cache, momentum, m)


def batchnorm_train_backward(
    douts: tuple[Array, Array, Array], cache: BNTrainCache
) -> tuple[Array, ...]:
    r"""Backward of `batchnorm_train_forward`: ``(dx, dgamma, dbeta, drunning_mean,
    drunning_var)``.

    Besides `normalize_backward`: :math:`\partial\bar\mu'/\partial x_i=(1-\rho)/m` and
    :math:`\partial\bar v'/\partial x_i=(1-\rho)\frac{m}{m-1}\cdot\frac{2(x_i-\mu_B)}{m}
    =(1-\rho)\frac{2(x_i-\mu_B)}{m-1}`, summed per channel; the old statistics get ρ.
    """
    dy, dmean, dvar = douts
    momentum, m = cache.momentum, cache.m
    x = cache.norm.x
    dx, dgamma, dbeta = normalize_backward(dy, cache.norm)
    a = _affine_shape(x.shape)
    mu = x.mean(axis=_affine_sum_axes(x.shape), keepdims=True)
    dx = dx + (1.0 - momentum) * (dmean.reshape(a) / m + dvar.reshape(a) * 2.0 * (x - mu) / (m - 1))
    return dx, dgamma, dbeta, momentum * dmean, momentum * dvar


def batchnorm_infer_forward(
    x: Array,
    gamma: Array,
    beta: Array,
    running_mean: Array,
    running_var: Array,
    eps: float = 1e-5,
) -> tuple[Array, BNInferCache]:
    r"""Inference-mode BN (NORM-1, I&S Algorithm 2): a fixed per-channel affine map.

    .. math::  y=\gamma_c\,\frac{x-\bar\mu_c}{\sqrt{\bar v_c+\varepsilon}}+\beta_c

    Each sample is normalised by the population (running) statistics alone, so BN is then
    per-sample. Shapes as `batchnorm_train_forward`.
    """
    a = _affine_shape(x.shape)
    s = np.sqrt(running_var.reshape(a) + eps)
    xhat = (x - running_mean.reshape(a)) / s
    return gamma.reshape(a) * xhat + beta.reshape(a), BNInferCache(xhat, gamma.reshape(a), s)


def batchnorm_infer_backward(dy: Array, cache: BNInferCache) -> tuple[Array, ...]:
    r"""Backward of `batchnorm_infer_forward`: ``(dx, dgamma, dbeta, drunning_mean,
    drunning_var)``: :math:`dx=\gamma\,dy/s`, :math:`d\bar\mu=-\sum\gamma\,dy/s`,
    :math:`d\bar v=\sum\gamma\,dy\,\hat x\cdot(-\frac{1}{2s^2})`,
    with :math:`s=\sqrt{\bar v+\varepsilon}`."""
    xhat, g, s = cache.xhat, cache.gamma, cache.s
    ax = _affine_sum_axes(dy.shape)
    dxhat = dy * g
    dvar = (dxhat * xhat * (-0.5) / s**2).sum(axis=ax)
    return dxhat / s, (dy * xhat).sum(axis=ax), dy.sum(axis=ax), -(dxhat / s).sum(axis=ax), dvar


# ---------------------------------------------------------------------------------------------
# NORM-3 / ERR-24, ERR-22: restoring affine, the literal "σ² is the standard deviation"
# ---------------------------------------------------------------------------------------------


def bn_restoring_affine(x: Array, eps: float = 1e-5) -> tuple[Array, Array]:
    r"""NORM-3: :math:`\gamma=\sqrt{\sigma_B^2+\varepsilon}`, :math:`\beta=\mu_B` per channel, so
    that BN(x) = x **for this batch** (I&S §3). Article: "BN又加了一个scale的操作,使得数据有可能会
    恢复回原来的样子". A batch with other statistics is not restored (ERR-24)."""
    ax = _affine_sum_axes(x.shape)
    return np.sqrt(x.var(axis=ax) + eps), x.mean(axis=ax)


def standardize_std_literal(x: Array, *, axes: tuple[int, ...], eps: float) -> Array:
    r"""ERR-22's literal reading: "\sigma^{2}是标准差", i.e. the standard deviation put where
    the formula has σ²: :math:`(x-\mu)/\sqrt{\mathrm{std}+\varepsilon}`. Wrong: for x = [0, 4]
    it gives ±2/√(2+ε), not ±1 (NORM-2 fails)."""
    mu = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    literal: Array = (x - mu) / np.sqrt(std + eps)
    return literal


# ---------------------------------------------------------------------------------------------
# NORM-8 / PLOT-F: the Jacobian of the standardization and its spectrum; NORM-12
# ---------------------------------------------------------------------------------------------


def standardize_jacobian(x: Array, eps: float) -> Array:
    r"""NORM-8: :math:`\partial\hat x/\partial x=\frac1s(I-\frac1m\mathbf 1\mathbf 1^\top
    -\frac1m\hat x\hat x^\top)` for one group ``x`` of shape (m,); symmetric (m, m)."""
    m = x.size
    s = np.sqrt(x.var() + eps)
    xhat = (x - x.mean()) / s
    J: Array = (np.eye(m) - np.ones((m, m)) / m - np.outer(xhat, xhat) / m) / s
    return J


def jacobian_eigenvalues(sigma2: float, eps: float, m: int) -> Array:
    r"""NORM-8 / PLOT-F: the predicted spectrum of `standardize_jacobian`, ascending by
    construction only for the listing: 0 (eigenvector **1**), :math:`\varepsilon/((\sigma^2+
    \varepsilon)s)` (eigenvector x̂) and 1/s with multiplicity m − 2 (needs m ≥ 2, σ² > 0).
    Hence :math:`\|J\|_2=1/\sqrt{\sigma^2+\varepsilon}\le1/\sqrt\varepsilon` for m ≥ 3 (ERR-23)."""
    s = np.sqrt(sigma2 + eps)
    return np.array([0.0, eps / ((sigma2 + eps) * s), *([1.0 / s] * (m - 2))])


def samuelson_bound(m: int) -> float:
    r"""NORM-12: :math:`\max_i|\hat x_i|\le\sqrt{m-1}` for ε = 0, m ≥ 2, σ > 0 (Samuelson 1968);
    equality iff all but one value are equal. m = 2 forces x̂ = ±1."""
    return float(np.sqrt(m - 1))


# ---------------------------------------------------------------------------------------------
# NORM-10: BN(uW + b), weight-scale invariance
# ---------------------------------------------------------------------------------------------


class BNLinearCache(NamedTuple):
    """The cache of `bn_linear_forward`: u, W and BN's `NormCache` of z = uW + b."""

    u: Array
    W: Array
    norm: NormCache


def bn_linear_forward(
    u: Array, W: Array, b: Array, gamma: Array, beta: Array, eps: float = 0.0
) -> tuple[Array, BNLinearCache]:
    r"""NORM-10: BN applied to the pre-activation, :math:`y=\mathrm{BN}(uW+\mathbf 1b^\top)`.

    Article: "对节点的输入进行归一化,而不是对输出进行归一化" (BN on Wu + b, before the
    nonlinearity, I&S §3.2). I&S write :math:`\mathrm{BN}(Wu)`; our ``u @ W`` with ``W``
    (d_in, d_out) is their Wu with their W = our Wᵀ. Shapes: ``u`` (m, d_in), ``b``, ``gamma``,
    ``beta`` (d_out,). ε defaults to 0, where the invariance :math:`\mathrm{BN}(u(aW))=
    \mathrm{BN}(uW)` (a > 0) is exact; b cancels for every ε.
    """
    z = u @ W + b
    y, cache = batchnorm_forward(z, gamma, beta, eps)
    return y, BNLinearCache(u, W, cache)


def bn_linear_backward(dy: Array, cache: BNLinearCache) -> tuple[Array, ...]:
    r"""Backward of `bn_linear_forward`: ``(du, dW, db, dgamma, dbeta)``; :math:`dz` from
    `normalize_backward`, :math:`du=dz\,W^\top`, :math:`dW=u^\top dz`, :math:`db=\sum dz`
    (identically 0 up to rounding: BN removes the bias, I&S §3.2)."""
    dz, dgamma, dbeta = normalize_backward(dy, cache.norm)
    return dz @ cache.W.T, cache.u.T @ dz, dz.sum(axis=0), dgamma, dbeta


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def well_conditioned(x: Array, method: str, eps: float, G: int = 1, ratio: float = 1e-2) -> bool:
    r"""Where finite differences of x ↦ normalize(x) are trustworthy.

    Every group needs :math:`s=\sqrt{\sigma^2+\varepsilon}\ge` ``ratio``·max|x|. Reason: the
    checker's steps are relative to the argument's magnitude, h ≈ 2e-5·max|x|, while x̂ varies
    on the scale s (its k-th derivative is O(s^{-k})), so the central difference's truncation
    is O((h/s)²) relative; with h/s ≤ 2e-3 it is ≤ 4e-6 before Richardson extrapolation. A
    near-constant group with tiny ε (s → √ε ≪ |x|) is ill-conditioned: the derivative is
    large (‖J‖ = 1/s) and changes within one FD step. Groups of one value (m = 1) are
    trustworthy for ε > 0 (x̂ ≡ 0, a constant map) and undefined for ε = 0 (0/0).
    """
    shape, axes = _view(x.shape, method, G)
    if reduction_size(x.shape, method, G) == 1:
        return eps > 0
    xv = x.reshape(shape)
    s = np.sqrt(xv.var(axis=axes) + eps)
    return bool(np.min(s) >= ratio * max(float(np.max(np.abs(x))), np.finfo(float).tiny))


def _spec(method: str, G: int, eps: float) -> Spec:
    def forward(x: Array, gamma: Array, beta: Array) -> tuple[Array, Any]:
        return normalize_forward(x, gamma, beta, method=method, eps=eps, G=G)

    def cond(x: Array, gamma: Array, beta: Array) -> bool:
        return well_conditioned(x, method, eps, G)

    forward.__doc__ = f"normalize_forward(x, gamma, beta, method={method!r}, eps={eps}, G={G})"
    if method == "GN":
        shapes = lambda N, K, H, W: ((N, G * K, H, W), (G * K,), (G * K,))  # noqa: E731
        sizes = {"N": (1, 3), "K": (1, 3), "H": (1, 3), "W": (1, 3)}
    else:
        shapes = lambda N, C, H, W: ((N, C, H, W), (C,), (C,))  # noqa: E731
        sizes = {"N": (1, 3), "C": (1, 4), "H": (1, 3), "W": (1, 3)}
    ids = ("NORM-1", "NORM-4", "NORM-8") if method == "BN" else ("NORM-4", "NORM-8")
    # BN and LN also take (N, D) (the package docstring): BN over the batch, LN over features
    flat = (Layout("(N, D)", _flat_shapes, _FLAT_SIZES),) if method in ("BN", "LN") else ()
    return Spec(
        name=f"normalization.{method.lower()}" + (f"_g{G}" if method == "GN" else ""),
        ids=ids,
        source=SOURCE_NORM1 + " ; " + SOURCE_NORM4[method],
        forward=forward,
        backward=normalize_backward,
        arg_names=("x", "gamma", "beta"),
        arg_shapes=shapes,
        sizes=sizes,
        well_conditioned=cond,
        layouts=flat,
        layout_name="(N, G·K, H, W)" if method == "GN" else "(N, C, H, W)",
    )


def _flat_shapes(N: int, D: int) -> tuple[tuple[int, ...], ...]:
    return ((N, D), (D,), (D,))


def _stats_shapes(N: int, D: int) -> tuple[tuple[int, ...], ...]:
    return ((N, D), (D,), (D,), (D,), (D,))


def _stats_shapes_4d(N: int, C: int, H: int, W: int) -> tuple[tuple[int, ...], ...]:
    return ((N, C, H, W), (C,), (C,), (C,), (C,))


_FLAT_SIZES = {"N": (1, 6), "D": (1, 4)}
_IMAGE_SIZES = {"N": (1, 3), "C": (1, 4), "H": (1, 3), "W": (1, 3)}


def _train_forward(x: Array, gamma: Array, beta: Array, rm: Array, rv: Array) -> Any:
    return batchnorm_train_forward(x, gamma, beta, rm, rv)


SPECS: tuple[Spec, ...] = (
    *(_spec(method, 2 if method == "GN" else 1, 1e-5) for method in METHODS),
    Spec(
        name="normalization.bn_train_running",
        ids=("NORM-1",),
        source=SOURCE_NORM1,
        forward=_train_forward,
        backward=batchnorm_train_backward,
        arg_names=("x", "gamma", "beta", "running_mean", "running_var"),
        arg_shapes=_stats_shapes,
        sizes={"N": (2, 6), "D": (1, 4)},
        well_conditioned=lambda x, *_: well_conditioned(x, "BN", 1e-5),
        # the docstring's other layout; m = N·H·W >= 2 is the forward's own precondition
        layouts=(Layout("(N, C, H, W)", _stats_shapes_4d, {**_IMAGE_SIZES, "N": (2, 3)}),),
        layout_name="(N, D)",
    ),
    Spec(
        name="normalization.bn_infer",
        ids=("NORM-1",),
        source=SOURCE_NORM1,
        forward=batchnorm_infer_forward,
        backward=batchnorm_infer_backward,
        arg_names=("x", "gamma", "beta", "running_mean", "running_var"),
        arg_shapes=_stats_shapes,
        sizes={"N": (1, 6), "D": (1, 4)},
        # FD needs the running variance well away from -eps (s = sqrt(v + eps) >= 0.1 |v|).
        well_conditioned=lambda x, g, b, rm, rv: bool(np.all(np.sqrt(rv + 1e-5) >= 0.1 * rv)),
        layouts=(Layout("(N, C, H, W)", _stats_shapes_4d, _IMAGE_SIZES),),
        layout_name="(N, D)",
    ),
    Spec(
        name="normalization.bn_linear",
        ids=("NORM-10",),
        source="(也就是,对节点的输入进行归一化,而不是对输出进行归一化)",
        forward=bn_linear_forward,
        backward=bn_linear_backward,
        arg_names=("u", "W", "b", "gamma", "beta"),
        arg_shapes=lambda m, d_in, d_out: ((m, d_in), (d_in, d_out), (d_out,), (d_out,), (d_out,)),
        sizes={"m": (2, 8), "d_in": (1, 4), "d_out": (1, 4)},
        layout_name="(m, d_in)",
        well_conditioned=lambda u, W, b, *_: well_conditioned(u @ W + b, "BN", 0.0),
    ),
)
