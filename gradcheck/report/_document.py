"""The proof document: the plugin's per-ID outcomes joined with the catalogue, the environment
and the figures, in the form the Markdown, HTML and JSON writers share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gradcheck import _evidence
from gradcheck.catalogue import Catalogue, Entry

__all__ = [
    "STATUS_MARK",
    "FigureOutcome",
    "ProofDocument",
    "Row",
    "symbolic_cell",
    "symbolic_lines",
]

# Text symbols, not emoji: common text fonts (DejaVu, Segoe UI Symbol, ...) have them, so the
# marks read on a machine without an emoji font; the status word follows each mark anyway.
STATUS_MARK = {"proven": "✓", "failed": "✗", "skipped": "⚠", "unproven": "○"}


@dataclass(frozen=True)
class FigureOutcome:
    """A figure that was drawn (``path`` relative to the report directory) or why it was not."""

    id: str
    caption: str = ""
    path: str | None = None
    reason: str = ""
    png: bytes = field(default=b"", repr=False)

    @property
    def produced(self) -> bool:
        return self.path is not None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "caption": self.caption, "path": self.path, "reason": self.reason}


@dataclass(frozen=True)
class Row:
    """One catalogue entry with its outcome and the tests that name it."""

    entry: Entry
    status: str
    tests: tuple[dict[str, Any], ...]
    examples: int
    worst_error: float | None
    symbolic: dict[str, Any] = field(default_factory=lambda: {"status": "not attempted"})
    evidence: int = 0  # evidence units over the tests that passed (`gradcheck._evidence.count`)
    without_evidence: tuple[str, ...] = ()  # the tests that passed without any

    @property
    def mark(self) -> str:
        return STATUS_MARK.get(self.status, "?")


@dataclass(frozen=True)
class ProofDocument:
    """Everything a writer needs; `rows` is in catalogue order."""

    catalogue: Catalogue
    proof: dict[str, Any]
    environment: dict[str, str]
    figures: tuple[FigureOutcome, ...] = ()
    title: str = ""

    def row(self, entry: Entry) -> Row:
        rec = self.proof.get("ids", {}).get(entry.id, {})
        tests = tuple(
            {"nodeid": t, **self.proof.get("tests", {}).get(t, {})} for t in rec.get("tests", [])
        )
        return Row(
            entry=entry,
            status=str(rec.get("status", "unproven")),
            tests=tests,
            examples=int(rec.get("examples", 0) or 0),
            worst_error=rec.get("worst_error"),
            symbolic=dict(rec.get("symbolic") or {"status": "not attempted", "proofs": []}),
            evidence=int(rec.get("evidence", 0) or 0),
            without_evidence=tuple(rec.get("without_evidence", ())),
        )

    def rows(self, *kinds: str) -> Iterator[Row]:
        for entry in self.catalogue:
            if not kinds or entry.kind in kinds:
                yield self.row(entry)

    def parts(self) -> list[tuple[str, str, list[Row]]]:
        """Items grouped by part, in order: ``(part, part heading, rows)``."""
        groups: dict[str, tuple[str, list[Row]]] = {}
        for row in self.rows("item"):
            part = row.entry.part
            heading = str(row.entry.data.get("part_heading", ""))
            groups.setdefault(part, (heading, []))[1].append(row)
        return [(p, h, rs) for p, (h, rs) in groups.items()]

    def other_kinds(self) -> list[str]:
        """Kinds of a foreign catalogue that are neither items, errata nor figures."""
        known = {"item", "erratum", "figure", "plot"}
        return sorted({e.kind for e in self.catalogue} - known)

    def figure(self, entry_id: str) -> FigureOutcome | None:
        return next((f for f in self.figures if f.id == entry_id), None)

    @property
    def summary(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUS_MARK}
        for row in self.rows():
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    @property
    def heading(self) -> str:
        return (
            self.title or f"Proof report: {self.catalogue.meta.get('title', self.catalogue.name)}"
        )


def fmt_error(x: float | None) -> str:
    """A worst normalized error as the tables print it."""
    return "–" if x is None else f"{x:.2g}"


def describe_test(test: dict[str, Any]) -> tuple[str, str]:
    """``(nodeid, "passed · 50 examples · 150 evidence · 100 asserts · 50 checks · worst
    error 0.03")`` for one test; a test that passed without evidence is "no evidence" (with
    why), never "passed"."""
    ev = test.get("evidence", {}) or {}
    bare = _evidence.without_evidence(test)
    bits = ["no evidence" if bare else str(test.get("outcome", "not run"))]
    bits.append(_plural(int(ev.get("examples", 0) or 0), "example"))
    if not bare and test.get("outcome") == "passed":
        bits.append(f"evidence {_evidence.count(ev)}")
    if ev.get("asserts"):
        bits.append(_plural(int(ev["asserts"]), "passing assert"))
    if ev.get("checks"):
        extra = [f"{ev[k]} {w}" for k, w in _CHECK_KINDS if ev.get(k)]
        tail = f" ({', '.join(extra)})" if extra else ""
        bits.append(_plural(int(ev["checks"]), "check") + tail)
    if ev.get("explicit"):
        bits.append(_plural(int(ev["explicit"]), "recorded bound"))
    if ev.get("worst_error") is not None:
        bits.append(f"worst error {fmt_error(ev['worst_error'])}")
    if bare:
        bits.append(_evidence.missing(test))
    return str(test["nodeid"]), " · ".join(bits)


_CHECK_KINDS = (("rejected", "rejected as intended"), ("inconclusive", "inconclusive"))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def symbolic_cell(symbolic: dict[str, Any]) -> str:
    """The summary table's symbolic column: proven / disproven / unsupported / – (not
    attempted)."""
    status = str(symbolic.get("status", "not attempted"))
    return "–" if status == "not attempted" else status


def symbolic_lines(symbolic: dict[str, Any]) -> list[tuple[str, str]]:
    """One ``(headline, residual)`` per symbolic proof of an ID (`gradcheck.symbolic`), e.g.
    ``("symbolic: proven at shapes x (2, 2), W (2, 3) — rnn.step, 18 entries, 0.3 s", "")``;
    ``residual`` is the disproven entry's residual, else ""."""
    proofs = symbolic.get("proofs") or []
    if not proofs:
        return [("symbolic: not attempted", "")]
    out = []
    for p in proofs:
        shapes = ", ".join(f"{k} {tuple(v)}" for k, v in (p.get("shapes") or {}).items())
        regions = int(p.get("regions", 0) or 0)
        where = f", on each of the {regions} regions" if regions > 1 else ""
        label, status = str(p.get("label", "")), str(p.get("status", ""))
        took = f"{float(p.get('seconds', 0) or 0):.1f} s"
        if status == "proven":
            head = f"symbolic: proven at shapes {shapes} — {label}: {p.get('entries', 0)} "
            out.append((head + f"gradient entries exact for all inputs{where}, {took}", ""))
        elif status == "disproven":
            head = f"symbolic: disproven at shapes {shapes} — {label}: {p.get('reason', '')}"
            out.append((head, str(p.get("residual", ""))))
        else:
            head = f"symbolic: {status} ({p.get('reason', '')}) — {label}, at shapes {shapes}"
            out.append((head, ""))
    return out
