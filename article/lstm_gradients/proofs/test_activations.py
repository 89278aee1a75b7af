"""ACT-1 … ACT-4, ACT-5 (activation level), ACT-7; ERR-4, ERR-7, ERR-8, ERR-9; FIG-2, FIG-5, PLOT-G.

Exact identities are proven in sympy; float facts (saturation, exact zeros) are asserted
exactly; bounds on hypothesis-drawn inputs with the rounding slack argued beside each. The
finite-difference checks of the activation pairs run through the registry test in
``proofs/test_mlp.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, example, given
from hypothesis import strategies as st
from scipy.special import expit

import gradcheck
from lstm_gradients.proofs.kit import EPS, SEEDS
from lstm_gradients.specs.activations import (
    chebyshev_fraction_bound,
    high_gradient_fraction,
    relu_backward,
    relu_forward,
    saturation_threshold,
    sigmoid,
    sigmoid_prime,
    sigmoid_prime_from_output,
    tanh_prime,
    tanh_via_sigmoid,
)

X = sp.symbols("x", real=True)
SIGMA = 1 / (1 + sp.exp(-X))


def is_zero(expr) -> bool:
    """Symbolic zero test: hyperbolics to exponentials, one fraction, then simplify."""
    return sp.simplify(sp.together(expr.rewrite(sp.exp))) == 0


def ulp(x: float) -> float:
    return float(np.spacing(np.float64(abs(x))))


# ---------------------------------------------------------------------------------------------
# ACT-1: σ' = σ(1 − σ) ≤ ¼, equality only at 0
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("ACT-1")
def test_sigmoid_derivative_identities_hold_symbolically():
    """σ' = σ(1−σ) = 1/(4 cosh²(x/2)); the only stationary point is 0, where σ' = ¼ is the max."""
    d1 = sp.diff(SIGMA, X)
    assert sp.simplify(d1 - SIGMA * (1 - SIGMA)) == 0
    assert is_zero(d1 - 1 / (4 * sp.cosh(X / 2) ** 2))
    d2 = sp.diff(SIGMA, X, 2)
    assert sp.solveset(sp.numer(sp.together(d2)), X, sp.S.Reals) == {0}
    assert d1.subs(X, 0) == sp.Rational(1, 4)
    assert sp.diff(SIGMA, X, 3).subs(X, 0) < 0  # a maximum
    # ¼ − σ' = tanh²(x/2)/4 ≥ 0, zero only at x = 0.
    assert is_zero(sp.Rational(1, 4) - d1 - sp.tanh(X / 2) ** 2 / 4)


@pytest.mark.proves("ACT-1", "FIG-2")
@given(x=st.floats(-700.0, 700.0))
@example(x=0.0).via("the maximum ¼")
@example(x=700.0).via("deep in the tail, σ' ~ 1e-304 still > 0")
@example(x=1e-9).via("e/(1 + e)² rounded one ulp above ¼ here")
@example(x=2.6717757271179464e-16).via("e/(1 + e)² rounded to ¼ + 1 ulp here")
def test_sigmoid_derivative_is_at_most_a_quarter_and_within_the_exponential_envelope(x):
    """σ' ≤ ¼ and ¼e^{-|x|} ≤ σ' ≤ e^{-|x|} (FIG-2's envelope), evaluated in the stable form.

    The spec computes σ' = (½/c)² with c = fl(cosh(x/2)) (x/2 is exact). The maximum ¼ holds
    exactly in floats, by construction: cosh ≥ 1 and 1 is a float, so a faithfully rounded c is
    ≥ 1; then ½/c ≤ ½ and (½/c)² ≤ ¼, each rounding keeping a bound that is itself a float.
    (The earlier form e/(1+e)² did not: its three roundings reach ¼·(1+u)/(1−u)³, and gave
    ¼ + 1 ulp at the two pinned examples.) σ'(0) = (½/1)² = 0.25 exactly.

    The envelope: the exact value lies in [e^{-|x|}/4, e^{-|x|}]; cosh within 1 ulp (eps
    relative), the division ½ ulp, the square doubles the quotient's error and adds ½ ulp:
    |θ| ≤ 2(eps + u) + u = 3.5 eps (u = eps/2), hence the (1 ∓ 4 eps) slack; math.exp is
    within 1 ulp too (eps relative): 3.5 eps + eps = 4.5 eps, the slack used below.
    """
    s = float(sigmoid_prime(np.float64(x)))
    e = math.exp(-abs(x))
    assert s <= 0.25
    assert e / 4 * (1 - 4.5 * EPS) <= s <= e * (1 + 4.5 * EPS)
    assert float(sigmoid_prime(np.float64(-x))) == s  # even, exactly (libm's cosh uses |x|)
    if x == 0.0:
        assert s == 0.25


@pytest.mark.proves("ACT-1")
@given(x1=st.floats(-60.0, 60.0), x2=st.floats(-60.0, 60.0))
@example(x1=1.5611692913659068e-16, x2=1.5613490379696512e-16).via("one ulp out of order")
def test_sigmoid_derivative_decreases_with_the_distance_from_zero(x1, x2):
    """|x1| < |x2| ⇒ σ'(x1) > σ'(x2) mathematically (proven symbolically above); in floats
    up to rounding: the computed σ' is the exact one times (1 + θ), |θ| ≤ 3.5 eps (see the
    test above), so σ'(x1) ≥ σ'(x2)·(1 − 3.5 eps)/(1 + 3.5 eps) ≥ σ'(x2)·(1 − 7 eps); the
    assertion allows 9 eps. Not exactly monotone in general: a faithfully rounded cosh need not
    be monotone, and the earlier form e/(1+e)² was not (σ'(1.56117e-16) < σ'(1.56135e-16) by
    one ulp, the pinned example)."""
    if abs(x1) > abs(x2):
        x1, x2 = x2, x1
    s1, s2 = sigmoid_prime(np.float64(x1)), sigmoid_prime(np.float64(x2))
    assert s1 >= s2 * (1 - 9 * EPS)


@pytest.mark.proves("ACT-1", "ACT-3")
@given(x=st.floats(-30.0, 30.0))
def test_output_form_agrees_with_the_stable_form_up_to_its_cancellation(x):
    """y(1−y) with y = fl(σ(x)) equals σ'(x) to relative eps·(e^{|x|} + 6).

    For x > 0, 1 − y loses the digits y carries: fl(σ) has absolute error ≤ eps/2 (≤ 1 ulp
    of a number < 1) and 1 − σ ≈ e^{-x}, so the relative error is ≤ (eps/2)e^{x}; the two
    products/subtraction and the stable form add ≤ 6 eps. For x < 0 the e^{|x|} term is
    pessimistic (σ is then accurate to 1 ulp relative), so the bound still holds. The growth
    e^{|x|}·eps is the reason the specs compute σ' from the pre-activation (ACT-3).
    """
    y = sigmoid(np.float64(x))
    exact = sigmoid_prime(np.float64(x))
    assert abs(sigmoid_prime_from_output(y) - exact) <= EPS * (math.exp(abs(x)) + 6) * exact


# ---------------------------------------------------------------------------------------------
# ACT-2 / ERR-7: "两个小于1的数相乘"
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("ACT-2")
@given(b=st.floats(0.0, 1.0, exclude_min=True, exclude_max=True))
@example(b=0.5).via("equality b(1−b) = ¼")
def test_sigmoid_output_times_its_complement_is_below_both_and_a_quarter(b):
    """b(1−b) ≤ min(b, 1−b) ≤ ½ and ≤ ¼ — exactly in floating point: fl(b·c) ≤ b for c ≤ 1
    because rounding is monotone and b is representable; b(1−b) = ¼ − (b−½)² ≤ ¼, and the
    rounded product stays ≤ ¼ (the floats right around ½ are checked exhaustively below)."""
    c = 1.0 - b
    p = b * c
    assert p <= min(b, c) <= 0.5
    assert p <= 0.25
    if b == 0.5:
        assert p == 0.25


@pytest.mark.proves("ACT-2")
def test_the_product_never_rounds_above_a_quarter_next_to_one_half():
    """For b < ½, 1 − b is not exact (b has finer ulps), so fl(b·fl(1−b)) ≤ ¼ is not
    automatic; every one of the 4000 floats nearest ½ (2000 on each side) satisfies it."""
    below = 0.5 - np.arange(1, 2001) * 2.0**-54  # the ulp of [¼, ½) is 2^-54
    above = 0.5 + np.arange(0, 2000) * 2.0**-53  # the ulp of [½, 1) is 2^-53
    b = np.concatenate([below, above])
    assert np.all(b * (1.0 - b) <= 0.25)
    assert np.count_nonzero(b * (1.0 - b) == 0.25) >= 1


@pytest.mark.proves("ERR-7", "ACT-2")
@given(x=st.floats(4.6, 30.0))
def test_sigmoid_output_need_not_be_small_yet_its_derivative_is(x):
    """ERR-7: "sigmoid激活值本身已经是一个比较小的数了" is false for large α: b > 0.99, not small.
    What makes b(1−b) small is the *other* factor: b(1−b) ≤ 1 − b < 0.01."""
    b = float(sigmoid(np.float64(x)))  # σ(4.6) = 0.99005
    assert b > 0.99
    assert b * (1 - b) <= 1 - b < 0.01


# ---------------------------------------------------------------------------------------------
# ACT-3 / ERR-4 / FIG-2: float64 saturation
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("ACT-3", "ERR-4")
def test_sigmoid_of_37_rounds_to_one_and_the_output_form_derivative_is_exactly_zero():
    """ERR-4: the range of σ is the open (0, 1), yet float64 σ(37) == 1.0 and the article's
    y'(1−y') is exactly 0.0, while the stable σ'(37) ≈ 8.5e-17 lies in [¼e^{-37}, e^{-37}]."""
    y = expit(37.0)
    assert y == 1.0
    assert y * (1 - y) == 0.0
    stable = float(sigmoid_prime(np.float64(37.0)))
    assert math.exp(-37) / 4 <= stable <= math.exp(-37)
    assert 8.5e-17 < stable < 8.6e-17


