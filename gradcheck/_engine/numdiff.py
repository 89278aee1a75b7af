r"""Central differences with an error estimate, and THE error model of gradcheck.

Every checker and both modes judge an analytic derivative against the numeric one by the
model written here; other docstrings refer to this one.

**Stencil.** For a coordinate :math:`x_i` with step :math:`h` (in fast mode, the :math:`t` of
:math:`f(x + t u)`), four evaluations :math:`f(x \pm h e_i)`, :math:`f(x \pm \tfrac h2 e_i)`
and the base value :math:`f_0` give

.. math::
    D(h) = \frac{f(x+h) - f(x-h)}{2h}, \qquad
    N = D(\tfrac h2) + \frac{D(\tfrac h2) - D(h)}{3}
    \quad\text{(Richardson, error } O(h^4)\text{)}.

**Error of N**, :math:`E = T + R` (all terms are bounds, not standard deviations):

* truncation :math:`T = |D(\tfrac h2) - D(h)|`. It estimates :math:`\tfrac34 h^2|f'''|/6`,
  the error of :math:`D(h)` itself, so it over-covers the :math:`O(h^4)` error of :math:`N`;
* rounding :math:`R = 3\delta/h`, with :math:`\delta` the error of one evaluation of
  :math:`f`: :math:`N = [8(f_{+1/2} - f_{-1/2}) - (f_{+1} - f_{-1})] / 6h`, whose coefficients
  sum to 18 in absolute value, :math:`18\delta / 6h = 3\delta/h`. :math:`\delta` is the larger
  of :math:`\text{ulps}\cdot\varepsilon_f\cdot\max|f|` over the stencil (for an inner product
  :math:`\langle v, y\rangle`: :math:`\sum|v||y|` instead of :math:`|f|`, which cancellation can
  make small) and the rounding noise of :math:`f` measured near the base point
  (`gradcheck._engine.problem.noise`): a loss near 0 computed from O(1) terms has rounding
  errors of ε times those terms, not ε |f|.

**Allowed error.** An entry (a coordinate, and for vector functions an output) with analytic
value :math:`a_i` fails when

.. math::
    |a_i - N_i| > \text{allowed}_i = 4 E_i
        + \text{ulps}\,\varepsilon_g \Big(|a_i| + \frac{G}{s_i}\Big) + 4 e_i
        + \text{atol} + \text{rtol}\,|N_i|,
    \qquad G = \max_j |a_j| s_j .

The factor 4 (`gradcheck._engine.judge.SAFETY`) covers the estimate being a single
realization (rounding errors of one sign can add). The second term is the analytic side's own
rounding (:math:`\varepsilon_g` of the gradient's dtype), judged against the scale of the
whole gradient: :math:`s_j` is parameter :math:`j`'s magnitude, so :math:`|a_j| s_j` is how
much :math:`f` moves when parameter :math:`j` moves by its own magnitude, and :math:`G/s_i` is
the gradient entry that would matter as much as the largest one; a saturated sigmoid whose
float formula gives 0 for a true 1e-17 is not a bug. :math:`e_i` is measured, not guessed: for
parameters below float64 the analytic gradient is also evaluated at float64 copies when it
accepts them (`gradcheck._engine.analytic`), and :math:`e_i` is the difference (1 − tanh² near
saturation loses hundreds of float32 ulps); a formula error, present in both, is still caught.
``atol`` and ``rtol`` are the user's extra slack, 0 by default. In float64 a correct gradient
typically agrees to ~1e-10 relative, and a single entry off by a relative 1e-6 of the
gradient's scale is caught.

**Kinks.** A symmetric stencil is exactly consistent across steps at a symmetric kink
(ReLU at 0 gives :math:`D(h) = D(h/2) = 1/2`, estimated error 0). The one-sided slope
differences :math:`S(h) = (f_{+1} - 2f_0 + f_{-1})/h \approx h f''` and
:math:`S(h/2) \approx \tfrac h2 f''` expose it: for smooth :math:`f`,
:math:`S(h) - 2S(h/2) = h^3 f''''/16`, while a jump :math:`J` in slope anywhere inside the
stencil leaves :math:`|S(h) - 2S(h/2)|` of order :math:`J`. Rounding moves that combination by
at most :math:`4\delta/h + 2\cdot 8\delta/h = 20\delta/h`; we call the coordinate non-smooth
when it exceeds `KINK_MARGIN` times that. A non-smooth entry is inconclusive, unless its
difference exceeds what the slope jump can explain (``allowed + 2 max(|S(h)|, |S(h/2)|)``).

**Step** (`relative_step`, `steps`). :math:`h_i = 2^{\mathrm{round}(\log_2 c\, s_i)}` with
:math:`c = (\text{ulps}\cdot\varepsilon_f)^{1/3}` (the :math:`h` that balances :math:`h^2`
truncation against :math:`\delta/h` rounding; about 1.9e-5 in float64) and :math:`s_i =
\max(|x_i|, \mathrm{rms}(\text{leaf}))` (1 for an all-zero leaf): relative to the parameter's
magnitude, and a power of two so that :math:`x \pm h` and :math:`x \pm h/2` are exact in almost
all cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: a rounding bound is exceeded by this factor before a coordinate counts as non-smooth.
KINK_MARGIN = 4.0
#: the stencil offsets, in units of h, in the order the values are stored.
OFFSETS = np.array([-1.0, -0.5, 0.5, 1.0])


def step_factor(ulps: float, eps: float) -> float:
    """The relative step ``c = (ulps * eps) ** (1/3)`` that balances truncation and rounding."""
    return float((ulps * eps) ** (1.0 / 3.0))


def relative_step(step: float | None, ulps: float, eps_f: float) -> float:
    """THE step choice of both modes: the user's ``step``, or the balancing `step_factor`."""
    return step if step is not None else step_factor(ulps, eps_f)


