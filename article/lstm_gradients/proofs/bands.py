"""Acceptance bands for the proofs' Monte Carlo assertions, each with a proven false-failure
probability (issue 12: no flaky test).

Budget. A statistical test may fail falsely with probability at most `TEST_BUDGET` = 1e-7 per
run, split evenly (Bonferroni) over its probabilistic events: the examples Hypothesis may run
(``max_examples`` plus the explicit ``@example``\\ s) times the probabilistic assertions of one
example; `per_event` gives the share. The suite has fewer than ten statistical tests, so a whole
run fails falsely with probability below 1e-6. A negative control states its power the same
way: the probability that it holds is at least 1 − (its share).

The bands are exact statements about iid draws (numpy's generators are taken as that model):

`chi2_interval`
    X ~ χ²_k ⇒ P(X/k ∉ [lo, hi]) ≤ α, from the exact quantiles (α/2 in each tail).
`mean_halfwidth`
    Ȳ the mean of R iid copies of Y whose raw moments E[Y^j] are known exactly ⇒
    P(|Ȳ − E Y| ≥ t) ≤ α, by Markov's inequality on an even central moment of Ȳ:
    P(|Ȳ − E Y| ≥ t) ≤ E[(Ȳ − E Y)^p] / t^p, and E[(Ȳ − E Y)^p] follows exactly from Y's
    cumulants (κ_j(Ȳ) = κ_j(Y) / R^{j−1}). The p (fixed in advance, not by the data) that
    gives the narrowest band is used; for p = 16 and α ≈ 1e-9 the band is about 9.5 standard
    errors, against the 6 of a normal approximation that no bound backs.
`dkw_halfwidth`
    The empirical CDF F_n of n iid draws from a continuous F: P(sup|F_n − F| > t) ≤
    2 exp(−2 n t²) (Dvoretzky–Kiefer–Wolfowitz with Massart's constant, 1990).

The moments are computed in exact rational arithmetic (`fractions.Fraction`), so the bands carry
no rounding of their own beyond the final conversion to float (relative 1e-16).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from fractions import Fraction

from scipy import stats

__all__ = [
    "TEST_BUDGET",
    "centred_square_moments",
    "chi2_interval",
    "chi2_raw_moments",
    "dkw_halfwidth",
    "gamma_raw_moments",
    "gaussian_batch_statistics_bands",
    "mean_halfwidth",
    "per_event",
]

TEST_BUDGET = 1e-7  # false-failure probability of one statistical test per run
MAX_ORDER = 16  # the highest central moment of a mean used by `mean_halfwidth`


def per_event(examples: int, events: int, budget: float = TEST_BUDGET) -> float:
    """The Bonferroni share of one probabilistic event: ``budget / (examples · events)``."""
    return budget / (examples * events)


def chi2_interval(dof: int, alpha: float) -> tuple[float, float]:
    """``(lo, hi)`` with P(X/dof < lo) = P(X/dof > hi) = α/2 for X ~ χ²_dof."""
    return (
        float(stats.chi2.ppf(alpha / 2, dof)) / dof,
        float(stats.chi2.isf(alpha / 2, dof)) / dof,
    )


def dkw_halfwidth(n: int, alpha: float) -> float:
    """t with 2·exp(−2 n t²) = α: P(KS distance of n draws > t) ≤ α."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))


@functools.lru_cache(maxsize=256)
def chi2_raw_moments(k: int, scale: Fraction, n: int) -> tuple[Fraction, ...]:
    """E[V^j], j = 0 … n, for V = scale·χ²_k: scale^j·k(k+2)⋯(k+2j−2)."""
    out, acc = [Fraction(1)], Fraction(1)
    for j in range(n):
        acc *= scale * (k + 2 * j)
        out.append(acc)
    return tuple(out)


@functools.lru_cache(maxsize=256)
def gamma_raw_moments(shape: int, scale: Fraction, n: int) -> tuple[Fraction, ...]:
    """E[V^j], j = 0 … n, for V = scale·Gamma(shape, 1): scale^j·shape(shape+1)⋯(shape+j−1)."""
    out, acc = [Fraction(1)], Fraction(1)
    for j in range(n):
        acc *= scale * (shape + j)
        out.append(acc)
    return tuple(out)


@functools.lru_cache(maxsize=256)
def centred_square_moments(raw: tuple[Fraction, ...], c: Fraction) -> tuple[Fraction, ...]:
    """E[Y^j] for Y = (V − c)², j = 0 … (len(raw) − 1) // 2, from V's raw moments ``raw``."""
    n = (len(raw) - 1) // 2
    out = []
    for j in range(n + 1):
        out.append(
            sum(
                (math.comb(2 * j, i) * raw[i] * (-c) ** (2 * j - i) for i in range(2 * j + 1)),
                Fraction(0),
            )
        )
    return tuple(out)


