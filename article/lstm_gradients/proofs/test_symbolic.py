"""Every registry record proven for all inputs (`gradcheck.symbolic`), and the article's literal
formulas proven or disproven (issue 16).

1. **The records.** Each record of ``specs.ALL_SPECS`` runs, unchanged, on symbolic arrays, and
   every gradient entry is proven equal to the exact derivative of its own forward, for all
   inputs and every upstream gradient. Shapes: the smallest that exercise every index path —
   N = 2 (the batch sums in the weight gradients), H = 2 and the other widths 2 (off-diagonal
   weights, so a transposed weight differs from the weight), T = 3 for the RNN (a carry of a
   carry) and T = 2 for the LSTM and GRU, the 4-D (N, C, H, W) layout for every normalization
   with H = W = 2 (both spatial axes reduced), and the (N, D) layout where the docstrings
   document it (BN, LN, training- and inference-mode BN). σ is `gradcheck.symbolic.sigmoid`,
   swapped in for scipy's ``expit`` through `specs._elementwise`; σ' and tanh' are the specs'
   stable forms ((½/cosh(x/2))², 4σ'(2x)): σ' is swapped for σ(1−σ) in the records and
   proven equal to it in a test of its own, tanh' = 4σ'(2x) against 1 − tanh² in the records.
   Each record has a time budget (`BUDGET`); a proof that runs out is reported as unsupported
   with that reason (a machine-speed limit, never a pass of the formula), anything else that is
   not "proven" fails the test.
2. **Planted bugs.** One wrong backward per family — a missing term, a transposed weight, a
   missing ``keepdims``, a missing mask — each one edit of the real code: the prover disproves
   every one and names its first wrong entry (0 false "proven").
3. **The article's literal formulas.** Where the article writes a formula the code does not
   use (the output form y'(1−y'), the staged BN backward, RNN-4's explicit Jacobian products,
   LSTM-4's "f_t + ∂f_t/∂c_{t−1}·c_{t−1} + …", GRU's (1 − z_t), tanh as a rescaled sigmoid),
   it is proven or disproven too; an erratum shows up as a disproven formula and its residual.

Mutation testing (``tools/mutation.py``, ``tox -e mutation``) takes the records' proofs as one
more killer (``KILLERS``' "symbolic prover": ``-k "every_record_is_proven and ({k})"``): a
mutant of a backward that changes its value anywhere
is disproven, deterministically, whatever the numeric tests drew.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from gradcheck.symbolic import SymbolicProof, fixed, prove_vjp, sigmoid
from lstm_gradients import specs
from lstm_gradients.specs import (
    _elementwise,
    activations,
    gru,
    lstm,
    mlp,
    rnn,
)
from lstm_gradients.specs import normalization as norm
from lstm_gradients.specs.normalization import layers


def _sigmoid_prime(x: Any) -> Any:
    return sigmoid(x) * (1 - sigmoid(x))


#: σ for scipy's expit; σ' for the specs' stable form, which `test_the_stable_sigmoid_prime_is_
#: sigma_times_one_minus_sigma` proves equal to σ(1−σ) on its own (inside a record's proof it
#: costs sympy minutes: cosh(x/2) and σ(x) share no generator until rewritten)
SWAP = {_elementwise: {"sigmoid": sigmoid, "sigmoid_prime": _sigmoid_prime}}
BUDGET = 240.0  # seconds per proof; the slowest record takes ~25 s on one core of CI's machine

#: the sizes every record is proven at (see the module docstring), by size name
SIZES = {"N": 2, "D": 2, "H": 2, "T": 2, "K": 2, "d": 2, "q": 2, "l": 2, "C": 2, "W": 2}
SIZES |= {"n0": 2, "n1": 2, "n2": 2, "n3": 1, "m": 3, "d_in": 2, "d_out": 2}
#: per record, sizes that differ from SIZES
OWN_SIZES = {
    "rnn.sequence": {"T": 3},
    "rnn.loss": {"T": 3},
    "normalization.bn_train_running": {"N": 3},
}
#: the other layouts the records' docstrings document: name -> shapes of the arguments
LAYOUTS: dict[str, dict[str, tuple[tuple[int, ...], ...]]] = {
    "normalization.bn": {"(N, D)": ((3, 2), (2,), (2,))},
    "normalization.ln": {"(N, D)": ((2, 3), (3,), (3,))},
    "normalization.bn_train_running": {"(N, C, H, W)": ((2, 2, 2, 2), *[(2,)] * 4)},
    "normalization.bn_infer": {"(N, C, H, W)": ((2, 2, 2, 2), *[(2,)] * 4)},
}


def _cases() -> list[Any]:
    out = []
    for record in specs.ALL_SPECS:
        sizes = {k: OWN_SIZES.get(record.name, {}).get(k, SIZES[k]) for k in record.sizes}
        layouts = {"default": record.arg_shapes(**sizes), **LAYOUTS.get(record.name, {})}
        for layout, shapes in layouts.items():
            name = record.name if layout == "default" else f"{record.name} {layout}"
            mark = pytest.mark.proves(*record.ids)
            out.append(pytest.param(record, shapes, marks=mark, id=name))
    return out


def prove(forward: Callable[..., Any], backward: Callable[..., Any], shapes: Any, **kw: Any):
    return prove_vjp(forward, backward, list(shapes), swap=SWAP, budget=BUDGET, **kw)


@pytest.mark.parametrize(("record", "shapes"), _cases())
def test_every_record_is_proven_for_all_inputs(record: specs.Spec, shapes: Any) -> None:
    label = f"{record.name} (registry)"
    result = prove(record.forward, record.backward, shapes, label=label, names=record.arg_names)
    assert result.status == "proven" or result.reason.startswith("the time budget"), str(result)
    assert result.entries == sum(int(np.prod(s)) for s in shapes)


def test_every_record_has_a_case() -> None:
    names = {c.values[0].name for c in _cases()}
    assert names == {r.name for r in specs.ALL_SPECS}


# ------------------------------------------------------------------------------- planted bugs


def mutant(function: Callable[..., Any], old: str, new: str) -> Callable[..., Any]:
    """``function`` with one edit of its source (``old`` -> ``new``, which must occur once),
    compiled in its own module's namespace."""
    source = textwrap.dedent(inspect.getsource(function))
    assert source.count(old) == 1, f"{old!r} occurs {source.count(old)} times"
    namespace: dict[str, Any] = {}
    exec(
        compile(source.replace(old, new), f"<mutant of {function.__name__}>", "exec"),
        function.__globals__,
        namespace,
    )
    return namespace[function.__name__]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Bug:
    """One wrong backward: ``old`` -> ``new`` in ``function`` (looked up in ``module``), which
    ``record`` runs; ``entry`` is the first wrong gradient entry the prover must name."""

    what: str
    record: str
    function: Callable[..., Any]
    module: Any
    old: str
    new: str
    entry: str


