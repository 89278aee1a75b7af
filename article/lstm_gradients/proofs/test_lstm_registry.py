"""The registry records of specs.lstm and specs.gru: each Spec's own shapes, sizes and trust
region drive a checker run of its forward/backward pair.

This proves the wiring other tools rely on (benchmarks, the report iterate over ALL_SPECS):
`arg_shapes` builds arguments the pair accepts, `well_conditioned` admits them, and the
backward registered with each forward (including the four GRU variants, bound with
functools.partial) is that forward's gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gradcheck
from lstm_gradients.specs import gru, lstm
from lstm_gradients.specs._spec import Spec

SPECS = (*lstm.SPECS, *gru.SPECS)


def _small(spec: Spec, draw_int) -> dict[str, int]:
    # Sizes from the record's own ranges, capped at 3 to keep FD (4 calls per entry) cheap.
    return {k: draw_int(lo, min(hi, 3)) for k, (lo, hi) in spec.sizes.items()}


@pytest.mark.parametrize(
    "spec", [pytest.param(s, marks=pytest.mark.proves(*s.ids), id=s.name) for s in SPECS]
)
@settings(max_examples=4)  # 12 records; each pair is proven with the full budget elsewhere
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 1.0))
def test_registered_backward_is_the_gradient_of_its_forward(spec, data, seed, scale):
    sizes = _small(spec, lambda lo, hi: data.draw(st.integers(lo, hi)))
    rng = np.random.default_rng(seed)
    args = tuple(scale * rng.standard_normal(s) for s in spec.arg_shapes(**sizes))
    assert len(args) == len(spec.arg_names)
    assume(spec.well_conditioned(*args))
    res = gradcheck.check_vjp(spec.forward, spec.backward, args, seed=seed, names=spec.arg_names)
    assert res.status == "pass", str(res)
