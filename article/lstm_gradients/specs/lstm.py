r"""The LSTM of Part II (从RNN到LSTM再到GRU): CS231n forward/backward, Jacobians, the cell path.

Equation IDs (``formula-inventory.md`` §2): LSTM-1 … LSTM-8; errata ERR-12 … ERR-17; PLOT-A
(LSTM curves).

Orientation
-----------
Batch-first rows and CS231n weights (assignment 3, ``lstm_step_forward``): at step t the batch
``x_t`` is (N, D), the states ``h_{t-1}, c_{t-1}`` are (N, H) and

.. math::  A = x_tW_x + h_{t-1}W_h + b,\quad (a_i, a_f, a_o, a_g) = A[:, 0{:}H \mid H{:}2H
           \mid 2H{:}3H \mid 3H{:}4H],

.. math::  i=\sigma(a_i),\ f=\sigma(a_f),\ o=\sigma(a_o),\ g=\tanh(a_g),\quad
           c_t=f\odot c_{t-1}+i\odot g,\quad h_t=o\odot\tanh c_t,

with ``W_x`` (D, 4H), ``W_h`` (H, 4H), ``b`` (4H,), packed gate order **i, f, o, g**. The
article's column-vector weights (the CS231n slide's stacked ``W`` and the notebook's
``W_x`` (4H × D)) are the transposes of ours. Block notation of the inventory:
:math:`W_h^{(k)} = W_h[:, kH{:}(k+1)H]` for k = i, f, o, g = 0, 1, 2, 3, so in numerator layout
:math:`\partial a_k/\partial h_{t-1} = W_h^{(k)\top}`.

Jacobians are for **one sequence** (vectors of length H), numerator layout,
:math:`[\partial y/\partial x]_{ab}=\partial y_a/\partial x_b`; the LSTM's Markov state is the
pair :math:`(c, h)`, stacked in that order (2H).

Article notes
-------------
* *Wrong (ERR-12):* "这里注意f_ti_tg_t 都是 c_{t-1}的复合函数" and
  ``\frac{\partial c_t}{\partial c_{t-1}}=f_t + \frac{\partial f_t}{\partial c_{t-1}} \cdot
  c_{t-1} + ...``: the gates see only :math:`(x_t, h_{t-1})`, so at fixed :math:`h_{t-1}` the
  derivative is exactly :math:`\mathrm{diag}(f_t)` (`cell_direct_jacobian`); the extra terms
  come only through :math:`h_{t-1}=o_{t-1}\odot\tanh c_{t-1}` (`composite_cell_derivative`,
  LSTM-4) or through peepholes (`peephole_step_forward`, where they exist literally).
* *Wrong (ERR-13):* c alone is not a Markov state: products of LSTM-4's one-step
  derivatives are not :math:`dc_t/dc_k`; the (c, h) Jacobians are (`step_jacobian`,
  `state_jacobian`, LSTM-5).
* *Imprecise (ERR-14):* "把连乘操作改为连加操作": the update is additive but the cell-path
  gradient is the product :math:`\mathrm{diag}(\prod_j f_j)` (`cell_path`).
* *Imprecise (ERR-15):* "forget gate解决了RNN中的长期依赖问题,不管网络多深": with sigmoid gates
  and bounded pre-activations the cell path decays geometrically (`forget_path_bounds`); the
  constant error flow is the 1997 LSTM's, which had no forget gate (``forget_gate=False``).
* *Imprecise (ERR-16):* "梯度爆炸并不能解决": the cell path cannot explode; explosion needs the
  :math:`W_h` paths (`zero_state_jacobian`, LSTM-8).
* *Terminology (ERR-17):* "包含了四个门层结构": three sigmoid gates plus the tanh block input g.

References
----------
CS231n (Stanford) assignment 3, ``rnn_layers.py``: ``lstm_step_forward``/``lstm_step_backward``
/``lstm_forward``/``lstm_backward``. S. Hochreiter, J. Schmidhuber, "Long short-term memory",
Neural Computation 9(8), 1997 (constant error carousel, no forget gate). F. Gers,
J. Schmidhuber, F. Cummins, "Learning to forget", Neural Computation 12(10), 2000. F. Gers,
J. Schmidhuber, "Recurrent nets that time and count", IJCNN 2000 (peepholes).
R. Jozefowicz, W. Zaremba, I. Sutskever, "An empirical exploration of recurrent network
architectures", ICML 2015 (forget bias 1). K. Greff et al., "LSTM: a search space odyssey",
IEEE TNNLS 28(10), 2017.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from lstm_gradients.specs import _elementwise as ew
from lstm_gradients.specs._spec import Spec
from lstm_gradients.specs.activations import sigmoid_prime, tanh_prime

Array = NDArray[np.float64]

__all__ = [
    "SPECS",
    "LSTMCache",
    "LSTMStepCache",
    "PeepholeStepCache",
    "cell_direct_jacobian",
    "cell_path",
    "composite_cell_derivative",
    "composite_terms",
    "detached_cell_unroll",
    "forget_path_bounds",
    "gates",
    "jacobian_norms_by_lag",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "peephole_cell_jacobian",
    "peephole_step_backward",
    "peephole_step_forward",
    "state_jacobian",
    "step_jacobian",
    "step_jacobian_blocks",
    "zero_state_jacobian",
    "zero_state_rate",
    "zero_state_witness",
]


def _blocks(W_h: Array) -> tuple[Array, Array, Array, Array]:
    """The inventory's :math:`W_h^{(k)}` = ``W_h[:, kH:(k+1)H]``, k = i, f, o, g."""
    H = W_h.shape[0]
    return W_h[:, :H], W_h[:, H : 2 * H], W_h[:, 2 * H : 3 * H], W_h[:, 3 * H :]


