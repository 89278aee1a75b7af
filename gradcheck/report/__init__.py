"""The proof report: ``proof.md``, ``proof.html`` and ``proof.json`` plus the figures.

`build_document` joins the plugin's per-ID outcomes (``--gradcheck-proof`` JSON) with the
catalogue, the environment and the figures; `write_report` writes the chosen formats.
`render_markdown` / `render_html` / `render_json` return the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gradcheck.catalogue import Catalogue
from gradcheck.report._document import FigureOutcome, ProofDocument
from gradcheck.report._html import render_html
from gradcheck.report._md import render_markdown

__all__ = [
    "FORMATS",
    "FigureOutcome",
    "ProofDocument",
    "build_document",
    "render_html",
    "render_json",
    "render_markdown",
    "write_report",
]

FORMATS = ("md", "html", "json")


def build_document(
    proof: Mapping[str, Any],
    catalogue: Catalogue,
    environment: Mapping[str, str] | None = None,
    figures: Iterable[FigureOutcome] = (),
    title: str = "",
) -> ProofDocument:
    """The document the writers render."""
    return ProofDocument(
        catalogue=catalogue,
        proof=dict(proof),
        environment=dict(environment or {}),
        figures=tuple(figures),
        title=title,
    )


def render_json(doc: ProofDocument) -> str:
    """Machine-readable: per-ID status with the catalogue's words, tests, figures, environment."""
    ids = {}
    for row in doc.rows():
        ids[row.entry.id] = {
            "kind": row.entry.kind,
            "heading": row.entry.heading,
            "status": row.status,
            "examples": row.examples,
            "evidence": row.evidence,
            "without_evidence": list(row.without_evidence),
            "worst_error": row.worst_error,
            "tests": [t["nodeid"] for t in row.tests],
            "symbolic": row.symbolic,
            "statement": row.entry.statement,
        }
    out = {
        "schema": "gradcheck.report/1",
        "title": doc.heading,
        "summary": doc.summary,
        "catalogue": doc.proof.get("catalogue", {"name": doc.catalogue.name}),
        "ids": ids,
        "tests": doc.proof.get("tests", {}),
        "failed_without_ids": doc.proof.get("failed_without_ids", []),
        "asserts_uncounted": doc.proof.get("asserts_uncounted", ""),
        # how the proof was obtained (database, shard): what merge-proofs checks
        "provenance": doc.proof.get("provenance", {}),
        "figures": [f.to_dict() for f in doc.figures],
        "environment": doc.environment,
    }
    return json.dumps(out, indent=1, ensure_ascii=False) + "\n"


_RENDER = {"md": render_markdown, "html": render_html, "json": render_json}


def write_report(
    doc: ProofDocument, out_dir: str | Path, formats: Iterable[str] = FORMATS
) -> list[Path]:
    """Write ``proof.<fmt>`` for each format into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        if fmt not in _RENDER:
            raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}.")
        path = out / f"proof.{fmt}"
        path.write_text(_RENDER[fmt](doc), encoding="utf-8")
        written.append(path)
    return written
