"""The hostile battery (issue 11): the inputs real users bring, at the edges, through all four
checkers. Every case asserts a typed error with its message (the key words), or a correct
verdict (and, where it says so, the entry named and the note the report carries).

Categories (the tables below): 0-d parameters, in-place writes and nondeterminism, dtypes,
tree structures, constants (``wrt``) and labels, bad input. The CLI and the plugin have their
own file (``test_hostile_cli_plugin.py``).

Every planted error is a 1 % (float64, float32) or 50 % (float16) change of one entry, far
above the detection bound of `check_grad`'s docstring (a relative 1e-6 of the gradient's scale
in float64; ``ulps * eps`` of the gradient's dtype otherwise); every correct gradient is exact
to rounding. No case is statistical: fast mode's seeds are fixed, and a 1 % error is missed by
fast mode with probability below 1e-12 (``R**-2`` with ``R`` ~ 1e6, see
`gradcheck._engine.fast`).
"""

from __future__ import annotations

import collections
import dataclasses
import re
import warnings
from typing import Any

import numpy as np
import pytest

import gradcheck as gc
from gradcheck import (
    GradientMismatch,
    InvalidInputError,
    InvalidTypeError,
    NondeterministicError,
)

BadValue, BadType = InvalidInputError, InvalidTypeError
RNG = np.random.default_rng(20261203)
X3 = np.array([0.3, -1.2, 2.0])
W23 = RNG.standard_normal((2, 3))
B3 = RNG.standard_normal(3)
WRONG = 1.01  # a planted 1 % error


def ok(id_: str, run: Any, status: str = "pass", **expect: Any) -> Any:
    """A case whose verdict is ``status``; ``where`` (path, index) of the first entry, a
    ``note`` the result carries, a ``text`` its report contains."""
    return pytest.param(run, status, expect, id=id_)


def bad(id_: str, run: Any, error: type[Exception], match: str) -> Any:
    """A case that raises the typed ``error`` whose message matches ``match``."""
    return pytest.param(run, error, match, id=id_)


def _verdict(run: Any, status: str, expect: dict[str, Any]) -> None:
    res = run()
    assert res.status == status, res
    if "where" in expect:
        path, index = expect["where"]
        assert (res.worst[0].path, res.worst[0].index) == (path, index), res
    if "note" in expect:
        assert any(expect["note"] in n for n in res.notes), res.notes
    if "text" in expect:
        assert expect["text"] in str(res), res
    if "notes" in expect:
        assert res.notes == expect["notes"], res.notes


def _error(run: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match) as info:
        run()
    assert isinstance(info.value, gc.GradcheckError)


def sin_sum(p: Any) -> float:
    return float(np.sum(np.sin(p)))


def sin_dict(p: Any) -> float:
    return float(np.sum(np.sin(p["W"])) + np.sum(p["b"] ** 2))


def cos_dict(p: Any) -> dict[str, Any]:
    return {"W": np.cos(p["W"]), "b": 2 * p["b"]}


def sin_tree(p: Any) -> float:
    """sum(sin) over every array of a dict / list tree."""
    if isinstance(p, dict):
        return sum(sin_tree(v) for v in p.values())
    if isinstance(p, list | tuple):
        return sum(sin_tree(v) for v in p)
    return sin_sum(p)


def select_backward(dout: Any, x: Any) -> Any:
    g = np.zeros_like(x)
    g[x > 0.25] = dout
    return (g,)


def matrix(data: Any) -> Any:
    with warnings.catch_warnings():  # numpy discourages np.matrix, which is the point here
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(data)


def planted(g: Any, index: Any = 0, factor: float = WRONG) -> Any:
    g = np.array(g, copy=True)
    g.reshape(-1)[index] *= factor
    return g


# --- 0-d parameters: every checker and mode ---------------------------------------------

P0 = np.array(0.7)


def sin_0d(p: Any) -> float:
    """sin of a 0-d parameter, which must reach f as a 0-d ndarray (not a numpy scalar)."""
    assert type(p) is np.ndarray, type(p)
    assert p.shape == ()
    return float(np.sin(p))


def sin_vjp_forward(x: Any) -> Any:
    return np.sin(x), x


def sin_vjp_backward(dout: Any, x: Any) -> Any:
    return (dout * np.cos(x),)


ZERO_D = [
    ok("check_grad full", lambda: gc.check_grad(sin_0d, np.cos, P0)),
    ok("check_grad fast", lambda: gc.check_grad(sin_0d, np.cos, P0, mode="fast", seed=1)),
    ok(
        "check_grad full, wrong",
        lambda: gc.check_grad(sin_sum, lambda p: WRONG * np.cos(p), P0),
        "fail",
        where=("params", ()),
    ),
    ok(
        "check_grad fast, wrong",
        lambda: gc.check_grad(sin_sum, lambda p: WRONG * np.cos(p), P0, mode="fast", seed=2),
        "fail",
        where=("params", ()),
    ),
    ok("assert_grad", lambda: gc.assert_grad(sin_sum, np.cos, P0)),
    ok("grad returns a float", lambda: gc.check_grad(sin_sum, lambda p: float(np.cos(p)), P0)),
    ok("grad returns a numpy scalar", lambda: gc.check_grad(sin_sum, lambda p: np.cos(p)[()], P0)),
    ok("at zero", lambda: gc.check_grad(sin_sum, np.cos, np.array(0.0))),
    ok("float32", lambda: gc.check_grad(sin_sum, np.cos, np.array(0.7, dtype=np.float32))),
    ok(
        "in a dict with a matrix",
        lambda: gc.check_grad(
            lambda p: float(np.sin(p["s"]) * np.sum(p["W"] ** 2)),
            lambda p: {"s": np.cos(p["s"]) * np.sum(p["W"] ** 2), "W": 2 * np.sin(p["s"]) * p["W"]},
            {"s": np.array(0.4), "W": W23},
        ),
    ),
    ok(
        "vectorized",
        lambda: gc.check_grad(np.sin, np.cos, P0, vectorized=True),
    ),
    ok("complex step", lambda: gc.check_grad(sin_sum, np.cos, P0, complex_step=True)),
    ok("check_vjp full", lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, (P0,))),
    ok(
        "check_vjp fast",
        lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, (P0,), mode="fast", seed=3),
    ),
    ok(
        "check_vjp, wrong",
        lambda: gc.check_vjp(
            sin_vjp_forward, lambda d, x: (WRONG * d * np.cos(x),), (P0,), names=("x",)
        ),
        "fail",
        where=("x", ()),
    ),
    ok(
        "check_vjp, 0-d and 2-d arguments",
        lambda: gc.check_vjp(
            lambda s, W: (s * W, (s, W)),
            lambda d, c: (np.sum(d * c[1]), d * c[0]),
            (np.array(1.5), W23),
        ),
    ),
    ok("check_jacobian 0-d in and out", lambda: gc.check_jacobian(np.sin, np.cos, P0)),
    ok(
        "check_jacobian 0-d in, vector out",
        lambda: gc.check_jacobian(lambda s: s * X3, lambda s: X3.copy(), np.array(2.0)),
    ),
    ok(
        "check_jacobian vector in, 0-d out",
        lambda: gc.check_jacobian(lambda x: np.sum(x**2), lambda x: 2 * x, X3),
    ),
    ok(
        "check_jacobian 0-d, wrong",
        lambda: gc.check_jacobian(np.sin, lambda x: WRONG * np.cos(x), P0),
        "fail",
        where=("J", ()),
    ),
]


@pytest.mark.parametrize(("run", "status", "expect"), ZERO_D)
def test_zero_d_parameters_work_in_every_checker_and_mode(run, status, expect):
    _verdict(run, status, expect)


def test_assert_grad_raises_on_a_wrong_zero_d_gradient():
    with pytest.raises(GradientMismatch, match=r"FAIL .*\n(.|\n)*params: analytic"):
        gc.assert_grad(sin_sum, lambda p: WRONG * np.cos(p), P0)


# --- in-place writes, and nondeterminism --------------------------------------------------

MODIFIED = "modified `{}` in place. gradcheck gives every call fresh arrays"


def f_scales_in_place(x: Any) -> float:
    x *= 1.0  # writes, changes nothing
    return sin_sum(x)


def f_adds_in_place(x: Any) -> float:
    v = sin_sum(x)
    x += 1.0
    return v


def f_zeroes_a_leaf(p: Any) -> float:
    v = sin_dict(p)
    p["W"][0] = 0.0
    return v


def f_exp_out(x: Any) -> float:
    return float(np.sum(np.exp(x, out=x)))


