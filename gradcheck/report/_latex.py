r"""LaTeX to readable HTML without a math engine: Unicode symbols, ``<sub>``/``<sup>``, fractions.

The proof report's HTML page must read without network access (no MathJax/KaTeX CDN), so the
catalogue's LaTeX is turned into text a person reads: ``\partial s_t/\partial s_{t-1}`` becomes
``∂s<sub>t</sub>/∂s<sub>t-1</sub>``. Every character of the input is HTML-escaped on the way, so
the result is safe to embed. Unknown commands keep their name (``\foo`` → ``foo``).

>>> latex_to_html(r"\sigma'(x)\le\frac14")
"σ'(x) ≤ <span class='frac'>1/4</span>"
>>> latex_to_html(r"x_{t-1}^2 < 3")
'x<sub>t-1</sub><sup>2</sup> &lt; 3'
"""

from __future__ import annotations

import html

__all__ = ["latex_to_html"]

_GREEK = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "varsigma",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
)
_RELATIONS = {
    "le",
    "leq",
    "ge",
    "geq",
    "ne",
    "neq",
    "approx",
    "sim",
    "simeq",
    "equiv",
    "in",
    "notin",
    "to",
    "mapsto",
    "Rightarrow",
    "iff",
    "implies",
    "propto",
    "subset",
    "subseteq",
    "prec",
    "preceq",
    "ll",
    "gg",
    "rightarrow",
    "leftarrow",
    "Leftarrow",
}
_SYMBOLS = {
    **{
        g: chr(c)
        for g, c in zip(
            _GREEK,
            range(0x3B1, 0x3CA),
            strict=True,
        )
    },
    "varepsilon": "ε",
    "epsilon": "ϵ",
    "vartheta": "ϑ",
    "varphi": "φ",
    "phi": "ϕ",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "partial": "∂",
    "nabla": "∇",
    "odot": "⊙",
    "otimes": "⊗",
    "oplus": "⊕",
    "cdot": "·",
    "times": "×",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "sim": "∼",
    "simeq": "≃",
    "equiv": "≡",
    "propto": "∝",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "supset": "⊃",
    "cup": "∪",
    "cap": "∩",
    "sum": "Σ",
    "prod": "∏",
    "infty": "∞",
    "to": "→",
    "mapsto": "↦",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "Leftarrow": "⇐",
    "iff": "⟺",
    "implies": "⇒",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "langle": "⟨",
    "rangle": "⟩",
    "|": "‖",
    "lvert": "|",
    "rvert": "|",
    "lVert": "‖",
    "rVert": "‖",
    "mid": "|",
    "top": "⊤",
    "prec": "≺",
    "preceq": "⪯",
    "succ": "≻",
    "succeq": "⪰",
    "perp": "⊥",
    "ll": "≪",
    "gg": "≫",
    "pm": "±",
    "mp": "∓",
    "forall": "∀",
    "exists": "∃",
    "neg": "¬",
    "ldots": "…",
    "cdots": "⋯",
    "dots": "…",
    "vdots": "⋮",
    "ddots": "⋱",
    "circ": "∘",
    "ell": "ℓ",
    "emptyset": "∅",
    "lim": "lim",
    "max": "max",
    "min": "min",
    "log": "log",
    "exp": "exp",
    "sup": "sup",
    "inf": "inf",
    "det": "det",
    "tanh": "tanh",
    "cosh": "cosh",
    "sinh": "sinh",
    "sin": "sin",
    "cos": "cos",
    "ln": "ln",
    "quad": "\u2003",
    "qquad": "\u2003\u2003",
    ",": "\u2009",
    ";": "\u2005",
    ":": "\u2005",
    "!": "",
    " ": " ",
    "{": "{",
    "}": "}",
    "_": "_",
    "%": "%",
    "#": "#",
    "&": "&",
    "$": "$",
    "\\": "; ",
}
_DROP = {
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "displaystyle",
    "textstyle",
    "limits",
    "nolimits",
}
_ACCENTS = {
    "tilde": "\u0303",
    "hat": "\u0302",
    "bar": "\u0304",
    "vec": "\u20d7",
    "dot": "\u0307",
    "widetilde": "\u0303",
    "widehat": "\u0302",
    "overline": "\u0304",
}
_FONTS = {"mathrm", "text", "textrm", "operatorname", "mathit", "textit", "mathsf", "rm"}
_BB = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ", "1": "𝟙"}
_FRACS = {"frac", "tfrac", "dfrac", "cfrac"}


