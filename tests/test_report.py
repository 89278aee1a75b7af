"""The report writers: what they quote is escaped (HTML and Markdown), the page is
self-contained and its math is MathML (no CDN), figures are embedded or explained."""

from __future__ import annotations

import base64
import doctest
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from gradcheck.catalogue import Catalogue, Entry, load
from gradcheck.report import (
    FigureOutcome,
    _commonmark,
    _mathml,
    _mdescape,
    build_document,
    render_html,
    render_json,
    render_markdown,
)
from gradcheck.report._document import STATUS_MARK
from gradcheck.report._mdescape import md_code, md_text
from lstm_gradients import CATALOGUE  # the article's real catalogue: a demanding page to render
from tests._report_pages import page_formulas

PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "strong", "em",
    "code", "table", "tr", "th", "td", "a", "span", "ul", "li", "div", "blockquote", "br",
    "figure", "img", "figcaption",
}  # fmt: skip
# What CommonMark makes of authored text (a "# x" statement is a heading, "1. x" a list, ...);
# raw HTML is off, so none of these comes from a tag the author typed.
MARKDOWN_TAGS = {"h4", "h5", "h6", "ol", "hr", "pre", "thead", "tbody"}
MATHML_TAGS = set(_mathml._TAGS)
ALLOWED_TAGS = PAGE_TAGS | MARKDOWN_TAGS | MATHML_TAGS

# Printable text of any script, with the characters that matter to HTML and Markdown boosted.
hostile = (
    st.lists(
        st.one_of(
            st.sampled_from([*"<>&\"'`|*_[]()$\\#!~-", "<script>", "</code>", "``"]),
            st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
        ),
        min_size=1,
        max_size=20,
    )
    .map("".join)
    .filter(lambda s: s.strip() == s)
)


def _doc(text: str, png: bytes = b""):
    kind = "figure" if png else "item"
    entry = Entry(id="EQ-1", kind=kind, heading=text, statement=text, article=text, data={})
    cat = Catalogue(name="c", entries=(entry,))
    nodeid = f"tests/test_x.py::test_{text}"
    proof = {
        "ids": {"EQ-1": {"status": "failed", "tests": [nodeid], "examples": 1}},
        "tests": {nodeid: {"outcome": "failed", "message": text, "evidence": {"examples": 1}}},
    }
    figs = [FigureOutcome("EQ-1", caption=text, path="figures/EQ-1.png", png=png)] if png else []
    return build_document(proof, cat, {"key " + text: text}, figs), nodeid


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.code = set(), []
        self.images = []  # the src of every <img>
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        self._in_code = tag == "code"
        if self._in_code:
            self.code.append("")

    def handle_endtag(self, tag):
        self._in_code = False if tag == "code" else self._in_code

    def handle_data(self, data):
        if self._in_code:
            self.code[-1] += data


@given(text=hostile)
@example(text="<script>alert('x')</script>")
@example(text="a | b `c` $d$ **e**")
@example(text="![x](http://example.com/x.png) $\\text{<b>}$")  # no image load, no <b>
def test_html_escapes_every_quoted_string(text):
    doc, nodeid = _doc(text)
    parser = _Collect()
    parser.feed(render_html(doc))
    assert parser.tags <= ALLOWED_TAGS  # nothing the user wrote became a tag
    assert parser.images == []  # Markdown images are off: the page loads nothing
    assert nodeid in parser.code  # the test ID is shown verbatim
    assert text in parser.code  # so is the failure message


@given(text=hostile)
@example(text="x | y")
@example(text="`tick` and ``double``")
@example(text="``<script>`")  # found by Hypothesis: unequal backtick runs are not a code span
@example(text="$<script>$")  # found by Hypothesis: math spans must not carry raw HTML
@example(text="~~~")  # found by Hypothesis: a tilde fence must not swallow the report
def test_markdown_escapes_every_quoted_string(text):
    doc, nodeid = _doc(text)
    md = render_markdown(doc)
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    inline = [t for tok in tokens if tok.children for t in tok.children]
    raw_html = [t.content for t in inline if t.type == "html_inline"]
    raw_html += [t.content for t in tokens if t.type == "html_block"]
    assert all(re.fullmatch(r'<a id="[a-z0-9-]+">(</a>)?|</a>', h.strip()) for h in raw_html)
    codes = [t.content for t in inline if t.type == "code_inline"]
    assert nodeid in codes
    assert text.strip() in codes


