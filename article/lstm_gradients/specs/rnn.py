r"""The vanilla RNN of Part II (从RNN到LSTM再到GRU): forward, BPTT, Jacobians, bounds.

Equation IDs (``formula-inventory.md`` §2): RNN-1 … RNN-9; errata ERR-10, ERR-11; figures
FIG-4 and PLOT-A (RNN curves).

Orientation
-----------
Batch-first rows and CS231n weights: a batch of inputs at step t is ``x_t`` of shape
``(N, D)``, the state ``s_t`` is ``(N, H)``, and

.. math::  a_t = x_t W_x + s_{t-1} W_s + b,\qquad s_t = \tanh(a_t),\qquad o_t = s_t W_o

with ``W_x`` (D, H), ``W_s`` (H, H), ``b`` (H,), ``W_o`` (H, K). The article writes column
vectors, ``s_t = tanh(W_xx_t+W_s s_{t-1}+b)``; **its** ``W_x, W_s, W_o`` are the transposes
of ours: :math:`W_x^{\rm art}=W_x^\top` (H×D), :math:`W_s^{\rm art}=W_s^\top`,
:math:`W_o^{\rm art}=W_o^\top` (K×H).

Jacobians are in numerator layout, :math:`[\partial y/\partial x]_{ab}=\partial y_a/\partial
x_b`, for **one sequence** (state vectors of length H), exactly as in the article. In our
orientation :math:`\partial s_j[a]/\partial s_{j-1}[b]=(1-s_j[a]^2)\,W_s[b,a]`, so

.. math::  J_j = \mathrm{diag}(1-s_j^2)\,W_s^\top = \mathrm{diag}(1-s_j^2)\,W_s^{\rm art},

the article's ``tanh' \cdot W_s`` with its ``W_s``. A row-vector gradient propagates as
``g_{j-1} = g_j @ J_j``, which is CS231n's ``(g_j * (1 - s_j**2)) @ W_s.T``.

Sequences: ``x`` is ``(N, T, D)``; ``s`` returned by `rnn_forward` is ``(N, T, H)`` with
``s[:, t-1]`` the article's :math:`s_t` (t = 1 … T); ``s_0`` is ``(N, H)``. The functions that
reproduce the article's single-sequence algebra (`state_jacobian`, `article_dEt_dparams`,
`per_lag_contributions`, `jacobian_norms_by_lag`) take one sequence: ``x`` (T, D), ``s_0``
(H,), ``y`` (T, K), states ``s`` (T, H).

References
----------
Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks",
ICML, §2.1. Bengio, Simard & Frasconi (1994), "Learning long-term dependencies with gradient
descent is difficult", IEEE TNN 5(2). CS231n assignment 3, ``rnn_layers.py``
(``rnn_step_forward``/``rnn_step_backward``/``rnn_forward``/``rnn_backward``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from lstm_gradients.specs._spec import Spec
from lstm_gradients.specs.activations import sigmoid, sigmoid_prime, tanh_prime

Array = NDArray[np.float64]

__all__ = [
    "SPECS",
    "LossCache",
    "OutputCache",
    "OutputSigmoidCache",
    "RNNCache",
    "RNNLossCache",
    "RNNStepCache",
    "article_dE_dparams",
    "article_dEt_dparams",
    "direct_partials",
    "exploding_witness",
    "jacobian_norms_by_lag",
    "loss_backward",
    "loss_forward",
    "output_backward",
    "output_forward",
    "output_grad_bound",
    "output_sigmoid_backward",
    "output_sigmoid_forward",
    "per_lag_contributions",
    "rnn_backward",
    "rnn_forward",
    "rnn_loss_backward",
    "rnn_loss_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "rnn_unrolled",
    "rnn_untied_backward",
    "rnn_untied_forward",
    "saturated_non_example",
    "state_jacobian",
    "step_jacobian",
    "vanishing_bounds",
]


# ---------------------------------------------------------------------------------------------
# RNN-1: one step and the whole sequence (CS231n pairs)
# ---------------------------------------------------------------------------------------------


class RNNStepCache(NamedTuple):
    """The cache of `rnn_step_forward`: the step's inputs, its new state s_t and its
    pre-activation a_t (the backward takes tanh' from a_t, not from s_t: see there)."""

    x: Array
    s_prev: Array
    W_x: Array
    W_s: Array
    s: Array
    a: Array


class RNNCache(NamedTuple):
    """The cache of `rnn_forward` and `rnn_untied_forward`: every step's `RNNStepCache` and
    x's shape (N, T, D)."""

    steps: list[RNNStepCache]
    x_shape: tuple[int, ...]


def rnn_step_forward(
    x: Array, s_prev: Array, W_x: Array, W_s: Array, b: Array
) -> tuple[Array, RNNStepCache]:
    r"""One RNN step (RNN-1): ``s = tanh(x @ W_x + s_prev @ W_s + b)``.

    Article: ``s_t = tanh(W_xx_t+W_s s_{t-1}+b)`` (column vectors; its W are our W^T).

    .. math::  s_t = \tanh(x_t W_x + s_{t-1} W_s + b)

    Shapes: ``x`` (N, D), ``s_prev`` (N, H), ``W_x`` (D, H), ``W_s`` (H, H), ``b`` (H,);
    returns ``s`` (N, H) and the cache for `rnn_step_backward`.
    """
    a = x @ W_x + s_prev @ W_s + b
    s = np.tanh(a)
    return s, RNNStepCache(x, s_prev, W_x, W_s, s, a)


def rnn_step_backward(ds: Array, cache: RNNStepCache) -> tuple[Array, ...]:
    r"""Backward of `rnn_step_forward` (RNN-1, RNN-3): ``(dx, ds_prev, dW_x, dW_s, db)``.

    Derivation (article's symbols, one row of the batch): with :math:`a = x W_x + s_{t-1}W_s
    + b` and :math:`\tanh' = 1-\tanh^2`, :math:`da = ds\odot(1-s_t^2)`; then
    :math:`dx = da\,W_x^\top`, :math:`ds_{t-1} = da\,W_s^\top = ds\,J_t` (the step Jacobian of
    RNN-3 acting on a row), :math:`dW_x = x^\top da`, :math:`dW_s = s_{t-1}^\top da`,
    :math:`db = \sum_n da`. Shapes as the arguments of `rnn_step_forward`.

    :math:`\tanh'(a)` is `specs.activations.tanh_prime` of the pre-activation: the output form
    :math:`1-s_t^2` the derivation writes is exactly 0.0 once :math:`s_t` rounds to ±1
    (|a| ≳ 19), although :math:`\tanh'(20)\approx1.7\times10^{-17}`, and loses relative
    accuracy ε/(1−s²) before that.
    """
    da = ds * tanh_prime(cache.a)
    return da @ cache.W_x.T, da @ cache.W_s.T, cache.x.T @ da, cache.s_prev.T @ da, da.sum(axis=0)


def rnn_forward(x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array) -> tuple[Array, RNNCache]:
    r"""The RNN over a sequence (RNN-1): every state :math:`s_1 … s_T`.

    Article: ``s_t = tanh(W_xx_t+W_s s_{t-1}+b)``; "在RNN中 W_sW_x这两个参数是共享的"
    (the same W_x, W_s at every step).

    Shapes: ``x`` (N, T, D), ``s_0`` (N, H), ``W_x`` (D, H), ``W_s`` (H, H), ``b`` (H,);
    returns ``s`` (N, T, H), ``s[:, t-1]`` = :math:`s_t`.
    """
    N, T, _ = x.shape
    s = np.empty((N, T, W_s.shape[0]), dtype=np.result_type(x, s_0, W_x, W_s, b))
    caches: list[RNNStepCache] = []
    prev = s_0
    for t in range(T):
        prev, c = rnn_step_forward(x[:, t], prev, W_x, W_s, b)
        s[:, t] = prev
        caches.append(c)
    return s, RNNCache(caches, x.shape)


def rnn_backward(ds: Array, cache: RNNCache) -> tuple[Array, ...]:
    r"""BPTT (RNN-4, RNN-5): ``(dx, ds_0, dW_x, dW_s, db)`` from upstream ``ds`` (N, T, H).

    Article: "因此在step t下, E_tw_x求导需要对前面所有step的 W_x依次进行求导,再加起来";
    "W_s其实也是一样的,这里不再重复推导". This is the efficient O(T) form of that sum
    (`article_dEt_dparams` is the literal O(T²) one; the tests show they agree).

    ``ds[:, t-1]`` is the gradient reaching :math:`s_t` from outside the recurrence (from the
    head: :math:`W_o^{\rm art\top}(o_t-y_t)`). The O(T) recursion of formula-inventory RNN-4:
    :math:`r_{T+1}=0`, :math:`r_t = ds_t + J_{t+1}^\top r_{t+1}` (so :math:`r_t=\nabla_{s_t}E`),
    and the tied weights collect every step's direct contribution (RNN-5):
    :math:`\nabla_{W_x}E=\sum_t x_t^\top(r_t\odot(1-s_t^2))` (ours), likewise
    :math:`W_s` with :math:`s_{t-1}` and b; :math:`\nabla_{s_0}E = J_1^\top r_1`.
    """
    N, T, D = cache.x_shape
    W_x, W_s = cache.steps[0].W_x, cache.steps[0].W_s
    dtype = np.result_type(ds, W_x, W_s)  # object for symbolic arrays
    dx = np.empty((N, T, D), dtype=dtype)
    dW_x, dW_s, db = np.zeros_like(W_x), np.zeros_like(W_s), np.zeros(W_s.shape[0], dtype)
    carry = np.zeros((N, W_s.shape[0]))
    for t in reversed(range(T)):
        dx[:, t], carry, gx, gs, gb = rnn_step_backward(ds[:, t] + carry, cache.steps[t])
        dW_x += gx
        dW_s += gs
        db += gb
    return dx, carry, dW_x, dW_s, db


# ---------------------------------------------------------------------------------------------
# RNN-2 / RNN-6: the output head and the loss
# ---------------------------------------------------------------------------------------------


class OutputCache(NamedTuple):
    """The cache of `output_forward`: its inputs."""

    s: Array
    W_o: Array


class OutputSigmoidCache(NamedTuple):
    """The cache of `output_sigmoid_forward`: its inputs, the output o and its pre-activation
    β = s W_o (σ' is taken from β)."""

    s: Array
    W_o: Array
    o: Array
    beta: Array


class LossCache(NamedTuple):
    """The cache of `loss_forward`: the predictions and the targets."""

    o: Array
    y: Array


class RNNLossCache(NamedTuple):
    """The cache of `rnn_loss_forward`: the caches of its three stages."""

    rnn: RNNCache
    output: OutputCache
    loss: LossCache


def output_forward(s: Array, W_o: Array) -> tuple[Array, OutputCache]:
    r"""The prediction head (RNN-1, RNN-6): ``o = s @ W_o``.

    Article: "接下来W_os_t 进行相乘得到step t下的预测值 o_t";
    "这里也有个共享的W_o ,但不是包含在RNN中的".
    Shapes: ``s`` (N, T, H), ``W_o`` (H, K) (the article's W_o is K×H); returns ``o`` (N, T, K).
    """
    return s @ W_o, OutputCache(s, W_o)


def output_backward(do: Array, cache: OutputCache) -> tuple[Array, Array]:
    r"""Backward of `output_forward` (RNN-6): ``(ds, dW_o)``.

    Article:
    ``\frac{\partial E_t}{W_o} = \frac{\partial E_t}{\partial o_t}\cdot \frac{\partial o_t}{\partial W_o}``.
    No Jacobian product appears: per step,
    :math:`\partial E_t/\partial W_o^{\rm art}=(o_t-y_t)s_t^\top` (K×H), ours
    :math:`s_t^\top(o_t-y_t)` (H×K); summed over steps and the batch.
    :math:`ds_t = do_t W_o^\top` is the direct gradient into the recurrence.
    """  # noqa: E501 (the article's LaTeX stays on one line so it can be grepped)
    return do @ cache.W_o.T, np.einsum("nth,ntk->hk", cache.s, do)


def output_sigmoid_forward(s: Array, W_o: Array) -> tuple[Array, OutputSigmoidCache]:
    r"""The head with an output activation (RNN-6's variant): ``o = sigmoid(s @ W_o)``.

    Article: "(加激活函数也可以)" (an activation on :math:`W_os_t` is allowed). With
    :math:`\varphi=\sigma` the step-t gradient becomes :math:`(\varphi'\odot(o_t-y_t))s_t^\top`
    (article orientation), still without a Jacobian product; :math:`\sigma'\le\frac14`.
    Shapes as `output_forward`.
    """
    beta = s @ W_o
    o = sigmoid(beta)  # overflow-free, where 1/(1 + exp(-β)) overflows exp for β < -709
    return o, OutputSigmoidCache(s, W_o, o, beta)


def output_sigmoid_backward(do: Array, cache: OutputSigmoidCache) -> tuple[Array, Array]:
    r"""Backward of `output_sigmoid_forward`: ``(ds, dW_o)`` with :math:`\varphi'=\sigma'(\beta)`.

    :math:`d\beta = do\odot\sigma'(\beta)`, :math:`ds = d\beta\,W_o^\top`,
    :math:`dW_o=\sum_{n,t}s_t^\top d\beta_t` (ours, H×K). σ' is `specs.activations.sigmoid_prime`
    of β: the output form :math:`o(1-o)` is exactly 0.0 once o rounds to 1 (β ≳ 36.7; ERR-4).
    """
    dbeta = do * sigmoid_prime(cache.beta)
    return dbeta @ cache.W_o.T, np.einsum("nth,ntk->hk", cache.s, dbeta)


def loss_forward(o: Array, y: Array) -> tuple[Array, LossCache]:
    r"""The sequence loss (RNN-2): :math:`E=\sum_n\sum_t\frac12\|y_t-o_t\|_2^2` as a 0-d array.

    Article: ``E = \frac{1}{2}\sum_{t=1}^{T}{(y_t-o_t)^{2}}``, ``E_t = \frac{1}{2}{(y_t-o_t)^{2}}``
    with a scalar square of the vector :math:`y_t-o_t`; read as the squared Euclidean norm
    (ERR-10). Summed over the batch too. Shapes: ``o``, ``y`` (N, T, K).
    """
    r = o - y
    return np.asarray(0.5 * np.sum(r * r)), LossCache(o, y)


def loss_backward(dE: Array, cache: LossCache) -> tuple[Array, Array]:
    r"""Backward of `loss_forward` (RNN-2): :math:`\nabla_{o_t}E_t=o_t-y_t`; ``(do, dy)``.

    :math:`\partial E_t/\partial o_t = (o_t-y_t)^\top` (the article's first factor of RNN-4),
    :math:`\partial E/\partial y_t = y_t-o_t`. ``dE`` a scalar (0-d); ``do``, ``dy`` (N, T, K).
    """
    g = np.asarray(dE) * (cache.o - cache.y)
    return g, -g


def rnn_loss_forward(
    x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array, W_o: Array, y: Array
) -> tuple[Array, RNNLossCache]:
    r"""The whole pipeline of Part II (RNN-1, RNN-2): states, predictions, :math:`E=\sum_tE_t`.

    Shapes: ``x`` (N, T, D), ``s_0`` (N, H), ``W_x`` (D, H), ``W_s`` (H, H), ``b`` (H,),
    ``W_o`` (H, K), ``y`` (N, T, K); returns ``E`` (a 0-d array).
    """
    s, c_rnn = rnn_forward(x, s_0, W_x, W_s, b)
    o, c_out = output_forward(s, W_o)
    E, c_loss = loss_forward(o, y)
    return E, RNNLossCache(c_rnn, c_out, c_loss)


def rnn_loss_backward(dE: Array, cache: RNNLossCache) -> tuple[Array, ...]:
    r"""Backward of `rnn_loss_forward` by BPTT: ``(dx, ds_0, dW_x, dW_s, db, dW_o, dy)``.

    :math:`\nabla_{o_t}E=o_t-y_t` (RNN-2), :math:`ds_t = (o_t-y_t)W_o^\top` enters the
    recurrence at every step, `rnn_backward` runs the O(T) recursion (RNN-4/5), and
    :math:`\nabla_{W_o}E=\sum_t s_t^\top(o_t-y_t)` (RNN-6).
    """
    do, dy = loss_backward(dE, cache.loss)
    ds, dW_o = output_backward(do, cache.output)
    return (*rnn_backward(ds, cache.rnn), dW_o, dy)


# ---------------------------------------------------------------------------------------------
# RNN-5 (tying) and RNN-9 (structure): untied copies, the explicitly unrolled network
# ---------------------------------------------------------------------------------------------


def rnn_untied_forward(
    x: Array, s_0: Array, W_xs: Array, W_ss: Array, bs: Array
) -> tuple[Array, RNNCache]:
    r"""A T-layer feed-forward net with one copy of the weights per step (RNN-5, RNN-9).

    Layer t is :math:`s_t=\tanh(x_tW_x^{(t)}+s_{t-1}W_s^{(t)}+b^{(t)})`. With every copy equal
    to (W_x, W_s, b) it is `rnn_forward` ("在RNN中 W_sW_x这两个参数是共享的"). Shapes:
    ``W_xs`` (T, D, H), ``W_ss`` (T, H, H), ``bs`` (T, H); otherwise as `rnn_forward`.
    """
    N, T, _ = x.shape
    s = np.empty((N, T, W_ss.shape[1]))
    caches: list[RNNStepCache] = []
    prev = s_0
    for t in range(T):
        prev, c = rnn_step_forward(x[:, t], prev, W_xs[t], W_ss[t], bs[t])
        s[:, t] = prev
        caches.append(c)
    return s, RNNCache(caches, x.shape)


def rnn_untied_backward(ds: Array, cache: RNNCache) -> tuple[Array, ...]:
    r"""Backward of `rnn_untied_forward`: ``(dx, ds_0, dW_xs, dW_ss, dbs)``, per-copy grads.

    RNN-5's tying rule: :math:`\nabla_{W_x}E|_{\rm tied}=\sum_t\nabla_{W_x^{(t)}}E|_{\text{all
    copies}=W_x}`; the per-copy gradient is step t's direct contribution.
    """
    N, T, D = cache.x_shape
    first = cache.steps[0]
    dx = np.empty((N, T, D))
    dW_xs = np.empty((T, *first.W_x.shape))
    dW_ss = np.empty((T, *first.W_s.shape))
    dbs = np.empty((T, first.W_s.shape[1]))
    carry = np.zeros_like(first.s_prev)
    for t in reversed(range(T)):
        step = rnn_step_backward(ds[:, t] + carry, cache.steps[t])
        dx[:, t], carry, dW_xs[t], dW_ss[t], dbs[t] = step
    return dx, carry, dW_xs, dW_ss, dbs


def rnn_unrolled(x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array) -> Array:
    r"""RNN-9's structural half: the RNN as an explicit composition of T tied layers.

    Article: "RNN网络又是展开的,相当于很深层的神经网络". Builds the layers
    :math:`f_t(s) = \tanh(x_tW_x + sW_s + b)` as T separate functions and composes them,
    :math:`s_T = f_T\circ\cdots\circ f_1(s_0)`, returning every intermediate layer output
    (N, T, H). It performs the same floating-point operations as `rnn_forward`'s loop.
    """

    def layer_at(xt: Array) -> Callable[[Array], Array]:
        return lambda s: np.tanh(xt @ W_x + s @ W_s + b)

    layers = [layer_at(x[:, t]) for t in range(x.shape[1])]
    outs = []
    s = s_0
    for layer in layers:
        s = layer(s)
        outs.append(s)
    return np.stack(outs, axis=1)


# ---------------------------------------------------------------------------------------------
# RNN-3: Jacobians
# ---------------------------------------------------------------------------------------------


def _tanh_prime(s: Array, a: Array | None) -> Array:
    """tanh' at a state: from its pre-activation ``a`` when known (stable), else 1 − s²."""
    return 1.0 - s**2 if a is None else tanh_prime(a)


def step_jacobian(s_j: Array, W_s: Array, a_j: Array | None = None) -> Array:
    r"""The step Jacobian (RNN-3), :math:`J_j=\partial s_j/\partial s_{j-1}`.

    .. math::  J_j = \mathrm{diag}(1-s_j^2)\,W_s^\top

    Article:
    ``\prod_{j=i+1}^{t}\frac{\partial s_j}{\partial s_{j-1}} = \prod_{j=i+1}^{t} tanh' \cdot W_s``;
    "\frac{\partial s_j}{\partial s_{j-1}} 是个Jacobian矩阵(向量对向量求导)".
    Numerator layout; the factor is evaluated at step j's own state. Our ``W_s`` is the
    article's transposed, hence :math:`W_s^\top` here (= the article's :math:`W_s`).

    Shapes: ``s_j`` (..., H) (any leading batch axes), ``W_s`` (H, H); returns (..., H, H).
    With the pre-activation ``a_j`` (shaped like ``s_j``), :math:`1-s_j^2` is evaluated as
    tanh'(a_j) (`specs.activations.tanh_prime`), which keeps its digits where s_j rounds to ±1;
    the functions below pass it.
    """
    return _tanh_prime(s_j, a_j)[..., :, None] * W_s.T


def state_jacobian(s: Array, W_s: Array, t: int, k: int, a: Array | None = None) -> Array:
    r"""The ordered product (RNN-3) :math:`\partial s_t/\partial s_k=J_tJ_{t-1}\cdots J_{k+1}`.

    Article: ``\prod_{j=i+1}^{t}\frac{\partial s_j}{\partial s_{j-1}}``, with the latest step
    on the left (the :math:`J_j` do not commute, ERR-10); the identity when ``k == t``.
    ``s`` (T, H) holds :math:`s_1…s_T` of one sequence (``s[j-1]`` = :math:`s_j`);
    ``0 <= k <= t <= T``; ``a`` (T, H), the pre-activations, optional (`step_jacobian`).
    Returns (H, H).
    """
    if not 0 <= k <= t <= s.shape[0]:
        raise ValueError(f"need 0 <= k <= t <= T, got k={k}, t={t}, T={s.shape[0]}")
    P = np.eye(W_s.shape[0])
    for j in range(t, k, -1):
        P = P @ step_jacobian(s[j - 1], W_s, None if a is None else a[j - 1])
    return P


def direct_partials(
    x_i: Array, s_prev: Array, s_i: Array, a_i: Array | None = None
) -> tuple[Array, Array, Array]:
    r"""The direct partials :math:`\partial^+s_i/\partial(W_x, W_s, b)`, :math:`s_{i-1}` frozen.

    The article's last factor ``\frac{\partial s_i}{\partial W_x}`` read as the **direct**
    (explicit) partial (ERR-10). As Jacobians of the H-vector :math:`s_i` with respect to our
    weight arrays: ``dW_x`` (H, D, H) with ``[a, d, c]`` :math:`=\delta_{ac}(1-s_i[a]^2)x_i[d]`,
    ``dW_s`` (H, H, H) with ``[a, e, c]`` :math:`=\delta_{ac}(1-s_i[a]^2)s_{i-1}[e]`, ``db``
    (H, H) :math:`=\mathrm{diag}(1-s_i^2)`. Inputs: ``x_i`` (D,), ``s_prev`` (H,), ``s_i`` (H,),
    and optionally the pre-activation ``a_i`` (H,) (`step_jacobian`).
    """
    g = np.diag(_tanh_prime(s_i, a_i))  # [a, c]
    return (
        np.einsum("ac,d->adc", g, x_i),
        np.einsum("ac,e->aec", g, s_prev),
        g,
    )


# ---------------------------------------------------------------------------------------------
# RNN-4 / RNN-5 exactly as the article writes them
# ---------------------------------------------------------------------------------------------


def _states(x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array) -> tuple[Array, Array]:
    """The states s_1 … s_T of one sequence and their pre-activations, each (T, H), by
    `rnn_forward`."""
    s, cache = rnn_forward(x[None], s_0[None], W_x, W_s, b)
    return s[0], np.stack([step.a[0] for step in cache.steps])


def article_dEt_dparams(
    x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array, W_o: Array, y: Array, t: int
) -> tuple[Array, Array, Array]:
    r"""RNN-4 (and RNN-5) literally: :math:`\partial E_t/\partial(W_x, W_s, b)` for one sequence.

    Article:
    ``\frac{\partial E_t}{\partial W_x} = \sum_{i=1}^{t}{\frac{\partial E_t}{\partial o_t}\frac{\partial o_t}{\partial s_t}(\prod_{j=i+1}^{t}\frac{\partial s_j}{\partial s_{j-1}})\frac{\partial s_i}{\partial W_x}}``;
    "W_s其实也是一样的,这里不再重复推导".

    Evaluated as written, by explicit Jacobian products (O(t²H³), the literal form):
    :math:`\partial E_t/\partial o_t=(o_t-y_t)^\top` (1×K), :math:`\partial o_t/\partial s_t=
    W_o^{\rm art}=W_o^\top` (K×H), the ordered product `state_jacobian` (H×H), and the direct
    partial `direct_partials` flattened to an H × (size of the weight) matrix. Equivalently
    :math:`\sum_i(\delta_{t,i}\odot(1-s_i^2))x_i^\top` with
    :math:`\delta_{t,i}=(\partial s_t/\partial s_i)^\top W_o^{\rm art\top}(o_t-y_t)`.

    Shapes: ``x`` (T, D), ``s_0`` (H,), ``y`` (T, K), weights as `rnn_loss_forward`,
    ``1 <= t <= T``. Returns gradients shaped (and oriented) like ``W_x, W_s, b``.
    """  # noqa: E501 (the article's LaTeX stays on one line so it can be grepped)
    s, a = _states(x, s_0, W_x, W_s, b)
    dEt_dot = (s[t - 1] @ W_o - y[t - 1])[None, :]  # 1 x K
    row = dEt_dot @ W_o.T  # (dE_t/do_t)(do_t/ds_t): 1 x H
    dtype = np.result_type(x, s_0, W_x, W_s, b, W_o, y)  # object for symbolic arrays
    grads = [np.zeros(W_x.size, dtype), np.zeros(W_s.size, dtype), np.zeros(b.size, dtype)]
    for i in range(1, t + 1):
        s_prev = s_0 if i == 1 else s[i - 2]
        through = row @ state_jacobian(s, W_s, t, i, a)  # 1 x H
        parts = direct_partials(x[i - 1], s_prev, s[i - 1], a[i - 1])
        for g, part in zip(grads, parts, strict=True):
            g += (through @ part.reshape(part.shape[0], -1))[0]
    return grads[0].reshape(W_x.shape), grads[1].reshape(W_s.shape), grads[2]


def article_dE_dparams(
    x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array, W_o: Array, y: Array
) -> tuple[Array, Array, Array]:
    r"""The total gradient, :math:`\partial E/\partial\theta=\sum_t\partial E_t/\partial\theta`.

    The sum over t the article does not state (ERR-10), of `article_dEt_dparams`, and over
    the batch: ``x`` (N, T, D), ``s_0`` (N, H), ``y`` (N, T, K). Agrees with
    `rnn_loss_backward`'s O(T) recursion.
    """
    total = [np.zeros_like(W_x), np.zeros_like(W_s), np.zeros_like(b)]
    for n in range(x.shape[0]):
        for t in range(1, x.shape[1] + 1):
            for acc, g in zip(
                total, article_dEt_dparams(x[n], s_0[n], W_x, W_s, b, W_o, y[n], t), strict=True
            ):
                acc += g
    return total[0], total[1], total[2]


# ---------------------------------------------------------------------------------------------
# RNN-6 bound, RNN-7 bounds, FIG-4 per-lag contributions, PLOT-A norms, RNN-8 witnesses
# ---------------------------------------------------------------------------------------------


def output_grad_bound(o_t: Array, y_t: Array, H: int) -> float:
    r"""RNN-6's bound :math:`\|\partial E_t/\partial W_o\|_F=\|o_t-y_t\|\|s_t\|<\sqrt H\|o_t-y_t\|`.

    Article: "在step t下, o_t只和这个step的 W_o有关 … 所以 W_o的梯度对我们并没有什么威胁".
    Uses :math:`\|s_t\|_\infty<1`; independent of t, T and W_s. One sequence: ``o_t``,
    ``y_t`` (K,).
    """
    return float(np.sqrt(H) * np.linalg.norm(o_t - y_t))


def vanishing_bounds(
    s: Array, W_s: Array, t: int, k: int, a: Array | None = None
) -> tuple[float, float]:
    r"""Pascanu et al.'s vanishing bound (RNN-7) for :math:`\|\partial s_t/\partial s_k\|_2`.

    Article: "重点是如果值比较小,而且又经过矩阵连乘,梯度值迅速收缩,最后可能会造成梯度消失".

    .. math::  \Big\|\frac{\partial s_t}{\partial s_k}\Big\|_2 \le \prod_{j=k+1}^{t}
               \|\mathrm{diag}(1-s_j^2)\|_2\|W_s\|_2 = \prod_{j=k+1}^{t}\max_a(1-s_j[a]^2)\,\rho
               \le \rho^{\,t-k},\qquad \rho=\sigma_{\max}(W_s).

    Returns ``(tight, loose)`` = (the middle product, :math:`\rho^{t-k}`). ``s`` (T, H) of one
    sequence; ``a`` (T, H), its pre-activations, optional (tanh' from them, `step_jacobian`).
    Pascanu et al. (2013) §2.1: vanishing is sufficient for :math:`\lambda_1<1/\gamma`,
    γ = 1 for tanh (:math:`\tanh'\le1`).
    """
    rho = float(np.linalg.norm(W_s, 2))
    tight = 1.0
    for j in range(k + 1, t + 1):
        tight *= float(np.max(_tanh_prime(s[j - 1], None if a is None else a[j - 1]))) * rho
    return tight, rho ** (t - k)


def per_lag_contributions(
    x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array, W_o: Array, y: Array, t: int
) -> tuple[Array, Array]:
    r"""FIG-4: per-path Frobenius norms of RNN-4's terms, and their RNN-7 bounds, i = 1 … t.

    Article: "来看这个反向传播路径图" (the path from :math:`E_t` back to :math:`W_x` at
    step i). Term i is :math:`(\delta_{t,i}\odot(1-s_i^2))x_i^\top` (article orientation),
    :math:`\delta_{t,i}=(\partial s_t/\partial s_i)^\top W_o^{\rm art\top}(o_t-y_t)`; its norm
    is at most :math:`\rho^{t-i}\|W_o(o_t-y_t)\|\|x_i\|` (our W_o is H×K, so
    :math:`W_o^{\rm art\top}=W_o`; the factor :math:`1-s_i^2\le1`).

    One sequence as `article_dEt_dparams`. Returns ``(norms, bounds)``, each (t,), index
    ``i-1`` for term i.
    """
    s, a = _states(x, s_0, W_x, W_s, b)
    back = W_o @ (s[t - 1] @ W_o - y[t - 1])  # W_o^{art T}(o_t - y_t), (H,)
    rho = float(np.linalg.norm(W_s, 2))
    norms = np.empty(t)
    bounds = np.empty(t)
    for i in range(1, t + 1):
        delta = state_jacobian(s, W_s, t, i, a).T @ back
        norms[i - 1] = np.linalg.norm(np.outer(delta * tanh_prime(a[i - 1]), x[i - 1]))
        bounds[i - 1] = rho ** (t - i) * np.linalg.norm(back) * np.linalg.norm(x[i - 1])
    return norms, bounds


def jacobian_norms_by_lag(
    x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array, t: int | None = None
) -> Array:
    r"""PLOT-A: :math:`\|\partial s_t/\partial s_{t-L}\|_2` for lags L = 0 … t (one sequence).

    The quantity the article's "经过矩阵连乘,梯度值迅速收缩" is about; compare with the
    :math:`\rho^L` line of RNN-7. Accumulates :math:`P_L=P_{L-1}J_{t-L+1}` (O(tH³)).
    ``x`` (T, D), ``s_0`` (H,); ``t`` defaults to T. Returns (t+1,).
    """
    s, a = _states(x, s_0, W_x, W_s, b)
    t = s.shape[0] if t is None else t
    P = np.eye(W_s.shape[0])
    out = np.empty(t + 1)
    out[0] = 1.0
    for L in range(1, t + 1):
        P = P @ step_jacobian(s[t - L], W_s, a[t - L])
        out[L] = np.linalg.norm(P, 2)
    return out


def exploding_witness(rho: float, H: int, T: int) -> Array:
    r"""RNN-8's witness: :math:`x_t=0, b=0, s_0=0, W_s=\rho I`, so :math:`\|\partial s_T/\partial
    s_k\|_2=\rho^{T-k}` exactly.

    Article: "另外,W_s又可能会造成梯度爆炸"; "如果矩阵值太大显然会带来梯度爆炸". With the
    state stuck at 0, every :math:`J_j=W_s^\top`. Returns `jacobian_norms_by_lag` (T+1,) for
    that network (D = 1).
    """
    zeros = np.zeros
    return jacobian_norms_by_lag(zeros((T, 1)), zeros(H), zeros((1, H)), rho * np.eye(H), zeros(H))


def saturated_non_example(T: int = 10, H: int = 1) -> float:
    r"""RNN-8's non-example: :math:`W_s=3I` (ρ = 3 > 1), :math:`b=10\cdot\mathbf 1`, :math:`s_0=0`.

    tanh saturates (:math:`1-s_j^2\approx 2\times10^{-11}`), so
    :math:`\|\partial s_T/\partial s_0\|\approx3\times10^{-100}` for T = 10: a large
    :math:`\|W_s\|_2` is necessary, not sufficient, for explosion (Pascanu et al. 2013).
    Returns :math:`\|\partial s_T/\partial s_0\|_2`.
    """
    zeros = np.zeros
    norms = jacobian_norms_by_lag(
        zeros((T, 1)), zeros(H), zeros((1, H)), 3.0 * np.eye(H), np.full(H, 10.0)
    )
    return float(norms[T])


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def _preactivations_moderate(x: Array, s_prev: Array, W_x: Array, W_s: Array, b: Array) -> bool:
    # FD is trustworthy while tanh is not saturated: at |a| <= 10, 1 - tanh(a)^2 >= 8e-9, so
    # the derivatives are well above the rounding floor eps*|f|/h of a central difference.
    a = x @ W_x + s_prev @ W_s + b
    return bool(np.max(np.abs(a)) <= 10.0)


def _sequence_moderate(x: Array, s_0: Array, W_x: Array, W_s: Array, b: Array, *_: Array) -> bool:
    s = rnn_forward(x, s_0, W_x, W_s, b)[0]
    prev = np.concatenate([s_0[:, None], s[:, :-1]], axis=1)
    return _preactivations_moderate(x, prev, W_x, W_s, b)


_SOURCE_RNN1 = "s_t = tanh(W_xx_t+W_s s_{t-1}+b)"
_SOURCE_RNN4 = (
    r"\frac{\partial E_t}{\partial W_x} = \sum_{i=1}^{t}{\frac{\partial E_t}{\partial o_t}"
    r"\frac{\partial o_t}{\partial s_t}(\prod_{j=i+1}^{t}\frac{\partial s_j}{\partial s_{j-1}})"
    r"\frac{\partial s_i}{\partial W_x}}"
)

SPECS: tuple[Spec, ...] = (
    Spec(
        name="rnn.step",
        ids=("RNN-1", "RNN-3"),
        source=_SOURCE_RNN1,
        forward=rnn_step_forward,
        backward=rnn_step_backward,
        arg_names=("x", "s_prev", "W_x", "W_s", "b"),
        arg_shapes=lambda N, D, H: ((N, D), (N, H), (D, H), (H, H), (H,)),
        sizes={"N": (1, 3), "D": (1, 4), "H": (1, 6)},
        well_conditioned=_preactivations_moderate,
    ),
    Spec(
        name="rnn.sequence",
        ids=("RNN-1", "RNN-4", "RNN-5"),
        source=_SOURCE_RNN1 + " ; " + _SOURCE_RNN4,
        forward=rnn_forward,
        backward=rnn_backward,
        arg_names=("x", "s_0", "W_x", "W_s", "b"),
        arg_shapes=lambda N, T, D, H: ((N, T, D), (N, H), (D, H), (H, H), (H,)),
        sizes={"N": (1, 3), "T": (1, 10), "D": (1, 4), "H": (1, 6)},
        well_conditioned=_sequence_moderate,
    ),
    Spec(
        name="rnn.output",
        ids=("RNN-6",),
        source=r"\frac{\partial E_t}{W_o} = \frac{\partial E_t}{\partial o_t}\cdot "
        r"\frac{\partial o_t}{\partial W_o}",
        forward=output_forward,
        backward=output_backward,
        arg_names=("s", "W_o"),
        arg_shapes=lambda N, T, H, K: ((N, T, H), (H, K)),
        sizes={"N": (1, 3), "T": (1, 10), "H": (1, 6), "K": (1, 3)},
    ),
    Spec(
        name="rnn.output_sigmoid",
        ids=("RNN-6",),
        source="(加激活函数也可以)",
        forward=output_sigmoid_forward,
        backward=output_sigmoid_backward,
        arg_names=("s", "W_o"),
        arg_shapes=lambda N, T, H, K: ((N, T, H), (H, K)),
        sizes={"N": (1, 3), "T": (1, 10), "H": (1, 6), "K": (1, 3)},
    ),
    Spec(
        name="rnn.loss",
        ids=("RNN-1", "RNN-2", "RNN-4", "RNN-5", "RNN-6"),
        source=r"E = \frac{1}{2}\sum_{t=1}^{T}{(y_t-o_t)^{2}} ; " + _SOURCE_RNN4,
        forward=rnn_loss_forward,
        backward=rnn_loss_backward,
        arg_names=("x", "s_0", "W_x", "W_s", "b", "W_o", "y"),
        arg_shapes=lambda N, T, D, H, K: (
            (N, T, D),
            (N, H),
            (D, H),
            (H, H),
            (H,),
            (H, K),
            (N, T, K),
        ),
        sizes={"N": (1, 3), "T": (1, 10), "D": (1, 4), "H": (1, 6), "K": (1, 3)},
        well_conditioned=_sequence_moderate,
    ),
)
