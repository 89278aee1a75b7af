"""The checkers' options, validated in one place for every checker and mode.

`Options` validates itself on construction: ``mode``, ``rtol``, ``atol``, ``step``, ``ulps``
and ``seed`` get the same rules and the same typed errors whether they come through
`check_grad`, `check_vjp` or `check_jacobian`, in full or fast mode. A seed is a non-negative
int (numpy integers too) or None; a bool, str, float or ``np.random.Generator`` is a type
error: a Generator's state cannot be recorded in the result and replayed, an int can.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck._errors import InvalidInputError, InvalidTypeError

#: default rounding allowance, in units of the working precision, for one evaluation of f and
#: for the analytic gradient (a few dozen ulps: sums of many terms, a matmul, a log).
DEFAULT_ULPS = 32.0
MODES = ("full", "fast")

ComplexPoint = Callable[[list[Any]], Any]
"""``fn(leaves)``: the user's function at (complex) parameter arrays, for the complex step."""


@dataclass(frozen=True)
class Options:
    """How one check runs. Constructing it validates every field (`validate`)."""

    mode: str = "full"
    rtol: float = 0.0
    atol: float = 0.0
    step: float | None = None
    ulps: float = DEFAULT_ULPS
    seed: int | None = None
    complex_fn: ComplexPoint | None = None  # full mode refines by the complex step
    vectorized: bool = False  # f broadcasts over a leading stack axis of every leaf

    def __post_init__(self) -> None:
        validate(self.mode, self.rtol, self.atol, self.step, self.ulps)
        check_flag("vectorized", self.vectorized)
        object.__setattr__(self, "seed", seed_value(self.seed))
        if self.complex_fn is not None and self.mode != "full":
            raise InvalidInputError(
                "`complex_step=True` refines full mode's per-entry derivatives; fast mode "
                'checks directions by central differences only. Use mode="full" or drop '
                "complex_step."
            )


def check_flag(name: str, value: object) -> None:
    """A typed error unless ``value`` is a bool (numpy's included)."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidTypeError(
            f"`{name}` must be True or False, not {type(value).__name__} {value!r}."
        )


def title(label: object, fn: object) -> str:
    """The report's title: ``label`` (a str), else ``fn``'s qualified name (its plain name for
    a function defined inside another; ``<lambda> at file.py:LINE`` for a lambda)."""
    if label is not None:
        if not isinstance(label, str):
            raise InvalidTypeError(
                f"`label` names the report: pass a str, not {type(label).__name__} {label!r}."
            )
        return label
    name = str(getattr(fn, "__name__", None) or repr(fn))
    qualname = str(getattr(fn, "__qualname__", None) or name)
    code = getattr(fn, "__code__", None)
    if name == "<lambda>" and code is not None:
        return f"<lambda> at {os.path.basename(code.co_filename)}:{code.co_firstlineno}"
    return name if "<locals>" in qualname else qualname


def validate(mode: str, rtol: float, atol: float, step: float | None, ulps: float) -> None:
    """Typed errors naming the option for every out-of-range or ill-typed value."""
    if not isinstance(mode, str):
        raise InvalidTypeError(f"`mode` must be one of {MODES}, not {type(mode).__name__}.")
    if mode not in MODES:
        raise InvalidInputError(f"`mode` must be one of {MODES}, not {mode!r}.")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not (np.isfinite(r := _real(name, v)) and r >= 0):
            raise InvalidInputError(f"`{name}` must be a finite number >= 0, not {v!r}.")
    if not (np.isfinite(u := _real("ulps", ulps)) and u >= 1):
        raise InvalidInputError(f"`ulps` must be a finite number >= 1, not {ulps!r}.")
    if step is not None and not (np.isfinite(c := _real("step", step)) and 0 < c < 1):
        raise InvalidInputError(
            f"`step` is a relative step in (0, 1), not {step!r}; leave it None for the default."
        )


def _real(name: str, v: object) -> float:
    arr = np.asarray(v) if not isinstance(v, str | bytes) else np.asarray(None)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise InvalidTypeError(f"`{name}` must be a real number, not {type(v).__name__} {v!r}.")
    return float(arr)


def seed_value(seed: object) -> int | None:
    """``seed`` as an int, or None; a typed error naming `seed` for anything else."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        what = "" if isinstance(seed, np.random.Generator) else f" {seed!r}"
        raise InvalidTypeError(
            f"`seed` must be a non-negative int or None, not a {type(seed).__name__}{what}: "
            "pass an int such as 0 (it is recorded in the result, so the run replays; a "
            "Generator's state cannot be)."
        )
    if seed < 0:
        raise InvalidInputError(f"`seed` must be a non-negative int or None, not {seed!r}.")
    return int(seed)


def draw_seed(seed: int | None) -> int:
    """``seed``, or a fresh one from the OS's entropy, to be recorded in the result and replayed."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % 2**32)  # type: ignore[operator]
    return seed
