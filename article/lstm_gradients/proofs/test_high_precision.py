r"""Every registry backward against a 50-digit reference, saturated draws included (issue 12.4).

The reference (`mp_reference`) writes every record's forward again in mpmath and differentiates
it exactly (forward-mode dual numbers at 50 digits): it shares no code with the specs' backwards.
The draws saturate on purpose: biases up to 40 and weights up to 8 put gates at σ(±40) and
tanh(±40), where the output forms y(1−y), 1−y² and 1 − (1 − z) of a naive backward round to 0.

Tolerance, per gradient argument p (entry j):

.. math::  |g_j-r_j|\le 10^{-12}\max_k|r_k| + C\,\varepsilon\,m_j + 10^{-290}

* :math:`10^{-12}\max_k|r_k|`: "relative to its scale": the scale of an argument's gradient is its
  largest exact entry, so a saturated argument (every entry ~1e-18) is judged against 1e-18,
  never against the size of the other arguments' gradients. Why 1e-12 holds for a right formula:
  float64 evaluates each pre-activation a with an absolute error of a few ε|a| (ε = 2.2e-16), and
  a saturated derivative e^{-2|a|} moves by the relative amount 2|δa|; the draws keep |a| ≤ 112
  (biases 2·40, D, H ≤ 2 inputs of size ≤ 1 times weights ≤ 8), so that is ≲ 2·112·ε·(a few
  roundings) ≈ 5e-14·k, below 1e-12 for k ≤ 20 roundings per pre-activation.
* :math:`C\,\varepsilon\,m_j`, C = 256: the floor where a gradient is small by *cancellation*,
  not by saturation (BN's dx, BN(uW + b)'s db, exactly 0; a GRU's h_{t−1} − h̃ when they are
  close). m_j is the reference's magnitude (`mp_reference.Dual`): the same chain rule with
  absolute values, the scale at which a float64 evaluation makes its rounding errors (Higham
  2002 §3.1: n roundings err by at most ≈ nε times the sum of absolute values). The specs'
  own evaluation order is not the reference's: along ≲ 30 roundings per path (T ≤ 3 steps, BN's
  three-term dz and its sums) it may add up to ~4 terms each as large as m_j, so ~120 ε m_j,
  and 256 is that with a factor 2 to spare (seen: BN(uW + b)'s dW at m = 2, exactly 0 but for
  ε, off by 141 ε m_j in float64). In saturation m_j is as small as the gradient itself, so
  this floor cannot hide a gradient that rounds to 0.
* Not compared: a normalization's gradients that vanish by the mathematics (`kit.may_vanish`:
  dx for groups of m ≤ 2, BN(uW + b)'s db, and du, dW at m ≤ 2). Their exact value is 0 (or
  O(ε) through the ε of √(σ² + ε)); the float64 value is rounding noise whose size is set by the
  *forward's* conditioning (z − μ loses log₁₀(|μ|/s) digits: with b up to 40 and a spread of
  ~1, 282 ε m_j was seen), which m_j, a derivative's magnitude, does not measure. test_registry
  checks them as what they are, vanishing. No saturation happens there (BN is affine in each
  group's direction), so nothing this test is about is skipped.
* 1e-290: float64's normal range ends at 2.2e-308; a product that passed through subnormals may
  keep only its absolute accuracy. The draws keep the gradients far above it (≥ ~1e-200).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_gradients import specs
from lstm_gradients.proofs.kit import EPS, SEEDS, may_vanish
from lstm_gradients.proofs.mp_reference import FORWARDS, vjp_reference
from lstm_gradients.specs import Layout, Spec

REL = 1e-12
C = 256
ABS_FLOOR = 1e-290
CAP, CAP_T = 2, 3  # sizes drawn (one 50-digit forward pass per argument entry)
# per role, the scales of uniform(−1, 1) entries; the largest saturate every gate
BIAS_SCALES = (0.5, 5.0, 20.0, 40.0)
WEIGHT_SCALES = (0.5, 2.0, 8.0)
INPUT_SCALES = (0.5, 1.0)
BIASES = {"b", "b_x", "b_h", "b_1", "b_2", "b_3", "gamma", "theta", "beta"}

# the reference costs ~0.1-0.3 s per draw of a sequence: a tenth of the profile's examples
# (ci 5 per record and layout, thorough 100), besides the deterministic saturated case below
BUDGET = settings(max_examples=max(3, settings.default.max_examples // 10))


def _role_scales(name: str, record: str = "") -> tuple[float, ...]:
    if record == "normalization.bn_linear" and name == "b":
        # BN removes b, and nothing in BN saturates: a large b would only make z − μ lose
        # log10(|b|/s) digits to the rounding of z = uW + b itself, an input error no backward
        # can undo (1.4e-12 relative in dgamma at |b| ~ 40, m = 2 was seen)
        return INPUT_SCALES
    if name in BIASES:
        return BIAS_SCALES
    if name[0] in "WV" or name == "p":
        return WEIGHT_SCALES
    return INPUT_SCALES


def _layout_id(rec: Spec, layout: Layout) -> str:
    return rec.name if not rec.layouts else f"{rec.name}{layout.name.replace(' ', '')}"


CASES = [
    pytest.param(r, layout, marks=pytest.mark.proves(*r.ids), id=_layout_id(r, layout))
    for r in specs.ALL_SPECS
    for layout in r.every_layout()
]


def make_args(
    rec: Spec, layout: Layout, sizes: dict[str, int], seed: int, scales: dict[str, float]
) -> tuple[np.ndarray, ...]:
    """Arguments of ``rec`` in ``layout``: uniform(−1, 1) times each argument's scale (variances,
    ``*var``, are exp of a normal: positive)."""
    rng = np.random.default_rng(seed)
    shapes = layout.arg_shapes(**sizes)
    return tuple(
        np.exp(rng.standard_normal(shape))
        if name.endswith("var")
        else scales[name] * rng.uniform(-1.0, 1.0, shape)
        for name, shape in zip(rec.arg_names, shapes, strict=True)
    )


def cotangent(out: Any, rng: np.random.Generator) -> Any:
    if isinstance(out, tuple | list):
        return tuple(cotangent(o, rng) for o in out)
    return rng.standard_normal(np.shape(out)) + rng.uniform(-1.0, 1.0)


def assert_matches_reference(rec: Spec, args: tuple[np.ndarray, ...], seed: int) -> None:
    out, cache = rec.forward(*args)
    dout = cotangent(out, np.random.default_rng([seed, 5]))
    grads = rec.backward(dout, cache)
    zeros = may_vanish(rec.name, args) if rec.name.startswith("normalization") else ()
    for name, g, (ref, mag) in zip(
        rec.arg_names, grads, vjp_reference(rec.name, args, dout), strict=True
    ):
        if name in zeros:
            continue
        scale = float(np.max(np.abs(ref)))
        allowed = REL * scale + C * EPS * mag + ABS_FLOOR
        err = np.abs(g - ref)
        j = np.unravel_index(np.argmax(err - allowed), err.shape)
        assert np.all(err <= allowed), (
            f"{rec.name}: d{name}{list(j)} = {g[j]!r}, the 50-digit reference is {ref[j]!r}: "
            f"off by {err[j]:.3g}, allowed {allowed[j]:.3g} (1e-12 of the argument's scale "
            f"{scale:.3g}, plus 256ε times the rounding scale {mag[j]:.3g}); "
            f"shapes {[a.shape for a in args]}, seed {seed}"
        )


@st.composite
def saturating_draws(
    draw: st.DrawFn, rec: Spec, layout: Layout
) -> tuple[tuple[np.ndarray, ...], int]:
    sizes = {
        k: draw(st.integers(lo, max(lo, min(hi, CAP_T if k == "T" else CAP))), label=k)
        for k, (lo, hi) in layout.sizes.items()
    }
    scales = {n: draw(st.sampled_from(_role_scales(n, rec.name)), label=n) for n in rec.arg_names}
    seed = draw(SEEDS, label="seed")
    return make_args(rec, layout, sizes, seed, scales), seed


@pytest.mark.parametrize(("rec", "layout"), CASES)
@BUDGET
@given(data=st.data())
def test_the_backward_agrees_with_a_50_digit_reference(
    rec: Spec, layout: Layout, data: st.DataObject
) -> None:
    assert_matches_reference(rec, *data.draw(saturating_draws(rec, layout)))


@pytest.mark.parametrize(("rec", "layout"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_the_backward_agrees_with_the_reference_where_everything_saturates(
    rec: Spec, layout: Layout, seed: int
) -> None:
    """Deterministic: every size 2 (T = 3), every scale the largest of its role (biases 40,
    weights 8), so most gates sit at σ(±20…±70) whatever the draw."""
    sizes = {
        k: max(lo, min(hi, CAP_T if k == "T" else CAP)) for k, (lo, hi) in layout.sizes.items()
    }
    scales = {n: max(_role_scales(n, rec.name)) for n in rec.arg_names}
    assert_matches_reference(rec, make_args(rec, layout, sizes, seed, scales), seed)


def test_every_record_has_a_reference_forward() -> None:
    assert set(FORWARDS) == {r.name for r in specs.ALL_SPECS}


# ---------------------------------------------------------------------------------------------
# The cases that were wrong, by value; and the check fails on the naive forms
# ---------------------------------------------------------------------------------------------


def _gru_at(a_z: float) -> tuple[Spec, tuple[np.ndarray, ...]]:
    """The article-convention GRU step, one unit, with the update pre-activation at ``a_z``."""
    rec = specs.spec("gru.step[article,reset_before]")
    x, h = np.array([[0.5]]), np.array([[0.3]])
    W_x, W_h = np.array([[0.0, 0.4, 0.7]]), np.array([[0.0, -0.2, 0.6]])
    b_x, b_h = np.array([a_z, 0.1, -0.2]), np.zeros(3)
    return rec, (x, h, W_x, W_h, b_x, b_h)


@pytest.mark.proves("GRU-1")
def test_the_article_gru_keeps_its_candidate_path_at_a_z_minus_40() -> None:
    """Issue 12's case: z = σ(−40) ≈ 4.2e-18. ``u = 1 − z`` then ``1 − u`` gave 0.0 for z, so dx
    and dW_x[:, n] were exactly 0 where the exact values are ~1e-18."""
    rec, args = _gru_at(-40.0)
    out, cache = rec.forward(*args)
    dx, _, dW_x, *_ = rec.backward(np.ones_like(out), cache)
    (ref_dx, _), _, (ref_dW_x, _), *_ = vjp_reference(rec.name, args, np.ones_like(out))
    assert 1e-19 < abs(ref_dx[0, 0]) < 1e-16, ref_dx  # the exact values are this small, not 0
    assert abs(dx[0, 0] - ref_dx[0, 0]) <= REL * abs(ref_dx[0, 0]), (dx, ref_dx)
    assert abs(dW_x[0, 2] - ref_dW_x[0, 2]) <= REL * abs(ref_dW_x[0, 2]), (dW_x, ref_dW_x)


def _rnn_step_output_form(ds: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """The naive RNN step backward: tanh' as 1 − s², 0.0 once s rounds to ±1."""
    da = ds * (1.0 - cache.s**2)
    return da @ cache.W_x.T, da @ cache.W_s.T, cache.x.T @ da, cache.s_prev.T @ da, da.sum(0)


def test_the_check_fails_on_the_output_form_in_saturation() -> None:
    """Negative control: with 1 − s² the saturated RNN step's gradients are 0.0 (power: at
    b = ±40, s rounds to ±1 for every unit, so every entry is off by 100 % of its size)."""
    import dataclasses

    rec = specs.spec("rnn.step")
    naive = dataclasses.replace(rec, backward=_rnn_step_output_form)
    sizes = {"N": 2, "D": 2, "H": 2}
    scales = {"x": 1.0, "s_prev": 1.0, "W_x": 0.5, "W_s": 0.5, "b": 1.0}
    *args, _ = make_args(rec, rec.every_layout()[0], sizes, 3, scales)
    args = (*args, np.array([40.0, -40.0]))  # |a| >= 38 > 19.1, where tanh rounds to ±1
    assert_matches_reference(rec, args, 3)  # the stable form passes where ...
    with pytest.raises(AssertionError, match="the 50-digit reference"):
        assert_matches_reference(naive, args, 3)  # ... the output form does not
