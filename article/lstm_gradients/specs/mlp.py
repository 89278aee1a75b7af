r"""Part I (从神经网络开始): the watermelon-book three-layer network, its BP, the deep MLP.

Equation IDs (``formula-inventory.md`` §1): MLP-1 … MLP-9, OPT-1, ACT-5 (deep ReLU), ACT-6;
errata ERR-1, ERR-2, ERR-3, ERR-5, ERR-8; plot PLOT-B (`delta_profile`).

Symbols and orientation
-----------------------
The article's network is Zhou Zhihua's BP network (《机器学习》 §5.3, "西瓜书第102页").

=========  =====================  =========================================================
article    code                   shape (batch-first rows)
=========  =====================  =========================================================
d, q, l    ``d, q, l``            input, hidden, output widths (the book's names, used as the
                                  `Spec` sizes; ``N`` is the batch)
x_i        ``x``                  (N, d)
v_ih       ``V``                  (d, q); :math:`\alpha_h=\sum_i v_{ih}x_i` is ``x @ V``
γ_h        ``gamma``              (q,) hidden thresholds (the book's; the article has none)
α_h, b_h   ``alpha``, ``b``       (N, q); :math:`b_h=\sigma(\alpha_h-\gamma_h)`
w_hj       ``W``                  (q, l); :math:`\beta_j=\sum_h w_{hj}b_h` is ``b @ W``
θ_j        ``theta``              (l,) output thresholds
β_j, y'_j  ``beta``, ``y_hat``    (N, l); :math:`y'_j=\varphi(\beta_j-\theta_j)`, φ = ``out``
g_j, e_h   ``g``, ``e``           :math:`\partial E/\partial\beta_j`, :math:`\partial E/\partial
                                  \alpha_h`
=========  =====================  =========================================================

The book's index order ``v_ih`` (i input, h hidden) *is* the CS231n orientation ``x @ V`` with
``V`` of shape (D_in, D_out): here, unlike in Part II, no transpose separates the article's
symbols from ours. In the column-vector form of the inventory, :math:`\alpha=V^\top x`,
:math:`\beta=W^\top b`.

The deep MLP of MLP-9/ACT-5 is :math:`h_0=x`, :math:`a_l=h_{l-1}W_l+b_l`, :math:`h_l=\phi(a_l)`
with ``W_l`` of shape (n_{l-1}, n_l) — the transpose of the inventory's
:math:`W_l\in\mathbb R^{n_l\times n_{l-1}}`; spectral norms are equal.

Article notes
-------------
* *Typo (ERR-1):* "该节点的输出 b_h\alpha_j 的激活值" and "E先对该层节点的输出 b_j 求导",
  "再对节点的输入 \alpha_j 求导" mean b_h, α_h; "对于输出层参数 w_{ij}" means w_hj; `E_k` is
  defined and `E` used (one sample). The specs index hidden units by h and outputs by j.
* *Convention (ERR-2):* the book has thresholds and the opposite sign for g, e (5.10, 5.15);
  `mlp_forward` takes ``gamma, theta`` (zeros give the article's network) and `book_updates`
  reproduces the book's update, equal to the article's.
* *Imprecise (ERR-3):* the output activation is "根据不同任务选择不同激活函数", yet
  :math:`g_j` uses y'(1−y'), which is σ' only for a sigmoid output. ``out`` is a parameter;
  `mlp_backward` uses φ'(β − θ); `article_index_form` keeps the article's literal y'(1−y').
* *Imprecise (ERR-5):* w_{hj}: "这一项是造成梯度爆炸的主要原因": one sigmoid layer has gain
  at most ¼‖W‖₂ (`layer_gain_bound`), sharp, so it amplifies only if ‖W‖₂ > 4.

References
----------
.. [A] 《漫谈LSTM系列的梯度问题》, NLP Weekly (Zhihu), 2018, Part I.
.. [1] 周志华, 《机器学习》, 清华大学出版社, 2016, §5.3, eqs. (5.3)–(5.15).
.. [2] Y. Bengio, P. Simard, P. Frasconi, "Learning long-term dependencies with gradient
   descent is difficult", IEEE TNN 5(2), 1994.
.. [3] R. Pascanu, T. Mikolov, Y. Bengio, ICML 2013, §2.1, arXiv:1211.5063.
.. [4] Y. Nesterov, *Introductory Lectures on Convex Optimization*, 2004, Lemma 1.2.3.
.. [5] CS231n assignment 2, ``layers.py`` (``affine_forward``/``affine_backward``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from lstm_gradients.specs._spec import Spec
from lstm_gradients.specs.activations import (
    IDENTITY,
    RELU,
    SIGMOID,
    Activation,
    sigmoid,
    sigmoid_prime,
)

Array = NDArray[np.float64]

__all__ = [
    "SPECS",
    "ArticleGradients",
    "DeepCache",
    "DeltaProfile",
    "LayerCache",
    "MLPCache",
    "MLPLossCache",
    "SquaredErrorCache",
    "article_index_form",
    "article_updates",
    "backprop_deltas",
    "book_updates",
    "deep_backward",
    "deep_forward",
    "delta_profile",
    "first_order_ratio",
    "hidden_delta",
    "layer_gain_bound",
    "mlp_backward",
    "mlp_forward",
    "mlp_loss_backward",
    "mlp_loss_forward",
    "squared_error_backward",
    "squared_error_forward",
    "xor_network",
]

_SOURCE_MLP1 = "每个节点的输入 \\alpha_h 就是上一层所有节点输出x_i 的线性组合值"
_SOURCE_MLP2 = "E_k = \\frac{1}{2}\\sum_{j=1}^{l}{(y_j'-y_j)^{2}}"
_SOURCE_MLP3 = "g_j = (y_j'-y_j)\\cdot y_j'(1-y_j')"
_SOURCE_MLP5 = "e_h = (\\sum_{j=1}^{l}{g_j\\cdot w_{hj}})\\cdot b_h (1-b_h)"
_SOURCE_MLP9 = "越是低层的网络层梯度在连乘过程中可能会变得越来越小,导致梯度消失"


# ---------------------------------------------------------------------------------------------
# MLP-1 … MLP-7: the three-layer network, batched matrix form (CS231n pairs)
# ---------------------------------------------------------------------------------------------


class MLPCache(NamedTuple):
    """The cache of `mlp_forward`: x, the weights, the pre-activations α − γ (``a_h``) and
    β − θ (``a_j``), the hidden outputs b and the output activation φ."""

    x: Array
    V: Array
    W: Array
    a_h: Array
    b: Array
    a_j: Array
    out: Activation


class SquaredErrorCache(NamedTuple):
    """The cache of `squared_error_forward`: the residual y' − y and the target."""

    r: Array
    y: Array


