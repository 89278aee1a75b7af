r"""The GRU of Part II (再看GRU): four variants, BPTT, the step Jacobian, the update-gate path.

Equation IDs (``formula-inventory.md`` §2): GRU-1 … GRU-7; errata ERR-18, ERR-19; PLOT-A
(GRU curves).

One parametrised implementation covers the GRUs people use:

* ``convention="article"``: :math:`h_t=(1-z_t)\odot h_{t-1}+z_t\odot\tilde h_t` (the article's
  ``(1-z_t)``; Chung et al. 2014 §3.2, colah's figure), direct path :math:`\mathrm{diag}(1-z_t)`;
* ``convention="cho"``: :math:`h_t=z_t\odot h_{t-1}+(1-z_t)\odot\tilde h_t` (Cho et al. 2014
  eq. 7; PyTorch, cuDNN, Keras), direct path :math:`\mathrm{diag}(z_t)`;
* ``reset="before"``: :math:`\tilde h_t=\tanh(x_tW_{xn}+b_{xn}+(r_t\odot h_{t-1})W_{hn}+b_{hn})`
  (the reset gate is applied to h before the recurrent matmul; Cho et al. 2014's eq. 8,
  Chung et al.);
* ``reset="after"``: :math:`\tilde h_t=\tanh(x_tW_{xn}+b_{xn}+r_t\odot(h_{t-1}W_{hn}+b_{hn}))`
  (cuDNN, PyTorch ``nn.GRU``, Keras ``reset_after=True``).

Orientation and packing
-----------------------
Batch-first rows, CS231n weights: ``x`` (N, D), ``h`` (N, H); ``W_x`` (D, 3H), ``W_h``
(H, 3H), ``b_x``, ``b_h`` (3H,), blocks in the order **z, r, n** (update, reset, candidate)
:math:`a_z=x_tW_{xz}+b_{xz}+h_{t-1}W_{hz}+b_{hz}`, likewise :math:`a_r`. The article's column
form :math:`z_t=\sigma(W_zx_t+U_zh_{t-1}+b_z)` has :math:`W_z=W_{xz}^\top` (H × D) and
:math:`U_z=W_{hz}^\top` (H × H); in numerator layout :math:`\partial a_z/\partial h_{t-1}=U_z`.
(PyTorch stores ``weight_ih_l0`` as (3H, D) in the order r, z, n: our ``W_x`` is its
transpose with the first two blocks swapped; its two biases are our ``b_x``, ``b_h``.) With
``reset="before"`` the two biases only enter as a sum, as in the inventory's single
:math:`b_h`; the variants coincide when :math:`r\equiv1`.

Jacobians are for one sequence (vectors of length H), numerator layout. The GRU's Markov
state is h alone, so :math:`\partial h_t/\partial h_k=J_t\cdots J_{k+1}`.

Article notes
-------------
* *Ambiguous (ERR-18):* ``\frac{\partial h_t}{\partial h_{t-1}} = (1-z_t) + ...`` holds in the
  article's convention only, is a diagonal matrix, and is the skip edge alone (`direct_path`):
  :math:`z_t,\tilde h_t` depend on :math:`h_{t-1}` too (`step_jacobian`); the "…" is not
  negligible unless z ≈ 0 (`gate_bound`). Negating the update-gate parameters maps one
  convention onto the other exactly (`negate_update_gate`).
* *Imprecise (ERR-19):* "把LSTM的input gate和forget gate整合成一个update gate": the update is
  an LSTM cell update with coupled gates f = 1 − z, i = z (`coupled_cell_update`), but the
  GRU also merges c and h, drops the output gate and the output tanh, and adds a reset gate.

References
----------
K. Cho et al., "Learning phrase representations using RNN encoder-decoder for statistical
machine translation", EMNLP 2014, eqs. 5-8. J. Chung, C. Gulcehre, K. Cho, Y. Bengio,
"Empirical evaluation of gated recurrent neural networks on sequence modeling", 2014, §3.2.
K. Greff et al., "LSTM: a search space odyssey", IEEE TNNLS 28(10), 2017 (CIFG). PyTorch
``torch.nn.GRU`` documentation; NVIDIA cuDNN ``CUDNN_GRU``; Keras ``GRU(reset_after=...)``.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from lstm_gradients.specs import _elementwise as ew
from lstm_gradients.specs._spec import Spec
from lstm_gradients.specs.activations import sigmoid, sigmoid_prime, tanh_prime

Array = NDArray[np.float64]

CONVENTIONS = ("article", "cho")
RESETS = ("before", "after")
VARIANTS = tuple((c, r) for c in CONVENTIONS for r in RESETS)

__all__ = [
    "CONVENTIONS",
    "RESETS",
    "SPECS",
    "VARIANTS",
    "GRUCache",
    "GRUStepCache",
    "coupled_cell_update",
    "direct_path",
    "frozen_step",
    "gate_bound",
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "jacobian_norms_by_lag",
    "multi_step_bound",
    "negate_update_gate",
    "parameter_counts",
    "state_jacobian",
    "step_jacobian",
]


def _check(convention: str, reset: str) -> None:
    if convention not in CONVENTIONS or reset not in RESETS:
        raise ValueError(
            f"convention must be one of {CONVENTIONS} and reset one of {RESETS}; "
            f"got {convention!r}, {reset!r}"
        )


def _split(M: Array) -> tuple[Array, Array, Array]:
    """The z, r, n blocks of the last axis of a packed (…, 3H) array."""
    H = M.shape[-1] // 3
    return M[..., :H], M[..., H : 2 * H], M[..., 2 * H :]


def _parts(
    x: Array, h_prev: Array, W_x: Array, W_h: Array, b_x: Array, b_h: Array, reset: str
) -> dict[str, Array]:
    """z, r, q (the recurrent candidate term), n of one step and the pre-activations a_z, a_r,
    a_n; any leading batch axes."""
    xz, xr, xn = _split(x @ W_x + b_x)
    hz, hr, _ = _split(h_prev @ W_h + b_h)
    a_z, a_r = xz + hz, xr + hr
    z, r = ew.sigmoid(a_z), ew.sigmoid(a_r)
    W_hn, b_hn = _split(W_h)[2], _split(b_h)[2]
    q = (r * h_prev) @ W_hn + b_hn if reset == "before" else h_prev @ W_hn + b_hn
    a_n = xn + (q if reset == "before" else r * q)
    n = np.tanh(a_n)
    return {"z": z, "r": r, "q": q, "n": n, "a_z": a_z, "a_r": a_r, "a_n": a_n}


def _carry(z: Array, convention: str) -> Array:
    """u, the weight on :math:`h_{t-1}`: 1 − z (article) or z (Cho), from a given z (GRU-2's
    functions take z); the step itself uses `_weights`."""
    return 1.0 - z if convention == "article" else z


def _weights(a_z: Array, convention: str) -> tuple[Array, Array]:
    r"""The carry weight u and the candidate's weight 1 − u, each from the pre-activation a_z.

    :math:`1-\sigma(a)=\sigma(-a)`, so both are sigmoids, each to full relative accuracy. The
    naive ``u = 1 - z`` then ``1 - u`` returns z with an absolute error ε, a relative one ε/z:
    at :math:`a_z=-40` (z ≈ 4e-18) it is 0.0, and so are every gradient through the
    candidate (dx, dW_x[:, n], ...) although their exact values are ~1e-18."""
    z, one_minus_z = sigmoid(a_z), sigmoid(-a_z)
    return (one_minus_z, z) if convention == "article" else (z, one_minus_z)


# ---------------------------------------------------------------------------------------------
# GRU-1 / GRU-7: one step and the sequence (CS231n pairs)
# ---------------------------------------------------------------------------------------------


class GRUStepCache(NamedTuple):
    """The cache of `gru_step_forward`: the step's inputs, z, r, q (the recurrent candidate
    term), n = h̃_t, the variant, and the pre-activations a_z, a_r, a_n (the backward takes its
    derivatives from them)."""

    x: Array
    h_prev: Array
    W_x: Array
    W_h: Array
    z: Array
    r: Array
    q: Array
    n: Array
    convention: str
    reset: str
    a_z: Array
    a_r: Array
    a_n: Array


class GRUCache(NamedTuple):
    """The cache of `gru_forward`: every step's `GRUStepCache`, x's shape (N, T, D) and
    h_0's (N, H)."""

    steps: list[GRUStepCache]
    x_shape: tuple[int, ...]
    h0_shape: tuple[int, ...]


