"""The article's proof page as the report tests read it: the formulas it must show, and a
realistic proof to render (the committed run in docs/proof, with every status present)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from gradcheck.catalogue import Catalogue, Entry

ROOT = Path(__file__).resolve().parents[1]
PROOF_JSON = ROOT / "docs" / "proof" / "proof.json"


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    dollarmath_plugin(md, allow_labels=False, double_inline=True)
    return md


def formulas(text: str, code_is_latex: bool = False) -> list[str]:
    """The LaTeX of each ``$...$`` / ``$$...$$`` span (and backtick span, where those mark
    the article's LaTeX) in authored Markdown."""
    out = []
    for token in _parser().parse(text):
        for t in [token, *(token.children or [])]:
            if t.type.startswith("math") or (code_is_latex and t.type == "code_inline"):
                out.append(t.content)
    return out


def shown_fields(entry: Entry) -> list[tuple[str, bool]]:
    """``(text, backticks are LaTeX)`` for each place the page shows a field of ``entry``, for a
    document without drawn figures: a heading twice (summary table and section)."""
    fields = [(entry.heading, False), (entry.heading, False), (entry.article, True)]
    if entry.kind in ("figure", "plot"):
        return [*fields, (str(entry.data.get("regenerate", "")), False)]
    fields.append((entry.statement, False))
    if entry.kind == "erratum":
        fields.append((str(entry.data.get("demonstration", "")), False))
    return fields


def page_formulas(catalogue: Catalogue) -> list[tuple[str, str]]:
    """``(ID, LaTeX)`` once for every formula the page shows."""
    return [
        (e.id, latex)
        for e in catalogue
        for text, code in shown_fields(e)
        for latex in formulas(text, code)
    ]


FAILURE = (
    "GradientMismatch: W[0, 1]: analytic 0.2500 vs numeric 0.2431, |diff| 6.9e-03 > "
    "allowed 2.1e-07 (error model: truncation + rounding)"
)


@cache
def _committed() -> dict[str, Any]:
    return dict(json.loads(PROOF_JSON.read_text(encoding="utf-8")))


def realistic_proof() -> dict[str, Any]:
    """docs/proof/proof.json (an all-green run of the article) with MLP-2 failed, MLP-4
    skipped and MLP-6 named by no test, so that every status shows near the top."""
    proof = copy.deepcopy(_committed())
    ids, tests = proof["ids"], proof["tests"]
    failing = ids["MLP-2"]["tests"][0]
    tests[failing].update(outcome="failed", message=FAILURE)
    ids["MLP-2"]["status"] = "failed"
    skipped = ids["MLP-4"]["tests"][0]
    tests[skipped].update(outcome="skipped", message="sympy is not installed")
    ids["MLP-4"]["status"] = "skipped"
    del ids["MLP-6"]
    return proof
