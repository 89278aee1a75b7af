r"""LaTeX to MathML for the proof page (latex2mathml), with a visible fallback.

Browsers render MathML natively, so the page needs no MathJax and no network. latex2mathml
does not escape what it copies into ``<mtext>`` and keeps an unknown command as text
(``\foo`` becomes ``<mi>\foo</mi>``), so its element tree is serialized here: MathML elements
only, every text and attribute escaped, and a formula with a command left unconverted is
refused. A refused formula is never dropped: `MathConverter` shows it as escaped LaTeX in
``<code class='latex'>`` and records a `MathWarning` that the page lists.

>>> convert = MathConverter()
>>> convert(r"x\gtrsim 3")
'<math display="inline"><mrow><mi>x</mi><mo>≳</mo><mn>3</mn></mrow></math>'
>>> print(convert(r"\foo{x}", where="EQ-1"))
<code class='latex' title='not converted: unsupported command \foo'>\foo{x}</code>
>>> convert.warnings
[MathWarning(where='EQ-1', latex='\\foo{x}', reason='unsupported command \\foo')]
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html import escape
from xml.etree.ElementTree import Element

from latex2mathml.converter import convert_to_element

__all__ = ["MathConverter", "MathError", "MathWarning", "latex_to_mathml"]

# The presentation elements latex2mathml emits (MathML Core plus mstyle/menclose).
_TAGS = frozenset(
    {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
     "mfrac", "msqrt", "mroot", "mstyle", "merror", "mpadded", "mphantom", "menclose", "mtable",
     "mtr", "mtd", "munder", "mover", "munderover", "mmultiscripts"}
)  # fmt: skip
_ATTRIBUTE = re.compile(r"[a-z][a-z-]*\Z")
_CHARREF = re.compile(r"&#x([0-9A-Fa-f]{1,6});")  # latex2mathml writes symbols as char refs
_COMMAND = re.compile(r"\\(?:[A-Za-z]+|.)?")


# latex2mathml sizes a delimiter that is a character (``\big|``) but leaves one that is a command
# (``\Big\|``) as text: those are handed to it as their characters.
_DELIMITERS = {
    **dict.fromkeys(["|", "Vert", "lVert", "rVert"], "‖"),
    **dict.fromkeys(["vert", "lvert", "rvert"], "|"),
    **{"langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉"},
}
_SIZED = re.compile(r"(\\[Bb]igg?[lrm]?)\s*\\(\||[A-Za-z]+)")


def _normalize(latex: str) -> str:
    """What latex2mathml misreads, said in a form it reads (same formula)."""
    latex = _SIZED.sub(lambda m: m.group(1) + _DELIMITERS.get(m.group(2), "\\" + m.group(2)), latex)
    if (len(latex) - len(latex.rstrip("\\"))) % 2:  # a final lone "\": TeX's control space
        latex += " "
    return latex


class MathError(ValueError):
    """latex2mathml could not turn a formula into MathML (``reason`` says why)."""


def latex_to_mathml(latex: str, display: bool = False) -> str:
    """``<math>`` markup for one formula (no ``$``); raises `MathError` when it cannot."""
    try:
        tree = convert_to_element(_normalize(latex), display="block" if display else "inline")
    except Exception as exc:  # a parser on any text: every failure means "show it as LaTeX"
        raise MathError(f"latex2mathml failed: {type(exc).__name__} {exc}".strip()) from exc
    return _serialize(tree)


def _serialize(el: Element) -> str:
    if el.tag not in _TAGS:
        raise MathError(f"latex2mathml produced a <{el.tag}> element")
    attrib, text = dict(el.attrib), _decode(el.text or "")
    styled = _styled(text, attrib.get("mathvariant", "normal"))
    if styled is not None:
        attrib.pop("mathvariant")
        text = styled
    attrs = []
    for name, value in attrib.items():
        if not _ATTRIBUTE.match(name):
            raise MathError(f"latex2mathml produced an attribute {name!r}")
        if name != "xmlns":  # implied for <math> in HTML
            attrs.append(f' {name}="{escape(_decode(value))}"')
    children = "".join(_serialize(child) + _text(child.tail) for child in el)
    inner = escape(text, quote=False) + children
    return f"<{el.tag}{''.join(attrs)}>{inner}</{el.tag}>"


_STYLES = {
    "bold": "BOLD",
    "italic": "ITALIC",
    "bold-italic": "BOLD ITALIC",
    "double-struck": "DOUBLE-STRUCK",
    "script": "SCRIPT",
    "bold-script": "BOLD SCRIPT",
    "fraktur": "FRAKTUR",
    "bold-fraktur": "BOLD FRAKTUR",
    "sans-serif": "SANS-SERIF",
    "bold-sans-serif": "BOLD SANS-SERIF",
    "sans-serif-italic": "SANS-SERIF ITALIC",
    "monospace": "MONOSPACE",
}
_LETTER = re.compile(r"^(?:LATIN|GREEK) (CAPITAL|SMALL) LETTER ")


def _styled(text: str, variant: str) -> str | None:
    """``text`` in Unicode's mathematical alphanumerics (``R`` double-struck is ``ℝ``): browsers
    follow MathML Core, which ignores ``mathvariant``. None where a letter has no such form."""
    style = _STYLES.get(variant)
    if style is None:
        return None
    out = []
    for ch in text:
        tail = _LETTER.sub(r"\1 ", unicodedata.name(ch, "")) if ch.isalnum() else ""
        found = [_lookup(f"{p}{style} {tail}") for p in ("MATHEMATICAL ", "")] if tail else []
        if tail and not any(found):
            return None
        out.append(next((f for f in found if f), ch))
    return "".join(out)


def _lookup(name: str) -> str:
    try:
        return unicodedata.lookup(name)
    except KeyError:
        return ""


def _text(raw: str | None) -> str:
    return escape(_decode(raw or ""), quote=False)


def _decode(raw: str) -> str:
    """latex2mathml's text with its char refs decoded; a backslash left is a command it
    did not know."""
    left = _COMMAND.search(raw)
    if left:
        raise MathError(f"unsupported command {left.group(0)}")
    return _CHARREF.sub(lambda m: chr(int(m.group(1), 16)), raw)


@dataclass(frozen=True)
class MathWarning:
    """A formula shown as LaTeX: where (a catalogue ID), the LaTeX, and why."""

    where: str
    latex: str
    reason: str


@dataclass
class MathConverter:
    """`latex_to_mathml` for a whole page: a refused formula becomes escaped LaTeX in
    ``<code class='latex'>`` and a `MathWarning` in ``warnings``."""

    warnings: list[MathWarning] = field(default_factory=list)

    def __call__(self, latex: str, display: bool = False, where: str = "") -> str:
        try:
            return latex_to_mathml(latex, display)
        except MathError as exc:
            self.warnings.append(MathWarning(where, latex, str(exc)))
            title = escape(f"not converted: {exc}")
            return f"<code class='latex' title='{title}'>{escape(latex, quote=False)}</code>"
