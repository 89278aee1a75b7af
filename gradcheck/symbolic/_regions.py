"""Regions: one proof per sign pattern of the comparisons a forward/backward pair makes.

A comparison of symbolic values (``np.maximum(x, 0)``, ``x > 0``, ``np.clip``) has no single
answer; the active `Oracle` answers it by the sign of ``lhs - rhs``, the same sign every time
the same difference (or its negative) comes back, so a forward and its backward agree on the
branch. `explore` runs the pair once per sign pattern (depth first over the decisions, as they
come): on each region, an open set, the code is one smooth formula and its derivative is the
derivative of that formula. The boundaries, where a difference is 0, have measure zero and no
derivative to check. ``==``, ``!=`` and truth tests of a symbolic value decide nothing: they
answer "not equal", which holds off a measure-zero set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sympy

from gradcheck.symbolic._unsupported import SymbolicUnsupported

__all__ = ["Oracle", "active", "compare", "explore"]

T = TypeVar("T")
_stack: list[Oracle] = []


@dataclass
class Oracle:
    """The decisions of one run: ``forced`` signs first, then +1 for every new difference."""

    forced: Sequence[int] = ()
    decisions: list[tuple[Any, int]] = field(default_factory=list)  # (difference, sign)
    signs: dict[Any, int] = field(default_factory=dict)
    generic: list[Any] = field(default_factory=list)  # differences assumed nonzero

    def sign(self, d: Any) -> int:
        key, flip = canonical(d)
        if key not in self.signs:
            i = len(self.decisions)
            s = self.forced[i] if i < len(self.forced) else 1
            self.decisions.append((key, s))
            self.signs[key] = s
        return flip * self.signs[key]

    def describe(self) -> list[str]:
        """The region as conditions, ``"x[0, 1] > 0"``, in the order they were decided."""
        return [f"{key} {'>' if s > 0 else '<'} 0" for key, s in self.decisions]


def canonical(d: Any) -> tuple[Any, int]:
    """``(key, flip)`` with ``d = flip * key``: ``d`` and ``-d`` share one key."""
    return (-d, -1) if d.could_extract_minus_sign() else (d, 1)


def _number_sign(d: Any) -> int:
    if d.is_zero:
        return 0
    if d.is_positive:
        return 1
    if d.is_negative:
        return -1
    v = d.evalf(40)
    if not v.is_real:
        raise SymbolicUnsupported(f"comparison of the non-real number {d}")
    if v == 0 and sympy.simplify(d) == 0:
        return 0
    return 1 if v > 0 else -1


def compare(d: Any, op: str) -> bool:
    """``lhs op rhs`` for ``d = lhs - rhs``: exact for numbers, else by the active oracle."""
    if d.is_number:
        s = _number_sign(d)
    elif d.is_positive:
        s = 1
    elif d.is_negative:
        s = -1
    else:
        if not _stack:
            raise SymbolicUnsupported(
                f"comparison {d} {op} 0 of symbolic values outside a proof: only "
                "gradcheck.symbolic.prove_vjp decides comparisons (one region per sign)"
            )
        oracle = _stack[-1]
        if op in ("==", "!="):
            key, _ = canonical(d)
            if key not in oracle.signs:
                oracle.generic.append(key)
            return op == "!="
        s = oracle.sign(d)
    return {
        "<": s < 0,
        "<=": s <= 0,
        ">": s > 0,
        ">=": s >= 0,
        "==": s == 0,
        "!=": s != 0,
    }[op]


@contextmanager
def active(oracle: Oracle) -> Iterator[Oracle]:
    """Make ``oracle`` decide the comparisons inside the block."""
    _stack.append(oracle)
    try:
        yield oracle
    finally:
        _stack.pop()


def explore(run: Callable[[], T]) -> Iterator[tuple[Oracle, T]]:
    """Call ``run`` once per sign pattern of the comparisons it makes; yields each run's oracle
    (its region) and result. The first run takes + for every difference; each later run flips
    one decision of an earlier run and takes + for the differences that come after it."""
    pending: list[list[int]] = [[]]
    while pending:
        forced = pending.pop()
        oracle = Oracle(forced)
        with active(oracle):
            result = run()
        signs = [s for _, s in oracle.decisions]
        for i in range(len(signs) - 1, len(forced) - 1, -1):
            pending.append([*signs[:i], -1])
        yield oracle, result
