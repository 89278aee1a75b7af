"""NORM-1, NORM-4, NORM-8, NORM-10: every backward of specs.normalization against finite
differences, through the project's checker, for every argument.

Problems are built by `norm_problems`: hypothesis draws the method, the sizes (G | C for GN),
ε = 10^[-12, 0], the input scale 10^[-3, 3], an offset in units of that scale and a seed; the
arrays come from ``np.random.default_rng(seed)``. FD checks stay inside the spec's
`well_conditioned` (a near-constant group with tiny ε is ill-conditioned: see its docstring).
`check_vjp` draws a random non-uniform cotangent; the last tests show why that matters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import gradcheck
from lstm_gradients.proofs._norm_mutants import (
    without_gamma,
    without_mean_path,
    without_variance_path,
)
from lstm_gradients.proofs.kit import (
    EPS,
    SEEDS,
    NormProblem,
    assert_pass,
    make_norm,
    norm_problems,
    vanishing_x,
)
from lstm_gradients.specs import normalization as nz
from lstm_gradients.specs.normalization import (
    METHODS,
    batchnorm_infer_backward,
    batchnorm_infer_forward,
    batchnorm_train_backward,
    batchnorm_train_forward,
    bn_linear_backward,
    bn_linear_forward,
    normalize_backward,
    normalize_backward_staged,
)

NAMES = ("x", "gamma", "beta")


# ---------------------------------------------------------------------------------------------
# NORM-1, NORM-4, NORM-8: the four methods, every argument, against finite differences
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("NORM-1", "NORM-4", "NORM-8")
@pytest.mark.parametrize("method", METHODS)
@given(data=st.data())
@example(data=None)
def test_backward_matches_finite_differences_for_every_argument(method: str, data: Any) -> None:
    """dx, dγ, dβ of BN, LN, IN and GN agree with FD under a random non-uniform cotangent.

    The `@example` is the degenerate size (every dimension 1, so m = 1 and x̂ ≡ 0)."""
    if data is None:
        p = make_norm(0, method, (1, 1, 1, 1))
    else:
        p = data.draw(norm_problems((method,), zero_eps=True))
    assume(p.conditioned)
    res = gradcheck.check_vjp(p.forward, normalize_backward, p.args, seed=p.cot_seed, names=NAMES)
    assert_pass(res, may_vanish=vanishing_x(p.m))


@pytest.mark.proves("NORM-8")
@given(p=norm_problems(zero_eps=True))
def test_staged_ioffe_szegedy_backward_equals_the_compact_form(p: NormProblem) -> None:
    """The paper's staged chain rule and the compact form give the same (dx, dγ, dβ).

    Tolerance: both are O(m)-term sums of terms bounded by M = max|dx̂|/s·(1 + max x̂²)
    (rounding ≤ ~m·eps·M each, Higham's γ_m), times a few operations per stage (k = 16). The
    staged form also keeps Σ−2(x_i − μ), which is 0 only up to ~m·eps·max|x|; multiplied by
    ∂ℓ/∂σ²/m it adds m·eps·M·max|x|/s — hence the (1 + max|x|/s) factor. dγ, dβ are the same
    expressions in both, so they must agree exactly.
    """
    assume(p.conditioned and p.m >= 2)
    y, cache = p.forward(*p.args)
    dy = np.random.default_rng(p.seed).standard_normal(y.shape)
    dx, dg, db = normalize_backward(dy, cache)
    sx, sg, sb = normalize_backward_staged(dy, cache)
    xhat, s = cache.xhat, cache.kernel.s
    dxhat = dy * cache.gamma
    M = np.max(np.abs(dxhat)) / np.min(s) * (1 + np.max(xhat**2))
    cond = 1 + np.max(np.abs(p.x)) / np.min(s)
    assert np.max(np.abs(dx - sx)) <= 16 * p.m * EPS * M * cond
    assert np.array_equal(dg, sg)
    assert np.array_equal(db, sb)


# ---------------------------------------------------------------------------------------------
# NORM-1: BN with running statistics (pure) and in inference mode
# ---------------------------------------------------------------------------------------------

BN5 = ("x", "gamma", "beta", "running_mean", "running_var")


def _bn_state(seed: int, N: int, D: int, scale: float) -> tuple[np.ndarray, ...]:
    """x, γ, β, running mean, running variance v = e^U, U ~ Uniform(−1, 1).

    v's entries lie within a factor e² of each other, because the checker steps all of them by
    h ≈ 2.7e-5·rms(v) while x̂ ∝ (v_c + ε)^(−1/2) varies on the scale v_c: its kink test
    (|S(h) − 2S(h/2)| = h³·f⁽⁴⁾/16 against 80δ/h, δ = 32ε|f|) takes the smooth curvature for a
    kink once h/v_c ≳ 1e-3 (seen: v = e^N(0,1) drew v_c = 0.044 beside 8.0, h/v_c = 2.8e-3, a
    false inconclusive). With v_c ≥ rms(v)/e², h/v_c ≤ 2e-4: the curvature term is ~1e-3 of
    that threshold."""
    rng = np.random.default_rng(seed)
    x = scale * (rng.standard_normal() + rng.standard_normal((N, D)))
    return (
        x,
        rng.standard_normal(D),
        rng.standard_normal(D),
        rng.standard_normal(D),
        np.exp(rng.uniform(-1.0, 1.0, D)),
    )


@pytest.mark.proves("NORM-1")
@settings(max_examples=25)  # expensive: five arguments, three outputs, full FD of each entry
@given(
    seed=SEEDS,
    N=st.integers(2, 6),
    D=st.integers(1, 4),
    scale_exp=st.floats(-2, 2),
    momentum=st.floats(0.0, 0.999),
)
@example(seed=0, N=2, D=1, scale_exp=0.0, momentum=0.9)
def test_training_bn_with_running_statistics_is_pure_and_its_backward_matches_fd(
    seed: int, N: int, D: int, scale_exp: float, momentum: float
) -> None:
    """Running statistics are outputs, not mutated state: two calls agree bit for bit, the
    arguments are untouched, and the backward of all three outputs matches FD."""
    args = _bn_state(seed, N, D, 10.0**scale_exp)
    copies = tuple(a.copy() for a in args)
    assume(nz.well_conditioned(args[0], "BN", 1e-5))

    def forward(*a: np.ndarray) -> tuple[Any, Any]:
        return batchnorm_train_forward(*a, momentum=momentum)

    out1, _ = forward(*args)
    out2, _ = forward(*args)
    assert all(np.array_equal(u, v) for u, v in zip(out1, out2, strict=True))
    assert all(np.array_equal(a, c) for a, c in zip(args, copies, strict=True))
    res = gradcheck.check_vjp(forward, batchnorm_train_backward, args, seed=seed + 1, names=BN5)
    # running_mean/var enter only through momentum · (·): their gradient is momentum · v, which
    # the FD resolution (≈ ε|f|/h ≈ 1e-11 relative, h ≈ 2e-5·scale) loses once momentum is
    # ~1e-10 or below; allowing vacuity from 1e-6 down only permits "inconclusive" there.
    tiny_momentum = ("running_mean", "running_var") if momentum < 1e-6 else ()
    assert_pass(res, may_vanish=vanishing_x(N) + tiny_momentum)


@pytest.mark.proves("NORM-1")
@settings(max_examples=25)  # expensive: five arguments, full FD of each entry
@given(seed=SEEDS, N=st.integers(1, 6), D=st.integers(1, 4), scale_exp=st.floats(-2, 2))
@example(seed=0, N=1, D=1, scale_exp=0.0)
def test_inference_bn_is_a_per_sample_affine_map_and_its_backward_matches_fd(
    seed: int, N: int, D: int, scale_exp: float
) -> None:
    """Inference BN uses the population statistics only: sample n's output equals the output
    of the batch holding sample n alone (bit for bit), and all five gradients match FD."""
    args = _bn_state(seed, N, D, 10.0**scale_exp)
    y, _ = batchnorm_infer_forward(*args)
    alone, _ = batchnorm_infer_forward(args[0][-1:], *args[1:])
    assert np.array_equal(y[-1:], alone)
    res = gradcheck.check_vjp(
        batchnorm_infer_forward, batchnorm_infer_backward, args, seed=seed + 1, names=BN5
    )
    assert_pass(res)


class _MutatingBatchNorm:
    """Deliberately wrong (negative control): the CS231n ``bn_param`` pattern, running stats
    updated **in place** on every training call, and the output normalised by them."""

    def __init__(self, D: int) -> None:
        self.mean, self.var = np.zeros(D), np.ones(D)

    def __call__(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> tuple[Any, Any]:
        (_, self.mean, self.var), _ = batchnorm_train_forward(x, gamma, beta, self.mean, self.var)
        return batchnorm_infer_forward(x, gamma, beta, self.mean, self.var)


@pytest.mark.proves("NORM-1")
@settings(max_examples=15)  # two full checks per example; the drift shows on every example
@given(seed=SEEDS, N=st.integers(2, 5), D=st.integers(1, 3))
def test_mutating_running_statistics_break_a_check_and_the_pure_api_does_not(
    seed: int, N: int, D: int
) -> None:
    """The classic false failure: statistics that drift between the checker's evaluations make
    f not a function (the checker refuses or fails); the same computation through the pure API
    (train → new stats → inference with them) is a function and passes."""
    x, gamma, beta, rm, rv = _bn_state(seed, N, D, 1.0)
    assume(nz.well_conditioned(x, "BN", 1e-5))
    layer = _MutatingBatchNorm(D)
    try:
        res = gradcheck.check_vjp(
            layer, batchnorm_infer_backward_3, (x, gamma, beta), seed=seed + 1
        )
        assert res.status == "fail", str(res)
    except gradcheck.NondeterministicError:
        pass

    def pure(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> tuple[Any, Any]:
        (_, m, v), tcache = batchnorm_train_forward(x, gamma, beta, rm, rv)
        out, icache = batchnorm_infer_forward(x, gamma, beta, m, v)
        return out, (tcache, icache)

    def pure_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        tcache, icache = cache
        dx, dg, db, dm, dv = batchnorm_infer_backward(dout, icache)
        zero = np.zeros_like(dout)
        tx, tg, tb, _, _ = batchnorm_train_backward((zero, dm, dv), tcache)
        return dx + tx, dg + tg, db + tb

    assert_pass(
        gradcheck.check_vjp(pure, pure_backward, (x, gamma, beta), seed=seed + 1, names=NAMES)
    )


def batchnorm_infer_backward_3(dy: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """(dx, dγ, dβ) of inference BN, ignoring the statistics' dependence on x (what the
    mutating layer's author would write)."""
    return batchnorm_infer_backward(dy, cache)[:3]


# ---------------------------------------------------------------------------------------------
# NORM-10: BN(uW + b), all five arguments
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("NORM-10")
@settings(max_examples=25)  # expensive: five arguments, full FD of each entry
@given(
    seed=SEEDS,
    m=st.integers(2, 8),
    d_in=st.integers(1, 4),
    d_out=st.integers(1, 4),
    eps=st.sampled_from([0.0, 1e-5, 1e-2]),
    w_exp=st.floats(-2, 2),
)
@example(seed=0, m=2, d_in=1, d_out=1, eps=0.0, w_exp=0.0)
def test_bn_of_a_linear_layer_backward_matches_fd(
    seed: int, m: int, d_in: int, d_out: int, eps: float, w_exp: float
) -> None:
    """BN(uW + b) (I&S §3.2 placement): du, dW, db (≈ 0), dγ, dβ against FD."""
    rng = np.random.default_rng(seed)
    args = (
        rng.standard_normal((m, d_in)),
        10.0**w_exp * rng.standard_normal((d_in, d_out)),
        rng.standard_normal(d_out),
        rng.standard_normal(d_out),
        rng.standard_normal(d_out),
    )
    assume(nz.well_conditioned(args[0] @ args[1] + args[2], "BN", eps))

    def forward(*a: np.ndarray) -> tuple[Any, Any]:
        return bn_linear_forward(*a, eps=eps)

    res = gradcheck.check_vjp(
        forward, bn_linear_backward, args, seed=seed + 1, names=("u", "W", "b", "gamma", "beta")
    )
    # db = 0 always (BN removes shifts); du, dW vanish for m ≤ 2 (see vanishing_x); and dW ⊥ W
    # per output column (NORM-10), which for d_in = 1 forces dW = 0 (O(ε) for ε > 0).
    vanish = ("b", *(("u", "W") if m <= 2 else ()), *(("W",) if d_in == 1 else ()))
    assert_pass(res, may_vanish=vanish)


# ---------------------------------------------------------------------------------------------
# Negative controls and the uniform-cotangent trap
# ---------------------------------------------------------------------------------------------


def variance_path_visible(p: NormProblem) -> bool:
    """The variance-path term x̂·mean(dx̂ x̂) has relative size σ²/(σ²+ε) (x̂ ≈ (x−μ)/√ε when
    ε ≫ σ²); require ≥ 0.1 in every group so that dropping it is above FD resolution."""
    s = p.forward(*p.args)[1].kernel.s
    return bool(np.min(1 - p.eps / s**2) >= 0.1)


WRONG = {
    "variance path": without_variance_path,
    "mean path": without_mean_path,
    "gamma": without_gamma,
}


@pytest.mark.proves("NORM-8")
@pytest.mark.parametrize("wrong", list(WRONG), ids=list(WRONG))
@settings(max_examples=10)  # 3 mistakes x full checks; each example must fail, 10 suffice
@given(p=norm_problems(eps_exp=(-12, -1)))
def test_dropped_terms_are_rejected_by_the_checker(wrong: str, p: NormProblem) -> None:
    """Each hand-made mistake in dx fails `check_vjp` (the same call that passes the spec).

    Needs m ≥ 3 and, for the γ mistake, some |γ_c| ≠ 1 by a margin (else dropping it is
    harmless); with m = 2 the x̂-terms cancel exactly (NORM-12: the Jacobian is 0 at ε = 0);
    for the variance path, σ² ≥ ε/9 in every group (else the term is below FD resolution)."""
    assume(p.conditioned and p.m >= 3)
    assume(wrong != "gamma" or np.max(np.abs(np.abs(p.gamma) - 1)) > 0.1)
    assume(wrong != "variance path" or variance_path_visible(p))
    res = gradcheck.check_vjp(p.forward, WRONG[wrong], p.args, seed=p.cot_seed, names=NAMES)
    assert res.status == "fail", str(res)


@pytest.mark.proves("NORM-8", "NORM-9")
@settings(max_examples=8)  # expensive: two plain checks and two check_vjp per example
@given(p=norm_problems(("BN",), eps_exp=(-12, -1)))
def test_a_uniform_upstream_gradient_makes_a_plain_check_vacuous(p: NormProblem) -> None:
    """With dy ≡ 1 the loss Σy = Σ_c β_c·(count) + Σ γ_c Σx̂ is constant in x (Σx̂ = 0 per
    group), so both sides of a plain check of dx are ~0 — the checker reports "inconclusive"
    (vacuous), right or wrong: a backward that drops the variance path (the −x̂·mean(dx̂ x̂)
    term vanishes too) is not caught; `check_vjp`, drawing a
    non-uniform cotangent, rejects the same wrong backward and passes the right one."""
    assume(p.conditioned and p.m >= 3 and variance_path_visible(p))
    ones = np.ones_like(p.x)

    def loss(x: np.ndarray) -> float:
        return float(np.sum(p.forward(x, p.gamma, p.beta)[0]))

    def grad_with(backward: Any) -> Any:
        return lambda x: backward(ones, p.forward(x, p.gamma, p.beta)[1])[0]

    s = p.forward(*p.args)[1].kernel.s
    # "~0": dx is then pure rounding of O(m)-term means of terms ≤ max|γ|/s·(1 + max x̂²),
    # x̂² ≤ m − 1 (NORM-12), plus the cancellation of x − μ (max|x|/s); k = 16 operations.
    floor = (
        16
        * p.m
        * EPS
        * np.max(np.abs(p.gamma))
        / np.min(s)
        * p.m
        * (1 + np.max(np.abs(p.x)) / np.min(s))
    )
    for backward in (normalize_backward, without_variance_path):
        plain = gradcheck.check_grad(loss, grad_with(backward), p.x)
        assert plain.status == "inconclusive", str(plain)  # the checker calls it vacuous
        assert np.max(np.abs(grad_with(backward)(p.x))) <= floor
    wrong = gradcheck.check_vjp(
        p.forward, without_variance_path, p.args, seed=p.cot_seed, names=NAMES
    )
    assert wrong.status == "fail", str(wrong)
    assert_pass(
        gradcheck.check_vjp(p.forward, normalize_backward, p.args, seed=p.cot_seed, names=NAMES)
    )