def jac_writes_x(x: Any) -> Any:
    J = np.diag(np.cos(x))
    x += 1.0
    return J


def f_sin_writes_x(x: Any) -> Any:
    y = np.sin(x)
    x[0] = 0.0
    return y


def f_writes_constant(p: Any) -> float:
    v = float(np.sum(np.sin(p["x"]) * p["y"]))
    p["y"][0] = 9
    return v


def grad_zeroes_its_input(x: Any) -> Any:
    g = np.cos(x)
    x *= 0.0
    return g


def sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """CS231n's lstm_step_forward: out = (next_h, next_c)."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 2 * H : 3 * H])
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return (next_h, next_c), (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dout, cache):
    """CS231n's lstm_step_backward, with its ``dnext_c += ...`` on the upstream gradient."""
    dnext_h, dnext_c = dout
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    t = np.tanh(next_c)
    dnext_c += dnext_h * o * (1 - t**2)
    da = np.hstack(
        [
            dnext_c * g * i * (1 - i),
            dnext_c * prev_c * f * (1 - f),
            dnext_h * t * o * (1 - o),
            dnext_c * i * (1 - g**2),
        ]
    )
    return da @ Wx.T, da @ Wh.T, dnext_c * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_args() -> tuple[Any, ...]:
    rng = np.random.default_rng(7)
    N, D, H = 2, 3, 2
    shapes = [(N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,)]
    return tuple(rng.standard_normal(s) * 0.5 for s in shapes)


def affine_forward(x, W, b):
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def affine_backward_writes_dout(dout, cache):
    x, W = cache
    db = dout.sum(axis=0)
    dx, dW = dout @ W.T, x.T @ dout
    dout *= 0.0  # a careless backward clears its input
    return dx, dW, db


def affine_backward_writes_cache(dout, cache):
    x, W = cache
    dx, dW = dout @ W.T, x.T @ dout
    x[...] = 0.0
    return dx, dW, dout.sum(axis=0)


def affine_forward_writes_x(x, W, b):
    out = x @ W + b
    x *= 2.0
    return out, (x / 2.0, W)


def counter_f() -> Any:
    calls = [0]

    def f(x: Any) -> float:
        calls[0] += 1
        return float(np.sum(x)) * (1.0 + calls[0] * 2.0**-52)

    return f


def counter_grad() -> Any:
    calls = [0]

    def grad(x: Any) -> Any:
        calls[0] += 1
        return np.ones_like(x) * (1.0 + calls[0] * 2.0**-52)

    return grad


def drifting_f() -> Any:
    calls = [0]

    def f(x: Any) -> float:
        calls[0] += 1
        return float(np.sum(x)) + (1e-3 if calls[0] > 3 else 0.0)  # after the determinism check

    return f


XA = (np.arange(6.0).reshape(2, 3) / 5, W23.T.copy(), np.array([0.1, -0.2]))

IN_PLACE = [
    ok(
        "f: x *= 1.0 (full)",
        lambda: gc.check_grad(f_scales_in_place, np.cos, X3),
        note="f needs writable arrays (numpy: output array is read-only)",
    ),
    ok(
        "f: x *= 1.0 (fast)",
        lambda: gc.check_grad(f_scales_in_place, np.cos, X3, mode="fast", seed=4),
        note="f needs writable arrays",
    ),
    ok(
        "f: x *= 1.0 (vectorized)",
        lambda: gc.check_grad(
            lambda x: np.sum(np.sin(x.__imul__(1.0)), axis=-1), np.cos, X3, vectorized=True
        ),
        note="f needs writable arrays",
    ),
    ok(
        "f: x += 1 after use",
        lambda: gc.check_grad(f_adds_in_place, np.cos, X3),
        note=MODIFIED.format("params"),
    ),
    ok(
        "f: x += 1 after use (fast)",
        lambda: gc.check_grad(f_adds_in_place, np.cos, X3, mode="fast", seed=5),
        note=MODIFIED.format("params"),
    ),
    ok(
        "f: zeroes a dict leaf",
        lambda: gc.check_grad(f_zeroes_a_leaf, cos_dict, {"W": W23, "b": B3}),
        note=MODIFIED.format("params['W']"),
    ),
    ok(
        "f: np.exp(x, out=x)",
        lambda: gc.check_grad(f_exp_out, np.exp, X3),
        note=MODIFIED.format("params"),
    ),
    ok(
        "f writes and the gradient is wrong",
        lambda: gc.check_grad(f_adds_in_place, lambda x: planted(np.cos(x), 1), X3),
        "fail",
        where=("params", (1,)),
        note=MODIFIED.format("params"),
    ),
    ok(
        "grad zeroes its input",
        lambda: gc.check_grad(sin_sum, grad_zeroes_its_input, X3),
        note="grad " + MODIFIED.format("params"),
    ),
    ok(
        "CS231n lstm_step_backward: dnext_c += ...",
        lambda: gc.check_vjp(lstm_step_forward, lstm_step_backward, lstm_args(), seed=6),
        note="backward modified `dout` in place",
    ),
    ok(
        "CS231n lstm_step_backward (fast)",
        lambda: gc.check_vjp(
            lstm_step_forward, lstm_step_backward, lstm_args(), mode="fast", seed=7
        ),
        note="backward modified `dout` in place",
    ),
    ok(
        "backward clears dout",
        lambda: gc.check_vjp(affine_forward, affine_backward_writes_dout, XA, seed=8),
        note="backward modified `dout` in place",
    ),
    ok(
        "backward writes into x through the cache",
        lambda: gc.check_vjp(
            affine_forward, affine_backward_writes_cache, XA, names=("x", "W", "b"), seed=9
        ),
        note="backward modified `x` in place",
    ),
    ok(
        "forward doubles x in place",
        lambda: gc.check_vjp(
            affine_forward_writes_x, affine_backward, XA, names=("x", "W", "b"), seed=10
        ),
        note="forward modified `x` in place",
    ),
    ok(
        "jac writes into x",
        lambda: gc.check_jacobian(np.sin, jac_writes_x, X3),
        note="jac " + MODIFIED.format("x"),
    ),
    ok(
        "f of check_jacobian writes into x",
        lambda: gc.check_jacobian(f_sin_writes_x, lambda x: np.diag(np.cos(x)), X3),
        note="f " + MODIFIED.format("x"),
    ),
    ok(
        "f writes into a constant",
        lambda: gc.check_grad(
            f_writes_constant,
            lambda p: {"x": np.cos(p["x"]) * p["y"]},
            {"x": X3, "y": np.array([1, 2, 3])},
            wrt="x",
        ),
        note="f " + MODIFIED.format("params['y']"),
    ),
    ok(
        "nothing written: no note",
        lambda: gc.check_grad(sin_sum, np.cos, X3),
        notes=(),
    ),
]


@pytest.mark.parametrize(("run", "status", "expect"), IN_PLACE)
def test_in_place_writes_are_checked_and_noted(run, status, expect):
    _verdict(run, status, expect)


def test_the_users_arrays_are_untouched_whatever_the_callbacks_write():
    args = tuple(a.copy() for a in lstm_args())
    before = [a.copy() for a in args]
    gc.check_vjp(lstm_step_forward, lstm_step_backward, args, seed=11)
    x = X3.copy()
    gc.check_grad(f_adds_in_place, grad_zeroes_its_input, x, mode="fast", seed=12)
    assert all(np.array_equal(a, b) for a, b in zip(args, before, strict=True))
    assert np.array_equal(x, X3)


_TWO = re.compile(r"returned (\S+) and then (\S+) at the same point")


@pytest.mark.parametrize(
    ("what", "run"),
    [
        pytest.param("f", lambda: gc.check_grad(counter_f(), np.ones_like, X3), id="f"),
        pytest.param(
            "grad", lambda: gc.check_grad(lambda x: float(np.sum(x)), counter_grad(), X3), id="grad"
        ),
    ],
)
def test_nondeterminism_prints_both_values_at_full_precision(what, run):
    # the two values differ in the last bit: printed with 8 digits they looked identical
    with pytest.raises(NondeterministicError) as info:
        run()
    msg = str(info.value)
    if what == "f":
        a, b = _TWO.search(msg).groups()
    else:
        a, b = re.search(r"gave (\S+) and then (\S+) for params\[0\]", msg).groups()
    assert float(a) != float(b), msg
    assert abs(float(a) - float(b)) <= 4 * np.finfo(float).eps * abs(float(a))