def _preactivations(x: Array, h_prev: Array, W_x: Array, W_h: Array, b: Array) -> Array:
    """:math:`A = x_tW_x + h_{t-1}W_h + b`, (..., 4H), blocks i, f, o, g."""
    A: Array = x @ W_x + h_prev @ W_h + b
    return A


def _gate_primes(A: Array) -> tuple[Array, Array, Array, Array]:
    r"""σ'(a_i), σ'(a_f), σ'(a_o), tanh'(a_g) from the pre-activations ``A`` (..., 4H).

    Stable forms (`specs.activations`): the output forms i(1−i), …, 1−g² that the derivations
    write are exactly 0.0 once a gate rounds to 0 or 1 (|a| ≳ 36.7 for σ, ≳ 19 for tanh) and
    lose relative accuracy ε/σ' before that; these keep full relative accuracy."""
    H = A.shape[-1] // 4
    return (
        sigmoid_prime(A[..., :H]),
        sigmoid_prime(A[..., H : 2 * H]),
        sigmoid_prime(A[..., 2 * H : 3 * H]),
        tanh_prime(A[..., 3 * H :]),
    )


def gates(
    x: Array, h_prev: Array, W_x: Array, W_h: Array, b: Array
) -> tuple[Array, Array, Array, Array]:
    r"""The gates (LSTM-1): :math:`i,f,o=\sigma(a_{i,f,o})\in(0,1)`, :math:`g=\tanh a_g\in(-1,1)`.

    Article: "包含了四个门层结构"; "cs231n的公式更加简洁,把四个门层结构的权重参数合成一个W"
    (only i, f, o are gates; g is the block input, ERR-17). Shapes: ``x`` (..., D),
    ``h_prev`` (..., H); returns four (..., H) arrays. They depend on :math:`(x_t,h_{t-1})`
    only, never on :math:`c_{t-1}` (ERR-12).
    """
    H = W_h.shape[0]
    A = _preactivations(x, h_prev, W_x, W_h, b)
    return (
        ew.sigmoid(A[..., :H]),
        ew.sigmoid(A[..., H : 2 * H]),
        ew.sigmoid(A[..., 2 * H : 3 * H]),
        np.tanh(A[..., 3 * H :]),
    )


# ---------------------------------------------------------------------------------------------
# LSTM-1 / LSTM-7: one step and the sequence (CS231n pairs)
# ---------------------------------------------------------------------------------------------


class LSTMStepCache(NamedTuple):
    """The cache of `lstm_step_forward`: the step's inputs, its gates and tanh c_t, (N, ·), and
    the pre-activations A (N, 4H) and c_t the backward takes the derivatives from."""

    x: Array
    h_prev: Array
    c_prev: Array
    W_x: Array
    W_h: Array
    i: Array
    f: Array
    o: Array
    g: Array
    tanh_c: Array
    a: Array
    c: Array


class LSTMCache(NamedTuple):
    """The cache of `lstm_forward`: every step's `LSTMStepCache` and x's shape (N, T, D)."""

    steps: list[LSTMStepCache]
    x_shape: tuple[int, ...]


def lstm_step_forward(
    x: Array, h_prev: Array, c_prev: Array, W_x: Array, W_h: Array, b: Array
) -> tuple[tuple[Array, Array], LSTMStepCache]:
    r"""One LSTM step (LSTM-1, LSTM-3): returns ``(h, c)`` and the cache.

    Article: ``c_t = f_t \cdot c_{t-1}+i_t \cdot g_t``.

    .. math::  c_t=f_t\odot c_{t-1}+i_t\odot g_t,\qquad h_t=o_t\odot\tanh c_t

    Shapes: ``x`` (N, D), ``h_prev``, ``c_prev`` (N, H), ``W_x`` (D, 4H), ``W_h`` (H, 4H),
    ``b`` (4H,); ``h``, ``c`` (N, H). (CS231n's ``lstm_step_forward(x, prev_h, prev_c, Wx,
    Wh, b)``, the outputs as a tuple.)
    """
    A = _preactivations(x, h_prev, W_x, W_h, b)
    H = W_h.shape[0]
    i, f, o = ew.sigmoid(A[:, :H]), ew.sigmoid(A[:, H : 2 * H]), ew.sigmoid(A[:, 2 * H : 3 * H])
    g = np.tanh(A[:, 3 * H :])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    return (h, c), LSTMStepCache(x, h_prev, c_prev, W_x, W_h, i, f, o, g, tc, A, c)