def gru_step_forward(
    x: Array,
    h_prev: Array,
    W_x: Array,
    W_h: Array,
    b_x: Array,
    b_h: Array,
    *,
    convention: str = "article",
    reset: str = "before",
) -> tuple[Array, GRUStepCache]:
    r"""One GRU step (GRU-1, GRU-5): returns ``h`` (N, H) and the cache.

    Article: "把LSTM的input gate和forget gate整合成一个update gate,也是通过gate机制来控制梯度"
    (its equations are in a missing figure; ``(1-z_t)`` fixes the convention).

    .. math::  z=\sigma(a_z),\ r=\sigma(a_r),\ \tilde h=\tanh(a_n),\quad
               h_t=u\odot h_{t-1}+(1-u)\odot\tilde h,\ u=1-z\ (\text{article}),\ z\ (\text{Cho})

    Shapes: ``x`` (N, D), ``h_prev`` (N, H), ``W_x`` (D, 3H), ``W_h`` (H, 3H), ``b_x``,
    ``b_h`` (3H,). ``convention``/``reset`` as in the module docstring.
    """
    _check(convention, reset)
    P = _parts(x, h_prev, W_x, W_h, b_x, b_h, reset)
    u, v = _weights(P["a_z"], convention)
    h = u * h_prev + v * P["n"]
    return h, GRUStepCache(
        x,
        h_prev,
        W_x,
        W_h,
        P["z"],
        P["r"],
        P["q"],
        P["n"],
        convention,
        reset,
        P["a_z"],
        P["a_r"],
        P["a_n"],
    )