def test_state_that_drifts_during_the_check_is_named_with_both_values():
    with pytest.raises(NondeterministicError, match=r"at the start of the check and at the end"):
        gc.check_grad(drifting_f(), np.ones_like, X3)


# --- dtypes ---------------------------------------------------------------------------------

X32 = X3.astype(np.float32)


def f_float32_only(x: Any) -> float:
    assert x.dtype == np.float32, "this f insists on float32"
    return float(np.sum(np.sin(x)))


DTYPES = [
    ok(
        "float32 params, float64 gradient",
        lambda: gc.check_grad(sin_sum, lambda x: np.cos(x.astype(np.float64)), X32),
        text="dtypes: parameters float32, gradient float64",
    ),
    ok(
        "float32 params, float64 gradient, wrong",
        lambda: gc.check_grad(sin_sum, lambda x: planted(np.cos(x.astype(np.float64)), 2), X32),
        "fail",
        where=("params", (2,)),
    ),
    ok(
        "float32 params, float64 gradient (fast)",
        lambda: gc.check_grad(
            sin_sum, lambda x: np.cos(x.astype(np.float64)), X32, mode="fast", seed=13
        ),
    ),
    ok(
        "float64 params, float32 gradient",
        lambda: gc.check_grad(sin_sum, lambda x: np.cos(x).astype(np.float32), X3),
        text="dtypes: parameters float64, gradient float32",
    ),
    ok(
        "float64 params, float32 gradient, wrong",
        lambda: gc.check_grad(sin_sum, lambda x: planted(np.cos(x), 0).astype(np.float32), X3),
        "fail",
        where=("params", (0,)),
    ),
    ok(
        "float64 params, float16 gradient",
        lambda: gc.check_grad(sin_sum, lambda x: np.cos(x).astype(np.float16), X3),
    ),
    ok(
        "float64 params, float16 gradient 50 % wrong",
        lambda: gc.check_grad(sin_sum, lambda x: planted(np.cos(x), 1, 1.5).astype(np.float16), X3),
        "fail",
        where=("params", (1,)),
    ),
    ok("f insists on float32", lambda: gc.check_grad(f_float32_only, np.cos, X32)),
    ok(
        "mixed float32 and float64 leaves",
        lambda: gc.check_grad(sin_dict, cos_dict, {"W": W23.astype(np.float32), "b": B3}),
        text="dtypes: params['W'] float32, params['b'] float64",
    ),
    ok(
        "check_vjp: forward computes in float32, float64 arguments",
        lambda: gc.check_vjp(
            lambda x, W: ((x.astype(np.float32) @ W.astype(np.float32)), (x, W)),
            lambda d, c: ((d @ c[1].T).astype(np.float32), (c[0].T @ d).astype(np.float32)),
            (XA[0], XA[1]),
            seed=14,
        ),
        text="gradient float32",
    ),
    ok(
        "check_vjp: float32 all through",
        lambda: gc.check_vjp(
            affine_forward, affine_backward, tuple(a.astype(np.float32) for a in XA), seed=15
        ),
        text="dtypes: parameters float32",
    ),
    ok(
        "check_vjp: float32 forward, wrong backward",
        lambda: gc.check_vjp(
            lambda x, W: ((x.astype(np.float32) @ W.astype(np.float32)), (x, W)),
            lambda d, c: (d @ c[1].T, planted(c[0].T @ d, 3, 1.5)),
            (XA[0], XA[1]),
            names=("x", "W"),
            seed=16,
        ),
        "fail",
        where=("W", (1, 1)),
    ),
    ok(
        "check_jacobian: float32 jac of float64 x",
        lambda: gc.check_jacobian(np.sin, lambda x: np.diag(np.cos(x)).astype(np.float32), X3),
        text="gradient float32",
    ),
]


@pytest.mark.parametrize(("run", "status", "expect"), DTYPES)
def test_dtypes_are_accepted_judged_and_stated(run, status, expect):
    _verdict(run, status, expect)


def test_the_result_records_the_gradient_dtype():
    res = gc.check_grad(sin_sum, lambda x: np.cos(x.astype(np.float64)), X32)
    assert (res.params[0].dtype, res.params[0].grad_dtype) == ("float32", "float64")
    assert res.to_dict()["params"][0]["grad_dtype"] == "float64"


# --- structures -----------------------------------------------------------------------------

Pair = collections.namedtuple("Pair", ["W", "b"])


@dataclasses.dataclass
class Layer:
    W: Any
    b: Any


@dataclasses.dataclass(frozen=True)
class FrozenLayer:
    W: Any
    b: Any


@dataclasses.dataclass
class Hidden:
    W: Any
    cache: Any = dataclasses.field(init=False, default=None)


def deep(n: int, container: Any) -> Any:
    node: Any = np.ones(2)
    for _ in range(n):
        node = container(node)
    return node


def cyclic_dict() -> dict[str, Any]:
    d: dict[str, Any] = {"W": np.ones(2)}
    d["self"] = d
    return d


def cyclic_list() -> list[Any]:
    a: list[Any] = [np.ones(2)]
    a.append(a)
    return a


def f_needs(kind: type) -> Any:
    def f(p: Any) -> float:
        assert type(p) is kind, f"f got a {type(p).__name__}"
        return float(np.sum(np.sin(p.W)) + np.sum(p.b**2))

    return f


class Opaque:
    pass


STRUCTURES_OK = [
    ok(
        "dict keys in another order",
        lambda: gc.check_grad(
            sin_dict, lambda p: {"b": 2 * p["b"], "W": np.cos(p["W"])}, {"W": W23, "b": B3}
        ),
    ),
    ok(
        "nested dict keys in another order",
        lambda: gc.check_grad(
            lambda p: sin_dict(p["layer"]),
            lambda p: {"layer": {"b": 2 * p["layer"]["b"], "W": np.cos(p["layer"]["W"])}},
            {"layer": {"W": W23, "b": B3}},
        ),
    ),
    ok(
        "keys in another order, the right key blamed",
        lambda: gc.check_grad(
            sin_dict,
            lambda p: {"b": planted(2 * p["b"], 2), "W": np.cos(p["W"])},
            {"W": W23, "b": B3},
        ),
        "fail",
        where=("params['b']", (2,)),
    ),
    ok(
        "namedtuple rebuilt as itself",
        lambda: gc.check_grad(f_needs(Pair), lambda p: Pair(np.cos(p.W), 2 * p.b), Pair(W23, B3)),
    ),
    ok(
        "namedtuple, gradient a plain tuple",
        lambda: gc.check_grad(f_needs(Pair), lambda p: (np.cos(p.W), 2 * p.b), Pair(W23, B3)),
    ),
    ok(
        "namedtuple field named in a failure",
        lambda: gc.check_grad(
            f_needs(Pair), lambda p: Pair(planted(np.cos(p.W), 4), 2 * p.b), Pair(W23, B3)
        ),
        "fail",
        where=("params.W", (1, 1)),
    ),
    ok(
        "dataclass rebuilt as itself",
        lambda: gc.check_grad(
            f_needs(Layer), lambda p: Layer(np.cos(p.W), 2 * p.b), Layer(W23, B3)
        ),
    ),
    ok(
        "dataclass, gradient a dict",
        lambda: gc.check_grad(
            f_needs(Layer), lambda p: {"b": 2 * p.b, "W": np.cos(p.W)}, Layer(W23, B3)
        ),
    ),
    ok(
        "frozen dataclass",
        lambda: gc.check_grad(
            f_needs(FrozenLayer), lambda p: FrozenLayer(np.cos(p.W), 2 * p.b), FrozenLayer(W23, B3)
        ),
    ),
    ok(
        "OrderedDict rebuilt as itself",
        lambda: gc.check_grad(
            lambda p: sin_dict(p) if type(p) is collections.OrderedDict else float("nan"),
            cos_dict,
            collections.OrderedDict(W=W23, b=B3),
        ),
    ),
    ok(
        "list params, tuple gradient",
        lambda: gc.check_grad(
            lambda p: sin_sum(p[0]) + sin_sum(p[1]),
            lambda p: (np.cos(p[0]), np.cos(p[1])),
            [W23, B3],
        ),
    ),
    ok(
        "tuple params, list gradient",
        lambda: gc.check_grad(
            lambda p: sin_sum(p[0]) + sin_sum(p[1]),
            lambda p: [np.cos(p[0]), np.cos(p[1])],
            (W23, B3),
        ),
    ),
    ok(
        "nested list of dicts, path named",
        lambda: gc.check_grad(
            lambda p: sin_sum(p[0]["W"]) + sin_sum(p[1]["W"]),
            lambda p: [{"W": np.cos(p[0]["W"])}, {"W": planted(np.cos(p[1]["W"]), 5)}],
            [{"W": W23}, {"W": W23 / 2}],
        ),
        "fail",
        where=("params[1]['W']", (1, 2)),
    ),
    ok(
        "a 90-deep list (under the limit)",
        lambda: gc.check_grad(
            lambda p: sin_sum(np.asarray(_unwrap(p))),
            lambda p: _wrap(np.cos(_unwrap(p)), 90),
            deep(90, lambda n: [n]),
        ),
    ),
]