def _cumulants(raw: Sequence[Fraction]) -> list[Fraction]:
    """κ_1 … κ_n from the raw moments m_0 = 1, m_1 … m_n (index 0 of the result is unused)."""
    kappa = [Fraction(0)] * len(raw)
    for n in range(1, len(raw)):
        kappa[n] = raw[n] - sum(
            (math.comb(n - 1, k - 1) * kappa[k] * raw[n - k] for k in range(1, n)), Fraction(0)
        )
    return kappa


def _central_from_cumulants(kappa: Sequence[Fraction], n: int) -> list[Fraction]:
    """Central moments μ_0 … μ_n from the cumulants (κ_1 is ignored: centred)."""
    mu = [Fraction(1), Fraction(0)]
    for order in range(2, n + 1):
        terms = (
            math.comb(order - 1, k - 1) * kappa[k] * mu[order - k] for k in range(2, order + 1)
        )
        mu.append(sum(terms, Fraction(0)))
    return mu


@functools.lru_cache(maxsize=1024)
def mean_halfwidth(raw: tuple[Fraction, ...], R: int, alpha: float) -> float:
    """t with P(|Ȳ − E Y| ≥ t) ≤ α for the mean Ȳ of R iid copies of Y, E[Y^j] = ``raw[j]``.

    Markov on the p-th central moment of Ȳ, for the even p ≤ min(len(raw) − 1, `MAX_ORDER`)
    that gives the smallest t (each p alone is a valid bound, and p does not depend on the
    data). Returns 0 for a constant Y."""
    top = min(len(raw) - 1, MAX_ORDER)
    kappa = _cumulants(raw[: top + 1])
    of_mean = [Fraction(0)] + [kappa[j] / Fraction(R) ** (j - 1) for j in range(1, top + 1)]
    mu = _central_from_cumulants(of_mean, top)
    if mu[2] == 0:
        return 0.0
    return min(math.exp((_log(mu[p]) - math.log(alpha)) / p) for p in range(2, top + 1, 2))


def _log(x: Fraction) -> float:
    """log of a positive rational of any size (math.log is exact-range on integers)."""
    return math.log(x.numerator) - math.log(x.denominator)


def gaussian_batch_statistics_bands(m: int, R: int, alpha: float) -> dict[str, tuple[float, float]]:
    """Intervals for the Monte Carlo estimates of `batch_statistics_monte_carlo` on R batches of
    m iid N(μ, 1) values: ``var_mean``, ``mean_var``, ``var_var``, ``mse_var`` (multiply by σ²,
    σ², σ⁴, σ⁴ for N(μ, σ²)). All four hold together with probability ≥ 1 − 4α.

    With v = σ_B², k = m − 1, m·v ~ χ²_k exactly and μ_B ~ N(μ, 1/m):
    * var_mean = (1/R)Σ(μ_B − mean μ_B)² = (1/m)·χ²_{R−1}/R: the exact χ² interval;
    * mean_var = (1/R)Σ v = χ²_{Rk}/(Rm): the exact χ² interval (0 exactly when m = 1);
    * var_var = (1/R)Σ(v − v̄)² = Ȳ − (v̄ − c)² with Y = (v − c)², c = k/m = E v: Ȳ within
      `mean_halfwidth` of E Y = 2k/m², and 0 ≤ (v̄ − c)² ≤ (c·max(hi − 1, 1 − lo))² on the
      mean_var event (no new event);
    * mse_var = (1/R)Σ(v − 1)²: within `mean_halfwidth` of E = (2k + 1)/m².
    """
    k = m - 1
    (vm_lo, vm_hi) = chi2_interval(R - 1, alpha)
    out = {"var_mean": ((R - 1) / R * vm_lo / m, (R - 1) / R * vm_hi / m)}
    if k == 0:  # one value per batch: σ_B² ≡ 0 exactly
        return out | {"mean_var": (0.0, 0.0), "var_var": (0.0, 0.0), "mse_var": (1.0, 1.0)}
    mv_lo, mv_hi = chi2_interval(R * k, alpha)
    c = k / m
    out["mean_var"] = (c * mv_lo, c * mv_hi)
    raw = chi2_raw_moments(k, Fraction(1, m), 2 * MAX_ORDER)
    t_var = mean_halfwidth(centred_square_moments(raw, Fraction(k, m)), R, alpha)
    t_mse = mean_halfwidth(centred_square_moments(raw, Fraction(1)), R, alpha)
    plug_in = (c * max(mv_hi - 1, 1 - mv_lo)) ** 2
    var_var, mse = 2 * k / m**2, (2 * k + 1) / m**2
    out["var_var"] = (var_var - t_var - plug_in, var_var + t_var)
    out["mse_var"] = (mse - t_mse, mse + t_mse)
    return out
