r"""A 50-digit reference for every registry record: its forward written again, independently, in
mpmath, and differentiated exactly by forward-mode automatic differentiation.

Why not finite differences of an mpmath forward: a saturated derivative is tiny against the
function (tanh'(40) ≈ 7e-35 against tanh(40) ≈ 1), so a central difference at 50 digits would
need a step far below the derivative's own size; dual numbers carry the derivative as a number
of its own and keep its relative accuracy whatever its size (mpmath's exponents do not underflow).

`Dual` is a value ``v``, a derivative ``d`` along one input direction, and a *magnitude* ``m``:
the same derivative with every cancellation removed (sums of absolute values, the factors taken
in absolute value). ``m`` is the scale at which any float64 evaluation of the chain rule makes
its rounding errors (Higham, *Accuracy and Stability of Numerical Algorithms*, 2002, §3.1:
a computed sum or product of n terms errs by at most about nε times the sum of their
absolute values), so it gives the tolerance's floor (`vjp_reference`, and the test module).

The forwards (`FORWARDS`, keyed by record name) are written from the article's equations, not
from the specs: elementwise primitives (`tanh`, `sigmoid`, `relu`, `sqrt`) on numpy object arrays
of `Dual`, matrix products by numpy on those arrays, the article's forms throughout
(h = (1 − z)h_{t−1} + z h̃ with 1 − z literally; normalisation groups from the article's table,
element by element). Their derivatives are the textbook ones of each primitive: σ'(a) =
σ(a)σ(−a), tanh'(a) = sech²(a), (√a)' = 1/(2√a); no spec backward is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from mpmath import mp, mpf

__all__ = ["DPS", "FORWARDS", "Dual", "vjp_reference"]

#: the working precision, decimal digits (mpmath's binary precision is ~3.32 bits per digit)
DPS = 50

_ZERO = mpf(0)


class Dual:
    """v + d·ϵ (ϵ² = 0) with a magnitude m ≥ |d|: the derivative without cancellation."""

    __slots__ = ("d", "m", "v")

    def __init__(self, v: Any, d: Any = _ZERO, m: Any = _ZERO) -> None:
        self.v, self.d, self.m = v, d, m

    # arithmetic -------------------------------------------------------------------------------
    def __add__(self, o: Any) -> Dual:
        o = _lift(o)
        return Dual(self.v + o.v, self.d + o.d, self.m + o.m)

    __radd__ = __add__

    def __neg__(self) -> Dual:
        return Dual(-self.v, -self.d, self.m)

    def __sub__(self, o: Any) -> Dual:
        o = _lift(o)
        return Dual(self.v - o.v, self.d - o.d, self.m + o.m)

    def __rsub__(self, o: Any) -> Dual:
        return _lift(o) - self

    def __mul__(self, o: Any) -> Dual:
        o = _lift(o)
        return Dual(
            self.v * o.v, self.v * o.d + o.v * self.d, abs(self.v) * o.m + abs(o.v) * self.m
        )

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> Dual:
        o = _lift(o)
        q = self.v / o.v
        return Dual(q, (self.d - q * o.d) / o.v, (self.m + abs(q) * o.m) / abs(o.v))

    def __rtruediv__(self, o: Any) -> Dual:
        return _lift(o) / self

    def __pow__(self, k: int) -> Dual:
        if k != 2:
            raise NotImplementedError("the reference forwards square, nothing else")
        return self * self

    # elementwise functions (numpy calls these on object arrays: np.tanh(a) → a.tanh()) ---------
    def _apply(self, value: Any, slope: Any) -> Dual:
        return Dual(value, slope * self.d, abs(slope) * self.m)

    def tanh(self) -> Dual:
        return self._apply(mp.tanh(self.v), mp.sech(self.v) ** 2)

    def sqrt(self) -> Dual:
        r = mp.sqrt(self.v)
        return self._apply(r, 1 / (2 * r))

    def sigmoid(self) -> Dual:
        # σ(v) and σ'(v) = σ(v)σ(−v), each a quotient without cancellation
        s, s_neg = 1 / (1 + mp.exp(-self.v)), 1 / (1 + mp.exp(self.v))
        return self._apply(s, s * s_neg)

    def relu(self) -> Dual:
        return self if self.v > 0 else Dual(_ZERO)


def _lift(o: Any) -> Dual:
    return o if isinstance(o, Dual) else Dual(mpf(o))


Obj = np.ndarray  # numpy object arrays of Dual
tanh: Callable[[Obj], Obj] = np.frompyfunc(Dual.tanh, 1, 1)
sigmoid: Callable[[Obj], Obj] = np.frompyfunc(Dual.sigmoid, 1, 1)
relu: Callable[[Obj], Obj] = np.frompyfunc(Dual.relu, 1, 1)
sqrt: Callable[[Obj], Obj] = np.frompyfunc(Dual.sqrt, 1, 1)


# ---------------------------------------------------------------------------------------------
# The forwards, from the article's equations (batch-first rows, x @ W, as the registry's records)
# ---------------------------------------------------------------------------------------------


def _mlp(x: Obj, V: Obj, gamma: Obj, W: Obj, theta: Obj, *, sigmoid_out: bool = True) -> Obj:
    # b_h = σ(α_h − γ_h), β_j = Σ_h w_hj b_h, y'_j = φ(β_j − θ_j)
    b = sigmoid(x @ V - gamma)
    beta = b @ W - theta
    return sigmoid(beta) if sigmoid_out else beta


def _half_squared(r: Obj) -> Obj:
    return np.array(0.5 * np.sum(r * r), dtype=object)


def _deep(act: Callable[[Obj], Obj]) -> Callable[..., Obj]:
    def forward(x: Obj, *params: Obj) -> Obj:
        h = x
        for W, b in zip(params[::2], params[1::2], strict=True):
            h = act(h @ W + b)
        return h

    return forward


def _rnn_states(x: Obj, s: Obj, W_x: Obj, W_s: Obj, b: Obj) -> Obj:
    # s_t = tanh(x_t W_x + s_{t-1} W_s + b), t = 1 … T
    states = []
    for t in range(x.shape[1]):
        s = tanh(x[:, t] @ W_x + s @ W_s + b)
        states.append(s)
    return np.stack(states, axis=1)


def _lstm_step(
    x: Obj, h: Obj, c: Obj, W_x: Obj, W_h: Obj, b: Obj, p: Obj | None = None
) -> tuple[Obj, Obj]:
    # gates i, f, o = σ(·), block input g = tanh(·), packed i, f, o, g; peepholes (p_i, p_f, p_o)
    H = h.shape[-1]
    A = x @ W_x + h @ W_h + b
    a_i, a_f, a_o, a_g = (A[:, k * H : (k + 1) * H] for k in range(4))
    if p is not None:
        a_i, a_f = a_i + p[0] * c, a_f + p[1] * c
    i, f, g = sigmoid(a_i), sigmoid(a_f), tanh(a_g)
    c_new = f * c + i * g  # c_t = f_t c_{t-1} + i_t g_t
    if p is not None:
        a_o = a_o + p[2] * c_new
    return sigmoid(a_o) * tanh(c_new), c_new  # h_t = o_t tanh c_t


def _lstm_sequence(x: Obj, h: Obj, c: Obj, W_x: Obj, W_h: Obj, b: Obj) -> tuple[Obj, Obj]:
    hs, cs = [], []
    for t in range(x.shape[1]):
        h, c = _lstm_step(x[:, t], h, c, W_x, W_h, b)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def _gru_step(
    x: Obj, h: Obj, W_x: Obj, W_h: Obj, b_x: Obj, b_h: Obj, convention: str, reset: str
) -> Obj:
    # blocks z, r, n; article: h_t = (1 − z) h_{t-1} + z h̃, Cho: h_t = z h_{t-1} + (1 − z) h̃
    H = h.shape[-1]
    gx, gh = x @ W_x + b_x, h @ W_h + b_h
    z = sigmoid(gx[:, :H] + gh[:, :H])
    r = sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    W_hn, b_hn = W_h[:, 2 * H :], b_h[2 * H :]
    if reset == "before":  # h̃ = tanh(x W_xn + b_xn + (r ⊙ h) W_hn + b_hn)
        n = tanh(gx[:, 2 * H :] + (r * h) @ W_hn + b_hn)
    else:  # h̃ = tanh(x W_xn + b_xn + r ⊙ (h W_hn + b_hn))
        n = tanh(gx[:, 2 * H :] + r * (h @ W_hn + b_hn))
    if convention == "article":
        return (1 - z) * h + z * n
    return z * h + (1 - z) * n


def _gru(sequence: bool, convention: str, reset: str) -> Callable[..., Obj]:
    def forward(x: Obj, h: Obj, W_x: Obj, W_h: Obj, b_x: Obj, b_h: Obj) -> Obj:
        if not sequence:
            return _gru_step(x, h, W_x, W_h, b_x, b_h, convention, reset)
        hs = []
        for t in range(x.shape[1]):
            h = _gru_step(x[:, t], h, W_x, W_h, b_x, b_h, convention, reset)
            hs.append(h)
        return np.stack(hs, axis=1)

    return forward


def _group_key(index: tuple[int, ...], shape: tuple[int, ...], method: str, G: int) -> Any:
    """The article's table (NORM-4): which group element ``index`` is normalised in."""
    if len(shape) == 2:  # (N, D): BN per feature, LN per sample
        return index[1] if method == "BN" else index[0]
    n, c = index[0], index[1]
    return {
        "BN": c,  # [N, H, W]
        "LN": n,  # [C, H, W]
        "IN": (n, c),  # [H, W]
        "GN": (n, c // (shape[1] // G)),  # [C//G, H, W], contiguous channels
    }[method]


def _standardize(x: Obj, method: str, G: int, eps: float) -> Obj:
    # x̂_i = (x_i − μ)/√(σ² + ε), μ and the biased σ² over the group of i
    groups: dict[Any, list[tuple[int, ...]]] = {}
    for index in np.ndindex(x.shape):
        groups.setdefault(_group_key(index, x.shape, method, G), []).append(index)
    xhat = np.empty(x.shape, dtype=object)
    for members in groups.values():
        values = [x[i] for i in members]
        mu = sum(values, Dual(_ZERO)) / len(values)
        var = sum(((v - mu) ** 2 for v in values), Dual(_ZERO)) / len(values)
        s = (var + eps).sqrt()
        for i, v in zip(members, values, strict=True):
            xhat[i] = (v - mu) / s
    return xhat


def _per_channel(a: Obj, ndim: int) -> Obj:
    return a.reshape((1, -1) + (1,) * (ndim - 2))


def _norm(method: str, G: int, eps: float) -> Callable[..., Obj]:
    def forward(x: Obj, gamma: Obj, beta: Obj) -> Obj:
        xhat = _standardize(x, method, G, eps)
        return _per_channel(gamma, x.ndim) * xhat + _per_channel(beta, x.ndim)

    return forward


def _bn_train(x: Obj, gamma: Obj, beta: Obj, rm: Obj, rv: Obj) -> tuple[Obj, Obj, Obj]:
    # I&S Algorithm 1-2: running mean ρμ̄ + (1−ρ)μ_B, variance ρv̄ + (1−ρ)·m/(m−1)·σ_B², ρ = 0.9
    y = _norm("BN", 1, 1e-5)(x, gamma, beta)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    m = int(np.prod([x.shape[a] for a in axes]))
    mu = np.sum(x, axis=axes) / m
    var = np.sum((x - _per_channel(mu, x.ndim)) ** 2, axis=axes) / m
    rho = mpf("0.9")
    return y, rho * rm + (1 - rho) * mu, rho * rv + (1 - rho) * var * m / (m - 1)


def _bn_infer(x: Obj, gamma: Obj, beta: Obj, rm: Obj, rv: Obj) -> Obj:
    # y = γ (x − μ̄)/√(v̄ + ε) + β, per channel, ε = 1e-5
    c = lambda a: _per_channel(a, x.ndim)  # noqa: E731
    return c(gamma) * (x - c(rm)) / sqrt(c(rv) + 1e-5) + c(beta)


def _bn_linear(u: Obj, W: Obj, b: Obj, gamma: Obj, beta: Obj) -> Obj:
    return _norm("BN", 1, 0.0)(u @ W + b, gamma, beta)


def _gru_forwards() -> dict[str, Callable[..., Any]]:
    out = {}
    for convention in ("article", "cho"):
        for reset in ("before", "after"):
            tag = f"[{convention},reset_{reset}]"
            out["gru.step" + tag] = _gru(False, convention, reset)
            out["gru.sequence" + tag] = _gru(True, convention, reset)
    return out


#: the reference forward of every registry record, by record name (same arguments, same outputs)
FORWARDS: dict[str, Callable[..., Any]] = {
    "act.sigmoid": sigmoid,
    "act.tanh": tanh,
    "act.relu": relu,
    "mlp.network": _mlp,
    "mlp.network_identity_output": lambda *a: _mlp(*a, sigmoid_out=False),
    "mlp.squared_error": lambda y_hat, y: _half_squared(y_hat - y),
    "mlp.loss": lambda x, y, *p: _half_squared(_mlp(x, *p) - y),
    "mlp.deep_sigmoid": _deep(sigmoid),
    "mlp.deep_relu": _deep(relu),
    "rnn.step": lambda x, s, W_x, W_s, b: tanh(x @ W_x + s @ W_s + b),
    "rnn.sequence": _rnn_states,
    "rnn.output": lambda s, W_o: s @ W_o,
    "rnn.output_sigmoid": lambda s, W_o: sigmoid(s @ W_o),
    "rnn.loss": lambda x, s_0, W_x, W_s, b, W_o, y: _half_squared(
        _rnn_states(x, s_0, W_x, W_s, b) @ W_o - y
    ),
    "lstm.step": _lstm_step,
    "lstm.sequence": _lstm_sequence,
    "lstm.peephole_step": _lstm_step,
    **_gru_forwards(),
    "normalization.bn": _norm("BN", 1, 1e-5),
    "normalization.ln": _norm("LN", 1, 1e-5),
    "normalization.in": _norm("IN", 1, 1e-5),
    "normalization.gn_g2": _norm("GN", 2, 1e-5),
    "normalization.bn_train_running": _bn_train,
    "normalization.bn_infer": _bn_infer,
    "normalization.bn_linear": _bn_linear,
}


# ---------------------------------------------------------------------------------------------
# The reference vector-Jacobian product
# ---------------------------------------------------------------------------------------------


def _leaves(out: Any) -> list[Obj]:
    if isinstance(out, tuple | list):
        return [leaf for o in out for leaf in _leaves(o)]
    return [np.asarray(out, dtype=object)]


def _constant(a: np.ndarray) -> Obj:
    out = np.empty(a.shape, dtype=object)
    for i in np.ndindex(a.shape):
        out[i] = Dual(mpf(float(a[i])))
    return out


def vjp_reference(
    name: str, args: Sequence[np.ndarray], dout: Any
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each argument of record ``name``: ``(ref, mag)``, float64 arrays shaped like it.

    ``ref`` = Jᵀ·dout (the exact gradient of ⟨dout, forward(args)⟩, rounded once to float64);
    ``mag`` = Σ_i |dout_i| · m_i, the same contraction without cancellation (the module
    docstring). One forward pass in ``DPS``-digit arithmetic per argument entry (forward mode);
    the float64 arguments and ``dout`` are converted exactly.
    """
    forward = FORWARDS[name]
    with mp.workdps(DPS):
        douts = [np.asarray(d, dtype=np.float64) for d in _leaves(dout)]
        base = [_constant(np.asarray(a, dtype=np.float64)) for a in args]
        result = []
        for k, a in enumerate(args):
            ref, mag = np.empty(a.shape), np.empty(a.shape)
            for index in np.ndindex(a.shape):
                seeded = base[k].copy()
                seeded[index] = Dual(seeded[index].v, mpf(1), mpf(1))
                outs = _leaves(forward(*base[:k], seeded, *base[k + 1 :]))
                r, m = _ZERO, _ZERO
                for o, d in zip(outs, douts, strict=True):
                    for i in np.ndindex(o.shape):
                        leaf = _lift(o[i])
                        r += mpf(float(d[i])) * leaf.d
                        m += abs(mpf(float(d[i]))) * leaf.m
                ref[index], mag[index] = float(r), float(m)
            result.append((ref, mag))
        return result
