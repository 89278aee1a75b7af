"""proof.html in a real browser: headless Chromium (Debian's ``chromium``; .ci/run installs it)
renders the article's page from a realistic proof. From the DOM it dumps: every formula is a
MathML element the browser laid out, no LaTeX command or ``$`` is left in the visible text,
every status has its badge. Screenshots go to build/ for a person to look at."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from gradcheck.catalogue import Catalogue, load
from gradcheck.report import build_document, render_html
from lstm_gradients import CATALOGUE
from tests._report_pages import ROOT, page_formulas, realistic_proof

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium; .ci/run does)"
)
SHOTS = ROOT / "build"
# Run in the page after parsing: what the browser made of each <math> (a MathMLElement,
# laid out with a width), written where --dump-dom shows it.
PROBE = """<script>
const maths = [...document.querySelectorAll("math")];
document.body.dataset.mathml = maths.filter(m => m instanceof MathMLElement).length;
document.body.dataset.laidOut = maths.filter(m => m.getBoundingClientRect().width > 0).length;
</script>"""


def _chromium(profile: Path, *args: str) -> str:
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    # the timeout only guards against a hung browser (a page renders in about 2 s)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Visible(HTMLParser):
    """The text a reader sees (not head, style or script), the <math> and badge counts."""

    HIDDEN = frozenset({"head", "style", "script", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.maths = 0
        self.fallbacks = 0
        self.badges: list[str] = []
        self.body: dict[str, str | None] = {}
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._hidden += tag in self.HIDDEN
        self.maths += tag == "math"
        self.fallbacks += tag == "code" and a.get("class") == "latex"
        if tag == "span" and (a.get("class") or "").startswith("badge "):
            self.badges.append(str(a["class"]).split()[1])
        if tag == "body":
            self.body = a

    def handle_endtag(self, tag):
        self._hidden -= tag in self.HIDDEN

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)


MATH_HEAVY = ("ACT-3", "RNN-7", "NORM-4")  # \gtrsim, RNN-7's \Big\| norms, a table of sets


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The article's proof.html, rendered from docs/proof's run with every status present, and
    a page of its most formula-heavy entries (for the second screenshot)."""
    cat = load(CATALOGUE)
    env = {"python": "3.11", "command": "gradcheck prove"}
    html = render_html(build_document(realistic_proof(), cat, env))
    out = tmp_path_factory.mktemp("page")
    (out / "proof.html").write_text(html, encoding="utf-8")
    probed = html.replace("</body>", PROBE + "</body>")
    (out / "probed.html").write_text(probed, encoding="utf-8")
    heavy = Catalogue(cat.name, tuple(cat[i] for i in MATH_HEAVY), meta=cat.meta)
    math_page = render_html(build_document(realistic_proof(), heavy, env))
    (out / "math.html").write_text(math_page, encoding="utf-8")
    return out, cat


def test_every_formula_is_mathml_the_browser_laid_out(page):
    out, cat = page
    dom = _chromium(out / "profile", "--dump-dom", (out / "probed.html").as_uri())
    seen = _Visible()
    seen.feed(dom)
    expected = len(page_formulas(cat))
    assert expected > 500
    assert seen.fallbacks == 0
    assert seen.maths == expected
    assert seen.body.get("data-mathml") == str(expected)  # the browser knows them as MathML
    assert seen.body.get("data-laid-out") == str(expected)  # and drew each with a width
    visible = "".join(seen.text)
    assert re.findall(r"\\[A-Za-z]+|\\\|", visible) == []  # no LaTeX command left to read
    assert "$" not in visible
    assert "漫谈LSTM系列的梯度问题" in visible
    assert {"proven", "failed", "skipped", "unproven"} <= set(seen.badges)


@pytest.mark.parametrize(
    ("name", "html"), [("proof-page-top", "proof"), ("proof-page-math", "math")]
)
def test_screenshots_for_a_person_to_look_at(page, name, html):
    """build/proof-page-top.png: the Chinese title and the badges of the four statuses;
    build/proof-page-math.png: formula-heavy sections (RNN-7's \\Big\\| norms, ...)."""
    out, _ = page
    SHOTS.mkdir(exist_ok=True)
    shot = SHOTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    url = (out / f"{html}.html").as_uri()
    _chromium(out / "profile", f"--screenshot={shot}", "--window-size=1200,1400", url)
    pixels = plt.imread(shot)
    assert pixels.shape[:2] == (1400, 1200)
    inked = (pixels[..., :3] < 0.9).any(axis=-1).mean()
    assert inked > 0.02  # not a blank page: text, tables and badges cover a few per cent