@pytest.mark.proves("ACT-3", "ERR-4")
@given(x=st.floats(37.0, 700.0))
def test_output_form_derivative_vanishes_exactly_on_the_whole_saturated_range(x):
    """For every x ≥ 37 > 36.74: fl(σ(x)) = 1.0, the output form is 0.0, the stable σ' > 0."""
    y = sigmoid(np.float64(x))
    assert y == 1.0
    assert sigmoid_prime_from_output(y) == 0.0
    assert sigmoid_prime(np.float64(x)) > 0.0


@pytest.mark.proves("ACT-3", "FIG-2")
def test_saturation_threshold_is_the_first_float_where_sigmoid_rounds_to_one():
    """FIG-2's band, computed. σ is evaluated as 1/(1+e^{-x}); 1 + e^{-x} rounds to 1 once
    e^{-x} ≤ 2^{-53} (half an ulp of 1, ties to even), i.e. at x = 53 ln 2 = 36.7368; exp is
    faithful (≤ 1 ulp), which moves the crossing by ≤ eps in x, i.e. well under 8 ulps of t.
    float32: 24 ln 2 = 16.6355 by the same argument with 2^{-24}. (A correctly rounded σ
    would saturate only at 54 ln 2 ≈ 37.43: the band is a property of the formula too.)"""
    t = saturation_threshold()
    assert expit(t) == 1.0
    assert expit(np.nextafter(t, 0.0)) < 1.0
    assert abs(t - 53 * math.log(2)) <= 8 * ulp(t)
    t32 = saturation_threshold(dtype=np.float32)
    x32 = np.float32(t32)
    assert expit(x32) == 1.0
    assert expit(np.nextafter(x32, np.float32(0))) < 1.0
    assert abs(t32 - 24 * math.log(2)) <= 8 * float(np.spacing(x32))


