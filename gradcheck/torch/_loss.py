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
from dataclasses import dataclass, field
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
    v: tuple[torch.Tensor, ...]  # one cotangent per checked output, float64 / complex128
    keep: tuple[int, ...]  # the differentiable outputs among `outputs(fn(...))`
    skipped: tuple[int, ...]  # outputs autograd declares non-differentiable
    cache: dict[tuple[int, torch.dtype], torch.Tensor] = field(default_factory=dict)

    def __call__(self, tensors: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.of(outputs(self.call(tensors)))

    def of(self, every: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss of ``fn``'s floating and complex outputs ``every`` (`outputs`)."""
        ys = [every[k] for k in self.keep if k < len(every)]
        if len(ys) != len(self.v) or any(
            y.shape != v.shape for y, v in zip(ys, self.v, strict=False)
        ):
            raise InvalidInputError(
                f"fn returned outputs of shapes {[tuple(y.shape) for y in ys]} here and "
                f"{[tuple(v.shape) for v in self.v]} at the checked point: the outputs of a "
                "differentiable function keep their shapes (data-dependent shapes, such as "
                "nonzero or unique, cannot be checked)."
            )
        sums = []
        for k, y in enumerate(ys):
            # Re<v, y> = sum(v_r y_r + v_i y_i): one product over the real view; |v y| = |v||y|
            # exactly in floating point, so the same product gives the rounding magnitude
            yr = torch.view_as_real(y.resolve_conj()) if y.is_complex() else y
            prod = self._weight(k, yr.dtype) * yr
            sums.append((prod.sum(), torch.linalg.vector_norm(prod, 1)))  # sum |v y|
        value, mag = sums[0]  # `cotangent` keeps at least one output
        for term, size in sums[1:]:
            value, mag = value + term, mag + size
        return value, mag

    def _weight(self, k: int, dtype: torch.dtype) -> torch.Tensor:
        """Output ``k``'s cotangent in ``dtype`` (a complex one as its real view, the shape of
        ``view_as_real`` of the output), converted once."""
        key = (k, dtype)
        if key not in self.cache:
            v = self.v[k]
            self.cache[key] = (torch.view_as_real(v) if v.is_complex() else v).to(dtype)
        return self.cache[key]


@dataclass(frozen=True)
class Graph:
    """The forward ``cotangent`` ran (with autograd) at fresh copies of the inputs: its leaf
    tensors and outputs, so that the base point's backward needs no second forward."""

    leaves: tuple[torch.Tensor, ...]
    outputs: list[torch.Tensor]


def cotangent(call: Call, tensors: Sequence[torch.Tensor], seed: int) -> tuple[Loss, Graph]:
    """The loss of ``call`` with a cotangent drawn from ``seed`` for its differentiable
    outputs at ``tensors`` (real and imaginary parts drawn independently for a complex output).

    As in ``torch.autograd.gradcheck``, an output that does not require grad although its
    inputs do (autograd declares it non-differentiable: indices, batch norm's saved statistics)
    is not checked; the report names it. Also returns that forward's `Graph`.
    """
    leaves = [t.detach().requires_grad_() for t in tensors]
    try:
        with torch.enable_grad():
            every = outputs(call(leaves))
    except Exception as exc:
        raise InvalidInputError(
            f"fn raised {type(exc).__name__} ({exc}) on fresh copies of its inputs (same "
            "values, shapes, strides, dtypes and device): gradcheck never passes your own "
            "tensors, so fn must not rely on their storage (as_strided with an offset)."
        ) from exc
    if not every:
        raise InvalidTypeError(
            "fn returned no floating-point or complex tensor: there is no gradient to check."
        )
    keep = tuple(k for k, y in enumerate(every) if y.requires_grad)
    low = [k for k in keep if every[k].dtype == torch.bfloat16]
    if low:
        raise InvalidTypeError(
            f"fn returned bfloat16 output(s) {low}: gradcheck differences f in numpy, which has "
            "no bfloat16, and bfloat16 rounds at 2**-8 relative, a staircase finite differences "
            "cannot tell from a slope. Check fn where it computes in float32 or float64 (e.g. "
            "the same op with float32 or float64 inputs)."
        )
    if not keep:
        raise InvalidTypeError(
            "no output of fn requires grad: autograd declares them all non-differentiable "
            "(or fn detaches them), so there is no backward to check."
        )
    stream = np.random.default_rng(np.random.SeedSequence([seed, _COTANGENT_TAG]))
    vs = []
    for k in keep:
        y = every[k]
        shape = tuple(y.shape)
        if y.is_complex():
            re, im = cotangents([shape, shape], stream)
            t = torch.tensor(re + 1j * im, dtype=torch.complex128, device=y.device)
        else:
            (re,) = cotangents([shape], stream)
            t = torch.tensor(re, dtype=torch.float64, device=y.device)
        vs.append(t)
    skipped = tuple(k for k in range(len(every)) if k not in keep)
    return Loss(call, tuple(vs), keep, skipped), Graph(tuple(leaves), every)