def gru_step_backward(dh: Array, cache: GRUStepCache) -> tuple[Array, ...]:
    r"""Backward of `gru_step_forward`: ``(dx, dh_prev, dW_x, dW_h, db_x, db_h)``.

    With :math:`u` the carry weight: :math:`d\tilde h=dh\,(1-u)`,
    :math:`da_z=\mp dh\,(h_{t-1}-\tilde h)\,z(1-z)` (− article, + Cho, from
    :math:`du/da_z`), :math:`da_n=d\tilde h\,(1-\tilde h^2)`. Reset before:
    :math:`d(rh)=da_n W_{hn}^\top`, :math:`dr=d(rh)\,h_{t-1}`, :math:`dW_{hn}=(r
    h_{t-1})^\top da_n`. Reset after: :math:`dq=da_n\,r`, :math:`dr=da_n\,q`,
    :math:`dW_{hn}=h_{t-1}^\top dq`. Then :math:`da_r=dr\,r(1-r)`; :math:`dh_{t-1}=dh\,u+
    da_zW_{hz}^\top+da_rW_{hr}^\top+` (the n-path); ``dx``, ``dW_x``, ``db_x`` from
    :math:`[da_z,da_r,da_n]`.

    Stable forms: u and 1 − u from `_weights`, z(1−z), r(1−r), 1−h̃² as σ'(a_z), σ'(a_r),
    tanh'(a_n) of the cached pre-activations (`specs.activations`), so no gradient rounds to 0
    in saturation.
    """
    x, h_prev, W_x, W_h = cache.x, cache.h_prev, cache.W_x, cache.W_h
    r, q, n = cache.r, cache.q, cache.n
    convention, reset = cache.convention, cache.reset
    u, v = _weights(cache.a_z, convention)
    sign = -1.0 if convention == "article" else 1.0
    da_z = sign * dh * (h_prev - n) * sigmoid_prime(cache.a_z)
    da_n = dh * v * tanh_prime(cache.a_n)
    W_hz, W_hr, W_hn = _split(W_h)
    if reset == "before":
        drh = da_n @ W_hn.T
        dr, dq, dh_n = drh * h_prev, da_n, drh * r
        dW_hn = (r * h_prev).T @ da_n
    else:
        dq = da_n * r
        dr, dh_n = da_n * q, dq @ W_hn.T
        dW_hn = h_prev.T @ dq
    da_r = dr * sigmoid_prime(cache.a_r)
    dA_x = np.concatenate([da_z, da_r, da_n], axis=-1)
    dW_h = np.concatenate([h_prev.T @ da_z, h_prev.T @ da_r, dW_hn], axis=-1)
    db_h = np.concatenate([da_z.sum(0), da_r.sum(0), dq.sum(0)])
    dh_prev = dh * u + da_z @ W_hz.T + da_r @ W_hr.T + dh_n
    return dA_x @ W_x.T, dh_prev, x.T @ dA_x, dW_h, dA_x.sum(0), db_h