def lstm_step_backward(douts: tuple[Array, Array], cache: LSTMStepCache) -> tuple[Array, ...]:
    r"""Backward of `lstm_step_forward` (LSTM-7): ``(dx, dh_prev, dc_prev, dW_x, dW_h, db)``.

    ``douts = (dh, dc)``. Derivation (inventory LSTM-7, article's symbols):
    :math:`do=dh\odot\tanh c_t`; :math:`\bar{dc}=dc+dh\odot o\odot(1-\tanh^2c_t)`;
    :math:`df=\bar{dc}\odot c_{t-1}`, :math:`di=\bar{dc}\odot g`, :math:`dg=\bar{dc}\odot i`,
    :math:`dc_{t-1}=\bar{dc}\odot f` (the cell path, LSTM-6e);
    :math:`dA=[di\,i(1-i),\,df\,f(1-f),\,do\,o(1-o),\,dg(1-g^2)]`; :math:`dx=dA\,W_x^\top`,
    :math:`dh_{t-1}=dA\,W_h^\top`, :math:`dW_x=x^\top dA`, :math:`dW_h=h_{t-1}^\top dA`,
    :math:`db=\sum_n dA`.

    The derivatives i(1−i), f(1−f), o(1−o), 1−g², 1−tanh²c_t are evaluated in their stable
    forms σ'(a), tanh'(a) of the cached pre-activations (`_gate_primes`): the output forms are 0.0
    in saturation, exactly where the article's gradient story happens.
    """
    dh, dc = douts
    i, f, g, tc = cache.i, cache.f, cache.g, cache.tanh_c
    di, df, do, dg = _gate_primes(cache.a)
    dct = dc + dh * cache.o * tanh_prime(cache.c)
    dA = np.concatenate(
        [dct * g * di, dct * cache.c_prev * df, dh * tc * do, dct * i * dg],
        axis=-1,
    )
    return (
        dA @ cache.W_x.T,
        dA @ cache.W_h.T,
        dct * f,
        cache.x.T @ dA,
        cache.h_prev.T @ dA,
        dA.sum(axis=0),
    )


def lstm_forward(
    x: Array, h_0: Array, c_0: Array, W_x: Array, W_h: Array, b: Array
) -> tuple[tuple[Array, Array], LSTMCache]:
    r"""The LSTM over a sequence (LSTM-1): every :math:`h_t` and :math:`c_t`, t = 1 … T.

    Shapes: ``x`` (N, T, D), ``h_0``, ``c_0`` (N, H), weights as `lstm_step_forward`;
    returns ``(h, c)``, each (N, T, H), index ``t-1`` for step t. CS231n's ``lstm_forward``
    returns ``h`` only and starts from ``c_0 = 0``; both are special cases (``dc = 0``).
    """
    N, T, _ = x.shape
    H = W_h.shape[0]
    dtype = np.result_type(x, h_0, c_0, W_x, W_h, b)  # object for symbolic arrays
    hs, cs = np.empty((N, T, H), dtype=dtype), np.empty((N, T, H), dtype=dtype)
    caches: list[LSTMStepCache] = []
    h, c = h_0, c_0
    for t in range(T):
        (h, c), cache = lstm_step_forward(x[:, t], h, c, W_x, W_h, b)
        hs[:, t], cs[:, t] = h, c
        caches.append(cache)
    return (hs, cs), LSTMCache(caches, x.shape)


def lstm_backward(douts: tuple[Array, Array], cache: LSTMCache) -> tuple[Array, ...]:
    r"""BPTT for `lstm_forward` (LSTM-7): ``(dx, dh_0, dc_0, dW_x, dW_h, db)``.

    ``douts = (dh, dc)``, each (N, T, H), the gradients reaching :math:`h_t, c_t` from outside
    the recurrence. Recursion: the carried :math:`(\nabla_{h_t},\nabla_{c_t})` is the outside
    gradient plus step t+1's ``(dh_prev, dc_prev)``, i.e. :math:`J_{t+1}^\top` applied to the
    carry (LSTM-5); the tied weights sum every step's direct contribution.
    """
    dh, dc = douts
    N, T, D = cache.x_shape
    W_x, W_h = cache.steps[0].W_x, cache.steps[0].W_h
    dtype = np.result_type(dh, dc, W_x, W_h)  # object for symbolic arrays
    dx = np.empty((N, T, D), dtype=dtype)
    dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros(W_h.shape[1], dtype)
    gh = np.zeros((N, W_h.shape[0]))
    gc = np.zeros_like(gh)
    for t in reversed(range(T)):
        dx[:, t], gh, gc, gx, gW, gb = lstm_step_backward(
            (dh[:, t] + gh, dc[:, t] + gc), cache.steps[t]
        )
        dW_x += gx
        dW_h += gW
        db += gb
    return dx, gh, gc, dW_x, dW_h, db


# ---------------------------------------------------------------------------------------------
# LSTM-3 / LSTM-4: the direct cell path and the article's composite derivative
# ---------------------------------------------------------------------------------------------


