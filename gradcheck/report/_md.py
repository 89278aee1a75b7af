"""The Markdown report (``proof.md``): renders on GitHub, LaTeX in ``$...$``.

Authored catalogue text (statements, corrections) is Markdown already and is copied as is;
everything quoted from outside (test IDs, failure messages, headings in tables, the
environment) is escaped with `md_text` / `md_code`.
"""

from __future__ import annotations

from collections.abc import Iterator

from gradcheck.report._document import (
    FigureOutcome,
    ProofDocument,
    Row,
    describe_test,
    fmt_error,
    symbolic_cell,
    symbolic_lines,
)
from gradcheck.report._mdescape import md_authored, md_code, md_keep_math, md_text

__all__ = ["render_markdown"]


def render_markdown(doc: ProofDocument) -> str:
    """The whole report as one Markdown string."""
    return "\n".join(_document(doc)) + "\n"


def _document(doc: ProofDocument) -> Iterator[str]:
    yield f"# {md_text(doc.heading)}"
    yield ""
    s = doc.summary
    yield (
        f"**{s['proven']} proven** · {s['failed']} failed · {s['skipped']} skipped · "
        f"{s['unproven']} unproven — of {len(doc.catalogue)} IDs in the catalogue "
        f"{md_code(doc.catalogue.name)}. A skip never counts as proof; an ID is proven only "
        "when every test naming it passed with evidence (a passing check, a proven symbolic "
        "proof, a passing assert or a recorded bound), and a test that checked nothing is "
        "listed as *no evidence*."
    )
    yield ""
    yield from _summary_table(doc)
    for part, heading, rows in doc.parts():
        yield f"## {_part_title(part, heading)}"
        yield ""
        for row in rows:
            yield from _item(row)
    yield from _errata(doc)
    yield from _figures(doc)
    for kind in doc.other_kinds():
        yield f"## {md_text(kind)}"
        yield ""
        for row in doc.rows(kind):
            yield from _item(row)
    yield from _environment(doc)


def _part_title(part: str, heading: str) -> str:
    if not part:
        return "Equations"
    return md_text(f"Part {part} — {heading}" if heading else f"Part {part}")


def _summary_table(doc: ProofDocument) -> Iterator[str]:
    yield "| ID | claim | status | tests | examples | evidence | worst error | symbolic |"
    yield "|---|---|---|---:|---:|---:|---:|---|"
    for row in doc.rows():
        link = row.entry.id.lower()
        yield (
            f"| [{md_text(row.entry.id)}](#{link}) | {md_keep_math(row.entry.heading, True)} | "
            f"{row.mark} {row.status} | {len(row.tests)} | {row.examples} | {row.evidence} | "
            f"{fmt_error(row.worst_error)} | {symbolic_cell(row.symbolic)} |"
        )
    yield ""
    yield (
        "*evidence*: passing checks, passing asserts and recorded bounds of the tests that "
        "passed (an inconclusive check is not evidence). "
        "*worst error*: the largest |analytic − numeric| / allowed error over the checks that "
        "passed (1 is the edge of the error model), or the largest recorded bound ratio. "
        "*symbolic*: the backward proven exact for all inputs by `gradcheck.symbolic` (or "
        "disproven, or unsupported with a reason); – where no symbolic proof was attempted."
    )
    yield ""


def _anchor(entry_id: str) -> str:
    return f'<a id="{entry_id.lower()}"></a>'


def _item(row: Row) -> Iterator[str]:
    e = row.entry
    head = md_keep_math(e.heading)
    yield f"### {_anchor(e.id)}{md_text(e.id)} — {head} · {row.mark} {row.status}"
    yield ""
    if e.article:
        yield f"**Article:** {md_authored(e.article)}"
        yield ""
    if e.statement:
        yield "**Statement:**"
        yield ""
        yield md_authored(e.statement)
        yield ""
    yield from _symbolic(row)
    yield from _tests(row)


def _symbolic(row: Row) -> Iterator[str]:
    for head, residual in symbolic_lines(row.symbolic):
        yield f"- {md_text(head)}"
        if residual:
            yield f"  - residual (backward − exact): {md_code(residual)}"
    yield ""


def _tests(row: Row) -> Iterator[str]:
    if not row.tests:
        yield "*No test names this ID: unproven.*"
        yield ""
        return
    yield "**Tests:**"
    yield ""
    for test in row.tests:
        nodeid, desc = describe_test(test)
        yield f"- {md_code(nodeid)} — {md_text(desc)}"
        if test.get("message"):
            yield f"  - {md_code(str(test['message']))}"
    yield ""


def _errata(doc: ProofDocument) -> Iterator[str]:
    rows = list(doc.rows("erratum"))
    if not rows:
        return
    yield "## Errata"
    yield ""
    for row in rows:
        d = row.entry.data
        yield (
            f"### {_anchor(row.entry.id)}{md_text(row.entry.id)} — "
            f"{md_keep_math(row.entry.heading)} · {row.mark} {row.status}"
        )
        yield ""
        label = d.get("severity_label", "")
        yield f"*Severity* {md_text(str(d.get('severity', '')))} ({md_text(str(label))})"
        yield ""
        yield f"**Article says:** {md_authored(row.entry.article)}"
        yield ""
        yield f"**Correction:** {md_authored(row.entry.statement)}"
        yield ""
        if d.get("demonstration"):
            yield f"**Demonstration:** {md_authored(str(d['demonstration']))}"
            yield ""
        yield from _symbolic(row)
        yield from _tests(row)


def _figures(doc: ProofDocument) -> Iterator[str]:
    rows = list(doc.rows("figure", "plot"))
    if not rows:
        return
    yield "## Figures"
    yield ""
    for row in rows:
        fig = doc.figure(row.entry.id)
        head = md_keep_math(row.entry.heading)
        yield f"### {_anchor(row.entry.id)}{md_text(row.entry.id)} — {head}"
        yield ""
        yield from _figure_body(row, fig)
        yield from _tests(row)


def _figure_body(row: Row, fig: FigureOutcome | None) -> Iterator[str]:
    if fig is not None and fig.path:
        yield f"![{md_text(row.entry.id)}]({fig.path})"
        yield ""
        if fig.caption:
            yield f"*{md_text(fig.caption)}*"
            yield ""
    elif fig is not None:
        yield f"*Not produced:* {md_text(fig.reason)}"
        yield ""
    else:
        regen = md_authored(str(row.entry.data.get("regenerate", "")))
        yield f"Not drawn by this report. {regen}".strip()
        yield ""


def _environment(doc: ProofDocument) -> Iterator[str]:
    yield "## Environment"
    yield ""
    yield "| | |"
    yield "|---|---|"
    for key, value in doc.environment.items():
        yield f"| {md_text(key)} | {md_text(value)} |"
    yield ""