def scales(x: FloatArray) -> FloatArray:
    """``max(|x_i|, rms(x))`` for every entry of one leaf (1 where the leaf is all zero)."""
    rms = float(np.sqrt(np.mean(np.square(x))))
    return np.maximum(np.abs(x), rms if rms > 0 else 1.0)


def steps(scale: FloatArray, factor: float) -> FloatArray:
    """Power-of-two steps nearest to ``factor * scale``."""
    return np.asarray(np.exp2(np.round(np.log2(factor * scale))), dtype=np.float64)


@dataclass(frozen=True)
class Differences:
    """Richardson derivatives of a batch of coordinates, with error estimates.

    Arrays have shape ``(n,) + out_shape``: one row per coordinate, one column per output.
    """

    numeric: FloatArray
    truncation: FloatArray
    rounding: FloatArray
    kink: NDArray[np.bool_]
    slope_jump: FloatArray  # max(|S(h)|, |S(h/2)|): how far a kink can move a subgradient
    finite: NDArray[np.bool_]

    @property
    def error(self) -> FloatArray:
        """The estimated bound on ``|numeric - true derivative|``."""
        return np.asarray(self.truncation + self.rounding, dtype=np.float64)


def joined(parts: Sequence[Differences], shape: tuple[int, ...]) -> Differences:
    """``parts`` concatenated along the coordinate axis, every field reshaped to ``shape``
    (``(n, m)``: coordinates x outputs, the layout `gradcheck._engine.judge.judge` reads)."""
    return Differences(
        **{
            f.name: np.reshape(np.concatenate([getattr(p, f.name) for p in parts]), shape)
            for f in fields(Differences)
        }
    )


def differences(
    f0: FloatArray, values: FloatArray, h: FloatArray, delta: FloatArray
) -> Differences:
    """Derivatives from stencil values.

    f0: base value, shape ``out_shape``. values: shape ``(n, 4) + out_shape``, at the offsets
    `OFFSETS` times ``h``. h: shape ``(n,)``. delta: per-evaluation rounding bound, shape
    ``(n,) + out_shape`` (ulps * eps * max|f| over the stencil, or the measured noise).
    """
    hh = h.reshape(h.shape + (1,) * (values.ndim - 2))
    fm1, fm2, fp2, fp1 = (values[:, k] for k in range(4))
    finite = np.asarray(np.isfinite(values).all(axis=1))
    with np.errstate(invalid="ignore", over="ignore"):
        d1 = (fp1 - fm1) / (2 * hh)
        d2 = (fp2 - fm2) / hh
        numeric = d2 + (d2 - d1) / 3
        s1 = (fp1 - 2 * f0 + fm1) / hh
        s2 = (fp2 - 2 * f0 + fm2) / (hh / 2)
        kink = np.abs(s1 - 2 * s2) > KINK_MARGIN * 20 * delta / hh
        return Differences(
            numeric=np.where(finite, numeric, np.nan),
            truncation=np.where(finite, np.abs(d2 - d1), np.inf),
            rounding=3 * delta / hh,
            kink=kink & finite,
            slope_jump=np.where(finite, np.maximum(np.abs(s1), np.abs(s2)), np.inf),
            finite=finite,
        )


Evaluate = Callable[[int, NDArray[np.intp], FloatArray], tuple[FloatArray, FloatArray]]
"""``evaluate(leaf, flat_indices, offsets) -> (values, magnitudes)``: f at the base point with
entry ``flat_indices[k]`` of leaf ``leaf`` moved by ``offsets[k, j]``, each shaped
``(k, j) + out_shape``. The magnitude is what f's rounding error is proportional to
(``|f|`` for a plain function; ``sum |v| |y|`` for an inner product ``<v, y>``)."""

Point = Callable[[list[FloatArray]], tuple[FloatArray, FloatArray]]
"""``point(leaves) -> (value, magnitude)``: one evaluation of the checked function."""