def cell_direct_jacobian(
    x: Array, h_prev: Array, c_prev: Array, W_x: Array, W_h: Array, b: Array
) -> Array:
    r"""LSTM-3: :math:`\partial c_t/\partial c_{t-1}|_{h_{t-1},x_t}=\mathrm{diag}(f_t)`, exactly.

    Article: ``\frac{\partial c_t}{\partial c_{t-1}}=f_t + \frac{\partial f_t}{\partial
    c_{t-1}} \cdot c_{t-1} + ...``; "如果我们把 f_t设置成1或者是接近于1,那 \frac{\partial
    c_t}{\partial c_{t-1}} 这一项就有妥妥的梯度了". Since :math:`f_t,i_t,g_t` depend on
    :math:`(x_t,h_{t-1})` only, :math:`c_t` is affine in :math:`c_{t-1}` at fixed
    :math:`h_{t-1}` and the "+ …" terms are **zero** (ERR-12). One sequence: ``x`` (D,),
    ``h_prev``, ``c_prev`` (H,) (``c_prev`` is unused, kept for the signature); returns (H, H).
    """
    return np.diag(gates(x, h_prev, W_x, W_h, b)[1])


def step_jacobian_blocks(
    x: Array, h_prev: Array, c_prev: Array, W_x: Array, W_h: Array, b: Array
) -> dict[str, Array]:
    r"""The four blocks of LSTM-5's step Jacobian and :math:`K_t` (LSTM-4), one sequence.

    .. math::  K_t=\frac{\partial c_t}{\partial h_{t-1}}=\mathrm{diag}(c_{t-1}f_t(1-f_t))
               W_h^{(f)\top}+\mathrm{diag}(g_ti_t(1-i_t))W_h^{(i)\top}
               +\mathrm{diag}(i_t(1-g_t^2))W_h^{(g)\top}

    ``cc`` = diag(f_t), ``ch`` = K_t, ``hc`` = diag(o_t(1−tanh²c_t) f_t),
    ``hh`` = diag(tanh c_t · o_t(1−o_t)) W_h^{(o)⊤} + diag(o_t(1−tanh²c_t)) K_t (derived by
    the chain rule through :math:`h_t=o_t\tanh c_t`). Shapes as `cell_direct_jacobian`.
    """
    i, f, o, g = gates(x, h_prev, W_x, W_h, b)
    di, df, do, dg = _gate_primes(_preactivations(x, h_prev, W_x, W_h, b))
    Wi, Wf, Wo, Wg = _blocks(W_h)
    K = (c_prev * df)[:, None] * Wf.T + (g * di)[:, None] * Wi.T + (i * dg)[:, None] * Wg.T
    c = f * c_prev + i * g
    tc = np.tanh(c)
    dh_dc = o * tanh_prime(c)
    return {
        "cc": np.diag(f),
        "ch": K,
        "hc": np.diag(dh_dc * f),
        "hh": (tc * do)[:, None] * Wo.T + dh_dc[:, None] * K,
        "K": K,
    }


def composite_terms(
    x: Array, c_prev: Array, o_prev: Array, W_x: Array, W_h: Array, b: Array
) -> dict[str, Array]:
    r"""LSTM-4's three-term formula, term by term, in the article's reading (H × H each).

    Article: ``\frac{\partial c_t}{\partial c_{t-1}}=f_t + \frac{\partial f_t}{\partial c_{t-1}}
    \cdot c_{t-1} + ...``. Here :math:`c_{t-1}` is perturbed **upstream** of
    :math:`h_{t-1}=o_{t-1}\odot\tanh c_{t-1}` (:math:`o_{t-1}` depends on
    :math:`(x_{t-1},h_{t-2})` and does not move). With :math:`u=o_{t-1}(1-\tanh^2c_{t-1})`:

    * ``"f"`` = :math:`\mathrm{diag}(f_t)` (the article's first term);
    * ``"df_dc_times_c"`` = :math:`\mathrm{diag}(c_{t-1})\,\partial f_t/\partial c_{t-1}` =
      :math:`\mathrm{diag}(c_{t-1}f_t(1-f_t))W_h^{(f)\top}\mathrm{diag}(u)` (its second);
    * ``"i"`` = :math:`\mathrm{diag}(g_ti_t(1-i_t))W_h^{(i)\top}\mathrm{diag}(u)` and
      ``"g"`` = :math:`\mathrm{diag}(i_t(1-g_t^2))W_h^{(g)\top}\mathrm{diag}(u)` (its "…").

    Every term but the first goes through :math:`W_h`, i.e. through :math:`h_{t-1}` (ERR-12).
    One sequence: ``x`` (D,), ``c_prev``, ``o_prev`` (H,).
    """
    u = o_prev * tanh_prime(c_prev)
    h_prev = o_prev * np.tanh(c_prev)
    i, f, _, g = gates(x, h_prev, W_x, W_h, b)
    di, df, _, dg = _gate_primes(_preactivations(x, h_prev, W_x, W_h, b))
    Wi, Wf, _, Wg = _blocks(W_h)
    return {
        "f": np.diag(f),
        "df_dc_times_c": (c_prev * df)[:, None] * Wf.T * u,
        "i": (g * di)[:, None] * Wi.T * u,
        "g": (i * dg)[:, None] * Wg.T * u,
    }