class MLPLossCache(NamedTuple):
    """The cache of `mlp_loss_forward`: the network's cache and the loss's."""

    net: MLPCache
    loss: SquaredErrorCache


def mlp_forward(
    x: Array, V: Array, gamma: Array, W: Array, theta: Array, out: Activation = SIGMOID
) -> tuple[Array, MLPCache]:
    r"""MLP-1: :math:`y'=\varphi(\sigma(xV-\gamma)\,W-\theta)`, the book's network, batched.

    Article: "每个节点的输入 \alpha_h 就是上一层所有节点输出x_i 的线性组合值",
    "输出 y_j'\beta_j 的激活值,根据不同任务选择不同激活函数".

    .. math::  \alpha_h=\sum_i v_{ih}x_i,\quad b_h=\sigma(\alpha_h-\gamma_h),\quad
               \beta_j=\sum_h w_{hj}b_h,\quad y'_j=\varphi(\beta_j-\theta_j)

    Parameters: ``x`` (N, d); ``V`` (d, q); ``gamma`` (q,); ``W`` (q, l); ``theta`` (l,);
    ``out`` the output activation φ (ERR-3; sigmoid by default, the article's example).
    ``gamma = theta = 0`` is the article's threshold-free network (ERR-2).
    Returns ``y_hat`` (N, l) and the cache for `mlp_backward`.
    """
    a_h = x @ V - gamma
    b = sigmoid(a_h)
    a_j = b @ W - theta
    return out.f(a_j), MLPCache(x, V, W, a_h, b, a_j, out)