@pytest.mark.proves("ACT-3", "ACT-4")
def test_tanh_saturates_to_one_past_its_threshold_while_the_stable_derivative_does_not():
    """float64 tanh reaches ±1.0 at the computed threshold (18.99 with glibc); there
    1 − tanh² is exactly 0 while the stable 4σ'(2x) stays > 0 (same artifact as ERR-4)."""
    t = saturation_threshold(np.tanh)
    assert np.tanh(t) == 1.0
    assert np.tanh(np.nextafter(t, 0.0)) < 1.0
    assert 18.0 < t < 19.1  # between glibc's cut-off and the correctly rounded 55/2·ln 2
    assert 1 - np.tanh(t) ** 2 == 0.0
    assert tanh_prime(np.float64(t)) > 0.0


# ---------------------------------------------------------------------------------------------
# ACT-4 / ERR-9 / FIG-5: tanh = 2σ(2x) − 1
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("ACT-4", "ERR-9", "FIG-5")
def test_tanh_identities_hold_symbolically_and_the_article_reading_is_tanh_of_half_x():
    """tanh = 2σ(2x) − 1 and tanh' = 1 − tanh² = 4σ'(2x), max 1 at 0 (four times σ's ¼).
    ERR-9: "只是将sigmoid的范围从[0, 1]变到[-1, 1]" read literally is 2σ(x) − 1 = tanh(x/2),
    whose slope at 0 is ½, not 1."""
    tanh = sp.tanh(X)
    assert is_zero(tanh - (2 * SIGMA.subs(X, 2 * X) - 1))
    dtanh = sp.diff(tanh, X)
    assert sp.simplify(dtanh - (1 - tanh**2)) == 0
    sigma_prime_2x = sp.diff(SIGMA, X).subs(X, 2 * X)
    assert is_zero(dtanh - 4 * sigma_prime_2x)
    assert dtanh.subs(X, 0) == 1
    literal = 2 * SIGMA - 1
    assert is_zero(literal - sp.tanh(X / 2))
    assert sp.diff(literal, X).subs(X, 0) == sp.Rational(1, 2)
    assert sp.simplify(literal - tanh).subs(X, 1).evalf() != 0