def composite_cell_derivative(
    x: Array, c_prev: Array, o_prev: Array, W_x: Array, W_h: Array, b: Array
) -> Array:
    r"""LSTM-4 made exact: :math:`D_t=dc_t/dc_{t-1}=\mathrm{diag}(f_t)+K_t\,\mathrm{diag}(o_{t-1}
    \odot(1-\tanh^2c_{t-1}))` (H × H), with :math:`h_{t-1}` recomputed from :math:`c_{t-1}`.

    The efficient form of `composite_terms` (their sum); shapes as there.
    """
    h_prev = o_prev * np.tanh(c_prev)
    B = step_jacobian_blocks(x, h_prev, c_prev, W_x, W_h, b)
    J: Array = B["cc"] + B["K"] * (o_prev * tanh_prime(c_prev))
    return J


# ---------------------------------------------------------------------------------------------
# LSTM-5: the (c, h) step Jacobian and its ordered products
# ---------------------------------------------------------------------------------------------


def step_jacobian(
    x: Array, h_prev: Array, c_prev: Array, W_x: Array, W_h: Array, b: Array
) -> Array:
    r"""LSTM-5: the 2H × 2H step Jacobian :math:`J_t=\partial(c_t,h_t)/\partial(c_{t-1},h_{t-1})`.

    .. math::  J_t=\begin{pmatrix}\mathrm{diag}(f_t) & K_t\\ \mathrm{diag}(o_t(1-\tanh^2c_t)
               f_t) & \mathrm{diag}(\tanh c_t\,o_t(1-o_t))W_h^{(o)\top}+\mathrm{diag}(o_t(1-
               \tanh^2c_t))K_t\end{pmatrix}

    State order (c, h). One sequence: ``x`` (D,), ``h_prev``, ``c_prev`` (H,).
    """
    B = step_jacobian_blocks(x, h_prev, c_prev, W_x, W_h, b)
    return np.block([[B["cc"], B["ch"]], [B["hc"], B["hh"]]])


def state_jacobian(
    x: Array, h_0: Array, c_0: Array, W_x: Array, W_h: Array, b: Array, t: int, k: int
) -> Array:
    r"""LSTM-5: :math:`\partial(c_t,h_t)/\partial(c_k,h_k)=J_tJ_{t-1}\cdots J_{k+1}` (2H × 2H).

    Latest step on the left; the identity when ``k == t``. One sequence: ``x`` (T, D),
    ``h_0``, ``c_0`` (H,); ``0 <= k <= t <= T``.
    """
    T = x.shape[0]
    if not 0 <= k <= t <= T:
        raise ValueError(f"need 0 <= k <= t <= T, got k={k}, t={t}, T={T}")
    hs, cs = _run(x, h_0, c_0, W_x, W_h, b)
    P = np.eye(2 * W_h.shape[0])
    for j in range(k + 1, t + 1):
        P = step_jacobian(x[j - 1], hs[j - 1], cs[j - 1], W_x, W_h, b) @ P  # latest on the left
    return P


def _run(x: Array, h_0: Array, c_0: Array, W_x: Array, W_h: Array, b: Array) -> tuple[Array, Array]:
    """States h_0 … h_T and c_0 … c_T of one sequence, each (T+1, H)."""
    (h, c), _ = lstm_forward(x[None], h_0[None], c_0[None], W_x, W_h, b)
    return np.vstack([h_0[None], h[0]]), np.vstack([c_0[None], c[0]])


# ---------------------------------------------------------------------------------------------
# LSTM-6: the constant-error carousel (cell path)
# ---------------------------------------------------------------------------------------------


def detached_cell_unroll(
    c_k: Array,
    x: Array,
    h: Array,
    W_x: Array,
    W_h: Array,
    b: Array,
    *,
    forget_gate: bool = True,
) -> Array:
    r"""LSTM-6(i): :math:`c_t` from :math:`c_k` with every :math:`h_j` held fixed (detached).

    ``x`` (L, D) holds :math:`x_{k+1}…x_t`, ``h`` (L, H) holds :math:`h_k…h_{t-1}` as
    constants; ``c_k`` (H,). Returns :math:`c_t` (H,). With ``forget_gate=False`` the cell is
    the 1997 LSTM's constant error carousel, :math:`c_j=c_{j-1}+i_j\odot g_j` (self-weight
    1.0, no forget gate; Hochreiter & Schmidhuber 1997).
    """
    c = c_k
    for j in range(x.shape[0]):
        i, f, _, g = gates(x[j], h[j], W_x, W_h, b)
        c = (f * c if forget_gate else c) + i * g
    return c