def mlp_backward(dy_hat: Array, cache: MLPCache) -> tuple[Array, ...]:
    r"""MLP-3, MLP-5, MLP-7: ``(dx, dV, dgamma, dW, dtheta)`` from ``dy_hat`` = ∂E/∂y'.

    Notes
    -----
    With :math:`\partial E/\partial y'_j=y'_j-y_j` (MLP-2) this is the article's derivation:

    .. math::  g_j=\frac{\partial E}{\partial y'_j}\varphi'(\beta_j-\theta_j)
               \;(=(y_j'-y_j)\,y_j'(1-y_j')\text{ for a sigmoid }\varphi),\qquad
               \frac{\partial E}{\partial w_{hj}}=g_jb_h,\qquad
               \frac{\partial E}{\partial\theta_j}=-g_j,

    .. math::  e_h=\Big(\sum_j g_jw_{hj}\Big)\,b_h(1-b_h),\qquad
               \frac{\partial E}{\partial v_{ih}}=e_hx_i,\qquad
               \frac{\partial E}{\partial\gamma_h}=-e_h,\qquad
               \frac{\partial E}{\partial x_i}=\sum_h v_{ih}e_h .

    Matrix form per batch (rows summed over the batch): ``dW = b.T @ g``, ``dV = x.T @ e``.
    φ' and σ' are taken from the pre-activations (stable; `specs.activations`).
    """
    g = dy_hat * cache.out.fprime(cache.a_j)
    e = (g @ cache.W.T) * sigmoid_prime(cache.a_h)
    return e @ cache.V.T, cache.x.T @ e, -e.sum(axis=0), cache.b.T @ g, -g.sum(axis=0)


def squared_error_forward(y_hat: Array, y: Array) -> tuple[Array, SquaredErrorCache]:
    r"""MLP-2: :math:`E=\sum_k E_k`, :math:`E_k=\frac12\sum_{j=1}^l(y'_j-y_j)^2` (0-d array).

    Article: ``E_k = \frac{1}{2}\sum_{j=1}^{l}{(y_j'-y_j)^{2}}``. ``y_hat``, ``y``: (N, l).
    One row (N = 1) is the article's :math:`E\equiv E_k` (ERR-1); N rows sum the per-sample
    losses (the book's accumulated BP divides by m; a constant factor).
    """
    r = y_hat - y
    return np.asarray(0.5 * np.sum(r * r)), SquaredErrorCache(r, y)


def squared_error_backward(dE: Array, cache: SquaredErrorCache) -> tuple[Array, Array]:
    r"""MLP-2: :math:`\partial E/\partial y'=y'-y`, :math:`\partial E/\partial y=-(y'-y)`."""
    return dE * cache.r, -dE * cache.r


def mlp_loss_forward(
    x: Array,
    y: Array,
    V: Array,
    gamma: Array,
    W: Array,
    theta: Array,
    out: Activation = SIGMOID,
) -> tuple[Array, MLPLossCache]:
    r"""MLP-1 + MLP-2: the loss :math:`E(x,y;V,\gamma,W,\theta)` (0-d array) of the network.

    Shapes: ``x`` (N, d), ``y`` (N, l), the rest as in `mlp_forward`.
    """
    y_hat, net = mlp_forward(x, V, gamma, W, theta, out)
    E, sq = squared_error_forward(y_hat, y)
    return E, MLPLossCache(net, sq)


def mlp_loss_backward(dE: Array, cache: MLPLossCache) -> tuple[Array, ...]:
    r"""Gradients of `mlp_loss_forward`: ``(dx, dy, dV, dgamma, dW, dtheta)`` (MLP-2…7)."""
    dy_hat, dy = squared_error_backward(dE, cache.loss)
    dx, dV, dgamma, dW, dtheta = mlp_backward(dy_hat, cache.net)
    return dx, dy, dV, dgamma, dW, dtheta