def _unwrap(node: Any) -> Any:
    while isinstance(node, list):
        node = node[0]
    return node


def _wrap(a: Any, n: int) -> Any:
    for _ in range(n):
        a = [a]
    return a


@pytest.mark.parametrize(("run", "status", "expect"), STRUCTURES_OK)
def test_structures_are_read_and_rebuilt(run, status, expect):
    _verdict(run, status, expect)


def _grad(g: Any) -> Any:
    return lambda p: g


STRUCTURE_ERRORS = [
    bad(
        "a dict that contains itself",
        lambda: gc.check_grad(sin_sum, np.cos, cyclic_dict()),
        BadValue,
        r"params\['self'\] contains itself \(a reference cycle\)",
    ),
    bad(
        "a list that contains itself",
        lambda: gc.check_grad(sin_sum, np.cos, cyclic_list()),
        BadValue,
        r"params\[1\] contains itself",
    ),
    bad(
        "5,000-deep list",
        lambda: gc.check_grad(sin_sum, np.cos, deep(5000, lambda n: [n])),
        BadValue,
        r"nested more than 100 levels deep.*flat dict",
    ),
    bad(
        "5,000-deep dict",
        lambda: gc.check_grad(sin_sum, np.cos, deep(5000, lambda n: {"a": n})),
        BadValue,
        r"nested more than 100 levels deep",
    ),
    bad(
        "5,000-deep tuple argument of check_vjp",
        lambda: gc.check_vjp(affine_forward, affine_backward, (deep(5000, lambda n: (n,)),)),
        BadValue,
        r"nested more than 100 levels",
    ),
    bad(
        "masked array",
        lambda: gc.check_grad(sin_sum, np.cos, np.ma.array([1.0, 2.0], mask=[0, 1])),
        BadType,
        r"params is a numpy masked array.*apply the mask inside f",
    ),
    bad(
        "masked array in a dict",
        lambda: gc.check_grad(sin_dict, cos_dict, {"W": np.ma.array(W23), "b": B3}),
        BadType,
        r"params\['W'\] is a numpy masked array",
    ),
    bad(
        "masked gradient",
        lambda: gc.check_grad(sin_sum, lambda x: np.ma.array(np.cos(x)), X3),
        BadType,
        r"grad\(params\) is a numpy masked array: return a plain ndarray",
    ),
    bad(
        "np.matrix",
        lambda: gc.check_grad(sin_sum, np.cos, matrix([[1.0, 2.0]])),
        BadType,
        r"np.matrix.*np.asarray",
    ),
    bad(
        "an object leaf",
        lambda: gc.check_grad(sin_sum, np.cos, {"W": Opaque()}),
        BadType,
        r"params\['W'\] is an Opaque, not an ndarray.*use a dict of its arrays",
    ),
    bad(
        "a python float",
        lambda: gc.check_grad(sin_sum, np.cos, 0.5),
        BadType,
        (
            r"params is a float, not an ndarray: wrap it with "
            r"np.asarray\(\.\.\., dtype=float\) \(a scalar becomes a 0-d array\)"
        ),
    ),
    bad(
        "a list of floats",
        lambda: gc.check_grad(sin_sum, np.cos, [0.5, 1.0]),
        BadType,
        r"params\[0\] is a float, not an ndarray",
    ),
    bad(
        "a dataclass __init__ cannot rebuild",
        lambda: gc.check_grad(sin_sum, np.cos, Hidden(X3)),
        BadType,
        r"Hidden dataclass whose field\(s\) \['cache'\] are not __init__ arguments.*use a dict",
    ),
    bad(
        "gradient misses a key",
        lambda: gc.check_grad(sin_dict, _grad({"W": np.cos(W23)}), {"W": W23, "b": B3}),
        BadType,
        r"grad\(params\) has no gradient for params\['b'\] \(it has 'W'\)",
    ),
    bad(
        "gradient has an extra key",
        lambda: gc.check_grad(sin_dict, lambda p: {**cos_dict(p), "c": B3}, {"W": W23, "b": B3}),
        BadType,
        r"has gradients for 'c', which is not a parameter",
    ),
    bad(
        "gradient of a nested dict misses a key",
        lambda: gc.check_grad(
            lambda p: sin_dict(p["l"]), _grad({"l": {"W": np.cos(W23)}}), {"l": {"W": W23, "b": B3}}
        ),
        BadType,
        (
            r"grad\(params\)\['l'\] has keys \['W'\] but params\['l'\] has \['W', 'b'\]; missing "
            r"\['b'\]"
        ),
    ),
    bad(
        "gradient list too short",
        lambda: gc.check_grad(sin_tree, _grad([np.cos(W23)]), [W23, B3]),
        BadType,
        (
            r"returned 1 gradient; it must return 2: one per checked parameter, in order "
            r"\(params\[0\], params\[1\]\)"
        ),
    ),
    bad(
        "gradient a dict for list params",
        lambda: gc.check_grad(sin_tree, _grad({"a": B3}), [W23, B3]),
        BadType,
        r"returned \{'a': array\}, but params is \[array, array\]",
    ),
    bad(
        "gradient None",
        lambda: gc.check_grad(sin_sum, _grad(None), X3),
        BadType,
        (
            r"grad\(params\) is a NoneType, not an ndarray: return the gradient of params as an "
            r"ndarray of shape \(3,\)"
        ),
    ),
    bad(
        "gradient a list for an array",
        lambda: gc.check_grad(sin_sum, _grad([1.0, 2.0, 3.0]), X3),
        BadType,
        r"grad\(params\) is a list, not an ndarray",
    ),
    bad(
        "gradient nested list of another length",
        lambda: gc.check_grad(sin_tree, _grad({"l": [B3]}), {"l": [B3, B3]}),
        BadType,
        r"grad\(params\)\['l'\] has 1 items but params\['l'\] has 2",
    ),
    bad(
        "gradient of the wrong shape",
        lambda: gc.check_grad(
            sin_dict, lambda p: {"W": np.cos(p["W"]).T, "b": 2 * p["b"]}, {"W": W23, "b": B3}
        ),
        BadValue,
        r"grad\(params\)\['W'\] has shape \(3, 2\), but params\['W'\] has shape \(2, 3\)",
    ),
    bad(
        "a 0-d gradient for a vector",
        lambda: gc.check_grad(sin_sum, lambda x: 1.0, X3),
        BadType,
        r"grad\(params\) is a float, not an ndarray",
    ),
    bad(
        "empty dict",
        lambda: gc.check_grad(sin_sum, np.cos, {}),
        BadValue,
        r"`params` holds no arrays to check",
    ),
    bad(
        "empty array",
        lambda: gc.check_grad(sin_sum, np.cos, np.zeros((2, 0))),
        BadValue,
        r"params is empty \(shape \(2, 0\)\)",
    ),
    bad(
        "only constants",
        lambda: gc.check_grad(sin_sum, np.cos, {"i": np.arange(3)}, wrt=()),
        BadValue,
        r"`wrt` is empty",
    ),
]


@pytest.mark.parametrize(("run", "error", "match"), STRUCTURE_ERRORS)
def test_bad_structures_get_a_typed_error(run, error, match):
    _error(run, error, match)


# --- constants (wrt) and labels ---------------------------------------------------------------

Y = np.array([0, 2, 1])


def xent(p: Any) -> float:
    """Softmax cross-entropy of scores x @ W + b for integer labels y (a constant)."""
    s = p["x"] @ p["W"] + p["b"]
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return float(-np.sum(logp[np.arange(len(p["y"])), p["y"]]))


def xent_grad(p: Any) -> dict[str, Any]:
    s = p["x"] @ p["W"] + p["b"]
    e = np.exp(s - s.max(axis=1, keepdims=True))
    ds = e / e.sum(axis=1, keepdims=True)
    ds[np.arange(len(p["y"])), p["y"]] -= 1
    return {"W": p["x"].T @ ds, "b": ds.sum(axis=0)}


