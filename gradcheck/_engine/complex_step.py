r"""The complex step, used only where it is safe.

For an analytic (holomorphic) :math:`f` with real values on real input,
:math:`f'(x) = \operatorname{Im} f(x + i h) / h + O(h^2)` with no subtraction at all, so
:math:`h = 10^{-20} s_i` leaves no truncation and only the rounding of the derivative itself.
But ``abs``, ``maximum``, comparisons, ``.real`` and real-only libraries break it silently.
So the complex step is *checked*, never trusted: it is used for an entry only when it agrees
with the error-modelled central difference of that entry (whose stencil was accepted), and the
check falls back to the central difference wherever it does not (or everywhere, when ``f``
drops the imaginary part).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gradcheck._engine.numdiff import Differences, FloatArray
from gradcheck._engine.options import ComplexPoint

#: the complex step, relative to each parameter's scale.
COMPLEX_STEP = 1e-20


def complex_refine(
    fn: ComplexPoint,
    base: list[FloatArray],
    d: Differences,
    scale: FloatArray,
    *,
    ulps: float,
    safety: float,
) -> tuple[Differences, int, str]:
    """``d`` (one row per entry of a scalar f) with complex-step values where they agree with
    it; (result, calls, note)."""
    base_c = [x.astype(np.complex128) for x in base]
    try:
        probe = np.asarray(fn(base_c))
    except Exception as exc:  # f cannot take complex input at all
        return d, 1, f"complex step not used: f raised {type(exc).__name__} on complex input."
    if not np.iscomplexobj(probe):
        return d, 1, "complex step not used: f drops the imaginary part (abs, .real, casts?)."
    eps = float(np.finfo(np.float64).eps)
    h = COMPLEX_STEP * scale
    values = np.empty(scale.size)
    k = 0
    for j, x in enumerate(base_c):
        for i in range(x.size):
            moved = x.copy()
            moved.flat[i] += 1j * h[k]
            values[k] = np.imag(fn([*base_c[:j], moved, *base_c[j + 1 :]])) / h[k]
            k += 1
    g_scale = np.max(np.abs(values) * scale)
    rounding = ulps * eps * (np.abs(values) + g_scale / scale)
    cs, cs_err = values.reshape(d.numeric.shape), rounding.reshape(d.numeric.shape)
    agree = d.smooth & (np.abs(cs - d.numeric) <= safety * d.error + cs_err)
    refined = replace(
        d,
        numeric=np.where(agree, cs, d.numeric),
        truncation=np.where(agree, 0.0, d.truncation),
        rounding=np.where(agree, cs_err, d.rounding),
        hidden=np.where(agree, 0.0, d.hidden),
    )
    n_bad = int(np.sum(~agree & d.smooth))
    note = (
        f"complex step disagreed with central differences on {n_bad} entries (f is not "
        "holomorphic there); those use central differences."
        if n_bad
        else ""
    )
    return refined, 1 + scale.size, note
