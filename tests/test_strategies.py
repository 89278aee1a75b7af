"""The public hypothesis strategies of `gradcheck.strategies` do what their docstrings say."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import find, given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from gradcheck.strategies import orthogonal_matrices, rngs, scaled_arrays, spectral_matrices

EPS = np.finfo(np.float64).eps
# Dimensions stay <= 6. Error model for ||U diag(s) V^T||_2 against rho: Householder QR gives
# ||Q^T Q - I|| <~ c m eps (c a small constant), forming (U*s) @ V^T adds <= k eps relative per
# entry, LAPACK's SVD has backward error <~ c n eps. With m, n, k <= 6 the sum is ~20 eps;
# 1e-14 (= 45 eps) leaves about 2x margin for the constants.
SPECTRAL_RTOL = 1e-14
DIMS = st.integers(1, 6)


def first(strategy):
    """One value of ``strategy`` (hypothesis' minimal example), usable outside ``@given``."""
    return find(strategy, lambda _: True)


@given(m=DIMS, n=DIMS, rho=st.floats(1e-3, 10.0), data=st.data())
def test_spectral_matrices_have_the_requested_spectral_norm(m, n, rho, data):
    W = data.draw(spectral_matrices((m, n), rho=rho))
    assert W.shape == (m, n)
    assert W.dtype == np.float64
    assert abs(np.linalg.norm(W, 2) - rho) <= SPECTRAL_RTOL * rho


@given(m=DIMS, n=DIMS, data=st.data())
def test_spectral_matrices_take_rho_from_a_strategy(m, n, data):
    W = data.draw(spectral_matrices((m, n), rho=st.just(2.5)))
    assert abs(np.linalg.norm(W, 2) - 2.5) <= SPECTRAL_RTOL * 2.5


@given(W=spectral_matrices((5, 3), rho=2.0))
def test_spectral_matrices_other_singular_values_lie_in_zero_to_rho(W):
    s = np.linalg.svd(W, compute_uv=False)
    # every singular value is in [0, rho] up to the SVD's rounding (see SPECTRAL_RTOL)
    assert s.max() <= 2.0 * (1 + SPECTRAL_RTOL)
    assert s.min() >= 0.0


@given(W=spectral_matrices((3, 4), rho=0.0))
def test_spectral_matrices_with_rho_zero_are_exactly_zero(W):
    assert W.shape == (3, 4)
    assert not W.any()  # U diag(0) V^T has every entry an exact sum of zeros


@given(W=spectral_matrices((1, 1), rho=1.5))
def test_spectral_matrices_one_by_one_is_plus_or_minus_rho(W):
    assert abs(W[0, 0]) == 1.5  # (+-1) * 1.5 * (+-1): exact


@given(n=DIMS, data=st.data())
def test_orthogonal_matrices_are_orthogonal(n, data):
    Q = data.draw(orthogonal_matrices(n))
    assert Q.shape == (n, n)
    # Householder QR: ||Q^T Q - I||_max <~ c n eps; n <= 6 -> 1e-14 as for SPECTRAL_RTOL
    assert np.abs(Q.T @ Q - np.eye(n)).max() <= SPECTRAL_RTOL
    assert np.abs(np.linalg.svd(Q, compute_uv=False) - 1.0).max() <= SPECTRAL_RTOL


@given(rng=rngs())
def test_rngs_reproduce_default_rng_of_the_seed_their_repr_shows(rng):
    seed = int(repr(rng).removeprefix("np.random.default_rng(").removesuffix(")"))
    assert np.array_equal(rng.standard_normal(7), np.random.default_rng(seed).standard_normal(7))


@given(shape=st.tuples(DIMS, DIMS), scale=st.floats(0.0, 100.0), data=st.data())
def test_scaled_arrays_have_the_shape_and_scale_asked_for(shape, scale, data):
    a = data.draw(scaled_arrays(shape, scale))
    assert a.shape == shape
    assert a.dtype == np.float64
    # |Z| > 10 has probability ~1.5e-23 per entry: the check below cannot fail by chance
    assert np.abs(a).max() <= 10 * scale


@given(a=scaled_arrays(4, scale=st.just(0.0)))
def test_scaled_arrays_accept_an_int_shape_and_a_scale_strategy(a):
    assert a.shape == (4,)
    assert not a.any()


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: spectral_matrices((3,), rho=1.0), "exactly 2"),
        (lambda: spectral_matrices((3, 0), rho=1.0), ">= 1"),
        (lambda: spectral_matrices([3, 3], rho=1.0), "tuple of ints"),
        (lambda: spectral_matrices((3, 3), rho=-1.0), "rho=-1.0"),
        (lambda: spectral_matrices((3, 3), rho=float("nan")), "finite"),
        (lambda: spectral_matrices((3, 3), rho="1"), "strategy of floats"),
        (lambda: spectral_matrices((3, 3), rho=True), "rho=True"),
        (lambda: scaled_arrays((2, 2.0), 1.0), "tuple of ints"),
        (lambda: scaled_arrays((2,), float("inf")), "scale=inf"),
        (lambda: orthogonal_matrices(0), "n=(0,)"),
    ],
)
def test_bad_arguments_raise_invalid_argument_naming_the_argument(make, fragment):
    with pytest.raises(InvalidArgument, match=re.escape(fragment)):
        make()


def test_a_bad_value_drawn_from_a_rho_strategy_is_reported_when_drawn():
    with pytest.raises(InvalidArgument, match=re.escape("rho=-2.0")):
        first(spectral_matrices((2, 2), rho=st.just(-2.0)))