XENT = {"x": RNG.standard_normal((3, 2)), "W": W23.copy(), "b": B3.copy(), "y": Y}


def embed_forward(idx, W):
    return W[idx], (idx, W.shape)


def embed_backward(dout, cache):
    idx, shape = cache
    dW = np.zeros(shape)
    np.add.at(dW, idx, dout)
    return dW


def conv1d_forward(x, w, b, conv_param):
    s = conv_param["stride"]
    cols = np.stack([x[:, i : i + w.size] for i in range(0, x.shape[1] - w.size + 1, s)], axis=1)
    return cols @ w + b, (x, w, cols, conv_param)


def conv1d_backward(dout, cache):
    x, w, cols, conv_param = cache
    s = conv_param["stride"]
    dx = np.zeros_like(x)
    for k in range(cols.shape[1]):
        dx[:, k * s : k * s + w.size] += dout[:, k : k + 1] * w
    return dx, np.einsum("nk,nkw->w", dout, cols), dout.sum()


def pool_forward(x, pool_param):
    out = x.reshape(x.shape[0], -1, pool_param["size"]).max(axis=2)
    return out, (x, out, pool_param)


def pool_backward(dout, cache):
    x, out, pool_param = cache
    windows = x.reshape(x.shape[0], -1, pool_param["size"])
    mask = windows == out[..., None]
    return (mask * dout[..., None]).reshape(x.shape)


def bn_train_forward(x, gamma, beta, bn_param):
    mu, var = x.mean(axis=0), x.var(axis=0)
    running = bn_param.setdefault("running_mean", np.zeros(x.shape[1]))
    running *= 0.9  # CS231n updates the running mean in place
    running += 0.1 * mu
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return gamma * xhat + beta, (xhat, gamma, 1 / np.sqrt(var + 1e-5))


def bn_backward(dout, cache):
    xhat, gamma, inv = cache
    dxhat = dout * gamma
    dx = inv * (dxhat - dxhat.mean(axis=0) - xhat * np.mean(dxhat * xhat, axis=0))
    return dx, np.sum(dout * xhat, axis=0), dout.sum(axis=0)


def dict_arg_forward(x, params):
    return np.tanh(x @ params["W"] + params["b"]), (x, params)


def dict_arg_backward(dout, cache, wrong=False):
    x, params = cache
    da = dout * (1 - np.tanh(x @ params["W"] + params["b"]) ** 2)
    dW = x.T @ da
    return da @ params["W"].T, {"b": da.sum(axis=0), "W": planted(dW, 1) if wrong else dW}


POOL_X = RNG.standard_normal((2, 6))
CONV_X = RNG.standard_normal((2, 7))
BN_X = RNG.standard_normal((5, 3))

CONSTANTS = [
    ok(
        "check_grad: integer labels left out",
        lambda: gc.check_grad(
            xent, lambda p: {**xent_grad(p), "x": _dx(p)}, XENT, wrt=("x", "W", "b")
        ),
    ),
    ok("check_grad: only W and b", lambda: gc.check_grad(xent, xent_grad, XENT, wrt=("W", "b"))),
    ok(
        "check_grad: wrt one name",
        lambda: gc.check_grad(xent, lambda p: {"W": xent_grad(p)["W"]}, XENT, wrt="W"),
    ),
    ok(
        "check_grad: gradient has None for the constants",
        lambda: gc.check_grad(
            xent, lambda p: {**xent_grad(p), "x": None, "y": None}, XENT, wrt=("W", "b")
        ),
    ),
    ok(
        "check_grad: wrong W named",
        lambda: gc.check_grad(
            xent,
            lambda p: {"W": planted(xent_grad(p)["W"], 4), "b": xent_grad(p)["b"]},
            XENT,
            wrt=("W", "b"),
        ),
        "fail",
        where=("params['W']", (1, 1)),
    ),
    ok(
        "check_grad: list params, wrt index",
        lambda: gc.check_grad(
            lambda p: float(np.sum(np.sin(p[0])[p[1]])),
            lambda p: (np.cos(p[0]) * np.bincount(p[1], minlength=3),),
            [X3, np.array([0, 2, 2])],
            wrt=(0,),
        ),
    ),
    ok(
        "check_grad: settings dict and None as constants",
        lambda: gc.check_grad(
            lambda p: p["cfg"]["scale"] * sin_sum(p["x"]),
            lambda p: {"x": p["cfg"]["scale"] * np.cos(p["x"])},
            {"x": X3, "cfg": {"scale": 3, "name": "s"}, "extra": None},
            wrt="x",
        ),
    ),
    ok(
        "check_grad: float targets as constants (fast)",
        lambda: gc.check_grad(
            lambda p: float(np.sum((p["x"] - p["t"]) ** 2)),
            lambda p: {"x": 2 * (p["x"] - p["t"])},
            {"x": X3, "t": X3[::-1].copy()},
            wrt="x",
            mode="fast",
            seed=17,
        ),
    ),
    ok(
        "check_grad: a mask constant",
        lambda: gc.check_grad(
            lambda p: float(np.sum(np.sin(p["x"])[p["m"]])),
            lambda p: {"x": np.cos(p["x"]) * p["m"]},
            {"x": X3, "m": np.array([True, False, True])},
            wrt="x",
        ),
    ),
    ok(
        "check_vjp: embedding, integer indices a constant",
        lambda: gc.check_vjp(
            embed_forward,
            embed_backward,
            (np.array([[0, 2], [2, 1]]), W23.T.copy()),
            names=("idx", "W"),
            wrt=("W",),
            seed=18,
        ),
    ),
    ok(
        "check_vjp: wrt by index, backward returns every gradient",
        lambda: gc.check_vjp(
            embed_forward,
            lambda d, c: (None, embed_backward(d, c)),
            (np.array([1, 1, 0]), W23.T.copy()),
            wrt=(1,),
            seed=19,
        ),
    ),
    ok(
        "check_vjp: conv_param dict a constant",
        lambda: gc.check_vjp(
            conv1d_forward,
            conv1d_backward,
            (CONV_X, np.array([0.5, -1.0, 0.25]), np.array(0.1), {"stride": 2}),
            names=("x", "w", "b", "conv_param"),
            wrt=("x", "w", "b"),
            seed=20,
        ),
    ),
    ok(
        "check_vjp: conv, wrong dw named",
        lambda: gc.check_vjp(
            conv1d_forward,
            lambda d, c: (lambda g: (g[0], planted(g[1], 1), g[2]))(conv1d_backward(d, c)),
            (CONV_X, np.array([0.5, -1.0, 0.25]), np.array(0.1), {"stride": 2}),
            names=("x", "w", "b", "conv_param"),
            wrt=("x", "w", "b"),
            seed=21,
        ),
        "fail",
        where=("w", (1,)),
    ),
    ok(
        "check_vjp: max pool, backward returns dx alone",
        lambda: gc.check_vjp(pool_forward, pool_backward, (POOL_X, {"size": 2}), wrt=0, seed=22),
    ),
    ok(
        "check_vjp: batch norm updating its bn_param dict",
        lambda: gc.check_vjp(
            bn_train_forward,
            bn_backward,
            (BN_X, np.ones(3) * 1.5, np.zeros(3), {"mode": "train"}),
            wrt=(0, 1, 2),
            seed=23,
        ),
    ),
    ok(
        "check_vjp: keyword arguments, dict backward",
        lambda: gc.check_vjp(
            lambda x, W, b: affine_forward(x, W, b),
            lambda d, c: dict(zip(("x", "W", "b"), affine_backward(d, c), strict=True)),
            {"x": XA[0], "W": XA[1], "b": XA[2]},
            seed=24,
        ),
    ),
    ok(
        "check_vjp: keyword arguments, tuple backward",
        lambda: gc.check_vjp(
            lambda x, W, b: affine_forward(x, W, b),
            affine_backward,
            {"x": XA[0], "W": XA[1], "b": XA[2]},
            seed=25,
        ),
    ),
    ok(
        "check_vjp: keyword arguments, wrong b named",
        lambda: gc.check_vjp(
            lambda x, W, b: affine_forward(x, W, b),
            lambda d, c: (lambda g: {"x": g[0], "W": g[1], "b": planted(g[2], 1)})(
                affine_backward(d, c)
            ),
            {"x": XA[0], "W": XA[1], "b": XA[2]},
            seed=26,
        ),
        "fail",
        where=("b", (1,)),
    ),
    ok(
        "check_vjp: a dict argument, dict gradient",
        lambda: gc.check_vjp(
            dict_arg_forward,
            dict_arg_backward,
            (XA[0], {"W": XA[1], "b": XA[2]}),
            names=("x", "params"),
            seed=27,
        ),
    ),
    ok(
        "check_vjp: a dict argument, wrong W named",
        lambda: gc.check_vjp(
            dict_arg_forward,
            lambda d, c: dict_arg_backward(d, c, wrong=True),
            (XA[0], {"W": XA[1], "b": XA[2]}),
            names=("x", "params"),
            seed=28,
        ),
        "fail",
        where=("params['W']", (0, 1)),
    ),
    ok(
        "check_vjp: dict argument (fast)",
        lambda: gc.check_vjp(
            dict_arg_forward,
            dict_arg_backward,
            (XA[0], {"W": XA[1], "b": XA[2]}),
            names=("x", "params"),
            mode="fast",
            seed=29,
        ),
    ),
    ok(
        "check_vjp: a boolean mask constant",
        lambda: gc.check_vjp(
            lambda x, m: (x * m, m),
            lambda d, m: d * m,
            (X3, np.array([True, False, True])),
            wrt=0,
            seed=30,
        ),
    ),
]