# ---------------------------------------------------------------------------------------------
# The article's index form (one sample), and the two update conventions (MLP-4, MLP-6, ERR-2)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleGradients:
    """Everything the article names for one sample (d, q, l as in the module docstring)."""

    alpha: Array  # (q,)
    b: Array  # (q,)
    beta: Array  # (l,)
    y_hat: Array  # (l,)
    E: float
    g: Array  # (l,)  g_j
    e: Array  # (q,)  e_h
    dW: Array  # (q, l)  ∂E/∂w_hj = g_j b_h
    dV: Array  # (d, q)  ∂E/∂v_ih = e_h x_i
    dtheta: Array  # (l,)  -g_j   (MLP-7)
    dgamma: Array  # (q,)  -e_h   (MLP-7)


def article_index_form(
    x: Array,
    y: Array,
    V: Array,
    W: Array,
    gamma: Array | None = None,
    theta: Array | None = None,
    out: Activation = SIGMOID,
) -> ArticleGradients:
    r"""MLP-1…7 in the article's index form, literally, with Python loops over i, h, j.

    Article:
    ``\frac{\partial E}{\partial w_{hj}} = \frac{\partial E}{\partial y_{j}'}``…
    ``=(y_j'-y_j)\cdot y_j'(1-y_j')\cdot b_{h}``;
    ``g_j = (y_j'-y_j)\cdot y_j'(1-y_j')``;
    ``\frac{\partial E}{\partial v_{ih}} =(\sum_{j=1}^{l}{g_j\cdot w_{hj}})\cdot b_h (1-b_h)``…;
    ``e_h = (\sum_{j=1}^{l}{g_j\cdot w_{hj}})\cdot b_h (1-b_h)``.

    The derivative of the output activation is the article's **output form** y'(1−y') for
    every ``out`` — that is the literal reading, correct only for a sigmoid output (ERR-3).
    ``x`` (d,), ``y`` (l,), ``V`` (d, q), ``W`` (q, l), ``gamma`` (q,), ``theta`` (l,)
    (default 0: the article's network).
    """
    (d, q), l = V.shape, W.shape[1]  # noqa: E741 (the book's l)
    gamma = np.zeros(q) if gamma is None else gamma
    theta = np.zeros(l) if theta is None else theta
    alpha = np.array([sum(V[i, h] * x[i] for i in range(d)) for h in range(q)])
    b = np.array([sigmoid(alpha[h] - gamma[h]) for h in range(q)])
    beta = np.array([sum(W[h, j] * b[h] for h in range(q)) for j in range(l)])
    y_hat = np.array([out.f(beta[j] - theta[j]) for j in range(l)])
    E = 0.5 * sum((y_hat[j] - y[j]) ** 2 for j in range(l))
    g = np.array([(y_hat[j] - y[j]) * y_hat[j] * (1 - y_hat[j]) for j in range(l)])
    e = np.array([sum(g[j] * W[h, j] for j in range(l)) * b[h] * (1 - b[h]) for h in range(q)])
    dW = np.array([[g[j] * b[h] for j in range(l)] for h in range(q)])
    dV = np.array([[e[h] * x[i] for h in range(q)] for i in range(d)])
    E = float(E) if isinstance(E, float | np.floating) else E  # a symbolic E is kept
    return ArticleGradients(alpha, b, beta, y_hat, E, g, e, dW, dV, -g, -e)


