r"""Evaluating f at a stack of perturbed parameter sets: a Python loop, or one vectorized call.

A `Stack` evaluates f at ``B`` copies of one leaf (the other leaves at the base point).
`loop_stack` calls f once per copy (and `loop_evaluator`, the plain loop over single
coordinates, once per perturbed point). `vector_stack` is for an f that broadcasts over a leading
stack axis of *every* leaf (``vectorized=True``; numpy matmul / elementwise code usually
does): the moved leaf is passed as a ``(B,) + shape`` array, every other leaf as a read-only
``np.broadcast_to`` view of shape ``(B,) + shape`` (no copy), and f must return values of
shape ``(B,) + out_shape``. Memory is bounded: the first chunk (`PROBE` items) runs under
`tracemalloc`, which numpy reports its allocations to, and the peak per item fixes the chunk
size so that one call allocates at most `MEMORY_BUDGET` bytes.

The perturbed values are formed exactly as in the loop (``x[i] + d`` in float64), so the
stencil points are bitwise the same; f's values agree with the loop's to rounding (a batched
matmul may sum in another order), which the error model's rounding term already covers.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.numdiff import Evaluate, FloatArray, Point
from gradcheck._errors import InvalidTypeError

#: bytes one vectorized call of f may allocate (the stacked leaf and f's intermediates).
MEMORY_BUDGET = 2**28
#: bytes of perturbed copies of a leaf built at once (4 MiB: cache-friendly, and measured no
#: slower than larger chunks on the benchmark LSTM; f's own chunks are bounded separately).
COPIES_BUDGET = 2**22
#: items in the first, measured chunk.
PROBE = 8

Moved = dict[int, FloatArray]
"""Moved leaves, by leaf number: ``moved[j]`` has shape ``(B,) + leaf_shape``, one copy of
leaf ``j`` per stacked point; leaves not listed stay at the base point."""

Stack = Callable[[Moved], tuple[FloatArray, FloatArray]]
"""``stack(moved) -> (values, magnitudes)``: f at each of the ``B`` stacked points; both
results shaped ``(B,) + out_shape``."""

RawStack = Callable[[list[Any]], tuple[Any, Any]]
"""The user's function applied to stacked leaves: ``raw(xs) -> (values, magnitudes)``."""


Advance = Callable[[int], None]
"""A progress hook: called with the number of evaluations just made."""


def _ignore(k: int) -> None:
    pass


def _frozen(moved: Moved) -> Moved:
    out = {}
    for j, m in moved.items():
        out[j] = m.view()
        out[j].flags.writeable = False
    return out


def _count(moved: Moved) -> int:
    return int(next(iter(moved.values())).shape[0])


def loop_stack(point: Point, base: list[FloatArray], advance: Advance = _ignore) -> Stack:
    """A `Stack` that calls ``point`` once per stacked point."""

    def one(moved: Moved, b: int) -> tuple[FloatArray, FloatArray]:
        out = point([moved[j][b] if j in moved else x for j, x in enumerate(base)])
        advance(1)
        return out

    def stack(moved: Moved) -> tuple[FloatArray, FloatArray]:
        moved = _frozen(moved)
        pairs = [one(moved, b) for b in range(_count(moved))]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

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

    def call(moved: Moved) -> tuple[FloatArray, FloatArray]:
        b = _count(moved)
        xs = [moved.get(j, np.broadcast_to(x, (b, *x.shape))) for j, x in enumerate(base)]
        v, m = raw(xs)
        calls[0] += b
        advance(b)
        return _stacked(v, b, out_shape), np.abs(_stacked(m, b, out_shape))

    def stack(moved: Moved) -> tuple[FloatArray, FloatArray]:
        moved = _frozen(moved)
        key, n = tuple(sorted(moved)), _count(moved)
        parts, start = [], 0
        while start < n:
            if key not in per_item:
                stop = min(start + PROBE, n)
                parts.append(_measured(call, _rows(moved, start, stop), per_item, key))
            else:
                stop = start + max(1, int(MEMORY_BUDGET // per_item[key]))
                parts.append(call(_rows(moved, start, stop)))
            start = stop
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )

    return stack


def _rows(moved: Moved, start: int, stop: int) -> Moved:
    return {j: m[start:stop] for j, m in moved.items()}


def _measured(
    call: Callable[[Moved], tuple[FloatArray, FloatArray]],
    moved: Moved,
    per_item: dict[tuple[int, ...], float],
    key: tuple[int, ...],
) -> tuple[FloatArray, FloatArray]:
    """One call under tracemalloc; records the peak bytes per stacked item (at least 1 KiB)."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    try:
        out = call(moved)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    per_item[key] = max(1024.0, (peak - start) / _count(moved))
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
    """An `Evaluate` (one coordinate moved per point) on top of a `Stack`, in chunks."""

    def evaluate(
        j: int, idx: NDArray[np.intp], offsets: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        x = base[j]
        p = offsets.shape[1]
        rows = max(1, COPIES_BUDGET // (8 * p * x.size))
        values, mags = [], []
        for start in range(0, len(idx), rows):
            sl = slice(start, start + rows)
            moved = moved_copies(x, idx[sl], offsets[sl])
            v, m = stack({j: moved})
            values.append(v.reshape(len(idx[sl]), p, *v.shape[1:]))
            mags.append(m.reshape(len(idx[sl]), p, *m.shape[1:]))
        return np.concatenate(values), np.concatenate(mags)

    return evaluate


def moved_copies(x: FloatArray, idx: NDArray[np.intp], offsets: FloatArray) -> FloatArray:
    """``(k * p,) + x.shape`` copies of ``x``, copy ``(r, c)`` with entry ``idx[r]`` moved by
    ``offsets[r, c]`` (the same float operation ``x[i] + d`` as the loop)."""
    k, p = offsets.shape
    moved = np.repeat(x.reshape(1, -1), k * p, axis=0)
    rows = np.arange(k * p)
    cols = np.repeat(idx, p)
    moved[rows, cols] = (x.reshape(-1)[cols] + offsets.reshape(-1)).astype(x.dtype)
    return moved.reshape(k * p, *x.shape)


def loop_evaluator(point: Point, base: list[FloatArray]) -> Evaluate:
    """An `Evaluate` that calls ``point`` once per perturbed point."""

    def evaluate(
        leaf: int, idx: NDArray[np.intp], offsets: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        values, mags = [], []
        for k, i in enumerate(idx):
            for d in offsets[k]:
                moved = base[leaf].copy()
                moved.flat[i] += d
                moved.flags.writeable = False
                v, m = point([*base[:leaf], moved, *base[leaf + 1 :]])
                values.append(v)
                mags.append(m)
        shape = (len(idx), offsets.shape[1], *np.shape(values[0]))
        return np.reshape(values, shape), np.reshape(mags, shape)

    return evaluate
