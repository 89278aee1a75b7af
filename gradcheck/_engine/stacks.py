r"""Evaluating f at many perturbed parameter sets: a Python loop, or one vectorized call.

The perturbed copies of a leaf are `Points`: built on demand, one at a time, never all at
once. `Coordinates` are full mode's (one entry moved per point), fast mode has its own
(`gradcheck._engine.fast`: a whole leaf moved along a direction).

A `Stack` evaluates f at the ``B`` points of some leaves (the other leaves at the base
point). `loop_stack` builds the points in blocks of `LOOP_BLOCK` bytes, or one at a time when
a point is larger, so that it holds at most one perturbed copy of a large leaf.
`vector_stack` is for an f that broadcasts over a leading stack axis of *every* leaf
(``vectorized=True``; numpy matmul / elementwise code usually does): the moved leaf is passed
as a ``(B,) + shape`` array, every other leaf as a read-only ``np.broadcast_to`` view of shape
``(B,) + shape`` (no copy), and f must return values of shape ``(B,) + out_shape``. Memory is
bounded: the first chunk (`PROBE` items) runs under `tracemalloc`, which numpy reports its
allocations to, and the peak per item (the stacked copies and f's own intermediates) fixes the
chunk size so that one call allocates at most `MEMORY_BUDGET` bytes.

A point is formed exactly as in the loop (``x[i] + d`` in float64, cast to the leaf's dtype),
so the stencil points are bitwise the same either way; f's values agree with the loop's to
rounding (a batched matmul may sum in another order), which the error model's rounding term
already covers.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.numdiff import Evaluate, FloatArray, Point
from gradcheck._errors import InvalidTypeError

#: bytes one vectorized call of f may allocate (the stacked leaf and f's intermediates).
MEMORY_BUDGET = 2**28
#: items in the first, measured chunk.
PROBE = 8
#: bytes of perturbed points the loop builds at once (1 MiB: cache-friendly; one point when
#: a point is larger, so the loop never holds more than one perturbed copy of a large leaf).
LOOP_BLOCK = 2**20


class Points(Protocol):
    """``count`` perturbed copies of one leaf, built on demand (each a new array)."""

    @property
    def count(self) -> int: ...

    def rows(self, start: int, stop: int) -> NDArray[Any]:
        """Copies ``start..stop-1`` stacked: shape ``(stop - start,) + leaf shape``."""
        ...


Moved = dict[int, Points]
"""Moved leaves, by leaf number; leaves not listed stay at the base point."""

Stack = Callable[[Moved], tuple[FloatArray, FloatArray]]
"""``stack(moved) -> (values, magnitudes)``: f at each of the ``B`` points; both results
shaped ``(B,) + out_shape``."""

RawStack = Callable[[list[Any]], tuple[Any, Any]]
"""The user's function applied to stacked leaves: ``raw(xs) -> (values, magnitudes)``."""


Advance = Callable[[int], None]
"""A progress hook: called with the number of evaluations just made."""


def _ignore(k: int) -> None:
    pass


def copies(flat: NDArray[Any], count: int) -> NDArray[Any]:
    """``count`` copies of a 1-d array, stacked (``np.repeat`` of a read-only view allocates
    twice that: a broadcast assignment does not)."""
    out = np.empty((count, flat.size), dtype=flat.dtype)
    out[...] = flat
    return out


@dataclass(frozen=True)
class Coordinates:
    """Points of leaf ``x`` with one entry moved: point ``r * p + c`` has flat entry
    ``idx[r]`` moved by ``offsets[r, c]`` (``offsets`` shaped ``(len(idx), p)``)."""

    x: FloatArray
    idx: NDArray[np.intp]
    offsets: FloatArray

    @property
    def count(self) -> int:
        return int(self.offsets.size)

    def rows(self, start: int, stop: int) -> NDArray[Any]:
        r, c = np.divmod(np.arange(start, stop), self.offsets.shape[1])
        flat = self.x.reshape(-1)
        out = copies(flat, stop - start)
        cols = self.idx[r]
        out[np.arange(stop - start), cols] = (flat[cols] + self.offsets[r, c]).astype(self.x.dtype)
        return out.reshape(stop - start, *self.x.shape)


def _count(moved: Moved) -> int:
    return next(iter(moved.values())).count


