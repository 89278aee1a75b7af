"""Bad input gets a typed error that names the argument and the fix; inputs are never modified."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcheck
from gradcheck import InvalidInputError, InvalidTypeError


def _sq(p):
    leaves = p.values() if isinstance(p, dict) else [p]
    return float(sum(np.sum(np.asarray(v, dtype=float) ** 2) for v in leaves))


def _dsq(p):
    return {k: 2 * v for k, v in p.items()} if isinstance(p, dict) else 2 * p


def case(id_, params, error, match, f=_sq, grad=_dsq, **kw):
    return pytest.param(params, f, grad, kw, error, match, id=id_)


CASES = [
    case(
        "nan in params",
        {"W": np.array([1.0, np.nan])},
        InvalidInputError,
        r"params\['W'\]\[1\] is nan",
    ),
    case("inf in params", np.array([np.inf]), InvalidInputError, r"params\[0\] is inf"),
    case(
        "integer params", np.array([1, 2]), InvalidTypeError, r"dtype int64.*astype\(np.float64\)"
    ),
    case(
        "complex params with a real gradient",
        np.array([1j]),
        InvalidTypeError,
        "dtype float64 for params, whose dtype is complex128",
        f=lambda p: float(np.sum(np.abs(p) ** 2)),
        grad=lambda p: np.abs(p),
    ),
    case("empty tree", {}, InvalidInputError, "holds no arrays"),
    case("empty array", np.zeros(0), InvalidInputError, r"is empty \(shape \(0,\)\)"),
    case(
        "python float leaf",
        {"b": 1.0},
        InvalidTypeError,
        r"params\['b'\] is a float, not an ndarray",
    ),
    case(
        "f returns an array",
        np.ones(3),
        InvalidTypeError,
        r"shape \(3,\); check_grad needs a scalar loss",
        f=lambda p: p**2,
    ),
    case(
        "f returns complex", np.ones(2), InvalidTypeError, "complex", f=lambda p: complex(p.sum())
    ),
    case("f returns nan", np.ones(2), InvalidInputError, "finite value", f=lambda p: float("nan")),
    case("f returns a string", np.ones(2), InvalidTypeError, "return a float", f=lambda p: "1.0"),
    case(
        "grad of another structure",
        {"W": np.ones(2), "b": np.ones(1)},
        InvalidTypeError,
        r"grad\(params\) has no gradient for params\['b'\] \(it has 'W'\)",
        grad=lambda p: {"W": 2 * p["W"]},
    ),
    case(
        "grad of another shape",
        {"W": np.ones((2, 3))},
        InvalidInputError,
        r"grad\(params\)\['W'\] has shape \(3, 2\), but params\['W'\] has shape \(2, 3\)",
        grad=lambda p: {"W": 2 * p["W"].T},
    ),
    case(
        "grad of an integer dtype",
        np.ones(2),
        InvalidTypeError,
        r"grad\(params\) has dtype int64: return the gradient of params as real floats",
        grad=lambda p: np.full(2, 2, dtype=np.int64),
    ),
    case(
        "grad with nan", np.ones(2), InvalidInputError, "must be finite", grad=lambda p: p * np.nan
    ),
    case("bad mode", np.ones(2), InvalidInputError, "`mode` must be one of", mode="slow"),
    case(
        "negative rtol",
        np.ones(2),
        InvalidInputError,
        "`rtol` must be a finite number >= 0",
        rtol=-1.0,
    ),
    case("step out of range", np.ones(2), InvalidInputError, "relative step in", step=2.0),
    case(
        "complex step in fast mode",
        np.ones(2),
        InvalidInputError,
        'Use mode="full"',
        mode="fast",
        complex_step=True,
    ),
]


@pytest.mark.parametrize(("params", "f", "grad", "kw", "error", "match"), CASES)
def test_bad_input_raises_a_typed_error_naming_it(params, f, grad, kw, error, match):
    with np.errstate(invalid="ignore"), pytest.raises(error, match=match) as info:
        gradcheck.check_grad(f, grad, params, **kw)
    assert isinstance(info.value, gradcheck.GradcheckError)


def test_errors_are_also_the_conventional_builtin_types():
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(InvalidTypeError, TypeError)
    assert issubclass(gradcheck.GradientMismatch, AssertionError)
    assert issubclass(gradcheck.NondeterministicError, RuntimeError)


@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_user_arrays_are_never_modified(seed, dtype):
    rng = np.random.default_rng(seed)
    params = {
        "W": rng.standard_normal((2, 3)).astype(dtype),
        "b": [rng.standard_normal(3).astype(dtype)],
    }
    before = {"W": params["W"].copy(), "b": [params["b"][0].copy()]}

    def f(p):
        return float(np.sum(np.tanh(p["W"]) @ p["b"][0]))

    def grad(p):
        # a careless gradient that works in place on what it is given
        W, b = p["W"], p["b"][0]
        t = np.tanh(W)
        W *= 0
        return {"W": ((1 - t**2) * b).astype(dtype), "b": [t.sum(axis=0).astype(dtype)]}

    gradcheck.check_grad(f, grad, params)
    assert np.array_equal(params["W"], before["W"])
    assert np.array_equal(params["b"][0], before["b"][0])
    assert params["W"].flags.writeable


def test_a_function_that_writes_into_its_parameters_is_checked_and_the_write_noted():
    # f gets read-only arrays, then fresh copies once it writes: the check is unaffected, the
    # user's array untouched, and the report says what f did.
    def f(x):
        x += 1
        return float(x.sum())

    x = np.ones(2)
    res = gradcheck.check_grad(f, np.ones_like, x)
    assert res.status == "pass", res
    assert np.array_equal(x, np.ones(2))
    assert res.notes == (
        "f modified `params` in place. gradcheck gives every call fresh arrays, so the check "
        "is unaffected, but a caller that reuses the array sees it change.",
    )
    assert "note: f modified `params` in place" in str(res)


def test_nested_trees_are_reported_by_path():
    params = {"layers": [{"W": np.ones((2, 2))}, {"W": np.full((2, 2), 0.5)}], "out": (np.ones(2),)}

    def f(p):
        return float(
            np.sum(p["layers"][0]["W"] ** 2)
            + np.sum(np.sin(p["layers"][1]["W"]))
            + p["out"][0] @ p["out"][0]
        )

    def grad(p):
        return {
            "layers": [{"W": 2 * p["layers"][0]["W"]}, {"W": -np.cos(p["layers"][1]["W"])}],
            "out": (2 * p["out"][0],),
        }

    res = gradcheck.check_grad(f, grad, params)
    assert res.status == "fail"
    assert res.worst[0].path == "params['layers'][1]['W']"
    assert {p.path: p.status for p in res.params} == {
        "params['layers'][0]['W']": "pass",
        "params['layers'][1]['W']": "fail",
        "params['out'][0]": "pass",
    }


def _dense(x, W):
    return x @ W, (x, W)


def _dense_backward(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout


def _run(checker, mode, **kw):
    """A passing call of one checker (check_jacobian takes no seed)."""
    x, W = np.ones((2, 3)), np.full((3, 2), 0.5)
    if checker == "check_grad":
        return gradcheck.check_grad(_sq, _dsq, np.ones(3), mode=mode, **kw)
    if checker == "check_vjp":
        return gradcheck.check_vjp(_dense, _dense_backward, (x, W), mode=mode, **kw)
    return gradcheck.check_jacobian(
        lambda v: 2 * v, lambda v: 2 * np.eye(v.size), x[0], mode=mode, **kw
    )


SEED_USERS = [("check_grad", "full"), ("check_grad", "fast"), ("check_vjp", "full")]
SEED_USERS += [("check_vjp", "fast")]


@pytest.mark.parametrize(("checker", "mode"), SEED_USERS)
@pytest.mark.parametrize(
    ("seed", "error"),
    [
        pytest.param(True, InvalidTypeError, id="bool"),
        pytest.param("abc", InvalidTypeError, id="str"),
        pytest.param(1.0, InvalidTypeError, id="float"),
        pytest.param(np.random.default_rng(0), InvalidTypeError, id="Generator"),
        pytest.param(-1, InvalidInputError, id="negative"),
        pytest.param(np.int64(-3), InvalidInputError, id="negative numpy int"),
    ],
)
def test_a_bad_seed_is_the_same_typed_error_in_every_checker_and_mode(checker, mode, seed, error):
    # one validator: full mode, which draws no random numbers, rejects what fast mode rejects
    with pytest.raises(error, match=r"`seed` must be a non-negative int or None"):
        _run(checker, mode, seed=seed)


@pytest.mark.parametrize(("checker", "mode"), SEED_USERS)
def test_a_numpy_integer_seed_is_accepted_and_recorded_as_an_int(checker, mode):
    res = _run(checker, mode, seed=np.uint32(7))
    assert res.status == "pass"
    assert res.seed == 7
    assert type(res.seed) is int


@pytest.mark.parametrize("checker", ["check_grad", "check_vjp", "check_jacobian"])
@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        pytest.param({"rtol": None}, InvalidTypeError, "`rtol` must be a real number", id="rtol"),
        pytest.param({"atol": "0"}, InvalidTypeError, "`atol` must be a real number", id="atol"),
        pytest.param({"step": [0.1]}, InvalidTypeError, "`step` must be a real number", id="step"),
        pytest.param({"ulps": True}, InvalidTypeError, "`ulps` must be a real number", id="ulps"),
        pytest.param({"ulps": 0.5}, InvalidInputError, "`ulps` must be a finite number >= 1"),
        pytest.param({"atol": np.inf}, InvalidInputError, "`atol` must be a finite number >= 0"),
        pytest.param({"mode": "slow"}, InvalidInputError, "`mode` must be one of"),
    ],
)
def test_options_are_validated_alike_by_every_checker(checker, kw, error, match):
    kw = dict(kw)
    with pytest.raises(error, match=match):
        _run(checker, kw.pop("mode", "full"), **kw)