@pytest.mark.proves("ACT-4", "ERR-9", "FIG-5")
@given(x=st.floats(-40.0, 40.0))
@example(x=0.0).via("the peaks: tanh'(0) = 1 = 4·σ'(0)")
@example(x=1.4186833796292809e-16).via("tanh' rounded to 1 + 1 ulp with e/(1+e)²")
def test_tanh_equals_twice_sigmoid_of_twice_x_minus_one_numerically(x):
    """|tanh(x) − (2σ(2x) − 1)| ≤ 3 eps: fl(σ(2x)) is within 1 ulp ≤ eps/2 of σ ≤ 1, doubling
    is exact, subtracting 1 adds ≤ eps/2, and np.tanh is within 1 ulp ≤ eps/2 of |tanh| ≤ 1;
    total ≤ 1.5 eps, doubled for slack. tanh' ≤ 1 with equality exactly at 0 (4·0.25).

    In floats tanh' = 4·σ'(2x) (the 4 and the 2 are exact) inherits σ''s bound: ≤ 1 exactly
    (the pinned example gave 1 + 1 ulp with the earlier form e/(1+e)²). It reaches 1 only near
    0: the computed value is sech²(x)·(1 + θ), |θ| ≤ 3.5 eps (see the sigmoid test), so a
    computed 1 needs sech² x ≥ 1/(1 + 3.5 eps), and sech² x ≤ 1/(1 + x²) gives
    |x| ≤ √(3.5 eps) ≈ 2.8e-8."""
    x = np.float64(x)
    assert abs(np.tanh(x) - tanh_via_sigmoid(x)) <= 3 * EPS
    assert tanh_prime(x) <= 1.0
    if tanh_prime(x) >= 1.0:
        assert abs(x) <= math.sqrt(3.5 * EPS)
    if x == 0.0:
        assert tanh_prime(x) == 1.0 == 4 * sigmoid_prime(x)


@pytest.mark.proves("ACT-4")
@given(x=st.floats(-8.0, 8.0))
def test_stable_tanh_derivative_equals_one_minus_tanh_squared(x):
    """4σ'(2x) vs 1 − tanh²x: np.tanh has ≤ 1 ulp (≤ eps/2 absolute, |tanh| ≤ 1), so tanh²
    is off by ≤ 1.5 eps and 1 − tanh² by ≤ 2 eps absolute; the stable form is within
    4 eps relative. Hence |Δ| ≤ 2 eps + 4 eps·tanh'."""
    x = np.float64(x)
    stable = tanh_prime(x)
    assert abs(stable - (1 - np.tanh(x) ** 2)) <= 2 * EPS + 4 * EPS * stable