def gru_forward(
    x: Array,
    h_0: Array,
    W_x: Array,
    W_h: Array,
    b_x: Array,
    b_h: Array,
    *,
    convention: str = "article",
    reset: str = "before",
) -> tuple[Array, GRUCache]:
    r"""The GRU over a sequence (GRU-1, GRU-7): every :math:`h_t`, t = 1 … T.

    Shapes: ``x`` (N, T, D), ``h_0`` (N, H), weights as `gru_step_forward`; returns ``h``
    (N, T, H), index ``t-1`` for step t.
    """
    N, T, _ = x.shape
    hs = np.empty((N, T, W_h.shape[0]), dtype=np.result_type(x, h_0, W_x, W_h, b_x, b_h))
    caches: list[GRUStepCache] = []
    h = h_0
    for t in range(T):
        h, cache = gru_step_forward(
            x[:, t], h, W_x, W_h, b_x, b_h, convention=convention, reset=reset
        )
        hs[:, t] = h
        caches.append(cache)
    return hs, GRUCache(caches, x.shape, h_0.shape)


def gru_backward(dh: Array, cache: GRUCache) -> tuple[Array, ...]:
    r"""BPTT for `gru_forward` (GRU-7): ``(dx, dh_0, dW_x, dW_h, db_x, db_h)``.

    ``dh`` (N, T, H) is the gradient reaching each :math:`h_t` from outside. The carry is
    :math:`\nabla_{h_{t-1}}=J_t^\top\nabla_{h_t}` plus the outside term (GRU-3); the tied
    weights sum every step's direct contribution.
    """
    N, T, D = cache.x_shape
    W_x, W_h = cache.steps[0].W_x, cache.steps[0].W_h
    grads = [np.zeros_like(W_x), np.zeros_like(W_h), np.zeros(W_x.shape[1]), np.zeros(W_h.shape[1])]
    dx = np.empty((N, T, D), dtype=np.result_type(dh, W_x, W_h))  # object for symbolic arrays
    carry = np.zeros(cache.h0_shape)
    for t in reversed(range(T)):
        dx[:, t], carry, *g = gru_step_backward(dh[:, t] + carry, cache.steps[t])
        grads = [a + b for a, b in zip(grads, g, strict=True)]
    return (dx, carry, *grads)


# ---------------------------------------------------------------------------------------------
# GRU-2 / GRU-3: the direct path and the full step Jacobian
# ---------------------------------------------------------------------------------------------


def direct_path(z: Array, convention: str = "article") -> Array:
    r"""GRU-2: the skip edge :math:`\partial^+h_t/\partial h_{t-1}` with :math:`z_t,\tilde h_t`
    detached: :math:`\mathrm{diag}(1-z_t)` (article) or :math:`\mathrm{diag}(z_t)` (Cho).

    Article: ``\frac{\partial h_t}{\partial h_{t-1}} = (1-z_t) + ...``; "那一串省略号我们还是
    不管,我们依然可以通过控制 z_t 来控制梯度". Not a partial of the step map (ERR-18).
    ``z`` (H,); returns (H, H).
    """
    return np.diag(_carry(z, convention))


def frozen_step(h_prev: Array, z: Array, n: Array, convention: str = "article") -> Array:
    r"""GRU-2's frozen function :math:`h_{t-1}\mapsto u\odot h_{t-1}+(1-u)\odot\tilde h` with
    :math:`z,\tilde h` held at given values (what ``stop_gradient`` on them computes)."""
    u = _carry(z, convention)
    return u * h_prev + (1.0 - u) * n