@given(text=hostile)
def test_markdown_table_cells_stay_in_their_columns(text):
    doc, _ = _doc(text)
    table = next(line for line in render_markdown(doc).splitlines() if line.startswith("| [EQ-1]"))
    html = (
        MarkdownIt("commonmark")
        .enable("table")
        .render("| a | b | c | d | e | f |\n|---|---|---|---|---|---|\n" + table)
    )
    assert html.count("<td") == 6


def test_md_text_and_md_code_examples():
    assert md_text("a|b*c") == "a\\|b\\*c"
    assert md_code("x") == "`x`"
    assert md_code("a`b") == "`` a`b ``"


def test_the_article_page_is_self_contained_and_its_math_has_no_latex_left():
    cat = load(CATALOGUE)
    html = render_html(build_document({}, cat))
    assert "<script" not in html
    assert not re.findall(r"""(?:src|href)=['"](?!#|data:)""", html)  # no network references
    assert "class='latex'" not in html  # no formula fell back to LaTeX
    assert html.count("<math ") == len(page_formulas(cat))  # each formula is one <math>
    visible = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    assert not re.findall(r"\\[A-Za-z]+", visible)  # every LaTeX command became MathML
    assert "$" not in visible


def test_status_marks_need_no_emoji_font():
    """Emoji (✅ ❌ ⬜, ⚠ with U+FE0F) are boxes where no emoji font is installed: the page
    shows styled badges, the Markdown text symbols that text fonts have, then the word."""
    proof = {"ids": {"EQ-1": {"status": "proven", "tests": []}}}
    entries = (Entry(id="EQ-1", heading="h"), Entry(id="EQ-2", heading="h"))
    doc = build_document(proof, Catalogue(name="c", entries=entries))
    html, md = render_html(doc), render_markdown(doc)
    emoji = re.compile("[\u2705\u274c\u2b1c\ufe0f\U0001f000-\U0001faff]")
    assert not emoji.search(html)
    assert not emoji.search(md)
    assert "<span class='badge proven'>proven</span>" in html
    assert "<span class='badge unproven'>unproven</span>" in html
    assert "| ✓ proven |" in md
    assert "| ○ unproven |" in md
    assert set(STATUS_MARK.values()) == {"✓", "✗", "⚠", "○"}


def test_the_page_names_cjk_fonts():
    html = render_html(build_document({}, load(CATALOGUE)))
    style = html[html.index("<style>") : html.index("</style>")]
    assert "Noto Sans CJK SC" in style
    assert "WenQuanYi Micro Hei" in style  # Debian's fonts-wqy-microhei, which .ci/run installs


@pytest.mark.parametrize("module", [_mathml, _commonmark, _mdescape])
def test_the_report_modules_examples_hold(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    ("module", "package"),
    [("latex2mathml", "latex2mathml"), ("markdown_it", "markdown-it-py"),
     ("mdit_py_plugins", "mdit-py-plugins")],
)  # fmt: skip
def test_without_the_report_extra_the_page_names_it_and_markdown_still_works(module, package):
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from gradcheck.catalogue import Catalogue, Entry\n"
        "from gradcheck.report import build_document, render_html, render_markdown\n"
        "doc = build_document({}, Catalogue(name='c', entries=(Entry(id='EQ-1'),)))\n"
        "assert 'EQ-1' in render_markdown(doc)\n"
        "render_html(doc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"ModuleNotFoundError: proof.html needs {package}, which comes with gradcheck's report "
        "extra: pip install 'gradcheck[report]' (or write only md and json)."
    )


def test_figures_are_embedded_in_html_and_linked_from_markdown():
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 16
    doc, _ = _doc("caption", png=png)
    html = render_html(doc)
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in html
    assert "![EQ-1](figures/EQ-1.png)" in render_markdown(doc)


def test_a_figure_that_was_not_drawn_says_why():
    cat = load(CATALOGUE)
    doc = build_document({}, cat, figures=[FigureOutcome("FIG-8", reason="specs.x missing")])
    assert "*Not produced:* specs.x missing" in render_markdown(doc)
    assert "<em>Not produced:</em> specs.x missing" in render_html(doc)


def test_json_report_carries_status_tests_and_environment():
    doc, nodeid = _doc("claim")
    data = json.loads(render_json(doc))
    assert data["ids"]["EQ-1"]["status"] == "failed"
    assert data["ids"]["EQ-1"]["tests"] == [nodeid]
    assert data["summary"]["failed"] == 1
    assert data["environment"] == {"key claim": "claim"}