def cell_path(f: Array) -> Array:
    r"""LSTM-6: :math:`P_{t,k}=\prod_{j=k+1}^t[J_j]_{cc}=\mathrm{diag}(\prod_jf_j)` (H × H).

    Article: "其实也是为了在这一项中保持一定的梯度,把连乘操作改为连加操作"; "LSTM只是在 c_t到
    c_{t-1}这条路上解决梯度消失问题". ``f`` (L, H) holds :math:`f_{k+1}…f_t`. The path is
    diagonal and contains no weight matrix; it is a **product** (ERR-14), :math:`0<P[a]\le1`
    (it cannot explode, LSTM-6a/ERR-16). It is :math:`dc_t/dc_k` with the h-paths detached
    (`detached_cell_unroll`). L = 0 gives I.
    """
    return np.diag(np.prod(f, axis=0)) if f.shape[0] else np.eye(f.shape[1])


def forget_path_bounds(a_f: Array) -> tuple[float, float]:
    r"""LSTM-6(b): :math:`\sigma(-A)^{L}\le P[a]\le\sigma(A)^{L}`, :math:`A=\max|a_f|`, L steps.

    Article: "forget gate解决了RNN中的长期依赖问题,不管网络多深,也可以记住之前的信息" (ERR-15):
    for bounded forget pre-activations the cell path decays geometrically. ``a_f`` (L, H);
    returns ``(lower, upper)``. Proof: σ is increasing, so :math:`\sigma(-A)\le f_j[a]\le
    \sigma(A)` for each factor.
    """
    L = a_f.shape[0]
    A = float(np.max(np.abs(a_f))) if L else 0.0
    return float(ew.sigmoid(-A)) ** L, float(ew.sigmoid(A)) ** L


def jacobian_norms_by_lag(
    x: Array, h_0: Array, c_0: Array, W_x: Array, W_h: Array, b: Array, t: int | None = None
) -> tuple[Array, Array]:
    r"""PLOT-A (LSTM): :math:`\|\partial(c,h)_t/\partial(c,h)_{t-L}\|_2` and the cell path
    :math:`\|\mathrm{diag}\prod f\|_2` for lags L = 0 … t.

    One sequence: ``x`` (T, D), ``h_0``, ``c_0`` (H,); ``t`` defaults to T. Returns
    ``(full, cell)``, each (t+1,). The forget bias is part of ``b`` (``b[H:2H]``).
    """
    hs, cs = _run(x, h_0, c_0, W_x, W_h, b)
    t = x.shape[0] if t is None else t
    H = W_h.shape[0]
    P, prod_f = np.eye(2 * H), np.ones(H)
    full, cell = np.ones(t + 1), np.ones(t + 1)
    for L in range(1, t + 1):
        j = t - L + 1
        J = step_jacobian(x[j - 1], hs[j - 1], cs[j - 1], W_x, W_h, b)
        P = P @ J
        prod_f = prod_f * np.diag(J[:H, :H])
        full[L] = np.linalg.norm(P, 2)
        cell[L] = np.max(prod_f)
    return full, cell


# ---------------------------------------------------------------------------------------------
# LSTM-8: the zero-state explosion witness
# ---------------------------------------------------------------------------------------------


def zero_state_jacobian(W_h: Array) -> Array:
    r"""LSTM-8: the step Jacobian at the fixed point :math:`x=0,b=0,h=c=0`.

    Article: "另外,LSTM可以缓解梯度消失,但是梯度爆炸并不能解决". There :math:`a=0`, so
    :math:`i=f=o=\frac12`, :math:`g=0`, and

    .. math::  J=\begin{pmatrix}\frac12I&\frac12A\\\frac14I&\frac14A\end{pmatrix}
               =\begin{pmatrix}\frac12I\\\frac14I\end{pmatrix}\begin{pmatrix}I&A\end{pmatrix},
               \qquad A=W_h^{(g)\top}.

    (K_t = diag(i(1−g²)) W_h^{(g)⊤} = ½A; the f- and i-terms vanish because c = g = 0.)
    Returns (2H, 2H).
    """
    H = W_h.shape[0]
    A = _blocks(W_h)[3].T
    eye = np.eye(H)
    return np.block([[0.5 * eye, 0.5 * A], [0.25 * eye, 0.25 * A]])


def zero_state_rate(W_h: Array) -> float:
    r"""LSTM-8: the growth rate of :math:`J^n`, the spectral radius of
    :math:`\frac12I+\frac14W_h^{(g)\top}`, since :math:`J^n=\binom{\frac12I}{\frac14I}
    (\frac12I+\frac14A)^{n-1}[I\;A]`. For :math:`W_h^{(g)}=\rho I` it is :math:`\frac12+
    \frac\rho4`: the gradient explodes iff ρ > 2 (ERR-16)."""
    H = W_h.shape[0]
    M = 0.5 * np.eye(H) + 0.25 * _blocks(W_h)[3].T
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def zero_state_witness(rho: float, H: int, n: int) -> tuple[Array, Array]:
    r"""LSTM-8's witness network: :math:`W_h^{(g)}=\rho I`, every other block of ``W_h`` zero,
    :math:`x=0,b=0,h_0=c_0=0` (D = 1; the other blocks would drop out of J anyway).
    Returns ``(W_h, norms)`` with ``norms[m]`` = :math:`\|J^m\|_2`, m = 0 … n
    (`zero_state_jacobian`)."""
    W_h = np.zeros((H, 4 * H))
    W_h[:, 3 * H :] = rho * np.eye(H)
    J = zero_state_jacobian(W_h)
    P = np.eye(2 * H)
    norms = np.ones(n + 1)
    for m in range(1, n + 1):
        P = P @ J
        norms[m] = np.linalg.norm(P, 2)
    return W_h, norms


