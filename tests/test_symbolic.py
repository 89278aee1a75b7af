"""gradcheck.symbolic: exact proofs of a backward for all inputs, never a false "proven".

User-style layers are proven; wrong backwards are disproven with the first wrong entry, its
residual and a point where the residual is nonzero; what cannot be done exactly is
"unsupported" with a reason that says what to change; piecewise code is proven per region;
the derivative the backward is compared with agrees with ``sympy.diff``; the zero test proves
true identities and refuses near misses; bad input gets typed errors; results reach the proof
plugin as evidence and the report as a symbolic column.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import sympy

from gradcheck import InvalidInputError, InvalidTypeError, _evidence
from gradcheck.symbolic import (
    Exp,
    Sigmoid,
    Symbolic,
    SymbolicUnsupported,
    elementwise,
    fixed,
    prove_vjp,
    sigmoid,
)
from gradcheck.symbolic._derivative import vjp
from gradcheck.symbolic._zero import is_zero

# ------------------------------------------------------------------------- user-style layers


def dense_forward(x, W, b):
    y = np.tanh(x @ W + b)
    return y, (x, W, y)


def dense_backward(dy, cache):
    x, W, y = cache
    da = dy * (1 - y**2)
    return da @ W.T, x.T @ da, da.sum(axis=0)


def test_a_dense_tanh_layer_is_proven():
    result = prove_vjp(dense_forward, dense_backward, [(2, 3), (3, 2), (2,)])
    assert result.status == "proven", str(result)
    assert result.entries == 6 + 6 + 2
    assert result.regions == 1
    assert result.shapes == {"x": (2, 3), "W": (3, 2), "b": (2,)}
    assert "for all inputs, everywhere" in str(result)


def test_a_transposed_weight_is_disproven_with_the_entry_and_the_residual():
    def wrong(dy, cache):
        x, W, y = cache
        da = dy * (1 - y**2)
        return da @ W.T, (x.T @ da).T.reshape(W.shape), da.sum(axis=0)

    result = prove_vjp(dense_forward, wrong, [(2, 2), (2, 2), (2,)], label="dense")
    assert result.status == "disproven"
    assert result.entry == "dW[0, 1]"
    assert "dout" in result.residual
    assert result.value is not None
    assert abs(result.value) > 1e-6
    assert set(result.witness) >= {"x[0, 0]", "W[0, 1]", "dout[0, 0]"}
    text = str(result)
    assert text.startswith("dense: disproven")
    assert "residual (backward − exact)" in text


def test_a_missing_batch_sum_is_disproven():
    def wrong(dy, cache):
        x, W, y = cache
        da = dy * (1 - y**2)
        return da @ W.T, x.T @ da, da[0]

    result = prove_vjp(dense_forward, wrong, [(2, 2), (2, 2), (2,)])
    assert result.status == "disproven"
    assert result.entry == "db[0]"


def test_a_wrong_gradient_shape_is_disproven():
    def wrong(dy, cache):
        x, W, y = cache
        da = dy * (1 - y**2)
        return da @ W.T, x.T @ da, da.sum(axis=0, keepdims=True)

    result = prove_vjp(dense_forward, wrong, [(2, 2), (2, 2), (2,)])
    assert result.status == "disproven"
    assert "db has shape (1, 2); b has shape (2,)" in result.reason


def test_a_tuple_output_and_a_scalar_loss():
    def forward(x, W):
        h = x @ W
        return (h, np.asarray(0.5 * np.sum(h * h))), (x, W, h)

    def backward(douts, cache):
        dh, dE = douts
        x, W, h = cache
        g = dh + dE * h
        return g @ W.T, x.T @ g

    result = prove_vjp(forward, backward, [(2, 2), (2, 2)])
    assert result.status == "proven", str(result)


# ------------------------------------------------------------------------------ piecewise code


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dy, x):
    return (dy * (x > 0),)


def test_relu_is_proven_on_each_region():
    result = prove_vjp(relu_forward, relu_backward, [(3,)])
    assert result.status == "proven", str(result)
    assert result.regions == 8  # one per sign pattern of the three entries
    assert "on each of the 8 regions" in str(result)


def test_relu_without_its_mask_is_disproven_in_a_region():
    result = prove_vjp(relu_forward, lambda dy, x: (dy,), [(2,)])
    assert result.status == "disproven"
    assert result.entry == "dx[0]"
    assert result.region[0] == "x[0] < 0"  # the first decision; the others follow
    assert result.witness["x[0]"] < 0


def test_clip_and_where_are_proven_per_region():
    def forward(x):
        return np.where(x > 1.0, 2 * x, np.clip(x, -1.0, 1.0) ** 2), x

    def backward(dy, x):
        inside = (x > -1.0) & (x < 1.0)
        return (dy * np.where(x > 1.0, 2.0, np.where(inside, 2 * x, 0.0)),)

    result = prove_vjp(forward, backward, [(2,)])
    assert result.status == "proven", str(result)
    assert result.regions > 1


def test_a_stable_sigmoid_derivative_needs_no_region():
    def backward(dy, x):
        e = np.exp(-np.abs(x))  # exact for every x, |x| taken by sign inside the proof
        return (dy * e / (1.0 + e) ** 2,)

    result = prove_vjp(lambda x: (sigmoid(x), x), backward, [(2,)])
    assert result.status == "proven", str(result)
    assert result.regions == 1


def test_abs_with_its_sign_is_proven_per_region():
    result = prove_vjp(lambda x: (np.abs(x), x), lambda dy, x: (dy * np.sign(x),), [(2,)])
    assert result.status == "proven", str(result)
    assert result.regions == 4  # np.sign compares each entry with 0


def test_a_wrong_abs_derivative_is_disproven():
    result = prove_vjp(lambda x: (np.abs(x), x), lambda dy, x: (dy,), [(1,)])
    assert result.status == "disproven"  # right for x > 0 only


def test_comparing_two_equal_expressions_is_unsupported():
    def forward(x):
        zero = (x + 1) ** 2 - x**2 - 2 * x - 1  # identically 0, not written as 0
        return np.where(zero > 0, x, 2 * x), x

    result = prove_vjp(forward, lambda dy, x: (2 * dy,), [(1,)])
    assert result.status == "unsupported"
    assert "identically 0" in result.reason


def test_a_comparison_outside_a_proof_is_refused():
    x = Symbolic(sympy.Symbol("x", real=True))
    with pytest.raises(SymbolicUnsupported, match="outside a proof"):
        bool(x > 0)


# ---------------------------------------------------------------------------- unsupported code


def test_a_float_array_that_cannot_hold_symbols_is_unsupported_with_the_fix():
    def forward(x):
        out = np.empty(x.shape)
        out[:] = x * 2
        return out, None

    result = prove_vjp(forward, lambda dy, c: (2 * dy,), [(2,)])
    assert result.status == "unsupported"
    assert "dtype=x.dtype" in result.reason
    assert result.reason.startswith("forward:")


def test_a_scipy_ufunc_is_unsupported_until_swapped():
    scipy_special = pytest.importorskip("scipy.special")
    layer = types.ModuleType("layer")
    layer.expit = scipy_special.expit

    def forward(x):
        y = layer.expit(x)
        return y, y

    def backward(dy, y):
        return (dy * y * (1 - y),)

    plain = prove_vjp(forward, backward, [(2,)])
    assert plain.status == "unsupported"
    assert "forward raised" in plain.reason
    swapped = prove_vjp(forward, backward, [(2,)], swap={layer: {"expit": sigmoid}})
    assert swapped.status == "proven", str(swapped)
    assert layer.expit is scipy_special.expit  # restored


def test_elementwise_makes_a_swap_from_a_sympy_function():
    layer = types.ModuleType("layer")
    layer.erf = lambda x: x  # stands for scipy.special.erf

    def forward(x):
        return layer.erf(x), x

    def backward(dy, x):
        return (dy * 2 / np.sqrt(np.pi) * np.exp(-(x**2)),)

    swap = {layer: {"erf": elementwise(sympy.erf)}}
    result = prove_vjp(forward, backward, [(2,)], swap=swap)
    # np.sqrt(np.pi) is computed in floats: 1.7724538509055159, not √π; the residual is
    # float rounding, reported as such, neither proven nor disproven
    assert result.status == "unsupported", str(result)
    assert "float64 rounding, not a wrong formula" in result.reason
    wrong = prove_vjp(forward, lambda dy, x: (dy * np.exp(-(x**2)),), [(2,)], swap=swap)
    assert wrong.status == "disproven"


def test_a_float_constant_is_the_number_the_code_writes():
    third = prove_vjp(lambda x: (x / 3, x), lambda dy, x: (dy * 0.3333333333333333,), [(1,)])
    assert third.status == "unsupported"  # 0.3333333333333333 is not 1/3, by 1e-16
    assert "0.3333333333333333" in third.reason
    assert prove_vjp(lambda x: (x / 10, x), lambda dy, x: (dy * 0.1,), [(1,)]).status == "proven"
    assert prove_vjp(lambda x: (x / 3, x), lambda dy, x: (dy * 0.34,), [(1,)]).status == (
        "disproven"
    )


def test_the_time_budget_gives_unsupported_with_the_reason():
    result = prove_vjp(dense_forward, dense_backward, [(2, 3), (3, 2), (2,)], budget=1e-9)
    assert result.status == "unsupported"
    assert result.reason.startswith("the time budget of 1e-09 s ran out")


def test_a_swap_is_undone_when_the_proof_fails():
    layer = types.ModuleType("layer")
    layer.f = abs

    def forward(x):
        raise RuntimeError("boom")

    result = prove_vjp(forward, dense_backward, [(1,)], swap={layer: {"f": np.exp}})
    assert result.status == "unsupported"
    assert "RuntimeError: boom" in result.reason
    assert layer.f is abs


# -------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"shapes": (2, 2)}, InvalidInputError, "no differentiable argument"),
        ({"shapes": "x"}, InvalidTypeError, "one entry per argument"),
        ({"shapes": [(2, -1)]}, InvalidInputError, "negative size"),
        ({"shapes": [(2,)], "names": ["a", "b"]}, InvalidInputError, "2 names for 1"),
        ({"shapes": [(2,)], "budget": 0}, InvalidInputError, "budget"),
        ({"shapes": [(2,)], "swap": {3: {}}}, InvalidTypeError, "modules or module names"),
        ({"shapes": [(2,)], "swap": {"numpy": {"nope": abs}}}, InvalidInputError, "no attribute"),
    ],
)
def test_bad_input_is_a_typed_error_naming_the_argument(kwargs, error, words):
    call = {"shapes": [(2,)], **kwargs}
    with pytest.raises(error, match=words):
        prove_vjp(lambda x: (x, None), lambda dy, c: (dy,), **call)


def test_a_fixed_argument_is_symbolic_and_gets_no_gradient():
    def forward(x, W):
        return x @ W, (x, W)

    result = prove_vjp(forward, lambda dy, c: (dy @ c[1].T,), [(1, 2), fixed(2, 2)])
    assert result.status == "proven", str(result)
    assert result.shapes == {"x": (1, 2), "W": (2, 2)}
    too_many = prove_vjp(forward, lambda dy, c: (dy @ c[1].T, c[0].T @ dy), [(1, 2), fixed(2, 2)])
    assert too_many.status == "unsupported"
    assert "expected one per differentiable argument (x: 1)" in too_many.reason


def test_a_constant_argument_is_passed_as_is():
    def forward(x, scale):
        return scale * x, scale

    result = prove_vjp(forward, lambda dy, s: (s * dy,), [(2,), 0.1])
    assert result.status == "proven", str(result)


# ----------------------------------------------------------------- the derivative and the zero


def _random_expression(rng: np.random.Generator, xs: list, depth: int):
    if depth == 0:
        return (
            xs[rng.integers(len(xs))]
            if rng.random() < 0.8
            else sympy.Rational(int(rng.integers(-3, 4)), 2)
        )
    a, b = (_random_expression(rng, xs, depth - 1) for _ in range(2))
    kind = rng.integers(8)
    return [
        a + b,
        a * b,
        Sigmoid(a),
        sympy.tanh(a) * b,
        Exp(-sympy.Abs(a)),
        a / (1 + b**2),
        sympy.sqrt(1 + a**2),
        a**3 - b,
    ][kind]


@pytest.mark.parametrize("seed", range(6))
def test_the_chain_rule_sweep_agrees_with_sympy_diff(seed):
    rng = np.random.default_rng(seed)
    xs = list(sympy.symbols("x0:3", real=True))
    ds = list(sympy.symbols("d0:2", real=True))
    outs = [_random_expression(rng, xs, 3) for _ in ds]
    grads = vjp(zip(ds, outs, strict=True), xs)
    for x in xs:
        reference = sum(d * o.diff(x) for d, o in zip(ds, outs, strict=True))
        assert is_zero(grads[x] - reference, {}), (seed, x)


def test_a_wrong_chain_rule_would_be_seen():
    # the negative control of the test above: a derivative off by one factor is not zero
    x = sympy.Symbol("x", real=True)
    assert not is_zero(vjp([(1, Sigmoid(x) ** 2)], [x])[x] - Sigmoid(x) * (1 - Sigmoid(x)), {})


def test_the_zero_test_proves_identities_and_refuses_near_misses():
    x, y = sympy.symbols("x y", real=True)
    s = Sigmoid(x)
    stable = Exp(-sympy.Abs(x)) / (1 + Exp(-sympy.Abs(x))) ** 2
    assert is_zero(stable - s * (1 - s), {})
    assert is_zero(1 - sympy.tanh(x) ** 2 - 4 * Sigmoid(2 * x) * (1 - Sigmoid(2 * x)), {})
    assert is_zero(Sigmoid(-x) - (1 - s), {})
    assert is_zero(sympy.sqrt(x**2 + 1) ** 2 - x**2 - 1, {})
    assert not is_zero(stable - s * (1 - s) + sympy.Rational(1, 10**30), {})
    assert not is_zero(stable - s, {})
    assert not is_zero(sympy.Abs(x) - x, {})
    assert is_zero(sympy.Abs(x) - x, {x: 1})  # where x > 0 is decided
    assert not is_zero(Sigmoid(x + y) - Sigmoid(x) * Sigmoid(y), {})


# --------------------------------------------------------------------- evidence and the report


def test_a_proof_is_recorded_as_evidence():
    seen = []
    with _evidence.listening(seen.append):
        result = prove_vjp(dense_forward, dense_backward, [(1, 1), (1, 1), (1,)])
    assert seen == [result]
    assert result.kind == "symbolic"
    record = result.to_dict()
    assert record["status"] == "proven"
    assert record["shapes"] == {"x": [1, 1], "W": [1, 1], "b": [1]}


def test_the_plugin_keeps_symbolic_proofs_per_id():
    from gradcheck.pytest_plugin import Evidence, TestOutcome, symbolic_row

    ev = Evidence(ids=["X-1"])
    ev.add_check(prove_vjp(dense_forward, dense_backward, [(1, 1), (1, 1), (1,)], label="L"))
    assert ev.checks == 0
    assert [p["label"] for p in ev.symbolic] == ["L"]
    row = symbolic_row([TestOutcome("t", ["X-1"], evidence=ev.to_dict())])
    assert row["status"] == "proven"
    assert symbolic_row([TestOutcome("t", ["X-1"])])["status"] == "not attempted"
    assert "symbolic" not in Evidence(ids=["X-1"]).to_dict()


def test_the_report_shows_the_symbolic_status_of_each_id():
    from gradcheck.catalogue import Catalogue, Entry
    from gradcheck.report import build_document, render_html, render_json, render_markdown

    records = [
        {"id": "A-1", "kind": "item", "heading": "proven one", "statement": "s"},
        {"id": "A-2", "kind": "item", "heading": "no symbolic", "statement": "s"},
    ]
    catalogue = Catalogue("demo", tuple(Entry.from_record(r) for r in records))
    wrong = prove_vjp(relu_forward, lambda dy, x: (dy,), [(1,)], label="relu without mask")
    right = prove_vjp(dense_forward, dense_backward, [(1, 1), (1, 1), (1,)], label="dense")
    proofs = [right.to_dict(), wrong.to_dict()]
    proof = {
        "ids": {
            "A-1": {
                "status": "proven",
                "tests": ["t"],
                "symbolic": {"status": "disproven", "proofs": proofs},
            },
            "A-2": {"status": "proven", "tests": ["t"]},
        },
        "tests": {"t": {"outcome": "passed", "evidence": {"examples": 1}}},
    }
    doc = build_document(proof, catalogue)
    md = render_markdown(doc)
    assert "| symbolic |" in md
    assert "symbolic: proven at shapes x (1, 1), W (1, 1), b (1,) — dense" in md
    assert r"symbolic: disproven at shapes x (1,) — relu without mask: dx\[0\] is wrong" in md
    assert "symbolic: not attempted" in md
    assert "residual (backward − exact)" in md
    html = render_html(doc)
    assert "symbolic: proven at shapes" in html
    assert "<th>symbolic</th>" in html
    import json

    data = json.loads(render_json(doc))
    assert data["ids"]["A-1"]["symbolic"]["status"] == "disproven"
    assert data["ids"]["A-2"]["symbolic"]["status"] == "not attempted"


def test_without_python_flint_sympys_rings_give_the_same_verdicts(monkeypatch):
    from gradcheck.symbolic import _poly

    monkeypatch.setattr(_poly, "flint", None)
    assert prove_vjp(dense_forward, dense_backward, [(2, 2), (2, 2), (2,)]).status == "proven"
    wrong = prove_vjp(relu_forward, lambda dy, x: (dy,), [(2,)])
    assert wrong.status == "disproven"
    assert wrong.entry == "dx[0]"
    x = sympy.Symbol("x", real=True)
    stable = Exp(-sympy.Abs(x)) / (1 + Exp(-sympy.Abs(x))) ** 2
    assert is_zero(stable - Sigmoid(x) * (1 - Sigmoid(x)), {})
    assert not is_zero(stable - Sigmoid(x), {})