S, A, M, R, L, G = activations, activations, mlp, rnn, lstm, gru
BUGS = [
    Bug("missing factor 1 − σ", "act.sigmoid", S.sigmoid_backward, S, "sigmoid_prime(cache)",
        "sigmoid(cache)", "dx[0, 0]"),
    Bug("missing mask", "act.relu", A.relu_backward, A, "dy * relu_prime(cache)", "dy",
        "dx[0, 0]"),
    Bug("transposed weight", "mlp.network", M.mlp_backward, M, "e @ cache.V.T", "e @ cache.V",
        "dx[0, 0]"),
    Bug("wrong sign", "mlp.loss", M.squared_error_backward, M, "-dE * cache.r", "dE * cache.r",
        "dy[0, 0]"),
    Bug("missing factor σ'", "mlp.deep_sigmoid", M.deep_backward, M,
        "dh * cache.act.fprime(layer.a)", "dh", "dx[0, 0]"),
    Bug("transposed weight", "rnn.step", R.rnn_step_backward, R, "da @ cache.W_s.T",
        "da @ cache.W_s", "ds_prev[0, 0]"),
    Bug("missing term (the carry)", "rnn.sequence", R.rnn_backward, R, "ds[:, t] + carry",
        "ds[:, t]", "dx[0, 0, 0]"),
    Bug("missing term (dc)", "lstm.step", L.lstm_step_backward, L, "dct = dc + dh", "dct = dh",
        "dx[0, 0]"),
    Bug("missing term (the cell carry)", "lstm.sequence", L.lstm_backward, L, "dc[:, t] + gc",
        "dc[:, t]", "dx[0, 0, 0]"),
    Bug("missing term (the reset path)", "gru.step[article,reset_before]", G.gru_step_backward,
        G, " + da_r @ W_hr.T", "", "dh_prev[0, 0]"),
    Bug("missing keepdims", "normalization.bn", layers.standardize_backward, layers,
        "(dxhat * xhat).mean(axis=axes, keepdims=True)", "(dxhat * xhat).mean(axis=axes)",
        "dx[0, 0, 0, 1]"),
    Bug("missing keepdims", "normalization.bn_train_running", layers.batchnorm_train_backward,
        layers, "keepdims=True", "keepdims=False", "dx[0, 0, 0, 1]"),
]  # fmt: skip