class _Parser:
    def __init__(self, src: str) -> None:
        self.s = src
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self, stop: str = "") -> str:
        out: list[str] = []
        while self.i < len(self.s) and self.peek() != stop:
            out.append(self.atom())
        return "".join(out)

    def group(self) -> str:
        """One argument: a ``{...}`` group, a command, or a single character."""
        while self.peek() == " ":
            self.i += 1
        if self.peek() == "{":
            self.i += 1
            body = self.parse("}")
            self.i += 1
            return body
        if self.peek() == "\\":
            return self.atom()
        ch = self.peek()
        self.i += 1
        return html.escape(ch, quote=False)

    def atom(self) -> str:
        ch = self.peek()
        self.i += 1
        if ch == "\\":
            return self.command()
        if ch == "{":
            body = self.parse("}")
            self.i += 1
            return body
        if ch in "_^":
            tag = "sub" if ch == "_" else "sup"
            return f"<{tag}>{self.group()}</{tag}>"
        if ch == "&":
            return ", "
        if ch == "~":
            return "\u00a0"
        return html.escape(ch, quote=False)

    def name(self) -> str:
        j = self.i
        while self.i < len(self.s) and self.s[self.i].isalpha():
            self.i += 1
        if self.i == j and self.i < len(self.s):
            self.i += 1
        return self.s[j : self.i]

    def command(self) -> str:
        cmd = self.name()
        if cmd in _FRACS:
            num, den = self.group(), self.group()
            return f"<span class='frac'>{_wrap(num)}/{_wrap(den)}</span>"
        if cmd == "binom":
            n, k = self.group(), self.group()
            return f"C({n}, {k})"
        if cmd == "sqrt":
            if self.peek() == "[":
                j = self.s.index("]", self.i)
                root = html.escape(self.s[self.i + 1 : j], quote=False)
                self.i = j + 1
                return f"<sup>{root}</sup>√({self.group()})"
            return f"√{_wrap(self.group())}"
        if cmd in _FONTS:
            return self.group()
        if cmd in {"mathbf", "boldsymbol", "bm"}:
            return f"<b>{self.group()}</b>"
        if cmd == "mathbb":
            arg = self.group()
            return _BB.get(arg, arg)
        if cmd in _ACCENTS:
            return self.group() + _ACCENTS[cmd]
        if cmd == "begin":
            self.group()
            return "[" + self.parse_env() + "]"
        if cmd == "end":
            self.group()
            return ""
        if cmd in _DROP:
            return ""
        sym = html.escape(_SYMBOLS.get(cmd, cmd), quote=False)
        return f" {sym} " if cmd in _RELATIONS else sym

    def parse_env(self) -> str:
        out: list[str] = []
        while self.i < len(self.s) and not self.s.startswith("\\end", self.i):
            out.append(self.atom())
        return "".join(out)


def _wrap(text: str) -> str:
    """Parenthesise a fraction's part unless it is one token."""
    plain = text.replace("<sub>", "").replace("</sub>", "").replace("<sup>", "")
    plain = plain.replace("</sup>", "")
    return text if len(plain) <= 1 or plain.isalnum() else f"({text})"


def latex_to_html(src: str) -> str:
    """Readable, HTML-escaped rendering of a LaTeX math fragment (no ``$`` delimiters)."""
    return _Parser(src).parse()