def article_updates(grads: ArticleGradients, x: Array, eta: float) -> dict[str, Array]:
    r"""MLP-4, MLP-6 as the article writes them: :math:`\Delta w_{hj}=-\eta g_jb_h`,
    :math:`\Delta v_{ih}=-\eta e_hx_i`, and for the thresholds (the article has none; plain
    descent on MLP-7) :math:`\Delta\theta_j=\eta g_j`, :math:`\Delta\gamma_h=\eta e_h`.

    Article: ``\Delta w_{hj} = -\eta\cdot g_j \cdot b_{h}``;
    ``\Delta v_{ih} = -\eta\cdot e_h \cdot x_i``.
    Returns ``{"V", "gamma", "W", "theta"}`` increments (shapes of the params).
    """
    return {
        "V": -eta * np.outer(x, grads.e),
        "gamma": eta * grads.e,
        "W": -eta * np.outer(grads.b, grads.g),
        "theta": eta * grads.g,
    }


def book_updates(
    x: Array, y: Array, V: Array, gamma: Array, W: Array, theta: Array, eta: float
) -> dict[str, Array]:
    r"""The watermelon book's BP update (5.10)–(5.15), in its own sign convention (ERR-2).

    .. math::  g_j=\hat y_j(1-\hat y_j)(y_j-\hat y_j),\quad
               e_h=b_h(1-b_h)\sum_jw_{hj}g_j,\quad
               \Delta w_{hj}=\eta g_jb_h,\ \Delta\theta_j=-\eta g_j,
               \Delta v_{ih}=\eta e_hx_i,\ \Delta\gamma_h=-\eta e_h .

    Here :math:`g^{\rm book}=-g`, :math:`e^{\rm book}=-e`; the increments equal
    `article_updates`. ``x`` (d,), ``y`` (l,); returns the same dict as `article_updates`.
    """
    b = sigmoid(x @ V - gamma)
    y_hat = sigmoid(b @ W - theta)
    g = y_hat * (1 - y_hat) * (y - y_hat)
    e = b * (1 - b) * (W @ g)
    return {
        "V": eta * np.outer(x, e),
        "gamma": -eta * e,
        "W": eta * np.outer(b, g),
        "theta": -eta * g,
    }


# ---------------------------------------------------------------------------------------------
# MLP-8 / ERR-5: the gain of one sigmoid layer
# ---------------------------------------------------------------------------------------------


def hidden_delta(g: Array, W: Array, a_h: Array) -> Array:
    r"""MLP-8: :math:`e=D\,Wg`, :math:`D=\mathrm{diag}(\sigma'(\alpha-\gamma))`, i.e. the
    article's :math:`e_h=(\sum_j g_jw_{hj})\,b_h(1-b_h)` for an arbitrary upstream ``g``.

    ``g`` (..., l), ``W`` (q, l), ``a_h = alpha - gamma`` (..., q); returns ``e`` (..., q).
    """
    return (g @ W.T) * sigmoid_prime(a_h)


def layer_gain_bound(W: Array, g: Array) -> float:
    r"""MLP-8's sharp bound :math:`\|e\|_2\le\frac14\|W\|_2\|g\|_2` (``W`` (q, l), ``g`` (l,)).

    From :math:`0\prec D\preceq\frac14 I`. Equality iff every :math:`\alpha_h-\gamma_h=0` and
    ``g`` is a top right-singular vector of ``W`` (as a map :math:`\mathbb R^l\to\mathbb R^q`).
    So one sigmoid layer amplifies only when ‖W‖₂ > 4 (ERR-5).
    """
    return 0.25 * float(np.linalg.norm(W, 2)) * float(np.linalg.norm(g))


# ---------------------------------------------------------------------------------------------
# MLP-9, ACT-5, ACT-6: the deep MLP, its deltas and bounds (PLOT-B)
# ---------------------------------------------------------------------------------------------


class LayerCache(NamedTuple):
    """One layer of `deep_forward`: its input h_{l−1}, its weight W_l, its pre-activation a_l."""

    h_prev: Array
    W: Array
    a: Array


class DeepCache(NamedTuple):
    """The cache of `deep_forward`: one `LayerCache` per layer, and the activation."""

    layers: list[LayerCache]
    act: Activation