# ---------------------------------------------------------------------------------------------
# Peephole LSTM (Gers & Schmidhuber 2000): where ∂f_t/∂c_{t-1} exists literally
# ---------------------------------------------------------------------------------------------


class PeepholeStepCache(NamedTuple):
    """The cache of `peephole_step_forward`: inputs, peepholes, gates, c_t and tanh c_t, and the
    gates' pre-activations A (N, 4H), peephole terms included."""

    x: Array
    h_prev: Array
    c_prev: Array
    W_x: Array
    W_h: Array
    p: Array
    i: Array
    f: Array
    o: Array
    g: Array
    c: Array
    tanh_c: Array
    a: Array


def peephole_step_forward(
    x: Array, h_prev: Array, c_prev: Array, W_x: Array, W_h: Array, b: Array, p: Array
) -> tuple[tuple[Array, Array], PeepholeStepCache]:
    r"""A peephole LSTM step (ERR-12, LSTM-4): the gates also see the cell.

    .. math::  a_i\mathrel{+}=p_i\odot c_{t-1},\quad a_f\mathrel{+}=p_f\odot c_{t-1},\quad
               a_o\mathrel{+}=p_o\odot c_t

    (diagonal peepholes; the output gate looks at the new cell, Gers & Schmidhuber 2000).
    Here the article's "f_ti_tg_t 都是 c_{t-1}的复合函数" is true for f and i.
    ``p`` (3, H) = :math:`(p_i, p_f, p_o)`; other shapes as `lstm_step_forward`.
    """
    H = W_h.shape[0]
    A = _preactivations(x, h_prev, W_x, W_h, b)
    a_i, a_f, a_g = A[:, :H] + p[0] * c_prev, A[:, H : 2 * H] + p[1] * c_prev, A[:, 3 * H :]
    i, f, g = ew.sigmoid(a_i), ew.sigmoid(a_f), np.tanh(a_g)
    c = f * c_prev + i * g
    a_o = A[:, 2 * H : 3 * H] + p[2] * c
    o = ew.sigmoid(a_o)
    tc = np.tanh(c)
    A = np.concatenate([a_i, a_f, a_o, a_g], axis=-1)
    return (o * tc, c), PeepholeStepCache(x, h_prev, c_prev, W_x, W_h, p, i, f, o, g, c, tc, A)


def peephole_step_backward(
    douts: tuple[Array, Array], cache: PeepholeStepCache
) -> tuple[Array, ...]:
    r"""Backward of `peephole_step_forward`: ``(dx, dh_prev, dc_prev, dW_x, dW_h, db, dp)``.

    :math:`da_o=dh\,\tanh c_t\,o(1-o)`; :math:`\bar{dc}=dc+dh\,o(1-\tanh^2c_t)+da_o\,p_o`;
    :math:`da_i=\bar{dc}\,g\,i(1-i)`, :math:`da_f=\bar{dc}\,c_{t-1}f(1-f)`,
    :math:`da_g=\bar{dc}\,i(1-g^2)`; :math:`dc_{t-1}=\bar{dc}\,f+da_i\,p_i+da_f\,p_f` (the
    article's :math:`\partial f_t/\partial c_{t-1}\cdot c_{t-1}` term is :math:`da_f\,p_f`);
    :math:`dp=\sum_n(da_i\,c_{t-1},\ da_f\,c_{t-1},\ da_o\,c_t)`; the rest as LSTM-7. The
    derivatives are the stable forms of the pre-activations, as in `lstm_step_backward`.
    """
    dh, dc = douts
    p, c_prev, c, tc = cache.p, cache.c_prev, cache.c, cache.tanh_c
    i, f, o, g = cache.i, cache.f, cache.o, cache.g
    di, df, do, dg = _gate_primes(cache.a)
    da_o = dh * tc * do
    dct = dc + dh * o * tanh_prime(c) + da_o * p[2]
    da_i = dct * g * di
    da_f = dct * c_prev * df
    dA = np.concatenate([da_i, da_f, da_o, dct * i * dg], axis=-1)
    dc_prev = dct * f + da_i * p[0] + da_f * p[1]
    dp = np.stack([(da_i * c_prev).sum(0), (da_f * c_prev).sum(0), (da_o * c).sum(0)])
    W_x, W_h, x, h_prev = cache.W_x, cache.W_h, cache.x, cache.h_prev
    return dA @ W_x.T, dA @ W_h.T, dc_prev, x.T @ dA, h_prev.T @ dA, dA.sum(axis=0), dp


