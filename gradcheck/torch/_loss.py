r"""The real loss that turns ``fn`` into a scalar: :math:`L = \sum_k \operatorname{Re}\langle
v_k, y_k\rangle` over ``fn``'s floating and complex outputs :math:`y_k`, with a random
non-uniform cotangent :math:`v_k` (as `gradcheck.check_vjp` draws it), evaluated in torch.

A complex output is weighed by a complex cotangent, :math:`\operatorname{Re}(\bar v y) =
\operatorname{Re} v \operatorname{Re} y + \operatorname{Im} v \operatorname{Im} y`, so its
real and imaginary parts are both checked (`gradcheck._complex`); ``backward`` of this loss
is ``fn``'s backward at the upstream gradient :math:`v`. The loss is computed in the outputs'
dtype, with its rounding magnitude :math:`\sum |v||y|` (see `gradcheck._engine.numdiff`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gradcheck._errors import InvalidInputError, InvalidTypeError
from gradcheck._vector import _COTANGENT_TAG, cotangents
from gradcheck.torch._inputs import Call


def outputs(out: Any) -> list[torch.Tensor]:
    """The floating and complex tensors of ``fn``'s result (nested tuples/lists/dicts), in
    order; integer and boolean outputs (indices, masks) have no gradient and are left out."""
    if isinstance(out, torch.Tensor):
        return [out] if out.is_floating_point() or out.is_complex() else []
    if isinstance(out, dict):
        return [t for v in out.values() for t in outputs(v)]
    if isinstance(out, list | tuple):
        return [t for v in out for t in outputs(v)]
    return []


@dataclass(frozen=True)
class Loss:
    """``loss(tensors) -> (L, magnitude)``, both 0-d tensors in the outputs' dtype."""

    call: Call
    v: tuple[torch.Tensor, ...]  # one cotangent per output, float64 / complex128

    def __call__(self, tensors: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        ys = outputs(self.call(tensors))
        if len(ys) != len(self.v) or any(
            y.shape != v.shape for y, v in zip(ys, self.v, strict=False)
        ):
            raise InvalidInputError(
                f"fn returned outputs of shapes {[tuple(y.shape) for y in ys]} here and "
                f"{[tuple(v.shape) for v in self.v]} at the checked point: the outputs of a "
                "differentiable function keep their shapes (data-dependent shapes, such as "
                "nonzero or unique, cannot be checked)."
            )
        value: Any = 0
        mag: Any = 0
        for y, v in zip(ys, self.v, strict=True):
            parts = [(y.real, v.real), (y.imag, v.imag)] if y.is_complex() else [(y, v)]
            for yp, vp in parts:
                vp = vp.to(yp.dtype)
                value = value + torch.sum(vp * yp)
                mag = mag + torch.sum(vp.abs() * yp.abs())
        return value, mag


def cotangent(call: Call, tensors: Sequence[torch.Tensor], seed: int) -> Loss:
    """The loss of ``call`` with a cotangent drawn from ``seed`` for its outputs at
    ``tensors`` (real and imaginary parts drawn independently for a complex output)."""
    with torch.no_grad():
        ys = outputs(call(tensors))
    if not ys:
        raise InvalidTypeError(
            "fn returned no floating-point or complex tensor: there is no gradient to check."
        )
    stream = np.random.default_rng(np.random.SeedSequence([seed, _COTANGENT_TAG]))
    vs = []
    for y in ys:
        shape = tuple(y.shape)
        if y.is_complex():
            re, im = cotangents([shape, shape], stream)
            t = torch.tensor(re + 1j * im, dtype=torch.complex128, device=y.device)
        else:
            (re,) = cotangents([shape], stream)
            t = torch.tensor(re, dtype=torch.float64, device=y.device)
        vs.append(t)
    return Loss(call, tuple(vs))
