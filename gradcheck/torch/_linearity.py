r"""Each output's backward alone: a backward is linear in its upstream gradients.

`check` judges ``fn``'s backward at one cotangent over every output at once, the loss
:math:`L = \sum_k \operatorname{Re}\langle v_k, y_k\rangle`. Autograd also calls a backward
with some outputs' gradients undefined (``None``: that output is not used downstream), a
path the weighted sum never takes; ``native_group_norm``'s backward drops the ``mean`` and
``rstd`` terms there (``autograd.grad(mean[0, 0], x)`` is ``None``, while the exact gradient
is 1/9 on the group's 9 entries), which torch's per-output Jacobian catches and a weighted
sum does not. So, for a function of several differentiable outputs, each output's VJP alone
(the others ``None``) is compared with the VJP of all at once, which finite differences have
checked: by linearity :math:`\sum_k J_k^\top v_k = J^\top v` exactly, and in floating point
within the analytic side's rounding, the engine's own bound for it:
``ulps eps_g (|a| + G / s_i)`` (`gradcheck._engine.numdiff`), with :math:`|a|` the sum of the
parts' magnitudes and :math:`G = \max_j |a_j| s_j` over every entry. No evaluation of f.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from gradcheck._engine.numdiff import leaf_scale, scales
from gradcheck._result import Entry, Status
from gradcheck._tree import Leaf
from gradcheck.torch._loss import Loss, outputs


def per_output(
    loss: Loss, tensors: Sequence[torch.Tensor], whole: Sequence[Leaf], ulps: float
) -> Entry | None:
    """The entry where the sum of the outputs' backwards alone differs most from the backward
    of all outputs at once, beyond the bound (None when every entry is within it, or ``fn``
    has one differentiable output). ``tensors``: fresh copies of the inputs."""
    if len(loss.keep) < 2:
        return None
    ts = [t.detach().requires_grad_() for t in tensors]
    with torch.enable_grad():
        every = outputs(loss.call(ts))
        terms = [_term(loss, k, every[k]) for k in range(len(loss.keep))]
        whole_g = _grads(sum(terms[1:], terms[0]), ts, keep=True)
        parts = [_grads(term, ts, keep=True) for term in terms]
    n = range(len(ts))
    sums = [np.sum([p[i] for p in parts], axis=0) for i in n]
    size = [np.abs(whole_g[i]) + np.sum([np.abs(p[i]) for p in parts], axis=0) for i in n]
    s = [_scales(leaf) for leaf in whole]
    g_scale = max(float(np.max(a * si, initial=0.0)) for a, si in zip(size, s, strict=True))
    worst: Entry | None = None
    for i, (leaf, t) in enumerate(zip(whole, ts, strict=True)):
        eps = float(torch.finfo(t.dtype).eps)
        allowed = ulps * eps * (size[i] + g_scale / s[i])
        diff = np.abs(sums[i] - whole_g[i])
        over = diff > allowed
        if not over.any():
            continue
        k = int(np.argmax(np.where(over, diff / np.where(allowed > 0, allowed, 1.0), -1.0)))
        idx = tuple(int(j) for j in np.unravel_index(k, leaf.array.shape))
        entry = _entry(leaf, idx, sums[i][idx], whole_g[i][idx], float(allowed[idx]), parts, i)
        if worst is None or entry.ratio > worst.ratio:
            worst = entry
    return worst


def _scales(leaf: Leaf) -> NDArray[np.float64]:
    """Each entry's scale s_i (`gradcheck._engine.numdiff.scales`), of |x| for complex x."""
    x = np.abs(leaf.array).astype(np.float64)
    return np.asarray(scales(x, leaf_scale(x)).reshape(x.shape), dtype=np.float64)


def _term(loss: Loss, k: int, y: torch.Tensor) -> torch.Tensor:
    """Output ``k``'s part of the loss: Re<v_k, y_k>."""
    yr = torch.view_as_real(y.resolve_conj()) if y.is_complex() else y
    v = loss.v[k]
    w = (torch.view_as_real(v) if v.is_complex() else v).to(yr.dtype)
    return (w * yr).sum()


def _grads(value: torch.Tensor, ts: list[torch.Tensor], keep: bool) -> list[NDArray[np.complex128]]:
    """d value / d ts as complex128 arrays (real inputs: zero imaginary part); None -> 0."""
    if not value.requires_grad:
        return [np.zeros(tuple(t.shape), dtype=np.complex128) for t in ts]
    gs = torch.autograd.grad(value, ts, allow_unused=True, retain_graph=keep)
    out = []
    for t, g in zip(ts, gs, strict=True):
        if g is None or g._is_zerotensor():
            g = torch.zeros_like(t)
        arr = g.detach().resolve_conj().resolve_neg().cpu().to(torch.complex128).numpy()
        out.append(np.asarray(arr))
    return out


def _entry(
    leaf: Leaf,
    idx: tuple[int, ...],
    summed: complex,
    at_once: complex,
    allowed: float,
    parts: list[list[NDArray[np.complex128]]],
    i: int,
) -> Entry:
    """The report line: 'analytic' is the sum of the outputs' backwards alone, 'numeric' the
    backward of all outputs at once (which agrees with finite differences)."""
    real = abs(summed.real - at_once.real) >= abs(summed.imag - at_once.imag)

    def pick(z: complex) -> float:
        return float(z.real if real else z.imag)

    alone = ", ".join(f"output {k}: {pick(p[i][idx]):.6g}" for k, p in enumerate(parts))
    part = ""
    if np.iscomplexobj(leaf.array):
        part = " (real part)" if real else " (imaginary part)"
    note = (
        "each output's backward alone (the other outputs' gradients None, as autograd passes "
        f"them) sums to the 'analytic' value{part}, the backward of all outputs at once to "
        "the 'numeric' one, which finite differences confirm; a backward is linear in its "
        f"upstream gradients, so one output's backward alone is wrong ({alone})."
    )
    return Entry(
        path=leaf.path,
        index=idx,
        analytic=pick(summed),
        numeric=pick(at_once),
        error=0.0,
        allowed=allowed,
        step=0.0,
        status=Status.FAIL,
        note=note,
    )