def step_jacobian(
    x: Array,
    h_prev: Array,
    W_x: Array,
    W_h: Array,
    b_x: Array,
    b_h: Array,
    *,
    convention: str = "article",
    reset: str = "before",
) -> Array:
    r"""GRU-3: :math:`J_t=\partial h_t/\partial h_{t-1}` (H × H), one sequence, any variant.

    Article convention, reset before (the inventory's formula):

    .. math::  J_t=\mathrm{diag}(1-z_t)+\mathrm{diag}\big((\tilde h_t-h_{t-1})z_t(1-z_t)
               \big)U_z+\mathrm{diag}\big(z_t(1-\tilde h_t^2)\big)U_h\big[\mathrm{diag}(r_t)
               +\mathrm{diag}(h_{t-1}r_t(1-r_t))U_r\big]

    In general :math:`J_t=\mathrm{diag}(u)+\mathrm{diag}((h_{t-1}-\tilde h)\,du/da_z)U_z+
    \mathrm{diag}((1-u)(1-\tilde h^2))N` with :math:`du/da_z=\mp z(1-z)` and
    :math:`N=\partial a_n/\partial h_{t-1}`: :math:`U_n[\mathrm{diag}(r)+\mathrm{diag}(h
    r(1-r))U_r]` (reset before) or :math:`\mathrm{diag}(r)U_n+\mathrm{diag}(q\,r(1-r))U_r`,
    :math:`q=h_{t-1}W_{hn}+b_{hn}` (reset after). :math:`U_k=W_{hk}^\top`.
    ``x`` (D,), ``h_prev`` (H,).
    """
    _check(convention, reset)
    P = _parts(x, h_prev, W_x, W_h, b_x, b_h, reset)
    r, q, n = P["r"], P["q"], P["n"]
    U_z, U_r, U_n = (W.T for W in _split(W_h))
    u, v = _weights(P["a_z"], convention)  # stable forms, as in `gru_step_backward`
    du = (-1.0 if convention == "article" else 1.0) * sigmoid_prime(P["a_z"])
    dr = sigmoid_prime(P["a_r"])
    if reset == "before":
        N = U_n @ (np.diag(r) + (h_prev * dr)[:, None] * U_r)
    else:
        N = r[:, None] * U_n + (q * dr)[:, None] * U_r
    return np.diag(u) + ((h_prev - n) * du)[:, None] * U_z + (v * tanh_prime(P["a_n"]))[:, None] * N


def _states(x: Array, h_0: Array, params: tuple[Array, ...], convention: str, reset: str) -> Array:
    """h_0 … h_T of one sequence, (T+1, H)."""
    h = gru_forward(x[None], h_0[None], *params, convention=convention, reset=reset)[0][0]
    return np.vstack([h_0[None], h])


def state_jacobian(
    x: Array,
    h_0: Array,
    W_x: Array,
    W_h: Array,
    b_x: Array,
    b_h: Array,
    t: int,
    k: int,
    *,
    convention: str = "article",
    reset: str = "before",
) -> Array:
    r"""GRU-3: :math:`\partial h_t/\partial h_k=J_tJ_{t-1}\cdots J_{k+1}` (H × H), one sequence.

    ``x`` (T, D), ``h_0`` (H,); ``0 <= k <= t <= T``; the identity when k = t.
    """
    if not 0 <= k <= t <= x.shape[0]:
        raise ValueError(f"need 0 <= k <= t <= T, got k={k}, t={t}, T={x.shape[0]}")
    params = (W_x, W_h, b_x, b_h)
    hs = _states(x, h_0, params, convention, reset)
    P = np.eye(W_h.shape[0])
    for j in range(k + 1, t + 1):
        J = step_jacobian(x[j - 1], hs[j - 1], *params, convention=convention, reset=reset)
        P = J @ P  # latest on the left
    return P


# ---------------------------------------------------------------------------------------------
# GRU-4: the gate controls the gradient
# ---------------------------------------------------------------------------------------------