def _dx(p: Any) -> Any:
    s = p["x"] @ p["W"] + p["b"]
    e = np.exp(s - s.max(axis=1, keepdims=True))
    ds = e / e.sum(axis=1, keepdims=True)
    ds[np.arange(len(p["y"])), p["y"]] -= 1
    return ds @ p["W"].T


LABELS = [
    ok(
        "check_grad label",
        lambda: gc.check_grad(sin_sum, np.cos, X3, label="my loss"),
        text="gradcheck my loss: PASS",
    ),
    ok(
        "check_vjp label",
        lambda: gc.check_vjp(affine_forward, affine_backward, XA, label="affine layer", seed=31),
        text="gradcheck affine layer: PASS",
    ),
    ok(
        "check_jacobian label",
        lambda: gc.check_jacobian(np.sin, lambda x: np.diag(np.cos(x)), X3, label="sin"),
        text="gradcheck sin: PASS",
    ),
    ok(
        "assert_grad label",
        lambda: gc.assert_grad(sin_sum, np.cos, X3, label="assert me"),
        text="gradcheck assert me: PASS",
    ),
    ok(
        "default label: the function's name",
        lambda: gc.check_grad(sin_sum, np.cos, X3),
        text="gradcheck sin_sum: PASS",
    ),
]


@pytest.mark.parametrize(("run", "status", "expect"), CONSTANTS + LABELS)
def test_constants_and_labels(run, status, expect):
    _verdict(run, status, expect)


WRT_ERRORS = [
    bad(
        "integer labels without wrt",
        lambda: gc.check_grad(xent, xent_grad, XENT),
        BadType,
        (
            r"params\['y'\] has dtype int64: a gradient needs real floating parameters\. If "
            r"params\['y'\] is a constant \(indices, a mask, targets, settings\), check only the "
            r"others: wrt=\('x', 'W', 'b'\); if it is a parameter, convert it"
        ),
    ),
    bad(
        "integer element of a list",
        lambda: gc.check_grad(sin_sum, np.cos, [X3, np.array([1, 2])]),
        BadType,
        r"params\[1\] has dtype int64.*wrt=\(0,\)",
    ),
    bad(
        "settings dict without wrt",
        lambda: gc.check_grad(sin_sum, np.cos, {"x": X3, "cfg": {"scale": 3}}),
        BadType,
        r"params\['cfg'\]\['scale'\] is an int, not an ndarray.*wrt=\('x',\)",
    ),
    bad(
        "check_vjp: integer indices without wrt",
        lambda: gc.check_vjp(embed_forward, embed_backward, (np.array([0, 1]), W23.T.copy())),
        BadType,
        r"args\[0\] has dtype int64.*wrt=\(1,\)",
    ),
    bad(
        "check_vjp: named, integer indices without wrt",
        lambda: gc.check_vjp(
            embed_forward, embed_backward, (np.array([0, 1]), W23.T.copy()), names=("idx", "W")
        ),
        BadType,
        r"idx has dtype int64.*wrt=\('W',\)",
    ),
    bad(
        "check_vjp: conv_param without wrt",
        lambda: gc.check_vjp(
            conv1d_forward, conv1d_backward, (CONV_X, np.ones(3), np.array(0.1), {"stride": 2})
        ),
        BadType,
        r"args\[3\]\['stride'\] is an int, not an ndarray.*wrt=\(0, 1, 2\)",
    ),
    bad(
        "wrt names an unknown key",
        lambda: gc.check_grad(xent, xent_grad, XENT, wrt=("W", "Q")),
        BadValue,
        r"`wrt` names 'Q', which is not a member: use one of \['x', 'W', 'b', 'y'\]",
    ),
    bad(
        "wrt is empty",
        lambda: gc.check_grad(xent, xent_grad, XENT, wrt=()),
        BadValue,
        r"`wrt` is empty: name at least one member",
    ),
    bad(
        "wrt of the wrong type",
        lambda: gc.check_grad(xent, xent_grad, XENT, wrt=3.5),
        BadType,
        r"`wrt` must be a name, an index, or a tuple of them, not float",
    ),
    bad(
        "wrt on a single array",
        lambda: gc.check_grad(sin_sum, np.cos, X3, wrt="x"),
        BadValue,
        r"`params` is a single array: drop `wrt`",
    ),
    bad(
        "wrt index out of range",
        lambda: gc.check_grad(sin_sum, np.cos, [X3], wrt=(2,)),
        BadValue,
        r"`wrt` names 2, which is not a member: use one of \[0\], or an index 0\.\.0",
    ),
    bad(
        "wrt True is not an index",
        lambda: gc.check_grad(sin_sum, np.cos, [X3, X3], wrt=True),
        BadType,
        r"`wrt` must be a name, an index",
    ),
    bad(
        "wrt index into a dict",
        lambda: gc.check_grad(xent, xent_grad, XENT, wrt=(0,)),
        BadValue,
        r"`wrt` names 0, which is not a member: use one of \['x', 'W', 'b', 'y'\]\.$",
    ),
    bad(
        "check_vjp: wrt unknown name",
        lambda: gc.check_vjp(
            affine_forward, affine_backward, XA, names=("x", "W", "b"), wrt=("x", "V")
        ),
        BadValue,
        r"`wrt` names 'V', which is not a member: use one of \['x', 'W', 'b'\], or an index 0\.\.2",
    ),
    bad(
        "check_vjp: backward returns too few",
        lambda: gc.check_vjp(affine_forward, lambda d, c: affine_backward(d, c)[:2], XA),
        BadType,
        (
            r"backward\(dout, cache\) returned 2 gradients; it must return 3: one per checked "
            r"parameter, in order \(args\[0\], args\[1\], args\[2\]\)"
        ),
    ),
    bad(
        "check_vjp: backward returns one per argument or per checked",
        lambda: gc.check_vjp(
            embed_forward,
            lambda d, c: (None, None, embed_backward(d, c)),
            (np.array([1, 0]), W23.T.copy()),
            wrt=1,
        ),
        BadType,
        r"returned 3 gradients; it must return 1 \(or 2, one per member\)",
    ),
    bad(
        "check_vjp: dict backward with an unknown name",
        lambda: gc.check_vjp(
            affine_forward, lambda d, c: {"x": d, "V": d}, XA, names=("x", "W", "b")
        ),
        BadType,
        r"has gradients for 'V', which is not a parameter",
    ),
    bad(
        "check_vjp: dict backward missing one",
        lambda: gc.check_vjp(
            affine_forward,
            lambda d, c: dict(zip(("x", "W"), affine_backward(d, c)[:2], strict=True)),
            XA,
            names=("x", "W", "b"),
        ),
        BadType,
        r"has no gradient for b",
    ),
    bad(
        "check_vjp: dict argument, list gradient",
        lambda: gc.check_vjp(
            dict_arg_forward,
            lambda d, c: (d, [d]),
            (XA[0], {"W": XA[1], "b": XA[2]}),
            names=("x", "params"),
        ),
        BadType,
        r"backward\(dout, cache\)\[1\] is \[array\], but params is \{'W': array, 'b': array\}",
    ),
    bad(
        "label not a str",
        lambda: gc.check_grad(sin_sum, np.cos, X3, label=3),
        BadType,
        r"`label` names the report: pass a str, not int 3",
    ),
    bad(
        "check_vjp label not a str",
        lambda: gc.check_vjp(affine_forward, affine_backward, XA, label=["x"]),
        BadType,
        r"`label` names the report",
    ),
]


