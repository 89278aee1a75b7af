r"""Escaping for the Markdown and HTML writers, and the catalogue's Markdown turned into HTML.

Everything the report *quotes* (test names, failure messages, the article's words, catalogue
headings) goes through `md_text` / `md_code` / `md_cell` or `html.escape`; the catalogue's
statements are authored Markdown with ``$...$`` LaTeX and go through `md_to_html` for the page.

>>> md_text("a*b_c [x](y) <b>")
'a\\*b\\_c \\[x\\](y) &lt;b&gt;'
>>> md_code("uses `x` here")
'`` uses `x` here ``'
>>> md_to_html("**bold** and $x_t$")
"<p><strong>bold</strong> and <span class='math'>x<sub>t</sub></span></p>"
"""

from __future__ import annotations

import html
import re

from gradcheck.report._latex import latex_to_html

__all__ = [
    "inline_html",
    "md_authored",
    "md_cell",
    "md_code",
    "md_keep_math",
    "md_text",
    "md_to_html",
]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")  # inline specials (never at a line start)


def md_text(text: str) -> str:
    """Plain text made inert in Markdown: specials backslash-escaped, ``<``/``&`` as entities."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def md_code(text: str) -> str:
    """An inline code span holding ``text`` verbatim, with a fence longer than its backtick runs."""
    text = text.replace("\r", " ").replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_cell(text: str) -> str:
    """Plain text for a GitHub table cell (a ``|`` would end the cell even inside code)."""
    return md_text(text)


_MATH_SPAN = re.compile(r"(\$[^$\n]+\$)")


def md_keep_math(text: str, in_table: bool = False) -> str:
    """Like `md_text`, but ``$...$`` spans stay LaTeX (GitHub renders them); in a table cell a
    ``|`` inside math becomes ``\\|``, which GitHub's table parser turns back into ``|``."""
    parts = _MATH_SPAN.split(text.replace("\r", " ").replace("\n", " "))
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            part = part.replace("<", "\\lt ").replace(">", "\\gt ")
            out.append(part.replace("|", "\\|") if in_table else part)
        else:
            out.append(md_text(part))
    return "".join(out)


_AUTHORED_SPANS = re.compile(
    r"(?P<code>(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))|(?P<math>\$\$.+?\$\$|\$[^$\n]+\$)",
    re.S,
)


def md_authored(text: str) -> str:
    """Authored Markdown (a catalogue's statements and quotations) made safe to include:
    no raw HTML. Outside math and code ``<``, ``>``, ``&`` become entities and stray
    backticks are escaped (so they cannot pair up later); inside ``$...$`` ``<``/``>`` become
    ``\\lt``/``\\gt`` (still LaTeX); well-formed code spans are left alone."""
    out, pos = [], 0
    for m in _AUTHORED_SPANS.finditer(text):
        out.append(_inert(text[pos : m.start()]))
        span = m.group(0)
        out.append(span.replace("<", "\\lt ").replace(">", "\\gt ") if m.group("math") else span)
        pos = m.end()
    out.append(_inert(text[pos:]))
    return "".join(out)


def _inert(plain: str) -> str:
    plain = plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return plain.replace("`", "\\`")


_INLINE = re.compile(
    r"(?P<code>(`+)(?P<codebody>.+?)\2)"
    r"|\$\$(?P<dmath>.+?)\$\$"
    r"|\$(?P<math>[^$]+?)\$"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|\*(?P<em>[^*\s][^*]*?)\*",
    re.S,
)


def inline_html(src: str, code_as_math: bool = False) -> str:
    """Inline Markdown (code, ``$math$``, ``**bold**``, ``*em*``) to escaped HTML.

    ``code_as_math``: backtick spans hold LaTeX (the catalogue's quotations of the article);
    they are rendered as math, with the LaTeX kept in the ``title`` attribute.
    """
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(src):
        out.append(html.escape(src[pos : m.start()], quote=False))
        if m.group("code") is not None and code_as_math:
            raw = m.group("codebody").strip()
            out.append(f"<span class='math' title='{html.escape(raw)}'>{latex_to_html(raw)}</span>")
        elif m.group("code") is not None:
            out.append(f"<code>{html.escape(m.group('codebody').strip(), quote=False)}</code>")
        elif m.group("dmath") is not None:
            out.append(f"<div class='math display'>{latex_to_html(m.group('dmath'))}</div>")
        elif m.group("math") is not None:
            out.append(f"<span class='math'>{latex_to_html(m.group('math'))}</span>")
        elif m.group("bold") is not None:
            out.append(f"<strong>{inline_html(m.group('bold'), code_as_math)}</strong>")
        else:
            out.append(f"<em>{inline_html(m.group('em'), code_as_math)}</em>")
        pos = m.end()
    out.append(html.escape(src[pos:], quote=False))
    return "".join(out)


_BULLET = re.compile(r"^(\s*)[*-] (.*)$")


def md_to_html(src: str) -> str:
    """Block Markdown as the catalogue writes it (paragraphs, nested ``*`` lists, tables)."""
    out: list[str] = []
    depth: list[int] = []  # indents of the open lists
    lines = src.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.lstrip().startswith("|"):
            rows = []
            while k < len(lines) and lines[k].lstrip().startswith("|"):
                rows.append(lines[k])
                k += 1
            out.append(_close_lists(depth) + _table(rows))
            continue
        m = _BULLET.match(line)
        if m:
            indent = len(m.group(1))
            prefix = ""
            while depth and indent < depth[-1]:
                prefix += "</li></ul>"
                depth.pop()
            if depth and indent == depth[-1]:
                prefix += "</li><li>"
            else:
                prefix += "<ul><li>"
                depth.append(indent)
            out.append(prefix + inline_html(m.group(2)))
        elif line.strip():
            text = inline_html(line.strip())
            out.append(" " + text if depth else f"<p>{text}</p>")
        k += 1
    out.append(_close_lists(depth))
    return "".join(out)


def _close_lists(depth: list[int]) -> str:
    closing = "</li></ul>" * len(depth)
    depth.clear()
    return closing


def _table(rows: list[str]) -> str:
    cells = [re.split(r"(?<!\\)\|", r.strip().strip("|")) for r in rows]
    body = [c for c in cells if not all(re.fullmatch(r"\s*:?-+:?\s*", x) for x in c)]
    html_rows = []
    for n, row in enumerate(body):
        tag = "th" if n == 0 else "td"
        tds = "".join(
            f"<{tag}>{inline_html(c.strip().replace(chr(92) + '|', '|'))}</{tag}>" for c in row
        )
        html_rows.append(f"<tr>{tds}</tr>")
    return "<table>" + "".join(html_rows) + "</table>"