def in_blocks(
    moved: Moved,
    base: list[FloatArray],
    budget: int,
    block: Callable[[dict[int, NDArray[Any]], int], tuple[FloatArray, FloatArray]],
    calls: list[int],
    advance: Advance = _ignore,
) -> tuple[FloatArray, FloatArray]:
    """The values and magnitudes of ``moved``'s points, ``block(rows, b)`` evaluating ``b`` of
    them at a time, in blocks of at most ``budget`` bytes of moved rows (one point when a point
    is larger); counts the calls and advances the progress."""
    n = _count(moved)
    per_point = sum(base[j].nbytes for j in moved)
    size = max(1, min(n, budget // max(1, per_point)))
    values, mags = [], []
    for start in range(0, n, size):
        stop = min(start + size, n)
        v, m = block({j: pts.rows(start, stop) for j, pts in moved.items()}, stop - start)
        values.append(v)
        mags.append(m)
        calls[0] += stop - start
        advance(stop - start)
    return np.concatenate(values), np.concatenate(mags)


def loop_stack(point: Point, base: list[FloatArray], advance: Advance = _ignore) -> Stack:
    """A `Stack` that calls ``point`` once per stacked point. Points are built in blocks of
    at most `LOOP_BLOCK` bytes (one point when a point is larger)."""

    def stack(moved: Moved) -> tuple[FloatArray, FloatArray]:
        n = _count(moved)
        size = sum(base[j].nbytes for j in moved)
        block = max(1, min(n, LOOP_BLOCK // max(1, size)))
        out: list[FloatArray] = []  # values and magnitudes, (n,) + out_shape each
        for start in range(0, n, block):
            stop = min(start + block, n)
            rows = {j: pts.rows(start, stop) for j, pts in moved.items()}
            for b in range(stop - start):
                vm = point([rows[j][b] if j in rows else x for j, x in enumerate(base)])
                if not out:
                    out = [np.empty((n, *np.shape(vm[0]))), np.empty((n, *np.shape(vm[1])))]
                out[0][start + b], out[1][start + b] = vm
                advance(1)
            del rows
        return out[0], out[1]

    return stack


def vector_stack(
    raw: RawStack,
    base: list[FloatArray],
    out_shape: tuple[int, ...],
    calls: list[int],
    advance: Advance = _ignore,
) -> Stack:
    """A `Stack` that evaluates whole chunks of points in one call of ``raw``."""
    per_item: dict[tuple[int, ...], float] = {}

    def call(moved: Moved, start: int, stop: int) -> tuple[FloatArray, FloatArray]:
        b = stop - start
        xs = [
            moved[j].rows(start, stop) if j in moved else np.broadcast_to(x, (b, *x.shape))
            for j, x in enumerate(base)
        ]
        v, m = raw(xs)
        calls[0] += b
        advance(b)
        return _stacked(v, b, out_shape), np.abs(_stacked(m, b, out_shape))

    def stack(moved: Moved) -> tuple[FloatArray, FloatArray]:
        key, n = tuple(sorted(moved)), _count(moved)
        parts, start = [], 0
        while start < n:
            if key not in per_item:
                stop = min(start + PROBE, n)
                parts.append(_measured(call, moved, start, stop, per_item, key))
            else:
                stop = start + max(1, int(MEMORY_BUDGET // per_item[key]))
                parts.append(call(moved, start, min(stop, n)))
            start = stop
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )

    return stack


def _measured(
    call: Callable[[Moved, int, int], tuple[FloatArray, FloatArray]],
    moved: Moved,
    start: int,
    stop: int,
    per_item: dict[tuple[int, ...], float],
    key: tuple[int, ...],
) -> tuple[FloatArray, FloatArray]:
    """One call under tracemalloc; records the peak bytes per stacked item (at least 1 KiB)."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    try:
        out = call(moved, start, stop)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    per_item[key] = max(1024.0, (peak - before) / (stop - start))
    return out


def _stacked(v: Any, b: int, out_shape: tuple[int, ...]) -> FloatArray:
    arr = np.asarray(v)
    if arr.shape != (b, *out_shape) or not np.issubdtype(arr.dtype, np.floating):
        raise InvalidTypeError(
            f"vectorized=True: for a stack of {b} parameter sets f returned "
            f"{type(v).__name__} of shape {arr.shape} and dtype {arr.dtype}; expected float "
            f"values of shape {(b, *out_shape)}. f must broadcast over a leading axis of every "
            "parameter (or leave vectorized=False)."
        )
    return np.asarray(arr, dtype=np.float64)


def stack_evaluator(stack: Stack, base: list[FloatArray]) -> Evaluate:
    """An `Evaluate` (one coordinate moved per point) on top of a `Stack`."""

    def evaluate(
        j: int, idx: NDArray[np.intp], offsets: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        p = offsets.shape[1]
        v, m = stack({j: Coordinates(base[j], idx, offsets)})
        return v.reshape(len(idx), p, *v.shape[1:]), m.reshape(len(idx), p, *m.shape[1:])

    return evaluate