@pytest.mark.parametrize(("run", "error", "match"), WRT_ERRORS)
def test_constants_and_labels_bad_input(run, error, match):
    _error(run, error, match)


# --- bad input: a typed error for everything ------------------------------------------------


def _each_checker(**kw: Any) -> list[Any]:
    """The call of each of the four checkers on a passing problem, with options ``kw``."""
    return [
        ("check_grad", lambda: gc.check_grad(sin_sum, np.cos, X3, **kw)),
        ("assert_grad", lambda: gc.assert_grad(sin_sum, np.cos, X3, **kw)),
        ("check_vjp", lambda: gc.check_vjp(affine_forward, affine_backward, XA, **kw)),
        (
            "check_jacobian",
            lambda: gc.check_jacobian(np.sin, lambda x: np.diag(np.cos(x)), X3, **kw),
        ),
    ]


OPTIONS = [
    ({"rtol": "0.1"}, BadType, r"`rtol` must be a real number, not str '0\.1'"),
    ({"rtol": None}, BadType, r"`rtol` must be a real number, not NoneType None"),
    ({"atol": [0.0]}, BadType, r"`atol` must be a real number, not list"),
    ({"step": "1e-3"}, BadType, r"`step` must be a real number, not str '1e-3'"),
    ({"ulps": "32"}, BadType, r"`ulps` must be a real number, not str '32'"),
    ({"ulps": True}, BadType, r"`ulps` must be a real number, not bool True"),
    ({"mode": None}, BadType, r"`mode` must be one of \('full', 'fast'\), not NoneType"),
    ({"mode": "slow"}, BadValue, r"`mode` must be one of \('full', 'fast'\), not 'slow'"),
    ({"step": 0.0}, BadValue, r"`step` is a relative step in \(0, 1\), not 0\.0"),
    ({"rtol": -1e-3}, BadValue, r"`rtol` must be a finite number >= 0, not -0\.001"),
    ({"atol": float("nan")}, BadValue, r"`atol` must be a finite number >= 0, not nan"),
    ({"ulps": 0.5}, BadValue, r"`ulps` must be a finite number >= 1, not 0\.5"),
]

OPTION_CASES = [
    bad(f"{checker}: {next(iter(kw))}={next(iter(kw.values()))!r}", run, error, match)
    for kw, error, match in OPTIONS
    for checker, run in _each_checker(**kw)
]
OPTION_CASES += [
    bad(
        f"{checker}: vectorized='yes'",
        run,
        BadType,
        r"`vectorized` must be True or False, not str 'yes'",
    )
    for checker, run in _each_checker(vectorized="yes")[:3]
]
OPTION_CASES += [
    bad(
        f"{checker}: seed='1'",
        run,
        BadType,
        r"`seed` must be a non-negative int or None, not a str '1'",
    )
    for checker, run in _each_checker(seed="1")[:3]
]
OPTION_CASES += [
    bad(
        "check_grad: complex_step=1",
        lambda: gc.check_grad(sin_sum, np.cos, X3, complex_step=1),
        BadType,
        r"`complex_step` must be True or False, not int 1",
    ),
    bad(
        "check_jacobian: mode='fast'",
        lambda: gc.check_jacobian(np.sin, np.cos, X3, mode="fast"),
        BadValue,
        r"check_jacobian checks every entry \(mode='full'\).*check_vjp\(\.\.\., mode='fast'\)",
    ),
]


@pytest.mark.parametrize(("run", "error", "match"), OPTION_CASES)
def test_options_of_the_wrong_type_or_range(run, error, match):
    _error(run, error, match)


def _tuple_f(p: Any) -> Any:
    return sin_sum(p), np.cos(p)


