"""The HTML report (``proof.html``): one self-contained page, no network.

Images are embedded as base64 PNG; math is turned into Unicode and ``<sub>``/``<sup>`` by
`gradcheck.report._latex` (no MathJax/KaTeX CDN). Everything is escaped on the way in.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from html import escape

from gradcheck.report._document import (
    FigureOutcome,
    ProofDocument,
    Row,
    describe_test,
    fmt_error,
)
from gradcheck.report._markup import inline_html, md_to_html

__all__ = ["render_html"]

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1f2328}
h1,h2,h3{line-height:1.25} h3{margin-top:2rem;border-top:1px solid #d0d7de;padding-top:1rem}
table{border-collapse:collapse;margin:1rem 0} td,th{border:1px solid #d0d7de;padding:.2rem .5rem}
td.n{text-align:right} code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
.math{font-family:"STIX Two Math","Cambria Math","Latin Modern Math",serif;white-space:nowrap}
.math.display{display:block;text-align:center;margin:.5rem 0;white-space:normal}
.frac{white-space:nowrap} .proven{color:#1a7f37} .failed{color:#cf222e}
.skipped{color:#9a6700} .unproven{color:#57606a} img{max-width:100%}
blockquote{margin:0;padding-left:1rem;border-left:4px solid #d0d7de;color:#57606a}
"""


def render_html(doc: ProofDocument) -> str:
    """The whole report as one self-contained HTML page."""
    body = "\n".join(_body(doc))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(doc.heading)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _status(row: Row) -> str:
    return f"<span class='{escape(row.status)}'>{row.mark} {escape(row.status)}</span>"


def _body(doc: ProofDocument) -> Iterator[str]:
    yield f"<h1>{escape(doc.heading)}</h1>"
    s = doc.summary
    yield (
        f"<p><strong>{s['proven']} proven</strong> · {s['failed']} failed · {s['skipped']} "
        f"skipped · {s['unproven']} unproven — of {len(doc.catalogue)} IDs in the catalogue "
        f"<code>{escape(doc.catalogue.name)}</code>. A skip never counts as proof.</p>"
    )
    yield from _summary_table(doc)
    for part, heading, rows in doc.parts():
        title = f"Part {part} — {heading}" if heading else (f"Part {part}" if part else "Equations")
        yield f"<h2>{escape(title)}</h2>"
        for row in rows:
            yield from _item(row)
    yield from _errata(doc)
    yield from _figures(doc)
    for kind in doc.other_kinds():
        yield f"<h2>{escape(kind)}</h2>"
        for row in doc.rows(kind):
            yield from _item(row)
    yield from _environment(doc)


def _summary_table(doc: ProofDocument) -> Iterator[str]:
    yield "<table><tr><th>ID</th><th>claim</th><th>status</th><th>tests</th><th>examples</th>"
    yield "<th>worst error</th></tr>"
    for row in doc.rows():
        eid, head = escape(row.entry.id), inline_html(row.entry.heading)
        yield (
            f"<tr><td><a href='#{eid.lower()}'>{eid}</a></td><td>{head}</td>"
            f"<td>{_status(row)}</td><td class='n'>{len(row.tests)}</td>"
            f"<td class='n'>{row.examples}</td><td class='n'>{fmt_error(row.worst_error)}</td></tr>"
        )
    yield "</table>"


def _h3(row: Row) -> str:
    eid = escape(row.entry.id)
    head = inline_html(row.entry.heading)
    return f"<h3 id='{eid.lower()}'>{eid} — {head} · {_status(row)}</h3>"


def _item(row: Row) -> Iterator[str]:
    yield _h3(row)
    if row.entry.article:
        quote = inline_html(row.entry.article, code_as_math=True)
        yield f"<blockquote><strong>Article:</strong> {quote}</blockquote>"
    if row.entry.statement:
        yield f"<div class='statement'>{md_to_html(row.entry.statement)}</div>"
    yield from _tests(row)


def _tests(row: Row) -> Iterator[str]:
    if not row.tests:
        yield "<p><em>No test names this ID: unproven.</em></p>"
        return
    yield "<ul class='tests'>"
    for test in row.tests:
        nodeid, desc = describe_test(test)
        msg = test.get("message")
        extra = f"<br><code>{escape(str(msg))}</code>" if msg else ""
        yield f"<li><code>{escape(nodeid)}</code> — {escape(desc)}{extra}</li>"
    yield "</ul>"


def _errata(doc: ProofDocument) -> Iterator[str]:
    rows = list(doc.rows("erratum"))
    if rows:
        yield "<h2>Errata</h2>"
    for row in rows:
        d = row.entry.data
        yield _h3(row)
        sev = f"{d.get('severity', '')} ({d.get('severity_label', '')})"
        yield f"<p><em>Severity</em> {escape(sev)}</p>"
        quote = inline_html(row.entry.article, code_as_math=True)
        yield f"<blockquote><strong>Article says:</strong> {quote}</blockquote>"
        yield f"<p><strong>Correction:</strong> {inline_html(row.entry.statement)}</p>"
        if d.get("demonstration"):
            yield f"<p><strong>Demonstration:</strong> {inline_html(str(d['demonstration']))}</p>"
        yield from _tests(row)


def _figures(doc: ProofDocument) -> Iterator[str]:
    rows = list(doc.rows("figure", "plot"))
    if rows:
        yield "<h2>Figures</h2>"
    for row in rows:
        yield _h3(row)
        yield _figure_body(row, doc.figure(row.entry.id))
        yield from _tests(row)


def _figure_body(row: Row, fig: FigureOutcome | None) -> str:
    if fig is not None and fig.png:
        data = base64.b64encode(fig.png).decode("ascii")
        cap = f"<figcaption>{escape(fig.caption)}</figcaption>" if fig.caption else ""
        alt = escape(row.entry.id)
        return f"<figure><img alt='{alt}' src='data:image/png;base64,{data}'>{cap}</figure>"
    if fig is not None:
        return f"<p><em>Not produced:</em> {escape(fig.reason)}</p>"
    regen = inline_html(str(row.entry.data.get("regenerate", "")))
    return f"<p>Not drawn by this report. {regen}</p>"


def _environment(doc: ProofDocument) -> Iterator[str]:
    yield "<h2>Environment</h2><table>"
    for key, value in doc.environment.items():
        yield f"<tr><th>{escape(key)}</th><td><code>{escape(value)}</code></td></tr>"
    yield "</table>"