def deep_forward(x: Array, *params: Array, act: Activation = SIGMOID) -> tuple[Array, DeepCache]:
    r"""MLP-9: :math:`h_l=\phi(h_{l-1}W_l+b_l)`, l = 1 … L, :math:`h_0=x`.

    Article: "所以如果网络层比较深,那么在链式求导的过程中",
    "越是低层的网络层梯度在连乘过程中可能会变得越来越小,导致梯度消失。"

    ``x`` (N, n_0); ``params`` = ``W_1, b_1, …, W_L, b_L`` with ``W_l`` (n_{l-1}, n_l) and
    ``b_l`` (n_l,); ``act`` the activation of every layer (sigmoid; `RELU` for ACT-5;
    `specs.activations.IDENTITY` for ACT-6). Returns ``h_L`` (N, n_L) and the cache.
    """
    h = x
    layers: list[LayerCache] = []
    for W, b in zip(params[::2], params[1::2], strict=True):
        a = h @ W + b
        layers.append(LayerCache(h, W, a))
        h = act.f(a)
    return h, DeepCache(layers, act)


def deep_backward(dh: Array, cache: DeepCache) -> tuple[Array, ...]:
    r"""Backward of `deep_forward`: ``(dx, dW_1, db_1, …, dW_L, db_L)``.

    Notes
    -----
    With :math:`\delta_l:=\nabla_{a_l}E`: :math:`\delta_L=\phi'(a_L)\odot\nabla_{h_L}E`,
    :math:`\delta_l=\phi'(a_l)\odot(\delta_{l+1}W_{l+1}^\top)`, :math:`\nabla_{W_l}E=
    h_{l-1}^\top\delta_l`, :math:`\nabla_{b_l}E=\sum_n\delta_l`, :math:`\nabla_xE=\delta_1
    W_1^\top` — the article's :math:`e_h` recursion applied layer after layer.
    """
    grads: list[Array] = []
    for layer in reversed(cache.layers):
        delta = dh * cache.act.fprime(layer.a)
        grads = [layer.h_prev.T @ delta, delta.sum(axis=0), *grads]
        dh = delta @ layer.W.T
    return (dh, *grads)


def backprop_deltas(
    x: Array,
    Ws: Sequence[Array],
    bs: Sequence[Array],
    dh_L: Array,
    act: Activation = SIGMOID,
) -> tuple[list[Array], Array]:
    r"""MLP-9: the per-layer deltas :math:`\delta_1…\delta_L` and :math:`\nabla_xE`.

    ``x`` (n_0,) or (N, n_0); ``Ws[l-1]`` = ``W_l`` (n_{l-1}, n_l); ``bs[l-1]`` (n_l,);
    ``dh_L`` = :math:`\nabla_{h_L}E`, shaped like ``h_L``. Returns ``([δ_1, …, δ_L], dx)``.
    """
    _, cache = deep_forward(x, *[p for wb in zip(Ws, bs, strict=True) for p in wb], act=act)
    deltas: list[Array] = []
    dh = dh_L
    for layer in reversed(cache.layers):
        deltas.insert(0, dh * act.fprime(layer.a))
        dh = deltas[0] @ layer.W.T
    return deltas, dh


@dataclass(frozen=True)
class DeltaProfile:
    """PLOT-B: ``norms[l-1]`` = ‖δ_l‖₂ and ``bounds[l-1]`` = γ^{L−l+1} ∏_{k>l}‖W_k‖₂ ‖∇_{h_L}E‖,
    l = 1 … L; ``input_norm`` = ‖∇_xE‖ ≤ ``input_bound`` = γ^L ∏_k‖W_k‖₂ ‖∇_{h_L}E‖."""

    norms: Array
    bounds: Array
    input_norm: float
    input_bound: float


