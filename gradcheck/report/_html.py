"""The HTML report (``proof.html``): one self-contained page, no network.

Images are embedded as base64 PNG; the catalogue's Markdown is rendered by markdown-it-py and
its LaTeX becomes MathML, which browsers draw natively (no MathJax/KaTeX CDN); a formula
latex2mathml cannot convert is shown as LaTeX and listed at the top. Status badges are
styled text (no emoji font needed); the fonts fall back to CJK faces for the article's
Chinese. Everything quoted is escaped on the way in.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from html import escape
from typing import TYPE_CHECKING

from gradcheck.report._document import (
    FigureOutcome,
    ProofDocument,
    Row,
    describe_test,
    fmt_error,
    symbolic_cell,
    symbolic_lines,
)

if TYPE_CHECKING:
    from gradcheck.report._commonmark import PageMarkup
    from gradcheck.report._mathml import MathWarning

__all__ = ["render_html"]

_SANS = (
    'system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,'
    '"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB",'
    '"Microsoft YaHei","WenQuanYi Micro Hei","Noto Sans SC",sans-serif'
)
_MATH = '"STIX Two Math","Cambria Math","Latin Modern Math","DejaVu Math TeX Gyre",math'
_CSS = f"""
body{{font:15px/1.5 {_SANS};max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2328}}
h1,h2,h3{{line-height:1.25}} h3{{margin-top:2rem;border-top:1px solid #d0d7de;padding-top:1rem}}
table{{border-collapse:collapse;margin:1rem 0}} td.id{{white-space:nowrap}}
td,th{{border:1px solid #d0d7de;padding:.2rem .5rem}} td.n{{text-align:right}}
code{{background:#f6f8fa;padding:0 .2rem;border-radius:3px}} .tests code{{overflow-wrap:anywhere}}
math{{font-family:{_MATH};font-size:1.05em}} math[display=block]{{margin:.5rem 0}}
code.latex{{color:#cf222e;border:1px dashed #cf222e}}
.badge{{display:inline-block;padding:0 .45em;border-radius:1em;font-size:.8em;font-weight:600;
line-height:1.6;white-space:nowrap;border:1px solid currentColor;vertical-align:middle}}
.badge::before{{content:"";display:inline-block;width:.55em;height:.55em;margin-right:.35em;
border-radius:50%;background:currentColor;vertical-align:.05em}}
.proven{{color:#1a7f37;background:#dafbe1}} .failed{{color:#cf222e;background:#ffebe9}}
.skipped{{color:#9a6700;background:#fff8c5}} .unproven{{color:#57606a;background:#fff}}
.unproven::before{{background:none;border:1px solid currentColor;box-sizing:border-box}}
.warnings{{border:1px solid #cf222e;border-radius:6px;padding:0 1rem;background:#fff5f5}}
img{{max-width:100%}} blockquote{{margin:0;padding-left:1rem;border-left:4px solid #d0d7de;
color:#57606a}}
"""


def render_html(doc: ProofDocument) -> str:
    """The whole report as one self-contained HTML page."""
    from gradcheck.report._commonmark import PageMarkup  # the report extra: md and json need none

    markup = PageMarkup()
    head, body = _top(doc), list(_body(doc, markup))  # rendering the body collects warnings
    page = "\n".join([*head, *_warnings(markup.warnings), *body])
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(doc.heading)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{page}\n</body></html>\n"
    )


def _status(row: Row) -> str:
    status = escape(row.status)
    return f"<span class='badge {status}'>{status}</span>"


def _top(doc: ProofDocument) -> list[str]:
    s = doc.summary
    return [
        f"<h1>{escape(doc.heading)}</h1>",
        f"<p><strong>{s['proven']} proven</strong> · {s['failed']} failed · {s['skipped']} "
        f"skipped · {s['unproven']} unproven — of {len(doc.catalogue)} IDs in the catalogue "
        f"<code>{escape(doc.catalogue.name)}</code>. A skip never counts as proof; a test that "
        "checked nothing (no passing check, proven symbolic proof, assert or recorded bound) is "
        "listed as "
        "<em>no evidence</em> and proves nothing.</p>",
    ]


def _warnings(warnings: list[MathWarning]) -> Iterator[str]:
    """The formulas shown as LaTeX because latex2mathml could not convert them."""
    if not warnings:
        return
    n = len(warnings)
    yield (
        f"<div class='warnings'><p><strong>{n} formula{'s' if n > 1 else ''} could not be "
        "converted to MathML</strong> and "
        f"{'are' if n > 1 else 'is'} shown as LaTeX:</p><ul>"
    )
    for w in warnings:
        where = escape(w.where)
        yield (
            f"<li><a href='#{where.lower()}'>{where}</a>: <code>{escape(w.latex)}</code> — "
            f"{escape(w.reason)}</li>"
        )
    yield "</ul></div>"


def _body(doc: ProofDocument, markup: PageMarkup) -> Iterator[str]:
    yield from _summary_table(doc, markup)
    for part, heading, rows in doc.parts():
        title = f"Part {part} — {heading}" if heading else (f"Part {part}" if part else "Equations")
        yield f"<h2>{escape(title)}</h2>"
        for row in rows:
            yield from _item(row, markup)
    yield from _errata(doc, markup)
    yield from _figures(doc, markup)
    for kind in doc.other_kinds():
        yield f"<h2>{escape(kind)}</h2>"
        for row in doc.rows(kind):
            yield from _item(row, markup)
    yield from _environment(doc)


def _summary_table(doc: ProofDocument, markup: PageMarkup) -> Iterator[str]:
    yield "<table><tr><th>ID</th><th>claim</th><th>status</th><th>tests</th><th>examples</th>"
    yield "<th>evidence</th><th>worst error</th><th>symbolic</th></tr>"
    for row in doc.rows():
        eid, head = escape(row.entry.id), markup.inline(row.entry.heading, row.entry.id)
        yield (
            f"<tr><td class='id'><a href='#{eid.lower()}'>{eid}</a></td><td>{head}</td>"
            f"<td>{_status(row)}</td><td class='n'>{len(row.tests)}</td>"
            f"<td class='n'>{row.examples}</td><td class='n'>{row.evidence}</td>"
            f"<td class='n'>{fmt_error(row.worst_error)}</td>"
            f"<td>{escape(symbolic_cell(row.symbolic))}</td></tr>"
        )
    yield "</table>"


def _h3(row: Row, markup: PageMarkup) -> str:
    eid = escape(row.entry.id)
    head = markup.inline(row.entry.heading, row.entry.id)
    return f"<h3 id='{eid.lower()}'>{eid} — {head} · {_status(row)}</h3>"


def _item(row: Row, markup: PageMarkup) -> Iterator[str]:
    e = row.entry
    yield _h3(row, markup)
    if e.article:
        quote = markup.inline(e.article, e.id, code_as_math=True)
        yield f"<blockquote><strong>Article:</strong> {quote}</blockquote>"
    if e.statement:
        yield f"<div class='statement'>{markup.block(e.statement, e.id)}</div>"
    yield from _symbolic(row)
    yield from _tests(row)


def _symbolic(row: Row) -> Iterator[str]:
    yield "<ul class='symbolic'>"
    for head, residual in symbolic_lines(row.symbolic):
        extra = (
            f"<br>residual (backward − exact): <code>{escape(residual)}</code>" if residual else ""
        )
        yield f"<li>{escape(head)}{extra}</li>"
    yield "</ul>"


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


def _errata(doc: ProofDocument, markup: PageMarkup) -> Iterator[str]:
    rows = list(doc.rows("erratum"))
    if rows:
        yield "<h2>Errata</h2>"
    for row in rows:
        e, d = row.entry, row.entry.data
        yield _h3(row, markup)
        sev = f"{d.get('severity', '')} ({d.get('severity_label', '')})"
        yield f"<p><em>Severity</em> {escape(sev)}</p>"
        quote = markup.inline(e.article, e.id, code_as_math=True)
        yield f"<blockquote><strong>Article says:</strong> {quote}</blockquote>"
        yield f"<p><strong>Correction:</strong> {markup.inline(e.statement, e.id)}</p>"
        if d.get("demonstration"):
            demo = markup.inline(str(d["demonstration"]), e.id)
            yield f"<p><strong>Demonstration:</strong> {demo}</p>"
        yield from _symbolic(row)
        yield from _tests(row)


def _figures(doc: ProofDocument, markup: PageMarkup) -> Iterator[str]:
    rows = list(doc.rows("figure", "plot"))
    if rows:
        yield "<h2>Figures</h2>"
    for row in rows:
        yield _h3(row, markup)
        yield _figure_body(row, doc.figure(row.entry.id), markup)
        yield from _tests(row)


def _figure_body(row: Row, fig: FigureOutcome | None, markup: PageMarkup) -> str:
    if fig is not None and fig.png:
        data = base64.b64encode(fig.png).decode("ascii")
        cap = f"<figcaption>{escape(fig.caption)}</figcaption>" if fig.caption else ""
        alt = escape(row.entry.id)
        return f"<figure><img alt='{alt}' src='data:image/png;base64,{data}'>{cap}</figure>"
    if fig is not None:
        return f"<p><em>Not produced:</em> {escape(fig.reason)}</p>"
    regen = markup.inline(str(row.entry.data.get("regenerate", "")), row.entry.id)
    return f"<p>Not drawn by this report. {regen}</p>"


def _environment(doc: ProofDocument) -> Iterator[str]:
    yield "<h2>Environment</h2><table>"
    for key, value in doc.environment.items():
        yield f"<tr><th>{escape(key)}</th><td><code>{escape(value)}</code></td></tr>"
    yield "</table>"