BAD_INPUT = [
    bad(
        "f returns (loss, grad)",
        lambda: gc.check_grad(_tuple_f, np.cos, X3),
        BadType,
        (
            r"f\(params\) returned a tuple of 2 items; check_grad needs one scalar loss\. If f "
            r"returns \(loss, cache\) or \(loss, grad\), check `lambda p: f\(p\)\[0\]`"
        ),
    ),
    bad(
        "f returns a list",
        lambda: gc.check_grad(lambda p: [sin_sum(p)], np.cos, X3),
        BadType,
        r"returned a list of 1 items",
    ),
    bad(
        "f returns a ragged tuple",
        lambda: gc.check_grad(lambda p: (1.0, [1, 2]), np.cos, X3),
        BadType,
        r"returned a tuple of 2 items",
    ),
    bad(
        "f returns None",
        lambda: gc.check_grad(lambda p: None, np.cos, X3),
        BadType,
        r"f\(params\) returned NoneType \(object\); return a float",
    ),
    bad(
        "f returns a str",
        lambda: gc.check_grad(lambda p: "1.0", np.cos, X3),
        BadType,
        r"returned str .*return a float",
    ),
    bad(
        "f returns a bool",
        lambda: gc.check_grad(lambda p: True, np.cos, X3),
        BadType,
        r"returned bool \(bool\); return a float",
    ),
    bad(
        "f returns a complex",
        lambda: gc.check_grad(lambda p: complex(sin_sum(p)), np.cos, X3),
        BadType,
        r"returned a complex value",
    ),
    bad(
        "f returns an array",
        lambda: gc.check_grad(np.sin, np.cos, X3),
        BadType,
        r"returned an array of shape \(3,\); check_grad needs a scalar loss",
    ),
    bad(
        "f returns nan",
        lambda: gc.check_grad(lambda p: float("nan"), np.cos, X3),
        BadValue,
        r"f\(params\) is nan at the given point",
    ),
    bad(
        "f returns inf",
        lambda: gc.check_grad(lambda p: float("inf"), np.cos, X3),
        BadValue,
        r"is inf at the given point",
    ),
    bad(
        "params with nan, nested",
        lambda: gc.check_grad(sin_sum, np.cos, {"l": [X3, np.array([[1.0, np.nan]])]}),
        BadValue,
        r"params\['l'\]\[1\]\[0, 1\] is nan: the check needs finite parameters",
    ),
    bad(
        "0-d params inf",
        lambda: gc.check_grad(sin_sum, np.cos, np.array(np.inf)),
        BadValue,
        r"params is inf: the check needs finite",
    ),
    bad(
        "integer params",
        lambda: gc.check_grad(sin_sum, np.cos, np.arange(3)),
        BadType,
        (
            r"params has dtype int64: a gradient needs real floating parameters\. Convert it with "
            r"\.astype\(np\.float64\)"
        ),
    ),
    bad(
        "complex arguments of check_vjp",
        lambda: gc.check_vjp(affine_forward, affine_backward, (X3 + 1j, W23.T, B3[:2])),
        BadType,
        r"args\[0\] is complex \(complex128\): this checker takes real arguments; check_grad "
        r"takes complex parameters",
    ),
    bad(
        "complex params with a real gradient",
        lambda: gc.check_grad(lambda z: float(np.sum(np.abs(z) ** 2)), np.abs, X3 + 1j),
        BadType,
        r"grad\(params\) has dtype float64 for params, whose dtype is complex128",
    ),
    bad(
        "grad nan names the index",
        lambda: gc.check_grad(
            sin_dict,
            lambda p: {"W": planted(np.cos(p["W"]), 5, np.nan), "b": 2 * p["b"]},
            {"W": W23, "b": B3},
        ),
        BadValue,
        (
            r"grad\(params\)\['W'\]\[1, 2\] is nan: the analytic gradient of params\['W'\] must be "
            r"finite"
        ),
    ),
    bad(
        "grad inf at a 0-d parameter",
        lambda: gc.check_grad(sin_sum, lambda p: np.array(np.inf), P0),
        BadValue,
        r"grad\(params\) is inf: the analytic gradient of params must be finite",
    ),
    bad(
        "grad of integers",
        lambda: gc.check_grad(sin_sum, lambda p: np.ones(3, dtype=int), X3),
        BadType,
        r"grad\(params\) has dtype int64: return the gradient of params as real floats",
    ),
    bad(
        "grad complex",
        lambda: gc.check_grad(sin_sum, lambda p: np.cos(p) + 0j, X3),
        BadType,
        r"has dtype complex128",
    ),
    bad(
        "grad bool", lambda: gc.check_grad(sin_sum, lambda p: p > 0, X3), BadType, r"has dtype bool"
    ),
    bad(
        "grad of objects",
        lambda: gc.check_grad(sin_sum, lambda p: np.array([1.0, "a", None], dtype=object), X3),
        BadType,
        r"has dtype object",
    ),
    bad(
        "backward nan names the index",
        lambda: gc.check_vjp(
            affine_forward,
            lambda d, c: (lambda g: (g[0], planted(g[1], 0, np.nan), g[2]))(affine_backward(d, c)),
            XA,
            names=("x", "W", "b"),
        ),
        BadValue,
        r"backward\(dout, cache\)\[1\]\[0, 0\] is nan: the analytic gradient of W must be finite",
    ),
    bad(
        "forward without a cache (2-d output)",
        lambda: gc.check_vjp(lambda x, W, b: x @ W + b, affine_backward, XA),
        BadType,
        (
            r"forward\(\*args\) returned an ndarray, not \(out, cache\).*`lambda \*a: "
            r"\(forward\(\*a\), a\)`"
        ),
    ),
    bad(
        "forward returns three items",
        lambda: gc.check_vjp(lambda x, W, b: (x @ W + b, x, W), affine_backward, XA),
        BadType,
        r"returned a tuple of 3 items, not \(out, cache\)",
    ),
    bad(
        "forward returns a float",
        lambda: gc.check_vjp(lambda x, W, b: 1.0, affine_backward, XA),
        BadType,
        r"returned a float, not \(out, cache\)",
    ),
    bad(
        "forward output None",
        lambda: gc.check_vjp(lambda x, W, b: (None, x), affine_backward, XA),
        BadType,
        r"output 0 is NoneType",
    ),
    bad(
        "forward output integers",
        lambda: gc.check_vjp(lambda x, W, b: (np.ones(2, dtype=int), x), affine_backward, XA),
        BadType,
        r"output 0 is ndarray of dtype int64",
    ),
    bad(
        "forward output shape depends on the values",
        lambda: gc.check_vjp(
            lambda x: (x[x > 0.25], x), select_backward, (np.array([0.1, 0.25 - 1e-9, 0.3, 0.4]),)
        ),
        BadValue,
        (
            r"output 0 has shape \(\d,\) at a perturbed point but \(2,\) at the given point: "
            r"output shapes must not depend on the values"
        ),
    ),
    bad(
        "args an ndarray",
        lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, X3),
        BadType,
        (
            r"`args` must be a tuple of forward's arguments \(e\.g\. `\(x,\)` for one "
            r"argument.*not an ndarray"
        ),
    ),
    bad(
        "args an int",
        lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, 3),
        BadType,
        r"`args` must be a tuple.*not an int",
    ),
    bad(
        "args a generator",
        lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, (a for a in [X3])),
        BadType,
        r"not a generator",
    ),
    bad(
        "args empty",
        lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, ()),
        BadValue,
        r"`args` is empty: pass forward's arguments",
    ),
    bad(
        "args an empty dict",
        lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, {}),
        BadValue,
        r"`args` is empty",
    ),
    bad(
        "names of the wrong length",
        lambda: gc.check_vjp(affine_forward, affine_backward, XA, names=("x",)),
        BadValue,
        r"`names` has 1 names for 3 arguments",
    ),
    bad(
        "names a str",
        lambda: gc.check_vjp(affine_forward, affine_backward, XA, names="xWb"),
        BadType,
        r"`names` must be a sequence of str",
    ),
    bad(
        "names repeated",
        lambda: gc.check_vjp(affine_forward, affine_backward, XA, names=("x", "x", "b")),
        BadValue,
        r"`names` must be distinct strings",
    ),
    bad(
        "backward returns None",
        lambda: gc.check_vjp(affine_forward, lambda d, c: None, XA),
        BadType,
        r"backward\(dout, cache\) returned NoneType, but args is",
    ),
    bad(
        "check_jacobian: x a dict",
        lambda: gc.check_jacobian(np.sin, np.cos, {"x": X3}),
        BadType,
        (
            r"`x` is a dict: check_jacobian takes one ndarray\. For several arguments or a tree of "
            r"them, use check_vjp"
        ),
    ),
    bad(
        "check_jacobian: x a list",
        lambda: gc.check_jacobian(np.sin, np.cos, [X3]),
        BadType,
        r"`x` is a list",
    ),
    bad(
        "check_jacobian: integer x",
        lambda: gc.check_jacobian(np.sin, np.cos, np.arange(3)),
        BadType,
        r"x has dtype int64",
    ),
    bad(
        "check_jacobian: jac of the wrong shape",
        lambda: gc.check_jacobian(np.sin, np.cos, X3),
        BadValue,
        (
            r"jac\(x\) has shape \(3,\); for f\(x\) of shape \(3,\) and x of shape \(3,\) it "
            r"must be "
            r"out\.shape \+ x\.shape = \(3, 3\)"
        ),
    ),
    bad(
        "check_jacobian: jac of integers",
        lambda: gc.check_jacobian(np.sin, lambda x: np.eye(3, dtype=int), X3),
        BadType,
        r"jac\(x\) has dtype int64",
    ),
    bad(
        "check_jacobian: jac nan names out and x index",
        lambda: gc.check_jacobian(np.sin, lambda x: planted(np.diag(np.cos(x)), 7, np.nan), X3),
        BadValue,
        r"jac\(x\)\[2, 1\] is nan.*out index \[2\] \+ x index \[1\]",
    ),
    bad(
        "check_jacobian: jac a list",
        lambda: gc.check_jacobian(np.sin, lambda x: [1.0], X3),
        BadType,
        r"jac\(x\) returned a list",
    ),
    bad(
        "check_jacobian: f returns a tuple",
        lambda: gc.check_jacobian(lambda x: (x, x), lambda x: np.eye(3), X3),
        BadType,
        r"f\(x\) returned a tuple of 2 items; return one float array",
    ),
    bad(
        "vectorized f that does not broadcast",
        lambda: gc.check_grad(sin_sum, np.cos, X3, vectorized=True),
        BadType,
        r"vectorized=True: for a stack of \d+ parameter sets f returned",
    ),
]


@pytest.mark.parametrize(("run", "error", "match"), BAD_INPUT)
def test_bad_input_gets_a_typed_error_saying_what_where_and_what_to_do(run, error, match):
    _error(run, error, match)


# --- the user's numpy error state -----------------------------------------------------------

TINY = np.array([1e-200, 0.5, 2.0])  # the checker's own arithmetic underflows on it


def _raising(run: Any) -> Any:
    def inner() -> Any:
        with np.errstate(all="raise"):
            return run()

    return inner


ERRSTATE = [
    ok("check_grad full", _raising(lambda: gc.check_grad(sin_sum, np.cos, TINY))),
    ok(
        "check_grad fast",
        _raising(lambda: gc.check_grad(sin_sum, np.cos, TINY, mode="fast", seed=32)),
    ),
    ok(
        "check_grad vectorized",
        _raising(
            lambda: gc.check_grad(
                lambda x: np.sum(np.sin(x), axis=-1), np.cos, TINY, vectorized=True
            )
        ),
    ),
    ok("assert_grad", _raising(lambda: gc.assert_grad(sin_sum, np.cos, TINY))),
    ok(
        "check_vjp",
        _raising(lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, (TINY,), seed=33)),
    ),
    ok(
        "check_vjp fast",
        _raising(
            lambda: gc.check_vjp(sin_vjp_forward, sin_vjp_backward, (TINY,), mode="fast", seed=34)
        ),
    ),
    ok(
        "check_jacobian",
        _raising(lambda: gc.check_jacobian(np.sin, lambda x: np.diag(np.cos(x)), TINY)),
    ),
    ok(
        "check_grad, wrong, still named",
        _raising(lambda: gc.check_grad(sin_sum, lambda x: planted(np.cos(x), 2), TINY)),
        "fail",
        where=("params", (2,)),
    ),
]


@pytest.mark.parametrize(("run", "status", "expect"), ERRSTATE)
def test_np_seterr_raise_does_not_reach_the_checkers_own_arithmetic(run, status, expect):
    _verdict(run, status, expect)


def test_the_users_functions_still_run_under_the_users_error_state():
    seen = set()

    def f(x: Any) -> float:
        seen.add(np.geterr()["under"])
        return sin_sum(x)

    def grad(x: Any) -> Any:
        seen.add(np.geterr()["under"])
        return np.cos(x)

    with np.errstate(all="raise"):
        assert gc.check_grad(f, grad, TINY, mode="fast", seed=35).status == "pass"
        assert np.geterr()["under"] == "raise"
    assert seen == {"raise"}
    with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="underflow"):
        gc.check_grad(lambda x: float(np.sum(x**2)), lambda x: 2 * x, TINY)  # the user's own