def delta_profile(
    x: Array,
    Ws: Sequence[Array],
    bs: Sequence[Array],
    dh_L: Array,
    act: Activation = SIGMOID,
) -> DeltaProfile:
    r"""MLP-9 / ACT-5 / PLOT-B: per-layer backprop delta norms of one sample and their bounds.

    .. math::  \|\delta_l\|_2\le\gamma^{L-l+1}\prod_{k=l+1}^{L}\|W_k\|_2\,\|\nabla_{h_L}E\|_2,
               \qquad \|\nabla_xE\|_2\le\gamma^{L}\prod_{k=1}^{L}\|W_k\|_2\,\|\nabla_{h_L}E\|_2

    with γ = sup φ' (``act.gamma``: ¼ for the sigmoid, 1 for ReLU and tanh); each step is
    :math:`\|\phi'(a)\odot u\|\le\gamma\|u\|` and :math:`\|uW^\top\|\le\|W\|_2\|u\|`.
    ``x`` (n_0,), ``dh_L`` (n_L,); cheap (one forward, one backward, L spectral norms).
    """
    deltas, dx = backprop_deltas(x, Ws, bs, dh_L, act)
    L, top = len(Ws), float(np.linalg.norm(dh_L))
    spec = np.array([np.linalg.norm(W, 2) for W in Ws])
    tail = np.append(np.cumprod(spec[::-1])[::-1][1:], 1.0)  # ∏_{k=l+1}^{L} ‖W_k‖₂
    bounds = act.gamma ** (L - np.arange(L)) * tail * top
    return DeltaProfile(
        np.array([np.linalg.norm(d) for d in deltas]),
        bounds,
        float(np.linalg.norm(dx)),
        act.gamma**L * float(np.prod(spec)) * top,
    )


def xor_network(x: Array) -> Array:
    r"""ACT-6: a 2-2-1 sigmoid network that fits XOR (max error 4.55e-5 on {0,1}²).

    Article: "激活函数其实是为了引入了非线性操作,使得神经网络可以逼近非线性函数".
    :math:`h_1=\sigma(20(x_1+x_2-0.5))`, :math:`h_2=\sigma(20(x_1+x_2-1.5))`,
    :math:`o=\sigma(20(h_1-h_2-0.5))`. ``x`` (N, 2); returns (N,). With identity
    activations every depth is affine and cannot (f(0,0)+f(1,1) = f(0,1)+f(1,0)).
    """
    s = x[:, 0] + x[:, 1]
    h1, h2 = sigmoid(20 * (s - 0.5)), sigmoid(20 * (s - 1.5))
    return sigmoid(20 * (h1 - h2 - 0.5))


# ---------------------------------------------------------------------------------------------
# OPT-1: descent along -∇E
# ---------------------------------------------------------------------------------------------


def first_order_ratio(E: Callable[[Array], float], w: Array, g: Array, eta: float) -> float:
    r"""OPT-1: :math:`r(\eta)=\dfrac{E(w)-E(w-\eta g)}{\eta\|g\|^2}`, → 1 as η → 0 iff g = ∇E.

    Article: "根据loss函数对参数求导,然后往梯度下降的方向去更新参数,可以降低loss值。"
    Taylor: :math:`r(\eta)=1-\frac\eta2\,g^\top\nabla^2E\,g/\|g\|^2+O(\eta^2)`; for a wrong
    direction g' the limit is :math:`\langle\nabla E,g'\rangle/\|g'\|^2\ne1`. ``w``, ``g``
    flat (P,). r > 0 means the step lowered E.
    """
    return (E(w) - E(w - eta * g)) / (eta * float(g @ g))


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def _mlp_moderate(x: Array, V: Array, gamma: Array, W: Array, theta: Array) -> bool:
    """FD trust region: every pre-activation |α−γ|, |β−θ| <= 15 (σ' >= 3e-7; see
    `specs.activations._moderate`)."""
    _, cache = mlp_forward(x, V, gamma, W, theta)
    return bool(np.abs(cache.a_h).max() <= 15 and np.abs(cache.a_j).max() <= 15)


def _loss_moderate(x: Array, y: Array, V: Array, gamma: Array, W: Array, theta: Array) -> bool:
    return _mlp_moderate(x, V, gamma, W, theta)


def _deep_moderate(x: Array, *params: Array) -> bool:
    """Sigmoid layers: every |a_l| <= 15 (as above)."""
    _, cache = deep_forward(x, *params)
    return all(np.abs(layer.a).max() <= 15 for layer in cache.layers)