def gate_bound(
    x: Array,
    h_prev: Array,
    W_x: Array,
    W_h: Array,
    b_x: Array,
    b_h: Array,
    *,
    convention: str = "article",
    reset: str = "before",
) -> float:
    r"""GRU-4: :math:`\kappa_t\ge\|J_t-I\|_2` when :math:`\|h_{t-1}\|_\infty\le1`.

    .. math::  \kappa_t=\zeta\big[1+2\|U_z\|_2+\|U_h\|_2(1+\tfrac14\|U_r\|_2)\big],
               \qquad \zeta=\max_a(1-u_t[a])

    (ζ = max z in the article's convention, max(1 − z) in Cho's). Proof: :math:`J-I=
    -\mathrm{diag}(1-u)+\dots`; :math:`|du/da_z|=z(1-z)\le 1-u`, :math:`|\tilde h-h|<2`,
    :math:`r(1-r)\le\frac14`, :math:`|h|\le1` and :math:`\|\mathrm{diag}(v)A\|\le
    \|v\|_\infty\|A\|`. For ``reset="after"`` the last factor is :math:`\|U_n\|_2+\frac14
    \|q\|_\infty\|U_r\|_2` (q is not bounded by 1). As :math:`\zeta\to0` (z → 0 in the
    article's convention), :math:`J_t\to I`: a perfect carry.
    """
    P = _parts(x, h_prev, W_x, W_h, b_x, b_h, reset)
    # ζ from z directly: 1 − (1 − z) would lose all digits of a tiny z (z = 1e-7: 2e-9 rel).
    zeta = float(np.max(P["z"] if convention == "article" else 1.0 - P["z"]))
    nz, nr, nn = (float(np.linalg.norm(W, 2)) for W in _split(W_h))
    tail = nn * (1 + 0.25 * nr) if reset == "before" else nn + 0.25 * np.max(np.abs(P["q"])) * nr
    return zeta * (1.0 + 2.0 * nz + float(tail))


def multi_step_bound(kappas: Array) -> float:
    r"""GRU-4: :math:`\|\partial h_t/\partial h_k-I\|_2\le\prod_j(1+\kappa_j)-1`.

    Proof: write :math:`J_j=I+E_j` with :math:`\|E_j\|\le\kappa_j`; expanding the product,
    every term but I is a product of some :math:`E_j`, so the norm of the rest is at most
    :math:`\prod(1+\kappa_j)-1`. ``kappas`` (t − k,).
    """
    return float(np.prod(1.0 + np.asarray(kappas))) - 1.0


# ---------------------------------------------------------------------------------------------
# GRU-5 / ERR-18, GRU-6 / ERR-19
# ---------------------------------------------------------------------------------------------


def negate_update_gate(
    W_x: Array, W_h: Array, b_x: Array, b_h: Array
) -> tuple[Array, Array, Array, Array]:
    r"""GRU-5 (ERR-18): the update-gate parameters negated, :math:`(W_z,U_z,b_z)\to-(\cdot)`.

    Since :math:`1-\sigma(a)=\sigma(-a)`, Cho's GRU with these parameters **is** the article's
    GRU with the originals (and vice versa): every claim carries over with z ↔ 1 − z.
    """
    H = W_h.shape[0]
    out = [W.copy() for W in (W_x, W_h, b_x, b_h)]
    for W in out:
        W[..., :H] *= -1.0
    return out[0], out[1], out[2], out[3]


def coupled_cell_update(h_prev: Array, z: Array, n: Array) -> Array:
    r"""GRU-6 (ERR-19): the LSTM cell update :math:`c_t=f\odot c_{t-1}+i\odot g` with the
    coupled gates :math:`f=1-z`, :math:`i=z` (CIFG, Greff et al. 2017), :math:`g=\tilde h`,
    :math:`c\equiv h`.

    Article: "把LSTM的input gate和forget gate整合成一个update gate". Equals the article-
    convention GRU's :math:`h_t`; since f + i = 1 it is a convex combination, so
    :math:`\|h_t\|_\infty\le\max(\|h_{t-1}\|_\infty,\|\tilde h_t\|_\infty)`, whereas an LSTM
    cell can grow like t (LSTM-2).
    """
    f, i, g = 1.0 - z, z, n
    return f * h_prev + i * g


def parameter_counts(D: int, H: int) -> dict[str, int]:
    r"""ERR-19's structural count: weights and biases of one layer (single bias per block).

    LSTM: 4 blocks (i, f, o, g) × H(D + H + 1); GRU: 3 blocks (z, r, h̃) × H(D + H + 1). The
    GRU drops one block (the output gate), not two: the merged i/f pair frees one block and
    the reset gate takes one back.
    """
    block = H * (D + H + 1)
    return {"lstm": 4 * block, "gru": 3 * block}