@pytest.mark.parametrize("bug", BUGS, ids=[f"{b.record}: {b.what}" for b in BUGS])
def test_a_planted_bug_is_disproven_and_its_entry_named(
    monkeypatch: pytest.MonkeyPatch, bug: Bug
) -> None:
    record = specs.spec(bug.record)
    broken = mutant(bug.function, bug.old, bug.new)
    monkeypatch.setattr(bug.module, bug.function.__name__, broken)
    backward = broken if bug.function is record.backward else record.backward
    shapes = LAYOUTS.get(bug.record, {}).get("(N, C, H, W)") or record.arg_shapes(
        **{k: SIZES[k] for k in record.sizes}
    )
    label = f"{bug.record} with {bug.what}: {bug.new!r} for {bug.old!r}"
    result = prove(record.forward, backward, shapes, label=label, names=record.arg_names)
    assert result.status == "disproven", str(result)
    assert result.entry == bug.entry, str(result)
    assert result.value is not None
    assert abs(result.value) > 0
    assert result.residual


def test_every_family_has_a_planted_bug() -> None:
    families = {r.name.split(".")[0] for r in specs.ALL_SPECS}
    assert {b.record.split(".")[0] for b in BUGS} == families
    kinds = {b.what.split(" (")[0] for b in BUGS}
    assert {"missing term", "transposed weight", "missing keepdims"} <= kinds


# ----------------------------------------------------------------- the article's literal forms


def _one_sample_loss(out: activations.Activation) -> Callable[..., Any]:
    def forward(V: Any, gamma: Any, W: Any, theta: Any, x: Any, y: Any) -> Any:
        E, _ = mlp.mlp_loss_forward(x[None], y[None], V, gamma, W, theta, out)
        return E, (x, y, V, W, gamma, theta)

    return forward


def _article_index_backward(out: activations.Activation) -> Callable[..., Any]:
    def backward(dE: Any, cache: Any) -> Any:
        x, y, V, W, gamma, theta = cache
        g = mlp.article_index_form(x, y, V, W, gamma, theta, out)
        return dE * g.dV, dE * g.dgamma, dE * g.dW, dE * g.dtheta

    return backward


MLP_SHAPES = [(2, 2), (2,), (2, 2), (2,), fixed(2), fixed(2)]


@pytest.mark.proves("MLP-3", "MLP-5", "MLP-7")
def test_the_articles_index_form_with_its_output_form_is_exact_for_a_sigmoid_output() -> None:
    result = prove(
        _one_sample_loss(activations.SIGMOID),
        _article_index_backward(activations.SIGMOID),
        MLP_SHAPES,
        label="article: g_j = (y'-y) y'(1-y'), e_h = (Σ g_j w_hj) b_h(1-b_h), sigmoid output",
    )
    assert result.status == "proven", str(result)


@pytest.mark.proves("ERR-3")
def test_the_articles_output_form_is_wrong_for_an_identity_output() -> None:
    result = prove(
        _one_sample_loss(activations.IDENTITY),
        _article_index_backward(activations.IDENTITY),
        MLP_SHAPES,
        label="article: g_j = (y'-y) y'(1-y') for an identity output (ERR-3)",
    )
    assert result.status == "disproven", str(result)
    assert result.entry == "dV[0, 0]", str(result)