def _deep_away_from_kinks(x: Array, *params: Array) -> bool:
    """ReLU layers: every |a_l| >= 1e-3, so no unit crosses its kink within an FD step, and a
    live output unit (an all-dead net has an identically zero gradient: nothing to judge)."""
    h, cache = deep_forward(x, *params, act=RELU)
    return all(np.abs(layer.a).min() >= 1e-3 for layer in cache.layers) and bool(np.any(h > 0))


def _deep_shapes(N: int, n0: int, n1: int, n2: int, n3: int) -> tuple[tuple[int, ...], ...]:
    n = (n0, n1, n2, n3)
    return ((N, n0), *[s for k in range(3) for s in ((n[k], n[k + 1]), (n[k + 1],))])


def _net_shapes(N: int, d: int, q: int, l: int) -> tuple[tuple[int, ...], ...]:  # noqa: E741
    return ((N, d), (d, q), (q,), (q, l), (l,))


def _loss_shapes(N: int, d: int, q: int, l: int) -> tuple[tuple[int, ...], ...]:  # noqa: E741
    return ((N, d), (N, l), (d, q), (q,), (q, l), (l,))


def _error_shapes(N: int, l: int) -> tuple[tuple[int, ...], ...]:  # noqa: E741
    return ((N, l), (N, l))


_NET_SIZES = {"N": (1, 4), "d": (1, 6), "q": (1, 6), "l": (1, 6)}
_DEEP_SIZES = {"N": (1, 3), "n0": (1, 5), "n1": (1, 5), "n2": (1, 5), "n3": (1, 5)}
_DEEP_NAMES = ("x", "W_1", "b_1", "W_2", "b_2", "W_3", "b_3")

SPECS: tuple[Spec, ...] = (
    Spec(
        "mlp.network",
        ("MLP-1", "MLP-3", "MLP-5", "MLP-7"),
        _SOURCE_MLP1 + "; " + _SOURCE_MLP3 + "; " + _SOURCE_MLP5,
        mlp_forward,
        mlp_backward,
        ("x", "V", "gamma", "W", "theta"),
        _net_shapes,
        _NET_SIZES,
        _mlp_moderate,
    ),
    Spec(
        "mlp.network_identity_output",
        ("MLP-3", "ERR-3"),
        _SOURCE_MLP1,
        partial(mlp_forward, out=IDENTITY),
        mlp_backward,
        ("x", "V", "gamma", "W", "theta"),
        _net_shapes,
        _NET_SIZES,
        _mlp_moderate,
    ),
    Spec(
        "mlp.squared_error",
        ("MLP-2",),
        _SOURCE_MLP2,
        squared_error_forward,
        squared_error_backward,
        ("y_hat", "y"),
        _error_shapes,
        {"N": (1, 4), "l": (1, 6)},
    ),
    Spec(
        "mlp.loss",
        ("MLP-1", "MLP-2", "MLP-3", "MLP-5", "MLP-7"),
        _SOURCE_MLP2 + "; " + _SOURCE_MLP3 + "; " + _SOURCE_MLP5,
        mlp_loss_forward,
        mlp_loss_backward,
        ("x", "y", "V", "gamma", "W", "theta"),
        _loss_shapes,
        _NET_SIZES,
        _loss_moderate,
    ),
    Spec(
        "mlp.deep_sigmoid",
        ("MLP-9",),
        _SOURCE_MLP9,
        deep_forward,
        deep_backward,
        _DEEP_NAMES,
        _deep_shapes,
        _DEEP_SIZES,
        _deep_moderate,
    ),
    Spec(
        "mlp.deep_relu",
        ("ACT-5",),
        "比如把sigmoid换成relu",
        partial(deep_forward, act=RELU),
        deep_backward,
        _DEEP_NAMES,
        _deep_shapes,
        _DEEP_SIZES,
        _deep_away_from_kinks,
    ),
)
