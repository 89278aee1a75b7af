"""Every registry record (``specs.ALL_SPECS``) as it stands, against four properties.

Arguments come from the record itself, once for every layout it documents (`Spec.every_layout`:
BN on (N, C, H, W) and on (N, D), ...): sizes drawn from the layout's ranges (capped at 3, so a
full FD check of a sequence stays cheap), shapes from its ``arg_shapes``, arrays standard normal
times a drawn scale in [0.1, 1] (variances, arguments named ``*var``, are exp of a normal, so
positive), from ``np.random.default_rng(seed)``. For each record:

1. **The gradient.** ``backward`` is the gradient of ``forward``: `gradcheck.check_vjp` against
   finite differences, with a random cotangent, inside the record's ``well_conditioned``.
   Arguments whose gradient vanishes by the mathematics at the draw may be reported vacuous
   (`may_vanish`), nothing else.
2. **Linear in dout.** ``backward(c·dout, cache)`` is bitwise ``c·backward(dout, cache)`` for
   c = −2 and c = ½, and ``backward(0, cache)`` is exactly 0. Exact, not within a tolerance: a
   power-of-two factor commutes with IEEE rounding (no overflow or underflow at these sizes),
   so a backward that is linear in dout and deterministic (which the checker already demands
   of every function it checks) gives the same bits, scaled; using ``ones_like(dout)``, |dout|,
   dout², or adding a term without dout breaks it. Additivity is what check 1 sees: the
   backward agrees with the linear map Jᵀ at a random cotangent on every draw.
3. **Pure.** ``forward`` leaves its arguments, ``backward`` its ``dout`` and every array in its
   ``cache`` bitwise unchanged.
4. **Shapes.** ``backward`` returns one ndarray per argument, shaped like it.

Each case carries its record's IDs. The last tests show each property failing on a broken copy
of a record, and `specs.spec` finding every record by its name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gradcheck
from lstm_gradients import specs
from lstm_gradients.proofs.kit import SEEDS, assert_pass, may_vanish
from lstm_gradients.specs import Layout, Spec

CAP = 3  # largest size drawn: FD costs 4 forward passes per argument entry
# A full FD check of every record per example; the checks of each family's own tests draw many
# more. A fifth of the profile's examples: ci 10 per record, thorough 200.
FD_BUDGET = settings(max_examples=max(4, settings.default.max_examples // 5))


def _layout_id(rec: Spec, layout: Layout) -> str:
    return rec.name if not rec.layouts else f"{rec.name}{layout.name.replace(' ', '')}"


RECORDS = [
    pytest.param(r, layout, marks=pytest.mark.proves(*r.ids), id=_layout_id(r, layout))
    for r in specs.ALL_SPECS
    for layout in r.every_layout()
]
Args = tuple[np.ndarray, ...]


@st.composite
def record_args(draw: st.DrawFn, rec: Spec, layout: Layout) -> tuple[Args, int]:
    """Arguments for ``rec`` in ``layout`` (module docstring), and their seed."""
    sizes = {
        k: draw(st.integers(lo, max(lo, min(hi, CAP))), label=k)
        for k, (lo, hi) in layout.sizes.items()
    }
    seed = draw(SEEDS, label="seed")
    scale = draw(st.floats(0.1, 1.0), label="scale")
    rng = np.random.default_rng(seed)
    shapes = layout.arg_shapes(**sizes)
    args = tuple(
        np.exp(rng.standard_normal(shape))
        if name.endswith("var")
        else scale * rng.standard_normal(shape)
        for name, shape in zip(rec.arg_names, shapes, strict=True)
    )
    return args, seed


def cotangent(out: Any, rng: np.random.Generator) -> Any:
    """A random dout shaped like ``out`` (an array or a tuple of arrays): normal plus a random
    offset, so neither uniform nor mean-free."""
    if isinstance(out, tuple | list):
        return tuple(cotangent(o, rng) for o in out)
    return rng.standard_normal(np.shape(out)) + rng.uniform(-1.0, 1.0)


def scaled(dout: Any, c: float) -> Any:
    return tuple(scaled(d, c) for d in dout) if isinstance(dout, tuple) else c * dout


def arrays(tree: Any) -> Iterator[np.ndarray]:
    """Every ndarray in a cache: NamedTuples, tuples, lists and dicts are walked."""
    if isinstance(tree, np.ndarray):
        yield tree
    elif isinstance(tree, tuple | list):
        for item in tree:
            yield from arrays(item)
    elif isinstance(tree, dict):
        for item in tree.values():
            yield from arrays(item)


# ---------------------------------------------------------------------------------------------
# The four properties, as functions (the broken records below must fail them)
# ---------------------------------------------------------------------------------------------


def check_gradient(rec: Spec, args: Args, seed: int) -> None:
    res = gradcheck.check_vjp(rec.forward, rec.backward, args, seed=seed, names=rec.arg_names)
    assert_pass(res, may_vanish=may_vanish(rec.name, args))


def check_linear(rec: Spec, args: Args, seed: int) -> None:
    out, cache = rec.forward(*args)
    dout = cotangent(out, np.random.default_rng([seed, 1]))
    base = rec.backward(dout, cache)
    for c in (-2.0, 0.5):
        for k, (g, gc) in enumerate(zip(base, rec.backward(scaled(dout, c), cache), strict=True)):
            assert np.array_equal(gc, c * g), (
                f"{rec.name}: backward({c}·dout) is not {c}·backward(dout) for "
                f"d{rec.arg_names[k]}: off by up to {np.max(np.abs(gc - c * g)):.3g}"
            )
    for k, g in enumerate(rec.backward(scaled(dout, 0.0), cache)):
        assert not np.any(g), f"{rec.name}: backward(0) gives a nonzero d{rec.arg_names[k]}"


def check_pure(rec: Spec, args: Args, seed: int) -> None:
    kept = [a.copy() for a in args]
    out, cache = rec.forward(*args)
    for name, a, k in zip(rec.arg_names, args, kept, strict=True):
        assert np.array_equal(a, k), f"{rec.name}: forward modified its argument {name}"
    dout = cotangent(out, np.random.default_rng([seed, 2]))
    kept_dout = [d.copy() for d in arrays(dout)]
    kept_cache = [a.copy() for a in arrays(cache)]
    rec.backward(dout, cache)
    assert all(np.array_equal(d, k) for d, k in zip(arrays(dout), kept_dout, strict=True)), (
        f"{rec.name}: backward modified dout"
    )
    for i, (a, k) in enumerate(zip(arrays(cache), kept_cache, strict=True)):
        assert np.array_equal(a, k), f"{rec.name}: backward modified array {i} of its cache"


def check_shapes(rec: Spec, args: Args, seed: int) -> None:
    out, cache = rec.forward(*args)
    grads = rec.backward(cotangent(out, np.random.default_rng([seed, 3])), cache)
    assert len(grads) == len(args), f"{rec.name}: {len(grads)} gradients for {len(args)} args"
    for name, a, g in zip(rec.arg_names, args, grads, strict=True):
        assert isinstance(g, np.ndarray), f"{rec.name}: d{name} is a {type(g).__name__}"
        assert g.shape == a.shape, f"{rec.name}: d{name} has shape {g.shape}, {name} {a.shape}"


# ---------------------------------------------------------------------------------------------
# Every record
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rec", "layout"), RECORDS)
@FD_BUDGET
@given(data=st.data())
def test_the_backward_is_the_gradient_of_the_forward(
    rec: Spec, layout: Layout, data: st.DataObject
) -> None:
    args, seed = data.draw(record_args(rec, layout))
    assume(rec.well_conditioned(*args))
    check_gradient(rec, args, seed)


@pytest.mark.parametrize(("rec", "layout"), RECORDS)
@given(data=st.data())
def test_the_backward_is_linear_in_dout(rec: Spec, layout: Layout, data: st.DataObject) -> None:
    check_linear(rec, *data.draw(record_args(rec, layout)))


@pytest.mark.parametrize(("rec", "layout"), RECORDS)
@given(data=st.data())
def test_forward_and_backward_modify_no_input(
    rec: Spec, layout: Layout, data: st.DataObject
) -> None:
    check_pure(rec, *data.draw(record_args(rec, layout)))


@pytest.mark.parametrize(("rec", "layout"), RECORDS)
@given(data=st.data())
def test_one_gradient_per_argument_shaped_like_it(
    rec: Spec, layout: Layout, data: st.DataObject
) -> None:
    check_shapes(rec, *data.draw(record_args(rec, layout)))


# ---------------------------------------------------------------------------------------------
# The checks can fail; the registry is looked up by name
# ---------------------------------------------------------------------------------------------


def _broken(name: str, backward: Any = None, forward: Any = None) -> Spec:
    """A copy of record ``name`` with its backward and/or forward replaced."""
    rec = specs.spec(name)
    return dataclasses.replace(
        rec, backward=backward or rec.backward, forward=forward or rec.forward
    )


def _lstm_of_ones(dout: Any, cache: Any) -> Any:
    """backward(ones) whatever dout is: not homogeneous."""
    return specs.spec("lstm.sequence").backward(tuple(np.ones_like(d) for d in dout), cache)


def _tanh_of_abs(dout: Any, cache: Any) -> Any:
    """backward(|dout|): homogeneous for c > 0 only."""
    return specs.spec("act.tanh").backward(np.abs(dout), cache)


def _output_plus_offset(dout: Any, cache: Any) -> Any:
    """A term without dout: backward(0) != 0."""
    return tuple(g + 1e-3 for g in specs.spec("rnn.output").backward(dout, cache))


def _sigmoid_halving_dout(dout: Any, cache: Any) -> Any:
    dout *= 0.5  # in place: the caller's dout changes
    return specs.spec("act.sigmoid").backward(dout, cache)


def _ln_doubling_its_cache(dout: Any, cache: Any) -> Any:
    cache.xhat[...] *= 2.0  # a NamedTuple's arrays can still be written
    return specs.spec("normalization.ln").backward(dout, cache)


def _relu_centring_x(x: np.ndarray) -> Any:
    x -= x.mean()  # in place: the caller's x changes
    return specs.spec("act.relu").forward(x)


def _output_transposed(dout: Any, cache: Any) -> Any:
    ds, dW_o = specs.spec("rnn.output").backward(dout, cache)
    return ds, dW_o.T


def _network_one_short(dout: Any, cache: Any) -> Any:
    return specs.spec("mlp.network").backward(dout, cache)[:-1]


def _peephole_without_dp(dout: Any, cache: Any) -> Any:
    *grads, dp = specs.spec("lstm.peephole_step").backward(dout, cache)
    return (*grads, np.zeros_like(dp))


# name: (the property it must fail, the broken record, sizes where the break shows)
BROKEN: dict[str, tuple[Any, Spec, dict[str, int]]] = {
    "ones for dout": (check_linear, _broken("lstm.sequence", _lstm_of_ones), {}),
    "abs of dout": (check_linear, _broken("act.tanh", _tanh_of_abs), {}),
    "an offset": (check_linear, _broken("rnn.output", _output_plus_offset), {}),
    "dout modified": (check_pure, _broken("act.sigmoid", _sigmoid_halving_dout), {}),
    "cache modified": (check_pure, _broken("normalization.ln", _ln_doubling_its_cache), {}),
    "argument modified": (check_pure, _broken("act.relu", forward=_relu_centring_x), {}),
    "dW transposed": (check_shapes, _broken("rnn.output", _output_transposed), {"K": 3}),
    "a gradient short": (check_shapes, _broken("mlp.network", _network_one_short), {}),
    "dp dropped": (check_gradient, _broken("lstm.peephole_step", _peephole_without_dp), {}),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_each_property_fails_on_a_broken_record(kind: str) -> None:
    """Negative controls: each broken copy of a record fails the property it breaks, at a fixed
    draw where the break shows (every size 2 unless given, arrays 0.5·N(0, 1), seed 0)."""
    check, rec, given_sizes = BROKEN[kind]
    sizes = {k: max(lo, min(hi, 2)) for k, (lo, hi) in rec.sizes.items()} | given_sizes
    rng = np.random.default_rng(0)
    args = tuple(0.5 * rng.standard_normal(s) for s in rec.arg_shapes(**sizes))
    with pytest.raises(AssertionError):
        check(rec, args, 0)


def test_every_record_is_found_by_its_name_and_an_unknown_name_lists_them() -> None:
    names = [rec.name for rec in specs.ALL_SPECS]
    assert len(set(names)) == len(names), "two registry records share a name"
    assert all(specs.spec(name) is rec for name, rec in zip(names, specs.ALL_SPECS, strict=True))
    with pytest.raises(KeyError, match=r"no spec record named 'lstm\.stp'.*lstm\.step.*gru\.step"):
        specs.spec("lstm.stp")