def peephole_cell_jacobian(
    x: Array, h_prev: Array, c_prev: Array, W_x: Array, W_h: Array, b: Array, p: Array
) -> dict[str, Array]:
    r"""With peepholes, :math:`\partial c_t/\partial c_{t-1}|_{h_{t-1}}` has the article's terms.

    Article: ``f_t + \frac{\partial f_t}{\partial c_{t-1}} \cdot c_{t-1} + ...``. Here, for
    one sequence (``x`` (D,), ``h_prev``, ``c_prev`` (H,)), all diagonal:

    * ``"f"`` = :math:`\mathrm{diag}(f_t)`;
    * ``"df_dc_times_c"`` = :math:`\mathrm{diag}(c_{t-1})\partial f_t/\partial c_{t-1}=
      \mathrm{diag}(c_{t-1}f_t(1-f_t)p_f)`;
    * ``"i"`` (the "…") = :math:`\mathrm{diag}(g_t\,i_t(1-i_t)p_i)`;
    * ``"total"``, their sum.
    """
    (_, _), cache = peephole_step_forward(x[None], h_prev[None], c_prev[None], W_x, W_h, b, p)
    f, g = cache.f[0], cache.g[0]
    di, df, _, _ = _gate_primes(cache.a[0])
    terms = {
        "f": np.diag(f),
        "df_dc_times_c": np.diag(c_prev * df * p[1]),
        "i": np.diag(g * di * p[0]),
    }
    terms["total"] = terms["f"] + terms["df_dc_times_c"] + terms["i"]
    return terms


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def _moderate_A(x: Array, h_prev: Array, W_x: Array, W_h: Array, b: Array) -> bool:
    # FD is trustworthy while no gate saturates: at |a| <= 10, σ'(a) >= 4.5e-5 and
    # tanh'(a) >= 8e-9, well above a central difference's rounding floor (~eps|f|/h ~ 1e-11).
    return bool(np.max(np.abs(x @ W_x + h_prev @ W_h + b)) <= 10.0)


def _step_moderate(
    x: Array, h_prev: Array, c_prev: Array, W_x: Array, W_h: Array, b: Array, *_: Array
) -> bool:
    return _moderate_A(x, h_prev, W_x, W_h, b)


def _peephole_moderate(
    x: Array, h_prev: Array, c_prev: Array, W_x: Array, W_h: Array, b: Array, p: Array
) -> bool:
    # The same trust region, with the peephole terms added to the gate pre-activations
    # (|p c| bounded by max|p| max|c|, c_t bounded by LSTM-2's |c_{t-1}| + 1).
    A = np.abs(x @ W_x + h_prev @ W_h + b).max()
    return bool(A + np.abs(p).max() * (np.abs(c_prev).max() + 1.0) <= 10.0)


def _sequence_moderate(x: Array, h_0: Array, c_0: Array, W_x: Array, W_h: Array, b: Array) -> bool:
    (h, _), _ = lstm_forward(x, h_0, c_0, W_x, W_h, b)
    prev = np.concatenate([h_0[:, None], h[:, :-1]], axis=1)
    return _moderate_A(x, prev, W_x, W_h, b)


_SOURCE_CELL = (
    r"c_t = f_t \cdot c_{t-1}+i_t \cdot g_t ; \frac{\partial c_t}{\partial c_{t-1}}=f_t + "
    r"\frac{\partial f_t}{\partial c_{t-1}} \cdot c_{t-1} + ..."
)
_NAMES = ("x", "h_prev", "c_prev", "W_x", "W_h", "b")

SPECS: tuple[Spec, ...] = (
    Spec(
        name="lstm.step",
        ids=("LSTM-1", "LSTM-3", "LSTM-7"),
        source=_SOURCE_CELL,
        forward=lstm_step_forward,
        backward=lstm_step_backward,
        arg_names=_NAMES,
        arg_shapes=lambda N, D, H: ((N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,)),
        sizes={"N": (1, 3), "D": (1, 4), "H": (1, 5)},
        well_conditioned=_step_moderate,
    ),
    Spec(
        name="lstm.sequence",
        ids=("LSTM-1", "LSTM-5", "LSTM-7"),
        source=_SOURCE_CELL,
        forward=lstm_forward,
        backward=lstm_backward,
        arg_names=("x", "h_0", "c_0", "W_x", "W_h", "b"),
        arg_shapes=lambda N, T, D, H: ((N, T, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,)),
        sizes={"N": (1, 3), "T": (1, 8), "D": (1, 4), "H": (1, 5)},
        well_conditioned=_sequence_moderate,
    ),
    Spec(
        name="lstm.peephole_step",
        ids=("LSTM-4",),
        source=_SOURCE_CELL,
        forward=peephole_step_forward,
        backward=peephole_step_backward,
        arg_names=(*_NAMES, "p"),
        arg_shapes=lambda N, D, H: (
            (N, D),
            (N, H),
            (N, H),
            (D, 4 * H),
            (H, 4 * H),
            (4 * H,),
            (3, H),
        ),
        sizes={"N": (1, 3), "D": (1, 4), "H": (1, 5)},
        well_conditioned=_peephole_moderate,
    ),
)
