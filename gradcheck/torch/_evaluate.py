"""The loss evaluated natively in torch: at one point, at a stack of points through
``torch.func.vmap``, or in a loop where ``fn`` does not vectorize; and its gradient.

The engine hands over numpy values of the parameters (complex ones in two real parts, see
`gradcheck._complex`); they become fresh tensors on the inputs' device with the inputs'
layout (`gradcheck.torch._inputs.to_tensor`) once per point, or once per stack of points, so
a whole stack costs one transfer each way. The first vmapped stack also evaluates the base
point: a vmapped value that differs from the plain one by more than two rounding bounds of the
error model means ``fn`` does not vectorize faithfully, and the loop takes over.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from gradcheck import _complex
from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.options import DEFAULT_ULPS
from gradcheck._engine.problem import Problem
from gradcheck._engine.stacks import Moved, Stack
from gradcheck._tree import Leaf
from gradcheck.torch._inputs import Param, to_tensor
from gradcheck.torch._loss import Loss


@dataclass
class Evaluator:
    """The loss of one check at numpy parameter values, and its gradient."""

    loss: Loss
    params: tuple[Param, ...]
    leaves: list[Leaf]  # the parameters as numpy arrays (complex ones whole)
    vmap: bool = True  # try torch.func.vmap for stacks
    notes: list[str] = field(default_factory=list)

    def tensors(self, xs: list[Any], stacked: bool = False) -> list[torch.Tensor]:
        zs = _complex.join(self.leaves, xs)
        return [to_tensor(z, p, stacked) for z, p in zip(zs, self.params, strict=True)]

    def raw(self, xs: list[FloatArray]) -> tuple[Any, Any]:
        """The engine's ``raw``: the loss and its rounding magnitude at one point."""
        with torch.no_grad():
            value, mag = self.loss(self.tensors(xs))
        return value.cpu().numpy(), mag.cpu().numpy()

    def analytic(self, xs: list[NDArray[Any]]) -> list[NDArray[Any]]:
        """``fn``'s backward at the cotangent: the gradient of the loss, per engine leaf."""
        ts = [t.requires_grad_() for t in self.tensors(xs)]
        with torch.enable_grad():
            value, _ = self.loss(ts)
        gs: Sequence[torch.Tensor | None] = [None] * len(ts)
        if value.requires_grad:  # else no output depends on a parameter: backward gives 0
            gs = torch.autograd.grad(value, ts, allow_unused=True)
        arrays = [
            (torch.zeros_like(t) if g is None else g).detach().resolve_conj().cpu().numpy()
            for t, g in zip(ts, gs, strict=True)
        ]
        arrays = [a.reshape(leaf.array.shape) for a, leaf in zip(arrays, self.leaves, strict=True)]
        return _complex.split_values(self.leaves, arrays)

    def stack_factory(self) -> Callable[[Problem, Callable[[int], None]], Stack]:
        def make(prob: Problem, advance: Callable[[int], None]) -> Stack:
            return _TorchStack(self, prob, advance).__call__

        return make


#: the smallest stack evaluated through vmap: a vmapped call costs ~10 plain calls of a small
#: op (measured on torch.sin of a 5x5 tensor: ~150 us against ~15 us), so fast mode's
#: 4-point stencils are looped and full mode's stacks of 4 x entries are vmapped.
VMAP_MIN = 16


@dataclass
class _TorchStack:
    ev: Evaluator
    prob: Problem
    advance: Callable[[int], None]
    verified: bool = False

    def __call__(self, moved: Moved) -> tuple[FloatArray, FloatArray]:
        b = int(next(iter(moved.values())).shape[0])
        use_vmap = self.ev.vmap and b >= VMAP_MIN
        verify = use_vmap and not self.verified
        if verify:  # one more row: the base point, to compare with the plain evaluation
            moved = {j: np.concatenate([m, self.prob.base[j][None]]) for j, m in moved.items()}
        xs = [moved.get(j, x) for j, x in enumerate(self.prob.base)]
        stacked = _stacked_params(self.ev.leaves, list(moved))
        ts = [
            to_tensor(z, p, s)
            for z, p, s in zip(
                _complex.join(self.ev.leaves, xs), self.ev.params, stacked, strict=True
            )
        ]
        out = self._vmapped(ts, stacked) if use_vmap else None
        if out is not None and verify:
            out = self._verified(out)
        if out is None:
            out = self._looped(ts, stacked, b)
        self.prob.calls[0] += b
        self.advance(b)
        values, mags = out
        return values[:b].astype(np.float64), np.abs(mags[:b]).astype(np.float64)

    def _vmapped(
        self, ts: list[torch.Tensor], stacked: list[bool]
    ) -> tuple[FloatArray, FloatArray] | None:
        def one(*xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.ev.loss(xs)

        dims = tuple(0 if s else None for s in stacked)
        try:
            with warnings.catch_warnings(), torch.no_grad():
                # an op without a batching rule runs through vmap's slow fallback: correct
                warnings.filterwarnings("ignore", message=".*performance drop.*")
                value, mag = torch.func.vmap(one, in_dims=dims)(*ts)
        except Exception as exc:  # fn does not vectorize: loop, and say so once
            self._fallback(f"fn cannot be vmapped ({type(exc).__name__}: {_first_line(exc)})")
            return None
        return value.cpu().numpy(), mag.cpu().numpy()

    def _verified(self, out: tuple[FloatArray, FloatArray]) -> tuple[FloatArray, FloatArray] | None:
        self.verified = True
        value, mag = out
        at_base = float(value[-1])
        allowed = 2 * float(self.prob.delta(np.abs(mag[-1:]), DEFAULT_ULPS).max())
        if not abs(at_base - float(self.prob.f0)) <= allowed:
            self._fallback(
                f"vmapped fn gave {at_base!r} at the base point, the plain call "
                f"{float(self.prob.f0)!r}"
            )
            return None
        return out

    def _looped(
        self, ts: list[torch.Tensor], stacked: list[bool], b: int
    ) -> tuple[FloatArray, FloatArray]:
        values, mags = [], []
        with torch.no_grad():
            for k in range(b):
                one = [t[k] if s else _fresh(t) for t, s in zip(ts, stacked, strict=True)]
                v, m = self.ev.loss(one)
                values.append(v)
                mags.append(m)
        return torch.stack(values).cpu().numpy(), torch.stack(mags).cpu().numpy()

    def _fallback(self, why: str) -> None:
        self.ev.vmap = False
        self.ev.notes.append(f"{why}; perturbed points were evaluated one by one.")


def _stacked_params(leaves: list[Leaf], moved: list[int]) -> list[bool]:
    """Which parameters (complex ones have two engine leaves) have a moved part."""
    out, j = [], 0
    for leaf in leaves:
        n = 2 if _complex.is_complex(leaf.array) else 1
        out.append(any(k in moved for k in range(j, j + n)))
        j += n
    return out


def _fresh(t: torch.Tensor) -> torch.Tensor:
    """A copy with the same strides (fn may write into its inputs)."""
    out = torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device=t.device)
    return out.copy_(t)


def _first_line(exc: BaseException) -> str:
    """The exception's first sentence, at most 100 characters."""
    text = str(exc).strip().split("\n")[0].split(". ")[0]
    return text if len(text) <= 100 else text[:99] + "…"
