"""The loss evaluated natively in torch: at one point, at a stack of points through
``torch.func.vmap``, or in a loop where ``fn`` does not vectorize; and its gradient.

The engine hands over numpy values of the parameters (complex ones in two real parts, see
`gradcheck._complex`); they become fresh tensors on the inputs' device with the inputs'
layout (`gradcheck.torch._inputs.to_tensor`) once per point, or once per block of stacked
points, so a block costs one transfer each way. The engine's stacked points
(`gradcheck._engine.stacks.Points`) are built block by block, at most `BLOCK` bytes of moved
copies at once. Parameters a stack does not move are converted once and passed as they are;
``fn`` writing into one (its version counter moves) gets fresh copies from then on, as
`gradcheck._engine.calls` does for numpy.

The first vmapped block also evaluates the base point: a vmapped value that differs from the
plain one by more than two rounding bounds of the error model means ``fn`` does not vectorize
faithfully, and the loop takes over.
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
from gradcheck._engine.calls import Calls
from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.options import DEFAULT_ULPS
from gradcheck._engine.problem import Problem
from gradcheck._engine.stacks import Moved, Stack, in_blocks
from gradcheck._tree import Leaf
from gradcheck.torch._inputs import Param, to_tensor
from gradcheck.torch._loss import Graph, Loss

#: bytes of moved parameter copies built (and sent to torch) at once.
BLOCK = 2**24
#: backward passes that reuse the cotangent's forward at the base point (`Evaluator._reuse`):
#: the engine evaluates the gradient there twice.
REUSES = 2
#: the smallest stack evaluated through vmap: a vmapped call costs ~10 plain calls of a small
#: op (measured on torch.sin of a 5x5 tensor: ~150 us against ~15 us), so fast mode's
#: 4-point stencils are looped and full mode's stacks of 4 x entries are vmapped.
VMAP_MIN = 16


@dataclass
class Evaluator:
    """The loss of one check at numpy parameter values, and its gradient."""

    loss: Loss
    params: tuple[Param, ...]
    leaves: list[Leaf]  # the parameters as numpy arrays (complex ones whole)
    user: Calls = field(default_factory=Calls)  # where notes go (`gradcheck._engine.calls`)
    vmap: bool = True  # try torch.func.vmap for stacks
    graph: Graph | None = None  # the cotangent's forward at the base point (`reuse`)
    reused: int = 0

    def tensors(self, xs: list[Any], stacked: Sequence[bool] | None = None) -> list[torch.Tensor]:
        """Fresh tensors of the engine's values ``xs`` (complex parts joined); a stacked one
        has a leading axis of points."""
        zs = _complex.join(self.leaves, xs)
        flags = stacked if stacked is not None else [False] * len(zs)
        return [to_tensor(z, p, s) for z, p, s in zip(zs, self.params, flags, strict=True)]

    def raw(self, xs: list[FloatArray]) -> tuple[Any, Any]:
        """The engine's ``raw``: the loss and its rounding magnitude at one point."""
        with torch.no_grad():
            value, mag = self.loss(self.tensors(xs))
        return _scalar(value), _scalar(mag)

    def analytic(self, xs: list[NDArray[Any]]) -> list[NDArray[Any]]:
        """``fn``'s backward at the cotangent: the gradient of the loss, per engine leaf."""
        reused = self._reuse(xs)
        if reused is not None:
            ts, value = reused
        else:
            ts = [t.requires_grad_() for t in self.tensors(xs)]
            with torch.enable_grad():
                value, _ = self.loss(ts)
        gs: Sequence[torch.Tensor | None] = [None] * len(ts)
        if value.requires_grad:  # else no output depends on a parameter: backward gives 0
            keep = reused is not None and self.graph is not None
            gs = torch.autograd.grad(value, ts, allow_unused=True, retain_graph=keep)
        arrays = [_numpy(t, g) for t, g in zip(ts, gs, strict=True)]
        arrays = [a.reshape(leaf.array.shape) for a, leaf in zip(arrays, self.leaves, strict=True)]
        return _complex.split_values(self.leaves, arrays)

    def _reuse(self, xs: list[NDArray[Any]]) -> tuple[list[torch.Tensor], torch.Tensor] | None:
        """The cotangent's forward (`Graph`), for the first `REUSES` backward passes at the
        base point itself (same values and dtypes): the engine's two evaluations of the
        gradient there then differ only in the backward, which is what they compare (as
        torch's reentrancy check does); f's own determinism is checked by the engine on f.
        Any other point gets its own forward."""
        g = self.graph
        if g is None:
            return None
        zs = _complex.join(self.leaves, xs)
        at_base = all(
            np.asarray(z).dtype == leaf.array.dtype and np.array_equal(z, leaf.array)
            for z, leaf in zip(zs, self.leaves, strict=True)
        )
        if not at_base:
            return None
        self.reused += 1
        if self.reused >= REUSES:
            self.graph = None  # the last use frees the graph
        with torch.enable_grad():
            value, _ = self.loss.of(g.outputs)
        return list(g.leaves), value

    def stack_factory(self) -> Callable[[Problem, Callable[[int], None]], Stack]:
        def make(prob: Problem, advance: Callable[[int], None]) -> Stack:
            return _TorchStack(self, prob, advance).__call__

        return make


