r"""Activations of Part I (从神经网络开始) and Part II's tanh: stable derivatives, float facts.

Equation IDs (``formula-inventory.md``): ACT-1, ACT-2, ACT-3, ACT-4, ACT-5, ACT-7; errata ERR-4,
ERR-7, ERR-8, ERR-9; figures FIG-2 (sigmoid, σ', the float64 saturation band), FIG-5 (tanh
against 2σ(2x)−1) and PLOT-G (fraction of normalised units in the high-gradient region).

Every derivative here is computed from the **pre-activation** ``x`` in a form that neither
overflows nor cancels: :math:`\sigma'(x)=e^{-|x|}/(1+e^{-|x|})^2` and
:math:`\tanh'(x)=4\sigma'(2x)`. The *output form* the article writes, ``y'(1-y')`` /
``b_h (1-b_h)``, is kept as `sigmoid_prime_from_output`: it is exact in real arithmetic but
evaluates to exactly ``0.0`` once ``σ(x)`` rounds to 1.0 (x ≳ 36.74 in float64; ACT-3, ERR-4).

Each activation φ has a CS231n pair ``*_forward(x) -> (y, cache)`` /
``*_backward(dy, cache) -> (dx,)`` (shapes: any; ``dx`` is shaped like ``x``), and an
`Activation` record (``f``, ``fprime`` of the pre-activation, the derivative bound γ of
Pascanu et al. 2013) that `specs.mlp` takes as a parameter.

Article notes
-------------
* *Imprecise (ERR-4):* "把 y_j' 限制到[0,1]之间": the range of σ is the open interval (0, 1);
  in float64 it reaches 1.0 at `saturation_threshold` ≈ 36.74 and the output-form derivative
  is then exactly 0 although σ'(37) ≈ 8.5e-17.
* *Imprecise (ERR-7):* "sigmoid激活值本身已经是一个比较小的数了": b may be close to 1; what
  holds is b(1−b) ≤ min(b, 1−b) ≤ ½ and b(1−b) ≤ ¼.
* *Imprecise (ERR-8):* ReLU "在x>0的时候可以稳稳维持1的梯度": and exactly 0 for x < 0.
* *Wrong (ERR-9):* "tanh其实只是将sigmoid的范围从[0, 1]变到[-1, 1]而已": tanh(x) = 2σ(2x) − 1
  also doubles the argument, and tanh' peaks at 1, four times σ''s ¼.

References
----------
.. [A] 《漫谈LSTM系列的梯度问题》, NLP Weekly (Zhihu), 2018, Part I and Part II.
.. [1] R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training recurrent neural
   networks", ICML 2013, §2.1 (γ = ¼ for the sigmoid, 1 for tanh), arXiv:1211.5063.
.. [2] D. Goldberg, "What every computer scientist should know about floating-point
   arithmetic", ACM Computing Surveys 23(1), 1991 (rounding to nearest, ulp of 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lstm_gradients.specs import _elementwise as ew
from lstm_gradients.specs._spec import Layout, Spec

Array = NDArray[np.float64]

__all__ = [
    "IDENTITY",
    "RELU",
    "SIGMOID",
    "SPECS",
    "TANH",
    "Activation",
    "chebyshev_fraction_bound",
    "high_gradient_fraction",
    "identity_forward",
    "relu",
    "relu_backward",
    "relu_forward",
    "relu_prime",
    "saturation_threshold",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_forward",
    "sigmoid_prime",
    "sigmoid_prime_from_output",
    "tanh",
    "tanh_backward",
    "tanh_forward",
    "tanh_prime",
    "tanh_via_sigmoid",
]

_SOURCE_SIGMOID = "只有在靠近0的区域梯度比较大(然而也不会超过0.25)"
_SOURCE_TANH = "而tanh其实只是将sigmoid的范围从[0, 1]变到[-1, 1]而已"
_SOURCE_RELU = "比如把sigmoid换成relu,在x>0的时候可以稳稳维持1的梯度"


# ---------------------------------------------------------------------------------------------
# Sigmoid (ACT-1, ACT-2, ACT-3)
# ---------------------------------------------------------------------------------------------


def sigmoid(x: Array) -> Array:
    r"""The logistic function :math:`\sigma(x)=1/(1+e^{-x})` (ACT-1), overflow-free (``expit``).

    Article: "这里假设使用sigmoid激活函数". Shapes: any; returns the shape of ``x``.
    """
    return np.asarray(ew.sigmoid(x))


def sigmoid_prime(x: Array) -> Array:
    r"""σ'(x) from the pre-activation, stable for every float64 x (ACT-1, ACT-3).

    Article: "只有在靠近0的区域梯度比较大(然而也不会超过0.25)".

    .. math::  \sigma'(x)=\sigma(x)(1-\sigma(x))=\frac{e^{-|x|}}{(1+e^{-|x|})^2}
               =\frac{1}{4\cosh^2(x/2)}\le\tfrac14

    Computed as the last form, :math:`(\tfrac12/\cosh(x/2))^2`: it never subtracts nearly equal
    numbers, so it keeps full relative accuracy where σ(x) rounds to 1 (σ'(37) = 8.5e-17, not 0;
    within 2.3 ulp of a 40-digit reference for |x| < 700), and it is at most ¼ in floating point
    by construction, not only in real arithmetic: cosh rounds faithfully to ≥ 1, so ½/cosh ≤ ½
    and its square ≤ ¼ (each rounding keeps a bound that is a float). The form
    e^{-|x|}/(1+e^{-|x|})² rounds one ulp above ¼ for |x| ≲ 1e-3 (and tanh' = 4σ'(2x) above 1).
    cosh overflows to inf for |x| > 1420, where σ' is below the smallest subnormal: ½/inf = 0 is
    then exact. It lives in `specs._elementwise` (``ew.sigmoid_prime``) beside σ: the record
    proofs swap it for σ(1−σ), and ``proofs/test_symbolic.py`` proves this form equal to σ(1−σ)
    on its own. Shapes: any.
    """
    return np.asarray(ew.sigmoid_prime(x))


def sigmoid_prime_from_output(y: Array) -> Array:
    r"""The article's output form ``y'(1-y')`` (= ``b_h (1-b_h)``): σ' written through σ.

    Article: ``g_j = (y_j'-y_j)\cdot y_j'(1-y_j')``. Exact in real arithmetic, but once
    ``y`` has rounded to 1.0 it returns exactly 0.0 (ACT-3, ERR-4); only valid when ``y`` is a
    **sigmoid** output (ERR-3). Shapes: any.
    """
    return y * (1.0 - y)


def sigmoid_forward(x: Array) -> tuple[Array, Array]:
    r"""CS231n pair, forward: :math:`y=\sigma(x)`; the cache is ``x`` (not ``y``, see backward)."""
    return sigmoid(x), x


def sigmoid_backward(dy: Array, cache: Array) -> tuple[Array]:
    r"""CS231n pair, backward: :math:`dx = dy\odot\sigma'(x)`, σ' from the pre-activation.

    Notes: the chain rule elementwise, :math:`\partial y_a/\partial x_b=\delta_{ab}\sigma'(x_a)`,
    with `sigmoid_prime` so the gradient does not vanish by rounding (ACT-3).
    """
    return (dy * sigmoid_prime(cache),)


def saturation_threshold(
    f: Callable[[Array], Array] = sigmoid,
    dtype: type[np.floating] = np.float64,
    limit: float = 1.0,
) -> float:
    r"""The smallest x > 0 of ``dtype`` with ``f(x) == limit`` (FIG-2's band, ACT-3): computed.

    Bisection over the **bit patterns** of the non-negative floats of ``dtype`` (they are
    ordered like the integers), so the answer is exact: ``f(t) == limit`` and
    ``f(prev(t)) < limit`` for monotone ``f``. Reference values: float64 sigmoid 36.7368…
    = 53 ln 2 (σ is evaluated as 1/(1+e^{-x}), and 1 + e^{-x} rounds to 1 once
    :math:`e^{-x}\le2^{-53}`, half an ulp of 1; a correctly rounded σ would reach 1.0 only at
    54 ln 2 ≈ 37.43), float32 sigmoid 16.6355… (= 24 ln 2, same argument), float64 tanh
    18.9903… with glibc's ``tanh`` (a correctly rounded tanh would reach 1.0 only at
    :math:`2e^{-2x}<2^{-54}`, x ≈ 19.06).
    """
    itype = np.int64 if np.dtype(dtype).itemsize == 8 else np.int32
    lo = int(np.array(0.0, dtype=dtype).view(itype))  # f(0) < limit
    hi = int(np.array(1000.0, dtype=dtype).view(itype))  # f(1000) == limit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        x = np.array(mid, dtype=itype).view(dtype)
        lo, hi = (lo, mid) if f(x.astype(dtype)) == limit else (mid, hi)
    return float(np.array(hi, dtype=itype).view(dtype))


# ---------------------------------------------------------------------------------------------
# tanh (ACT-4, ERR-9)
# ---------------------------------------------------------------------------------------------


def tanh(x: Array) -> Array:
    r""":math:`\tanh x` (ACT-4, RNN-1). Shapes: any."""
    return np.tanh(x)


def tanh_via_sigmoid(x: Array) -> Array:
    r"""ACT-4/ERR-9: :math:`\tanh(x)=2\sigma(2x)-1`; the argument is doubled too.

    Article: "而tanh其实只是将sigmoid的范围从[0, 1]变到[-1, 1]而已" rescales the range only,
    i.e. reads as :math:`2\sigma(x)-1`, which is :math:`\tanh(x/2)`, not tanh. Shapes: any.
    """
    return 2.0 * sigmoid(2.0 * x) - 1.0


def tanh_prime(x: Array) -> Array:
    r""":math:`\tanh'(x)=1-\tanh^2x=4\sigma'(2x)\in(0,1]`, stable from the pre-activation (ACT-4).

    The peak is :math:`\tanh'(0)=1`, four times the sigmoid's ¼ (Pascanu's γ = 1). Computed as
    :math:`4\sigma'(2x)=1/\cosh^2x` (`sigmoid_prime`), which stays positive where
    ``1 - tanh(x)**2`` is 0.0 (|x| ≳ 18.99) and is at most 1 in floating point. Shapes: any.
    """
    return 4.0 * sigmoid_prime(2.0 * x)


def tanh_forward(x: Array) -> tuple[Array, Array]:
    r"""CS231n pair, forward: :math:`y=\tanh x`; the cache is ``x``."""
    return np.tanh(x), x


def tanh_backward(dy: Array, cache: Array) -> tuple[Array]:
    r"""CS231n pair, backward: :math:`dx=dy\odot(1-\tanh^2x)` (stable form `tanh_prime`)."""
    return (dy * tanh_prime(cache),)


# ---------------------------------------------------------------------------------------------
# ReLU (ACT-5, ERR-8) and the identity (ERR-3, ACT-6)
# ---------------------------------------------------------------------------------------------


def relu(x: Array) -> Array:
    r""":math:`\mathrm{ReLU}(x)=\max(x,0)` (ACT-5). Shapes: any."""
    return np.maximum(x, 0.0)


def relu_prime(x: Array) -> Array:
    r"""ReLU' = 1[x > 0]: 1 for x > 0, **exactly 0** for x < 0 (dead units, ERR-8), 0 at 0.

    Article: "把sigmoid换成relu,在x>0的时候可以稳稳维持1的梯度". At 0 the derivative does not
    exist; 0 is the framework convention (a subgradient). Shapes: any.
    """
    return (x > 0).astype(np.float64)


def relu_forward(x: Array) -> tuple[Array, Array]:
    r"""CS231n pair, forward: :math:`y=\max(x,0)`; the cache is ``x``."""
    return relu(x), x


def relu_backward(dy: Array, cache: Array) -> tuple[Array]:
    r"""CS231n pair, backward: :math:`dx=dy\odot 1[x>0]`."""
    return (dy * relu_prime(cache),)


def _float_copy(x: Array) -> Array:
    """A float64 copy of ``x``; an object copy of an object (symbolic) array."""
    a = np.asarray(x)
    return np.array(a, dtype=object if a.dtype == object else np.float64)


def identity_forward(x: Array) -> tuple[Array, None]:
    r"""The identity activation (a regression output, ERR-3; the linear network of ACT-6)."""
    return _float_copy(x), None


@dataclass(frozen=True)
class Activation:
    """An activation φ as data: ``f(x)``, ``fprime(x)`` from the pre-activation, and
    ``gamma`` = sup φ' (Pascanu et al.'s derivative bound: ¼ sigmoid, 1 tanh and ReLU)."""

    name: str
    f: Callable[[Array], Array]
    fprime: Callable[[Array], Array]
    gamma: float


SIGMOID = Activation("sigmoid", sigmoid, sigmoid_prime, 0.25)
TANH = Activation("tanh", tanh, tanh_prime, 1.0)
RELU = Activation("relu", relu, relu_prime, 1.0)
IDENTITY = Activation("identity", lambda x: _float_copy(x), np.ones_like, 1.0)


# ---------------------------------------------------------------------------------------------
# ACT-7 / PLOT-G: normalised inputs sit in the high-gradient region (Chebyshev)
# ---------------------------------------------------------------------------------------------


def high_gradient_fraction(x: Array, k: float, eps: float = 1e-5) -> float:
    r"""Fraction of the standardised group :math:`\hat x=(x-\mu)/\sqrt{\sigma^2+\varepsilon}`
    with :math:`\sigma'(\hat x_i)\ge\sigma'(k)`, i.e. :math:`|\hat x_i|\le k` (ACT-7, PLOT-G).

    Article: "我们可以把数据尽量规范化到一个比较合适的范围". ``x``: one group, shape (m,);
    μ and σ² are the biased (1/m) moments of NORM-1. Returns a number in [0, 1].
    """
    x_hat = (x - x.mean()) / np.sqrt(x.var() + eps)
    return float(np.mean(sigmoid_prime(x_hat) >= sigmoid_prime(np.array(k, dtype=np.float64))))


def chebyshev_fraction_bound(k: float, var: float = 1.0, eps: float = 0.0) -> float:
    r"""ACT-7's lower bound :math:`1-\frac{1}{k^2}\frac{\sigma^2}{\sigma^2+\varepsilon}` (PLOT-G).

    Since :math:`\frac1m\sum_i\hat x_i^2=\sigma^2/(\sigma^2+\varepsilon)\le1`, at most
    :math:`\frac{m}{k^2}\frac{\sigma^2}{\sigma^2+\varepsilon}` units have :math:`|\hat x_i|>k`
    (Markov on :math:`\hat x^2`), so at least this fraction has :math:`\sigma'(\hat x_i)\ge
    \sigma'(k)`; for k = 2, ≥ 75 % have σ' ≥ 0.1050. ``var = 1, eps = 0`` gives 1 − 1/k².
    """
    return 1.0 - var / ((var + eps) * k**2) if var + eps > 0 else 1.0


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def _moderate(x: Array) -> bool:
    """FD trust region: |x| <= 15, so σ' ≥ 3e-7 and the central difference keeps ~4 digits
    of relative accuracy (rounding ~ eps/h = 2e-10 against σ' itself)."""
    return bool(np.all(np.abs(x) <= 15.0))


def _away_from_kink(x: Array) -> bool:
    """FD trust region for ReLU: every |x| >= 1e-3, far outside the checker's step, and one
    live unit (an identically zero gradient gives a relative check nothing to judge)."""
    return bool(np.all(np.abs(x) >= 1e-3) and np.any(x > 0))


def _elementwise(N: int, D: int) -> tuple[tuple[int, int]]:
    return ((N, D),)


# "Shapes: any": besides a batch (N, D), a vector and a batch of sequences (N, T, D)
_ANY_SHAPE = (
    Layout("(n,)", lambda n: ((n,),), {"n": (1, 6)}),
    Layout("(N, T, D)", lambda N, T, D: ((N, T, D),), {"N": (1, 3), "T": (1, 3), "D": (1, 3)}),
)


SPECS: tuple[Spec, ...] = (
    Spec(
        "act.sigmoid",
        ("ACT-1",),
        _SOURCE_SIGMOID,
        sigmoid_forward,
        sigmoid_backward,
        ("x",),
        _elementwise,
        {"N": (1, 4), "D": (1, 6)},
        _moderate,
        _ANY_SHAPE,
        "(N, D)",
    ),
    Spec(
        "act.tanh",
        ("ACT-4",),
        _SOURCE_TANH,
        tanh_forward,
        tanh_backward,
        ("x",),
        _elementwise,
        {"N": (1, 4), "D": (1, 6)},
        _moderate,
        _ANY_SHAPE,
        "(N, D)",
    ),
    Spec(
        "act.relu",
        ("ACT-5",),
        _SOURCE_RELU,
        relu_forward,
        relu_backward,
        ("x",),
        _elementwise,
        {"N": (1, 4), "D": (1, 6)},
        _away_from_kink,
        _ANY_SHAPE,
        "(N, D)",
    ),
)