# ---------------------------------------------------------------------------------------------
# ACT-5 / ERR-8 at the activation level (the deep nets are in test_mlp.py)
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("ACT-5", "ERR-8")
@given(seed=SEEDS, n=st.integers(1, 20), scale=st.floats(1e-3, 1e3))
@example(seed=0, n=1, scale=1.0).via("one unit")
def test_relu_gradient_is_exactly_one_above_zero_and_exactly_zero_below(seed, n, scale):
    """ERR-8: "在x>0的时候可以稳稳维持1的梯度" — and for x < 0 the gradient is exactly 0 (a dead
    unit passes nothing back); at 0 the spec uses 0. The FD agreement away from the kink
    (|x| ≥ 1e-3) is the registry test `act.relu`; here it is checked once more directly."""
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal(n)
    dy = rng.standard_normal(n)
    (dx,) = relu_backward(dy, relu_forward(x)[1])
    assert np.array_equal(dx[x > 0], dy[x > 0])
    assert np.all(dx[x < 0] == 0.0)
    assert relu_backward(np.ones(1), np.zeros(1))[0][0] == 0.0
    # FD away from the kink, and with one live unit (an all-zero gradient is inconclusive by
    # the checker's design: there is no scale to judge a relative error against).
    assume(np.abs(x).min() >= 1e-3 * max(1.0, scale) and np.any(x > 0))
    res = gradcheck.check_vjp(relu_forward, relu_backward, (x,), seed=seed, names=("x",))
    assert res.status == "pass", str(res)


# ---------------------------------------------------------------------------------------------
# ACT-7 / PLOT-G: normalised inputs sit in σ's high-gradient region
# ---------------------------------------------------------------------------------------------


@st.composite
def groups(draw):
    """One normalisation group: Gaussian or heavy-tailed (Cauchy) data, any location/scale."""
    rng = np.random.default_rng(draw(SEEDS))
    m = draw(st.integers(2, 50))
    kind = draw(st.sampled_from(["gauss", "cauchy", "two-point"]))
    if kind == "gauss":
        x = rng.standard_normal(m)
    elif kind == "cauchy":
        x = rng.standard_cauchy(m)
    else:
        x = np.where(rng.random(m) < 0.1, 1.0, 0.0)  # a rare outlier value
    return draw(st.floats(1e-3, 1e3)) * x + draw(st.floats(-10.0, 10.0))


@pytest.mark.proves("ACT-7", "PLOT-G")
@given(x=groups(), k=st.floats(1.0, 6.0), eps=st.floats(0.0, 1.0))
@example(x=np.array([0.0, 1.0]), k=1.0, eps=0.0).via("m = 2: x̂ = ±1, bound 0")
def test_at_least_one_minus_one_over_k_squared_of_normalised_units_keep_sigmoid_gradient(x, k, eps):
    """ACT-7 (Chebyshev/Markov on x̂²): the fraction with σ'(x̂) ≥ σ'(k) is at least
    1 − σ²/((σ²+ε)k²), for any data, heavy tails included. The computed mean of x̂² is
    σ²/(σ²+ε) to ~m·eps relative, so a unit whose |x̂| sits within rounding of k can flip:
    the 1e-12 slack (≫ 50·eps ≈ 1e-14, ≪ 1/m) absorbs only that."""
    var = float(x.var())
    assume(var + eps > 0)
    frac = high_gradient_fraction(x, k, eps)
    assert frac >= chebyshev_fraction_bound(k, var, eps) - 1e-12
    assert sigmoid_prime(np.float64(2.0)) >= 0.1049  # the inventory's "σ' ≥ 0.1050" at k = 2


@pytest.mark.proves("ACT-7")
def test_chebyshev_bound_is_attained_by_a_three_point_group():
    """Sharpness (ε = 0): the group {−1, +1, 0 × (m−2)} with m = 2k² has σ² = 2/m, so
    x̂ = ±√(m/2) = ±k on 2/m = 1/k² of the units: Markov's inequality is an equality, and the
    fraction strictly inside (|x̂| < k) is exactly 1 − 1/k²."""
    k = 2.0
    m = int(2 * k * k)
    x = np.zeros(m)
    x[0], x[1] = -1.0, 1.0
    x_hat = (x - x.mean()) / np.sqrt(x.var())
    assert np.allclose(np.abs(x_hat[:2]), k, rtol=4 * EPS, atol=0)
    inside = np.mean(np.abs(x_hat) < k * (1 - 1e-12))
    assert inside == chebyshev_fraction_bound(k)
