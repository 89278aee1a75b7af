r"""Escaping for ``proof.md``: what the Markdown report quotes stays inert on GitHub.

Quoted text (test IDs, failure messages, the environment) goes through `md_text` / `md_code`;
the catalogue's authored Markdown through `md_authored` (no raw HTML; ``$...$`` math stays
LaTeX, which GitHub renders); headings through `md_keep_math`. markdown-it-py parses
Markdown but does not write it, so these few rules are ours; the tests parse their output
with markdown-it-py to check them.

>>> md_text("a*b_c [x](y) <b>")
'a\\*b\\_c \\[x\\](y) &lt;b&gt;'
>>> md_code("uses `x` here")
'`` uses `x` here ``'
>>> md_keep_math("a | $x|y$ <b>", in_table=True)
'a \\| $x\\|y$ &lt;b&gt;'
"""

from __future__ import annotations

import re

__all__ = ["md_authored", "md_code", "md_keep_math", "md_text"]

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
    backticks and tildes are escaped (so they cannot pair up later or open a code fence);
    inside ``$...$`` ``<``/``>`` become ``\\lt``/``\\gt`` (still LaTeX); well-formed code
    spans are left alone."""
    out, pos = [], 0
    for m in _AUTHORED_SPANS.finditer(text):
        out.append(_inert(text[pos : m.start()]))
        span = m.group(0)
        out.append(span.replace("<", "\\lt ").replace(">", "\\gt ") if m.group("math") else span)
        pos = m.end()
    out.append(_inert(text[pos:]))
    return "".join(out)


def _inert(plain: str) -> str:
    # `~` too: a line of "~~~" opens a fenced code block that swallows the rest of the report
    # (found by Hypothesis in test_markdown_escapes_every_quoted_string, 20-seed soak, seed 126);
    # an escaped tilde renders as itself
    plain = plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return plain.replace("`", "\\`").replace("~", "\\~")