def jacobian_norms_by_lag(
    x: Array,
    h_0: Array,
    W_x: Array,
    W_h: Array,
    b_x: Array,
    b_h: Array,
    t: int | None = None,
    *,
    convention: str = "article",
    reset: str = "before",
) -> Array:
    r"""PLOT-A (GRU): :math:`\|\partial h_t/\partial h_{t-L}\|_2` for lags L = 0 … t.

    One sequence: ``x`` (T, D), ``h_0`` (H,); ``t`` defaults to T; returns (t+1,). The update
    bias :math:`b_z` is ``b_x[:H] + b_h[:H]``.
    """
    params = (W_x, W_h, b_x, b_h)
    hs = _states(x, h_0, params, convention, reset)
    t = x.shape[0] if t is None else t
    P = np.eye(W_h.shape[0])
    out = np.ones(t + 1)
    for L in range(1, t + 1):
        j = t - L + 1
        P = P @ step_jacobian(x[j - 1], hs[j - 1], *params, convention=convention, reset=reset)
        out[L] = np.linalg.norm(P, 2)
    return out


# ---------------------------------------------------------------------------------------------
# Registry: the four variants, step and sequence
# ---------------------------------------------------------------------------------------------


def _moderate(
    x: Array, h_prev: Array, W_x: Array, W_h: Array, b_x: Array, b_h: Array, reset: str
) -> bool:
    # FD is trustworthy while no gate saturates: |a| <= 10 keeps σ' >= 4.5e-5 and
    # tanh' >= 8e-9, far above a central difference's rounding floor (~1e-11).
    P = _parts(x, h_prev, W_x, W_h, b_x, b_h, reset)
    return bool(max(np.max(np.abs(P[k])) for k in ("a_z", "a_r", "a_n")) <= 10.0)


def _step_moderate(
    reset: str, x: Array, h_prev: Array, W_x: Array, W_h: Array, b_x: Array, b_h: Array
) -> bool:
    return _moderate(x, h_prev, W_x, W_h, b_x, b_h, reset)


def _sequence_moderate(
    convention: str,
    reset: str,
    x: Array,
    h_0: Array,
    W_x: Array,
    W_h: Array,
    b_x: Array,
    b_h: Array,
) -> bool:
    h = gru_forward(x, h_0, W_x, W_h, b_x, b_h, convention=convention, reset=reset)[0]
    prev = np.concatenate([h_0[:, None], h[:, :-1]], axis=1)
    return _moderate(x, prev, W_x, W_h, b_x, b_h, reset)


_SOURCE = (
    r"\frac{\partial h_t}{\partial h_{t-1}} = (1-z_t) + ... ; "
    "把LSTM的input gate和forget gate整合成一个update gate"
)


def _variant_specs(convention: str, reset: str) -> tuple[Spec, Spec]:
    ids = ("GRU-1", "GRU-5") if convention == "cho" else ("GRU-1",)
    return (
        Spec(
            name=f"gru.step[{convention},reset_{reset}]",
            ids=(*ids, "GRU-3"),
            source=_SOURCE,
            forward=partial(gru_step_forward, convention=convention, reset=reset),
            backward=gru_step_backward,
            arg_names=("x", "h_prev", "W_x", "W_h", "b_x", "b_h"),
            arg_shapes=lambda N, D, H: ((N, D), (N, H), (D, 3 * H), (H, 3 * H), (3 * H,), (3 * H,)),
            sizes={"N": (1, 3), "D": (1, 4), "H": (1, 5)},
            well_conditioned=partial(_step_moderate, reset),
        ),
        Spec(
            name=f"gru.sequence[{convention},reset_{reset}]",
            ids=(*ids, "GRU-7"),
            source=_SOURCE,
            forward=partial(gru_forward, convention=convention, reset=reset),
            backward=gru_backward,
            arg_names=("x", "h_0", "W_x", "W_h", "b_x", "b_h"),
            arg_shapes=lambda N, T, D, H: (
                (N, T, D),
                (N, H),
                (D, 3 * H),
                (H, 3 * H),
                (3 * H,),
                (3 * H,),
            ),
            sizes={"N": (1, 3), "T": (1, 8), "D": (1, 4), "H": (1, 5)},
            well_conditioned=partial(_sequence_moderate, convention, reset),
        ),
    )


SPECS: tuple[Spec, ...] = tuple(s for v in VARIANTS for s in _variant_specs(*v))