@pytest.mark.proves("ACT-3")
def test_the_output_form_of_the_sigmoid_derivative_is_exact_in_real_arithmetic() -> None:
    # ERR-4 is a floating-point fact (y rounds to 1.0); the formula itself is exact
    result = prove(
        activations.sigmoid_forward,
        lambda dy, x: (dy * activations.sigmoid_prime_from_output(activations.sigmoid(x)),),
        [(2, 2)],
        label="article: σ' = y'(1 - y') (output form)",
    )
    assert result.status == "proven", str(result)


@pytest.mark.proves("ACT-1", "ACT-4")
@pytest.mark.parametrize("which", ["sigmoid", "tanh"])
def test_the_stable_sigmoid_prime_is_sigma_times_one_minus_sigma(which: str) -> None:
    """The specs' σ' = (½/cosh(x/2))² (and tanh' = 4σ'(2x)) is the derivative of σ (of tanh)
    for all x: the form the record proofs swap for σ(1−σ), proven here as the code computes it
    (only σ itself swapped for scipy's expit)."""
    forward = activations.sigmoid_forward if which == "sigmoid" else activations.tanh_forward
    backward = activations.sigmoid_backward if which == "sigmoid" else activations.tanh_backward
    only_sigma = {_elementwise: {"sigmoid": sigmoid}}
    result = prove_vjp(forward, backward, [(2, 2)], swap=only_sigma, budget=BUDGET, label=which)
    assert result.status == "proven", str(result)


@pytest.mark.proves("ACT-4")
def test_tanh_is_the_sigmoid_with_the_argument_doubled() -> None:
    result = prove(
        lambda x: (activations.tanh_via_sigmoid(x), x),
        activations.tanh_backward,
        [(2, 2)],
        label="tanh(x) = 2σ(2x) − 1: its derivative is tanh'",
    )
    assert result.status == "proven", str(result)


@pytest.mark.proves("ERR-9")
def test_tanh_read_as_the_rescaled_sigmoid_has_the_wrong_derivative() -> None:
    # the article's "tanh only rescales the sigmoid's range": tanh = 2σ(x) − 1, tanh' = 2σ'(x)
    result = prove(
        activations.tanh_forward,
        lambda dy, x: (dy * 2.0 * activations.sigmoid_prime(x),),
        [(2, 2)],
        label="article: tanh = 2σ(x) − 1, so tanh' = 2σ'(x) (ERR-9)",
    )
    assert result.status == "disproven", str(result)
    assert result.entry == "dx[0, 0]", str(result)


@pytest.mark.proves("NORM-8")
@pytest.mark.parametrize("shapes", [((3, 2), (2,), (2,)), ((2, 2, 2, 2), (2,), (2,))])
def test_ioffe_and_szegedys_staged_backward_is_exact(shapes: Any) -> None:
    result = prove(
        norm.batchnorm_forward,
        layers.normalize_backward_staged,
        shapes,
        label="Ioffe & Szegedy §3: the staged chain rule, literally",
    )
    assert result.status == "proven", str(result)


def _rnn_loss_in_weights(x: Any, s_0: Any, W_x: Any, W_s: Any, b: Any, W_o: Any, y: Any) -> Any:
    E, _ = rnn.rnn_loss_forward(x, s_0, W_x, W_s, b, W_o, y)
    return E, (x, s_0, W_x, W_s, b, W_o, y)


def _article_bptt(dE: Any, cache: Any) -> Any:
    return tuple(dE * g for g in rnn.article_dE_dparams(*cache))


@pytest.mark.proves("RNN-4", "RNN-5")
def test_rnn_4_as_written_with_its_explicit_jacobian_products_is_exact() -> None:
    shapes = [fixed(1, 3, 2), fixed(1, 2), (2, 2), (2, 2), (2,), fixed(2, 2), fixed(1, 3, 2)]
    result = prove(
        _rnn_loss_in_weights,
        _article_bptt,
        shapes,
        label="article RNN-4: Σ_t Σ_i ∂E_t/∂o_t ∂o_t/∂s_t (Π ∂s_j/∂s_{j-1}) ∂s_i/∂W",
    )
    assert result.status == "proven", str(result)


