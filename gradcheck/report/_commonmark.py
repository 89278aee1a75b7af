r"""A catalogue's Markdown on the proof page: markdown-it-py, math as MathML.

The catalogue's headings, statements and quotations are CommonMark with GitHub's tables and
``$...$`` / ``$$...$$`` LaTeX (mdit-py-plugins' dollarmath). Raw HTML is off, so anything
that looks like a tag is shown as text; images are off, so the page loads nothing; every
formula goes through `MathConverter` (MathML, or visible LaTeX plus a warning).

>>> markup = PageMarkup()
>>> markup.block("**b** $x$", where="EQ-1")
'<p><strong>b</strong> <math display="inline"><mrow><mi>x</mi></mrow></math></p>'
>>> markup.inline("quote `\\alpha` <b>", where="EQ-1", code_as_math=True)
'quote <math display="inline"><mrow><mi>α</mi></mrow></math> &lt;b&gt;'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    from gradcheck.report._mathml import MathConverter, MathWarning
except ModuleNotFoundError as exc:  # markdown-it-py, mdit-py-plugins, latex2mathml
    package = str(exc.name).partition(".")[0].replace("_", "-")
    package = {"markdown-it": "markdown-it-py"}.get(package, package)
    raise ModuleNotFoundError(
        f"proof.html needs {package}, which comes with gradcheck's report extra: "
        "pip install 'gradcheck[report]' (or write only md and json).",
        name=exc.name,
    ) from None

__all__ = ["PageMarkup"]


def _math(display: bool, end: str = "") -> Any:
    """A render rule: ``<math display="block">`` is a block box itself, also inside a ``<p>``."""

    def render(
        self: RendererHTML, tokens: Sequence[Token], idx: int, opts: OptionsDict, env: EnvType
    ) -> str:
        return str(env["math"](tokens[idx].content.strip(), display, env["where"])) + end

    return render


def _code_inline(
    self: RendererHTML, tokens: Sequence[Token], idx: int, opts: OptionsDict, env: EnvType
) -> str:
    """Backtick spans are code, or LaTeX where the text marks the article's LaTeX so."""
    if env.get("code_as_math"):
        return str(env["math"](tokens[idx].content.strip(), False, env["where"]))
    return RendererHTML.code_inline(self, tokens, idx, opts, env)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
    dollarmath_plugin(md, allow_labels=False, double_inline=True)
    for name, display in [("math_inline", False), ("math_inline_double", True)]:
        md.add_render_rule(name, _math(display))
    md.add_render_rule("math_block", _math(True, end="\n"))
    md.add_render_rule("code_inline", _code_inline)
    return md


_MD = _parser()


class PageMarkup:
    """Renders one page's Markdown; the formulas it had to show as LaTeX are in `warnings`."""

    def __init__(self) -> None:
        self._math = MathConverter()

    @property
    def warnings(self) -> list[MathWarning]:
        return self._math.warnings

    def block(self, src: str, where: str) -> str:
        """Paragraphs, lists, tables (a statement)."""
        return str(_MD.render(src, self._env(where))).strip()

    def inline(self, src: str, where: str, code_as_math: bool = False) -> str:
        """One line (a heading, a quotation). ``code_as_math``: backtick spans hold LaTeX."""
        return str(_MD.renderInline(src, self._env(where, code_as_math))).strip()

    def _env(self, where: str, code_as_math: bool = False) -> EnvType:
        return {"math": self._math, "where": where, "code_as_math": code_as_math}
