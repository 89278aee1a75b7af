"""The catalogue (lstm_gradients/catalogue.json) and the coverage gate.

The catalogue is the single list of IDs the proves marker, the report and this gate check
against. Its IDs are checked against the inventory's own ranges (formula-inventory.md §6), its
quotations against the article's text when a copy of the article is at hand, and every ID
against the tests that name it (the coverage gate, `test_every_catalogue_id_is_named_by_a_test`).
"""

from __future__ import annotations

import ast
import re

import pytest

from gradcheck.catalogue import Catalogue, CatalogueError, load
from lstm_gradients import CATALOGUE, PROOFS, article_path

TESTS = PROOFS

# formula-inventory.md §6 (counts) and §5 (figures): the IDs the catalogue must hold, no more.
RANGES = {"MLP": 9, "OPT": 1, "ACT": 7, "CLIP": 4, "RNN": 9, "LSTM": 8, "GRU": 7, "NORM": 13}
ITEMS = {f"{fam}-{k}" for fam, n in RANGES.items() for k in range(1, n + 1)}
ERRATA = {f"ERR-{k}" for k in range(1, 29)}
FIGURES = {f"FIG-{k}" for k in range(1, 9)} | {f"PLOT-{c}" for c in "ABCDEFG"}
PARTS = {"I": {"MLP", "OPT", "ACT", "CLIP"}, "II": {"RNN", "LSTM", "GRU"}, "III": {"NORM"}}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load(CATALOGUE)


def test_catalogue_holds_exactly_the_inventorys_ids(cat):
    assert set(cat.ids) == ITEMS | ERRATA | FIGURES
    assert len(cat.ids) == len(set(cat.ids)) == 58 + 28 + 15
    assert {e.id for e in cat.of_kind("item")} == ITEMS
    assert {e.id for e in cat.of_kind("erratum")} == ERRATA
    assert {e.id for e in cat.of_kind("figure", "plot")} == FIGURES


def test_items_sit_in_their_articles_part(cat):
    for e in cat.of_kind("item"):
        part = (
            "II"
            if e.id == "ACT-4"
            else next(p for p, fams in PARTS.items() if e.id.split("-")[0] in fams)
        )
        assert e.part == part, e.id  # ACT-4 (tanh) is discussed in Part II (inventory §2)


def test_every_item_has_a_heading_and_an_exact_statement(cat):
    for e in cat.of_kind("item"):
        assert e.heading.strip(), e.id
        assert e.statement.strip(), e.id
        assert e.data["sources"][0] == "article", e.id


def test_every_erratum_has_severity_article_words_and_correction(cat):
    severities = set(cat.meta["severities"])
    for e in cat.of_kind("erratum"):
        assert e.data["severity"] in severities, e.id
        assert e.article.strip(), e.id
        assert e.statement.strip(), e.id
        assert e.data["demonstration"].strip(), e.id


def test_cross_references_and_sources_resolve(cat):
    refs = set(cat.meta["references"])
    for e in cat:
        assert set(e.data.get("related", [])) <= set(cat.ids), e.id
        assert set(e.data.get("sources", [])) <= refs, e.id


def test_the_required_figures_are_flagged(cat):
    required = {e.id for e in cat.of_kind("figure", "plot") if e.data["required"]}
    assert required == {"FIG-2", "FIG-4", "FIG-5", "FIG-8", "PLOT-A", "PLOT-B", "PLOT-C"}


def _article_text() -> str | None:
    path = article_path()
    return None if path is None else path.read_text(encoding="utf-8")


def test_verbatim_quotations_occur_in_the_article(cat):
    """Every ``article_verbatim`` string is in the article's text (whitespace-insensitive)."""
    text = _article_text()
    if text is None:
        pytest.skip("no copy of the article text (set GRADCHECK_ARTICLE=path)")
    squashed = re.sub(r"\s+", "", text)
    missing = [
        (e.id, q)
        for e in cat
        for q in e.data.get("article_verbatim", [])
        if re.sub(r"\s+", "", q) not in squashed
    ]
    assert not missing
    quoted = sum(bool(e.data.get("article_verbatim")) for e in cat)
    assert quoted >= 60  # most entries quote the article; the rest are the inventory's additions


def test_loading_a_foreign_catalogue_and_its_errors(tmp_path):
    good = tmp_path / "c.json"
    good.write_text('{"name": "mine", "entries": [{"id": "EQ-1", "statement": "$a=b$"}]}')
    c = load(good)
    assert c.ids == ("EQ-1",)
    assert c["EQ-1"].statement == "$a=b$"
    assert c.name == "mine"
    bad = {
        "dup.json": '[{"id": "A"}, {"id": "A"}]',
        "noid.json": '[{"x": 1}]',
        "shape.json": '{"items": []}',
        "json.json": "{",
    }
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(CatalogueError, match=name):
            load(tmp_path / name)
    with pytest.raises(CatalogueError, match="does not exist"):
        load(tmp_path / "absent.json")


# ------------------------------------------------------------------ the coverage gate


def _proves_ids(decorators: list[ast.expr]) -> list[str]:
    return [
        arg.value
        for d in decorators
        if isinstance(d, ast.Call) and ast.unparse(d.func).endswith("mark.proves")
        for arg in d.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    ]


def _named_ids(*, include_slow: bool = False) -> dict[str, set[str]]:
    """ID -> test files naming it in ``@pytest.mark.proves(...)`` (string literals).

    Tests marked ``slow`` are deselected by default, so unless ``include_slow`` they do not count:
    an ID must be proven by the default run."""
    named: dict[str, set[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        if "example_project" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            slow = any(ast.unparse(d).endswith("mark.slow") for d in node.decorator_list)
            if slow and not include_slow:
                continue
            for test_id in _proves_ids(node.decorator_list):
                named.setdefault(test_id, set()).add(path.name)
    return named


def test_every_id_a_test_names_is_in_the_catalogue(cat):
    """The plugin rejects these at collection too; this names them all at once."""
    unknown = sorted(set(_named_ids(include_slow=True)) - set(cat.ids))
    assert not unknown, f"tests name IDs missing from the catalogue: {unknown}"


def test_every_catalogue_id_is_named_by_a_test(cat):
    """THE COVERAGE GATE: every ID of the catalogue is named by at least one test.

    Only tests of the default run count (``slow`` ones are deselected by default), and the
    figures count like the equations: a figure is named by a test that checks its data against
    the specs and draws it.
    """
    named = _named_ids()
    missing = [i for i in cat.ids if i not in named]
    assert not missing, f"{len(missing)} catalogue IDs no test names: {', '.join(missing)}"
