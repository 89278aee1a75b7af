"""What a check returns: a verdict, the entries that drive it, and a report a person reads."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Status(enum.StrEnum):
    """The verdict of a check (compares equal to its string value)."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Entry:
    """One checked entry: where it is, both values, and the error it was allowed."""

    path: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    error: float  # estimated bound on |numeric - true derivative|
    allowed: float  # the discrepancy the error model allows
    step: float
    status: Status
    note: str = ""

    @property
    def difference(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def ratio(self) -> float:
        """``|analytic - numeric| / allowed``: above 1 is a mismatch."""
        if self.allowed > 0:
            return self.difference / self.allowed
        return 0.0 if self.difference == 0 else float("inf")

    def where(self) -> str:
        return f"{self.path}[{', '.join(map(str, self.index))}]" if self.index else self.path

    def describe(self) -> str:
        head = (
            f"{self.where()}: analytic {self.analytic:.10g}, numeric {self.numeric:.10g} "
            f"(error estimate {self.error:.2g})"
        )
        cmp = {Status.FAIL: ">", Status.PASS: "<="}.get(self.status, "vs")
        body = (
            f"|difference| {self.difference:.3g} {cmp} allowed {self.allowed:.3g} "
            f"({self.ratio:.3g}x), step h = {self.step:.3g}"
        )
        note = f"\n      {self.note}" if self.note else ""
        return f"  {head}\n      {body}{note}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "index": list(self.index),
            "analytic": self.analytic,
            "numeric": self.numeric,
            "error": self.error,
            "allowed": self.allowed,
            "step": self.step,
            "status": self.status.value,
            "note": self.note,
        }


@dataclass(frozen=True)
class ParamReport:
    """Per-parameter arrays (full mode) and the parameter's own verdict.

    ``analytic``, ``numeric``, ``error``, ``allowed`` and ``statuses`` (each entry's verdict:
    "pass", "fail" or "inconclusive") have the parameter's shape (for a Jacobian check:
    ``out.shape + x.shape``); fast mode leaves them ``None``.
    """

    path: str
    shape: tuple[int, ...]
    dtype: str
    status: Status
    analytic: FloatArray | None = None
    numeric: FloatArray | None = None
    error: FloatArray | None = None
    allowed: FloatArray | None = None
    counts: dict[str, int] = field(default_factory=dict)
    grad_dtype: str = ""  # the analytic gradient's dtype as returned ("" when not recorded)
    statuses: NDArray[np.str_] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "grad_dtype": self.grad_dtype or self.dtype,
            "status": self.status.value,
            "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class CheckResult:
    """The outcome of `check_grad`, `check_vjp` or `check_jacobian`.

    ``status`` is ``"pass"``, ``"fail"`` or ``"inconclusive"``; ``ok`` is true only for a pass.
    ``worst`` holds the entries that drive the verdict (failures first, then inconclusive
    entries, else the closest calls). ``str(result)`` is the report.
    """

    status: Status
    label: str
    mode: str
    evaluations: int
    params: tuple[ParamReport, ...]
    worst: tuple[Entry, ...]
    worst_ratio: float
    max_rel_error: float
    reason: str = ""
    model: str = ""
    seed: int | None = None
    notes: tuple[str, ...] = ()  # what the user's code did that did not change the verdict

    @property
    def ok(self) -> bool:
        return self.status is Status.PASS

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        # pytest shows ``assert res.ok, res`` messages through repr: make that the report.
        return str(self)

    def __str__(self) -> str:
        n = sum(int(np.prod(p.shape)) for p in self.params)
        counts = {s: sum(p.counts.get(s.value, 0) for p in self.params) for s in Status}
        if self.mode == "fast":  # directions were checked, not entries; only named ones count
            what = (
                f"{n} entries in {len(self.params)} parameter(s) checked along random "
                f"directions; {counts[Status.FAIL]} entr"
                f"{'y' if counts[Status.FAIL] == 1 else 'ies'} named"
            )
        else:
            what = (
                f"{counts[Status.PASS]} pass, {counts[Status.FAIL]} fail, "
                f"{counts[Status.INCONCLUSIVE]} inconclusive of {n} entries in "
                f"{len(self.params)} parameter(s)"
            )
        head = (
            f"gradcheck {self.label}: {self.status.value.upper()} ({what}; "
            f"{self.evaluations} evaluations of f, mode={self.mode}"
            f"{'' if self.seed is None else f', seed={self.seed}'})"
        )
        lines = [head]
        if self.reason:
            lines.append(f"  {self.reason}")
        if self.worst:
            lines.append("worst entries:" if self.status is not Status.PASS else "closest calls:")
            lines.extend(e.describe() for e in self.worst)
        lines.append(
            f"worst |difference|/allowed = {self.worst_ratio:.3g}; "
            f"max relative error = {self.max_rel_error:.3g}"
        )
        lines.append(self.dtypes())
        lines.extend(f"note: {n}" for n in self.notes)
        if self.model:
            lines.append(self.model)
        return "\n".join(lines)

    def dtypes(self) -> str:
        """One line: the parameters' dtypes and the gradient's (when they differ)."""
        pairs = [(p.dtype, p.grad_dtype or p.dtype) for p in self.params]
        if len(set(pairs)) == 1:
            d, g = pairs[0]
            return f"dtypes: parameters {d}, gradient {g}"
        shown = [
            f"{p.path} {d}" + (f" (gradient {g})" if g != d else "")
            for p, (d, g) in zip(self.params, pairs, strict=True)
        ]
        return "dtypes: " + ", ".join(shown[:8]) + (", ..." if len(shown) > 8 else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "label": self.label,
            "mode": self.mode,
            "evaluations": self.evaluations,
            "worst_ratio": self.worst_ratio,
            "max_rel_error": self.max_rel_error,
            "reason": self.reason,
            "seed": self.seed,
            "notes": list(self.notes),
            "params": [p.to_dict() for p in self.params],
            "worst": [e.to_dict() for e in self.worst],
        }
