r"""The proof page's math: LaTeX becomes MathML (latex2mathml), safely serialized; a formula it
cannot convert stays visible as LaTeX and is listed; every formula of the article converts."""

from __future__ import annotations

import re
from collections import Counter
from html import unescape
from html.parser import HTMLParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gradcheck.catalogue import Catalogue, Entry, load
from gradcheck.report import build_document, render_html
from gradcheck.report._mathml import _TAGS, MathConverter, MathError, latex_to_mathml
from lstm_gradients import CATALOGUE
from tests._report_pages import page_formulas


class _Math(HTMLParser):
    """Tags, text and ``<code>`` text of one converted formula."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text += data


def _parse(markup: str) -> _Math:
    parser = _Math()
    parser.feed(markup)
    parser.close()
    return parser


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        (r"x\gtrsim36.74", "<mi>x</mi><mo>≳</mo><mn>36.74</mn>"),  # the old page said "xgtrsim"
        (r"\frac{\partial E_t}{\partial W_x}", "<mfrac><mrow><mo>∂</mo><msub><mi>E</mi>"),
        (r"\|W\|_2\le\rho^{t-k}", '<msub><mo fence="false" stretchy="false">‖</mo><mn>2</mn>'),
        (r"\sqrt{\sigma^2+\varepsilon}", "<msqrt><mrow><msup><mi>σ</mi><mn>2</mn></msup>"),
        (r"a<b>c", "<mi>a</mi><mo>&lt;</mo><mi>b</mi><mo>&gt;</mo><mi>c</mi>"),
        # MathML Core ignores mathvariant: double-struck and bold are Unicode letters
        (r"x\in\mathbb R^d", "<msup><mi>ℝ</mi><mi>d</mi></msup>"),
        (r"\mathbf 1", "<mn>𝟏</mn>"),
        # latex2mathml leaves a command delimiter after \Big as text: handed over as a character
        (r"\Big\|x\Big\|_2", '<mo minsize="1.623em" maxsize="1.623em">‖</mo><mi>x</mi>'),
        (r"\bigl\langle x\bigr\rangle", '<mo stretchy="true" fence="true" minsize="1.2em"'),
        # the article's "(1-b_h)\ ": a final backslash is TeX's control space, not a command
        ("b_h (1-b_h)\\", '<mo stretchy="false">)</mo><mtext>\u00a0</mtext>'),
    ],
)
def test_latex_becomes_mathml(latex, expected):
    mathml = latex_to_mathml(latex)
    assert mathml.startswith('<math display="inline">')
    assert expected in mathml
    assert "\\" not in _parse(mathml).text  # nothing of the LaTeX left as text


def test_display_math_is_a_block():
    assert latex_to_mathml("x", display=True).startswith('<math display="block">')


@pytest.mark.parametrize(
    ("latex", "reason"),
    [
        (r"\unknownmacro{x}", r"unsupported command \unknownmacro"),  # latex2mathml: <mi>\unk..
        (r"\frac{1}{", "latex2mathml failed: NoAvailableTokensError"),  # latex2mathml raises
        (r"\big\{x\big\}", r"unsupported command \{"),
    ],
)
def test_a_formula_latex2mathml_cannot_convert_raises(latex, reason):
    with pytest.raises(MathError, match=re.escape(reason)):
        latex_to_mathml(latex)


def test_an_unconvertible_formula_stays_visible_and_is_listed_on_the_page():
    entry = Entry(id="EQ-7", heading="h", statement=r"Known: $\alpha$. Unknown: $\foo{<x>}$.")
    html = render_html(build_document({}, Catalogue(name="c", entries=(entry,))))
    fallback = "<code class='latex' title='not converted: unsupported command \\foo'>"
    assert f"Unknown: {fallback}\\foo{{&lt;x&gt;}}</code>" in html  # escaped, in place
    assert 'Known: <math display="inline"><mrow><mi>α</mi></mrow></math>' in html
    top = html[: html.index("<table>")]  # the warning comes before the summary table
    assert "<strong>1 formula could not be converted to MathML</strong> and is shown as" in top
    assert (
        "<li><a href='#eq-7'>EQ-7</a>: <code>\\foo{&lt;x&gt;}</code> — unsupported command \\foo"
        in top
    )


def test_a_page_whose_formulas_all_convert_has_no_warning():
    entry = Entry(id="EQ-7", heading="h", statement=r"$\alpha$")
    html = render_html(build_document({}, Catalogue(name="c", entries=(entry,))))
    assert "could not be converted" not in html
    assert "class='warnings'" not in html


LATEX_BITS = st.sampled_from(
    [*r"{}^_\&<>'\"$#%~| x1", r"\frac", r"\sqrt", r"\alpha", r"\text{", r"\mathbb", r"\mathbf",
     r"\foo", r"\big", r"\Big\|", r"\|", r"\left(", r"\right)", r"\\", r"\begin{matrix}",
     r"\end{matrix}", r"\color{", r"\hspace{", "<script>", "</mtext>", "&#x41;", "&amp;"]
)  # fmt: skip
latex_text = st.lists(
    st.one_of(LATEX_BITS, st.characters(blacklist_categories=("Cs",))), max_size=12
).map("".join)


@given(latex=latex_text)
@example(latex=r"\text{<script>alert(1)</script>}")  # latex2mathml copies it into <mtext> raw
@example(latex=r"\text{</mtext><b>}")
@example(latex=r"\color{red' onload='x}{y}")
def test_any_latex_becomes_safe_mathml_or_visible_latex(latex):
    convert = MathConverter()
    out = convert(latex, where="EQ-1")
    parsed = _parse(out)
    if out.startswith("<math"):
        assert set(parsed.tags) <= _TAGS  # nothing in the formula became an HTML tag
        assert parsed.tags.count("math") == 1
        assert "\\" not in parsed.text  # no command left unconverted
        assert convert.warnings == []
    else:
        assert parsed.tags == ["code"]
        assert parsed.text == latex  # shown exactly as written
        assert [(w.where, w.latex) for w in convert.warnings] == [("EQ-1", latex)]


def test_every_formula_of_the_article_converts():
    """Every formula the page shows (statements, headings, the article's quotations, errata,
    figure notes) becomes MathML: the failures are listed with their IDs."""
    shown = page_formulas(load(CATALOGUE))
    assert len(shown) > 500  # the article's catalogue: a test that finds no formula proves nothing
    failures = []
    for eid, latex in shown:
        try:
            latex_to_mathml(latex)
        except MathError as exc:
            failures.append(f"{eid}: {latex}  ({exc})")
    assert failures == []


def test_every_command_the_article_uses_is_covered():
    """The commands the catalogue's formulas use, each converted where it occurs (above) and
    here counted: a command that vanishes from the conversion would show as raw text."""
    shown = page_formulas(load(CATALOGUE))
    used = Counter(c for _, latex in shown for c in re.findall(r"\\(?:[A-Za-z]+|.)", latex))
    assert {r"\gtrsim", r"\Big", r"\|", r"\mathbb", r"\frac", r"\odot", r"\partial"} <= set(used)
    for command in used:
        latex = next(latex for _, latex in shown if command in latex)
        text = unescape(_parse(latex_to_mathml(latex)).text)
        assert command not in text, f"{command} of {latex!r} left as text"