@dataclass
class _TorchStack:
    ev: Evaluator
    prob: Problem
    advance: Callable[[int], None]
    verified: bool = False
    copying: bool = False  # fn wrote into an unmoved input: fresh copies from then on
    base: list[torch.Tensor] = field(default_factory=list)  # the unmoved tensors, once

    def __call__(self, moved: Moved) -> tuple[FloatArray, FloatArray]:
        return in_blocks(moved, self.prob.base, BLOCK, self._block, self.prob.calls, self.advance)

    def _block(self, rows: dict[int, NDArray[Any]], b: int) -> tuple[FloatArray, FloatArray]:
        use_vmap = self.ev.vmap and b >= VMAP_MIN
        verify = use_vmap and not self.verified
        if verify:  # one more row: the base point, to compare with the plain evaluation
            rows = {j: np.concatenate([r, self.prob.base[j][None]]) for j, r in rows.items()}
        stacked = _stacked_params(self.ev.leaves, list(rows))
        ts = self._tensors(rows, stacked)
        out = self._vmapped(ts, stacked) if use_vmap else None
        if out is not None and verify:
            out = self._verified(out)
        if out is None:
            out = self._looped(ts, stacked, b)
        values, mags = out
        return values[:b].astype(np.float64), np.abs(mags[:b]).astype(np.float64)

    def _tensors(self, rows: dict[int, NDArray[Any]], stacked: list[bool]) -> list[torch.Tensor]:
        """The moved parameters stacked, the others the base tensors converted once."""
        if not self.base:
            self.base = self.ev.tensors(list(self.prob.base))
        xs = [rows.get(j, x) for j, x in enumerate(self.prob.base)]
        zs = _complex.join(self.ev.leaves, xs)
        return [
            to_tensor(z, p, True) if s else t
            for z, p, s, t in zip(zs, self.ev.params, stacked, self.base, strict=True)
        ]

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
        allowed = 2 * float(
            self.prob.rounding(np.abs(mag[-1:]), np.zeros(1), DEFAULT_ULPS, None).max()
        )
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
                v, m = self._one(ts, stacked, k)
                values.append(v)
                mags.append(m)
        return torch.stack(values).cpu().numpy(), torch.stack(mags).cpu().numpy()

    def _one(
        self, ts: list[torch.Tensor], stacked: list[bool], k: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss at point ``k``. Each point is a tensor of its own (storage offset 0, as
        at the base point: a row of the stack would start at offset ``k`` times its span, and
        storage-relative ops such as ``as_strided`` would read the stack's first row). An
        unmoved input that ``fn`` writes into (its version counter moves) is replaced, the
        point evaluated again, and every later point gets fresh copies of the unmoved
        inputs."""
        pairs = list(zip(ts, stacked, strict=True))
        if self.copying:
            return self.ev.loss([_fresh(t[k]) if s else _fresh(t) for t, s in pairs])
        versions = [t._version for t, s in pairs if not s]
        out = self.ev.loss([_fresh(t[k]) if s else t for t, s in pairs])
        if [t._version for t, s in pairs if not s] == versions:
            return out
        self.copying = True
        self.base = self.ev.tensors(list(self.prob.base))
        ts[:] = [t if s else fresh for t, s, fresh in zip(ts, stacked, self.base, strict=True)]
        return self._one(ts, stacked, k)

    def _fallback(self, why: str) -> None:
        self.ev.vmap = False
        self.ev.user.note(f"{why}; perturbed points were evaluated one by one.")


#: numpy's scalar type of a 0-d tensor's dtype, where ``.item()`` converts it exactly.
_SCALARS: dict[torch.dtype, Callable[[float], Any]] = {
    torch.float64: np.float64,
    torch.float32: np.float32,
    torch.float16: np.float16,
}


def _scalar(t: torch.Tensor) -> Any:
    """A 0-d loss as a numpy scalar of its own dtype (the engine reads f's precision from it):
    ``.item()`` and a numpy scalar cost ~1 us, ``.cpu().numpy()`` ~9 us, per evaluation."""
    make = _SCALARS.get(t.dtype)
    return make(t.item()) if make is not None and t.dim() == 0 else t.cpu().numpy()


def _numpy(t: torch.Tensor, g: torch.Tensor | None) -> NDArray[Any]:
    """A gradient as numpy: None (unused) and torch's ZeroTensor (an efficient zero that
    backward formulas such as ``sgn``'s return, which refuses ``.numpy()``) are zeros."""
    if g is None or g._is_zerotensor():
        g = torch.zeros_like(t)
    return np.asarray(g.detach().resolve_conj().resolve_neg().cpu().numpy())


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