def _cell(c_prev: Any, x: Any, h_prev: Any, W_x: Any, W_h: Any, b: Any) -> Any:
    (_, c), _ = lstm.lstm_step_forward(x[None], h_prev[None], c_prev[None], W_x, W_h, b)
    return c[0], (c_prev, x, h_prev, W_x, W_h, b)


LSTM_CELL = [(2,), fixed(2), fixed(2), fixed(2, 8), fixed(2, 8), fixed(8)]


@pytest.mark.proves("LSTM-3")
def test_the_direct_cell_path_is_diag_f_exactly() -> None:
    result = prove(
        _cell,
        lambda dc, cache: (dc @ lstm.cell_direct_jacobian(*cache[1:3], cache[0], *cache[3:]),),
        LSTM_CELL,
        label="∂c_t/∂c_{t-1} at fixed h_{t-1} = diag(f_t)",
    )
    assert result.status == "proven", str(result)


def _literal_extra_terms(dc: Any, cache: Any) -> Any:
    c_prev, x, h_prev, W_x, W_h, b = cache
    o_prev = h_prev / np.tanh(c_prev)  # the h_{t-1} = o_{t-1} tanh c_{t-1} the terms go through
    terms = lstm.composite_terms(x, c_prev, o_prev, W_x, W_h, b)
    return (dc @ sum(terms.values()),)


@pytest.mark.proves("ERR-12")
def test_the_articles_extra_terms_are_not_there_at_fixed_h() -> None:
    # "f_t + ∂f_t/∂c_{t-1}·c_{t-1} + ..." as the partial derivative at fixed h_{t-1}
    result = prove(
        _cell,
        _literal_extra_terms,
        LSTM_CELL,
        label="article: ∂c_t/∂c_{t-1} = f_t + ∂f_t/∂c_{t-1}·c_{t-1} + … at fixed h_{t-1} (ERR-12)",
    )
    assert result.status == "disproven", str(result)
    assert result.entry == "dc_prev[0]", str(result)


def _cell_through_h(c_prev: Any, x: Any, o_prev: Any, W_x: Any, W_h: Any, b: Any) -> Any:
    h_prev = o_prev * np.tanh(c_prev)
    (_, c), _ = lstm.lstm_step_forward(x[None], h_prev[None], c_prev[None], W_x, W_h, b)
    return c[0], (x, c_prev, o_prev, W_x, W_h, b)


@pytest.mark.proves("LSTM-4")
def test_the_composite_derivative_through_h_is_exact() -> None:
    result = prove(
        _cell_through_h,
        lambda dc, cache: (dc @ lstm.composite_cell_derivative(*cache),),
        LSTM_CELL,
        label="dc_t/dc_{t-1} = diag(f_t) + K_t diag(o_{t-1}(1 - tanh² c_{t-1}))",
    )
    assert result.status == "proven", str(result)


def _frozen(convention: str) -> Callable[..., Any]:
    def forward(h_prev: Any, z: Any, n: Any) -> Any:
        return gru.frozen_step(h_prev, z, n, convention), (z,)

    return forward


def _article_direct_path(dh: Any, cache: Any) -> Any:
    return (dh @ gru.direct_path(cache[0], "article"),)  # the article's (1 - z_t)


@pytest.mark.proves("GRU-2")
def test_the_direct_path_is_one_minus_z_in_the_articles_convention() -> None:
    result = prove(
        _frozen("article"),
        _article_direct_path,
        [(2,), fixed(2), fixed(2)],
        label="∂h_t/∂h_{t-1} at fixed z_t, h̃_t = diag(1 - z_t) (article convention)",
    )
    assert result.status == "proven", str(result)


@pytest.mark.proves("ERR-18")
def test_one_minus_z_is_wrong_in_chos_convention() -> None:
    result = prove(
        _frozen("cho"),
        _article_direct_path,
        [(2,), fixed(2), fixed(2)],
        label="article: ∂h_t/∂h_{t-1} = (1 - z_t) + … in Cho et al.'s convention (ERR-18)",
    )
    assert result.status == "disproven", str(result)
    assert result.entry == "dh_prev[0]", str(result)


def test_a_result_reads_as_a_report() -> None:
    result = prove(activations.tanh_forward, activations.tanh_backward, [(2,)], label="tanh")
    assert isinstance(result, SymbolicProof)
    assert str(result).startswith("tanh: proven")
