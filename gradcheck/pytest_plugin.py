"""The pytest plugin behind ``gradcheck prove``: the ``proves`` marker, evidence, per-ID outcomes.

Registered through the ``pytest11`` entry point, so every project that installs gradcheck has it.

The marker
    ``@pytest.mark.proves("LSTM-3", "ERR-12")`` names the catalogue IDs a test proves. An ID
    missing from the catalogue is an error at collection. The catalogue is the JSON file that
    ``--gradcheck-catalogue PATH`` or the ini option ``gradcheck_catalogue`` names (see
    `gradcheck.catalogue`); with none, every ID is unknown. The ini option
    ``gradcheck_figures = module:NAME`` names the project's figure drawers for the report
    (`gradcheck.report.figures`).

Evidence
    A test that names IDs must check something. Four things count, one unit each
    (`gradcheck._evidence.count`): a ``check_grad`` / ``check_vjp`` / ``check_jacobian`` that
    finishes inside the test with the verdict *pass* (an *inconclusive* or vacuous verdict is
    not evidence, nor is a *fail*: the assert that expects it is); a ``gradcheck.symbolic``
    proof that comes back *proven* (*disproven* and *unsupported* are not); a passing ``assert``
    statement of the test (pytest's ``pytest_assertion_pass`` hook, which needs the ini option
    ``enable_assertion_pass_hook = true``: this repository sets it and ``gradcheck prove``
    passes it; without it, under ``--assert=plain`` or ``python -O`` asserts are not counted
    and the report says why, see `gradcheck._asserts`); and a bound recorded with the session
    fixture ``proof`` (usable inside ``@given`` tests) or `record_evidence`::

        proof.record(examples=1, error=lhs / rhs)   # error: normalized, <= 1 is within bounds

    Examples are counted too: the Hypothesis examples that ran to completion, or 1 for a plain
    test. The evidence rides on the test reports (``user_properties``), so it crosses
    pytest-xdist workers with them.

Outcomes per ID
    *proven* (every test naming it passed with evidence and ran examples), *failed* (a naming
    test failed), *unproven* (no test names it, or a naming test passed without evidence: it is
    listed as "no evidence", never as passed), and *skipped* (no failure, but a naming test was
    skipped; a skip never counts as proof). ``--gradcheck-proof PATH`` writes them as JSON;
    ``--gradcheck-summary`` prints the table at the end of the run.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest

from gradcheck import _asserts, _evidence, _sharing
from gradcheck.catalogue import Catalogue, CatalogueError, empty, load

__all__ = [
    "PROOF_SCHEMA",
    "Evidence",
    "Ledger",
    "ProofRecorder",
    "proof_from_tests",
    "record_evidence",
]

PROOF_SCHEMA = "gradcheck.proof/1"
_KEY = "gradcheck"
_ledger_key = pytest.StashKey["Ledger"]()
_running_key = pytest.StashKey["Evidence"]()  # the evidence of an item while its call runs
_active: list[Evidence] = []  # the evidence of the test running now (a stack: pytester nests)


@dataclass
class Evidence:
    """What one test contributed: its IDs, the examples it ran, the checks it made."""

    ids: list[str]
    examples: int = 0
    checks: int = 0
    rejected: int = 0  # checks that failed inside a passing test: negative controls
    inconclusive: int = 0
    worst_error: float | None = None  # max |analytic-numeric|/allowed over passing checks
    max_rel_error: float | None = None
    explicit: int = 0  # proof.record(...) calls
    symbolic: list[dict[str, Any]] = field(default_factory=list)  # gradcheck.symbolic proofs
    asserts: int = 0  # passing assert statements (pytest_assertion_pass)
    note: str = ""  # why asserts went uncounted, kept only for a test that ends without evidence

    def add_check(self, result: Any) -> None:
        if getattr(result, "kind", None) == "symbolic":  # a SymbolicProof, not a verdict
            self.symbolic.append(result.to_dict())
            return
        self.checks += 1
        status = str(getattr(result, "status", ""))
        if status == "fail":
            self.rejected += 1
            return
        if status == "inconclusive":
            self.inconclusive += 1
            return
        self._raise_error(_finite(getattr(result, "worst_ratio", None)))
        rel = _finite(getattr(result, "max_rel_error", None))
        if rel is not None:
            self.max_rel_error = rel if self.max_rel_error is None else max(self.max_rel_error, rel)

    def add_explicit(self, examples: int, error: float | None) -> None:
        self.explicit += 1
        self.examples += examples
        self._raise_error(_finite(error))

    def _raise_error(self, value: float | None) -> None:
        if value is not None:
            self.worst_error = value if self.worst_error is None else max(self.worst_error, value)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        if not self.symbolic:
            del out["symbolic"]
        return out


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def record_evidence(examples: int = 1, error: float | None = None) -> None:
    """Attribute evidence to the running test: ``examples`` checked, worst normalized ``error``.

    ``error`` is a ratio where 1 is the edge of what the test allows (e.g. ``lhs / rhs`` for a
    bound ``lhs <= rhs``, or ``|a - b| / tol``). Raises RuntimeError outside a running test.
    """
    if not _active:
        raise RuntimeError("record_evidence() was called outside a running test.")
    if examples < 0:
        raise ValueError(f"examples must be >= 0, got {examples}.")
    _active[-1].add_explicit(int(examples), error)


class ProofRecorder:
    """The ``proof`` fixture: ``proof.record(examples=..., error=...)`` (see `record_evidence`)."""

    def record(self, examples: int = 1, error: float | None = None) -> None:
        record_evidence(examples=examples, error=error)


@dataclass
class TestOutcome:
    nodeid: str
    ids: list[str]
    outcome: str = "passed"  # passed / failed / skipped
    evidence: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    message: str = ""


class Ledger:
    """Collects the test reports that carry proof evidence and decides each ID's status."""

    def __init__(self, catalogue: Catalogue, figures: str = "") -> None:
        self.catalogue = catalogue
        self.figures = figures
        self.tests: dict[str, TestOutcome] = {}
        self.failed_without_ids: list[str] = []
        self.provenance: dict[str, str] = {}  # database, shard: how the proof was obtained
        self.asserts_uncounted = ""  # why this run cannot count passing asserts ("": it can)

    def add_report(self, report: pytest.TestReport) -> None:
        payload: Any = next((v for k, v in report.user_properties if k == _KEY), None)
        if payload is None:
            if report.failed:
                self.failed_without_ids.append(report.nodeid)
            return
        t = self.tests.setdefault(report.nodeid, TestOutcome(report.nodeid, list(payload["ids"])))
        t.duration += float(getattr(report, "duration", 0.0) or 0.0)
        if report.when == "call" or report.skipped:
            t.evidence = dict(payload)
        verdict = _verdict(report)
        if verdict == "failed" or (verdict == "skipped" and t.outcome == "passed"):
            t.outcome = verdict
            t.message = _short(report)

    def id_table(self) -> dict[str, dict[str, Any]]:
        by_id: dict[str, list[TestOutcome]] = {i: [] for i in self.catalogue.ids}
        for t in self.tests.values():
            for i in t.ids:
                by_id.setdefault(i, []).append(t)
        return {i: _id_row(ts) for i, ts in by_id.items()}

    def to_dict(self) -> dict[str, Any]:
        ids = self.id_table()
        summary = {s: 0 for s in ("proven", "failed", "skipped", "unproven")}
        for row in ids.values():
            summary[row["status"]] += 1
        return {
            "schema": PROOF_SCHEMA,
            "catalogue": {
                "name": self.catalogue.name,
                "path": str(self.catalogue.path or ""),
                "counts": self.catalogue.counts(),
            },
            "figures": self.figures,
            "summary": summary,
            "ids": ids,
            "tests": {k: t.__dict__ for k, t in sorted(self.tests.items())},
            "failed_without_ids": self.failed_without_ids,
            "provenance": dict(self.provenance),
            "asserts_uncounted": self.asserts_uncounted,
        }


def proof_from_tests(
    catalogue: Catalogue,
    tests: dict[str, dict[str, Any]],
    figures: str = "",
    failed_without_ids: list[str] | None = None,
) -> dict[str, Any]:
    """The plugin's proof dict rebuilt from per-test records (``proof["tests"]``), with each
    ID's status decided by the same rule as a live run (`_id_row`): for ``merge-proofs``.
    Every field of a record is kept in ``tests``; unknown ones do not reach `TestOutcome`."""
    known = {f.name for f in fields(TestOutcome)}
    ledger = Ledger(catalogue, figures=figures)
    for nodeid, record in tests.items():
        kept = {k: v for k, v in record.items() if k in known}
        ledger.tests[nodeid] = TestOutcome(**{**kept, "nodeid": nodeid})
    ledger.failed_without_ids = list(failed_without_ids or [])
    out = ledger.to_dict()
    out["tests"] = {k: dict(tests[k]) for k in sorted(tests)}
    return out


def _verdict(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):  # xfailed: not proof; xpassed (non-strict): not proof
        return "failed" if report.failed else "skipped"
    return str(report.outcome)


def _short(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}"
    text = str(report.longreprtext or "").strip().splitlines()
    return next((ln.strip() for ln in reversed(text) if ln.strip().startswith("E ")), "")[:300]


def _id_row(tests: list[TestOutcome]) -> dict[str, Any]:
    """One ID's status from the tests naming it: the rule, for live runs and merges alike.

    failed (a test failed) > unproven (no test, or a test passed without evidence) > skipped
    (a test was skipped or xfailed) > proven (every test passed with evidence)."""
    examples = sum(int(t.evidence.get("examples", 0) or 0) for t in tests)
    errors = [t.evidence.get("worst_error") for t in tests]
    finite = [e for e in errors if isinstance(e, int | float)]
    outcomes = [t.outcome for t in tests]
    bare = [t.nodeid for t in tests if _evidence.without_evidence(t.__dict__)]
    if not tests:
        status = "unproven"
    elif "failed" in outcomes:
        status = "failed"
    elif bare:
        status = "unproven"
    elif any(o != "passed" for o in outcomes):
        status = "skipped"
    else:
        status = "proven"
    return {
        "status": status,
        "tests": [t.nodeid for t in tests],
        "outcomes": outcomes,
        "examples": examples,
        "evidence": sum(_evidence.count(t.evidence) for t in tests if t.outcome == "passed"),
        "without_evidence": bare,
        "checks": sum(int(t.evidence.get("checks", 0) or 0) for t in tests),
        "rejected": sum(int(t.evidence.get("rejected", 0) or 0) for t in tests),
        "worst_error": max(finite) if finite else None,
        "symbolic": symbolic_row(tests),
    }


def symbolic_row(tests: list[TestOutcome]) -> dict[str, Any]:
    """An ID's symbolic proofs (`gradcheck.symbolic`): ``status`` "not attempted" when no test
    ran one, else the worst of them ("disproven" > "unsupported" > "proven"), and ``proofs``."""
    proofs = [p for t in tests for p in t.evidence.get("symbolic", []) or []]
    statuses = {p.get("status") for p in proofs}
    status = next(
        (s for s in ("disproven", "unsupported", "proven") if s in statuses), "not attempted"
    )
    return {"status": status, "proofs": proofs}


# ---------------------------------------------------------------- hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "gradcheck proofs (the proves marker)")
    group.addoption(
        "--gradcheck-catalogue",
        metavar="PATH",
        help="JSON catalogue of the IDs the proves marker may name (default: the ini option "
        "gradcheck_catalogue).",
    )
    group.addoption(
        "--gradcheck-proof",
        metavar="PATH",
        help="write the per-ID outcomes (proven/failed/skipped/unproven) as JSON to PATH.",
    )
    group.addoption(
        "--gradcheck-summary",
        action="store_true",
        help="print the per-ID proof table at the end of the run.",
    )
    group.addoption(
        "--gradcheck-profile",
        metavar="NAME",
        help="load this Hypothesis profile (dev, ci, thorough, campaign are registered if the "
        "project has not registered them itself).",
    )
    group.addoption(
        "--gradcheck-show-config",
        action="store_true",
        help="print the catalogue and figures configured here as one JSON line and exit "
        "(gradcheck prove asks this before it chooses what to run).",
    )
    _sharing.add_options(group, parser)
    parser.addini("gradcheck_catalogue", "JSON catalogue for the proves marker", default="")
    parser.addini(
        "gradcheck_figures",
        "module:NAME of the figure drawers for the proof report (a mapping ID -> drawer)",
        default="",
    )


def _profiles(name: str | None) -> None:
    """Register gradcheck's Hypothesis profiles (`gradcheck.profiles`) and load ``name`` if
    given. Without hypothesis installed there is nothing to register, and asking for a profile
    is a usage error."""
    try:
        from gradcheck import profiles
    except ImportError:
        if name:
            raise pytest.UsageError(
                f"--gradcheck-profile {name}: Hypothesis is not installed "
                "(pip install 'gradcheck[test]')."
            ) from None
        return
    profiles.register()
    if name:
        try:
            profiles.load(name)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """gradcheck's profiles are registered before any conftest.py runs: a project's own
    registrations there come later and win."""
    _profiles(None)


def _catalogue_path(config: pytest.Config) -> str:
    """The catalogue configured: ``--gradcheck-catalogue``, else the ini option (relative to
    the ini file), else ``""``."""
    given = config.getoption("--gradcheck-catalogue")
    if given:
        return str(given)
    path = str(config.getini("gradcheck_catalogue") or "")
    if path and not os.path.isabs(path):
        base = config.inipath.parent if config.inipath else config.rootpath
        path = str(base / path)
    return path


def _check_proof_path(config: pytest.Config) -> None:
    """``--gradcheck-proof PATH`` must name a file that can be written: say so before any test."""
    out = config.getoption("--gradcheck-proof")
    if not out or hasattr(config, "workerinput"):
        return
    path = Path(out)
    if path.is_dir():
        raise pytest.UsageError(
            f"--gradcheck-proof {out} is a directory; name the JSON file to write, "
            f"e.g. {path / 'proof.json'}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise pytest.UsageError(
            f"--gradcheck-proof {out}: cannot create its directory "
            f"({exc.strerror or type(exc).__name__}); name a file you can write"
        ) from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise pytest.UsageError(
            f"--gradcheck-proof {out} cannot be written (permission denied); "
            "name a file you can write"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if not config.getoption("--gradcheck-show-config"):
        return None
    shown = {
        "inifile": str(config.inipath or ""),
        "catalogue": _catalogue_path(config),
        "figures": str(config.getini("gradcheck_figures") or ""),
    }
    print(json.dumps(shown))
    return 0


@pytest.hookimpl(trylast=True)  # after Hypothesis' own profile options: the database goes on top
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "proves(*ids): the catalogue IDs this test proves (gradcheck); unknown IDs are an error",
    )
    _check_proof_path(config)
    path = _catalogue_path(config)
    try:
        catalogue = load(path) if path else empty()
    except CatalogueError as exc:
        raise pytest.UsageError(str(exc)) from None
    profile = config.getoption("--gradcheck-profile")
    _profiles(str(profile) if profile else None)
    ledger = Ledger(catalogue, figures=str(config.getini("gradcheck_figures") or ""))
    ledger.provenance = _sharing.configure(config)
    ledger.asserts_uncounted = _asserts.run_problem(config)
    config.stash[_ledger_key] = ledger
    config.pluginmanager.register(_ProofSession(config, ledger), "gradcheck-proof-session")


def _ids_of(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("proves"):
        ids.extend(mark.args)
    return ids


def _marker_problems(item: pytest.Item, catalogue: Catalogue) -> list[str]:
    marks = list(item.iter_markers("proves"))
    problems = []
    for mark in marks:
        if not mark.args or mark.kwargs:
            problems.append(
                f"{item.nodeid}: @pytest.mark.proves needs one or more ID strings, "
                f'e.g. @pytest.mark.proves("LSTM-3"); got {mark.args!r} {mark.kwargs!r}'
            )
        bad = [a for a in mark.args if not isinstance(a, str)]
        if bad:
            problems.append(f"{item.nodeid}: proves() takes ID strings, got {bad!r}")
    ids = [a for m in marks for a in m.args if isinstance(a, str)]
    if ids and not len(catalogue):
        problems.append(
            f"{item.nodeid}: proves({', '.join(map(repr, ids))}): no catalogue is configured; "
            "name your JSON catalogue with the ini option gradcheck_catalogue or "
            "--gradcheck-catalogue PATH"
        )
        return problems
    for bad_id in catalogue.unknown(ids):
        hint = catalogue.suggest(bad_id)
        did = f"; did you mean {' or '.join(hint)}?" if hint else ""
        problems.append(
            f"{item.nodeid}: proves({bad_id!r}): no such ID in the catalogue "
            f"{catalogue.where()}{did}"
        )
    return problems


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    report = yield
    ledger = collector.config.stash.get(_ledger_key, None)
    if ledger is None or not report.passed:
        return report
    problems: list[str] = []
    for node in report.result:
        if isinstance(node, pytest.Item):
            problems += _marker_problems(node, ledger.catalogue)
            ids = _ids_of(node)
            if ids:  # so that a test skipped before it runs still reports the IDs it names
                node.user_properties.append((_KEY, Evidence(ids=ids).to_dict()))
    if problems:
        report.outcome = "failed"
        report.longrepr = (
            "invalid @pytest.mark.proves:\n  "
            + "\n  ".join(problems)
            + ("\nEvery ID a test proves must be in the catalogue; fix the ID or add it there.")
        )
        report.result = []
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    ids = _ids_of(item)
    if not ids:
        return (yield)
    ev = Evidence(ids=ids)
    counted = [0]
    restore = _count_hypothesis_examples(item, counted)
    _active.append(ev)
    item.stash[_running_key] = ev
    try:
        with _evidence.listening(ev.add_check):
            return (yield)
    finally:
        del item.stash[_running_key]
        _active.pop()
        restore()
        ran = counted[0] if restore is not _noop else 1
        ev.examples = max(ev.examples, ran)  # explicit records may count finer than examples
        if _evidence.count(ev.to_dict()) == 0:
            ev.note = _asserts.run_problem(item.config) or _asserts.module_problem(_function(item))
        item.user_properties[:] = [p for p in item.user_properties if p[0] != _KEY] + [
            (_KEY, ev.to_dict())
        ]


class _AssertCounter:
    """Counts a test's passing asserts (pytest's ``pytest_assertion_pass`` hook).

    Registered only around the tests that name IDs (`pytest_runtest_protocol`): pytest formats
    an explanation for every passing rewritten assert while any plugin implements the hook,
    and a suite's other tests should not pay for that (``assert a == b`` on two large dicts
    runs a diff)."""

    def pytest_assertion_pass(self, item: pytest.Item, lineno: int, orig: str, expl: str) -> None:
        """A passing assert of a running test is one unit of its evidence, if the test's side
        wrote it: the assert's file lies beside the test module or below. pytest also rewrites
        the asserts of every package that is a pytest plugin (Hypothesis, gradcheck), and
        their internal asserts prove nothing about the test's claim."""
        ev = item.stash.get(_running_key, None)
        if ev is not None and _asserts.written_by_the_test(item.path, sys._getframe(1)):
            ev.asserts += 1


# before pytest's own assertion wrapper (registered earlier, so called later), which looks
# for implementations of the hook when the test starts
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, Any, Any]:
    if not _ids_of(item):
        return (yield)
    counter = _AssertCounter()
    item.config.pluginmanager.register(counter)
    try:
        return (yield)
    finally:
        item.config.pluginmanager.unregister(counter)


def _function(item: pytest.Item) -> Any:
    """The test's own function (under ``@given``, the one Hypothesis calls)."""
    obj = getattr(item, "obj", None)
    inner = getattr(getattr(obj, "hypothesis", None), "inner_test", None)
    return inner or obj


def _noop() -> None:
    return None


def _count_hypothesis_examples(item: pytest.Item, counted: list[int]) -> Callable[[], None]:
    """Wrap a Hypothesis test's inner test to count the examples that ran to completion."""
    handle = getattr(getattr(item, "obj", None), "hypothesis", None)
    inner = getattr(handle, "inner_test", None)
    if handle is None or inner is None:
        return _noop

    # functools.wraps keeps the test's identity: Hypothesis derives the example-database key
    # from the inner test's source, signature and digest attribute (function_digest), and names
    # it in "Falsifying example: ..."; a bare wrapper gave every test one shared key.
    @functools.wraps(inner)
    def counting(*args: Any, **kwargs: Any) -> Any:
        out = inner(*args, **kwargs)
        counted[0] += 1
        return out

    handle.inner_test = counting

    def restore() -> None:
        handle.inner_test = inner

    return restore


class _ProofSession:
    """The per-run half of the plugin (registered in `pytest_configure`, one per config)."""

    def __init__(self, config: pytest.Config, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # In a plain run and in the xdist controller, which receives the workers' reports
        # with their user_properties; the controller writes the result.
        self.ledger.add_report(report)

    @pytest.hookimpl(trylast=True)  # the shard splits what every other plugin kept
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        _sharing.select_shard(self.config, items)
        _sharing.align_database_keys(self.config, items)

    def pytest_unconfigure(self) -> None:
        _sharing.unconfigure(self.config)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.ledger.provenance.update(_sharing.finish(self.config))
        out = self.config.getoption("--gradcheck-proof")
        if out and not hasattr(self.config, "workerinput"):
            path = Path(out)
            path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self.ledger.to_dict(), indent=1, ensure_ascii=False)
            path.write_text(text, encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.config.getoption("--gradcheck-summary"):
            return
        terminalreporter.section("gradcheck proof")
        for line in summary_lines(self.ledger.to_dict(), self.ledger.catalogue):
            terminalreporter.write_line(line)
        for key, value in self.ledger.provenance.items():
            terminalreporter.write_line(f"{key}: {value}")


def summary_lines(data: dict[str, Any], catalogue: Catalogue, width: int = 100) -> Iterator[str]:
    """The compact per-ID table: ID · claim · status · tests · examples · evidence · worst
    error; then the summary, and one line per test that passed without evidence."""
    yield (
        f"{'ID':<9} {'claim':<44} {'status':<9} {'tests':>5} {'examples':>8} {'evidence':>8} "
        f"{'worst':>6}"
    )
    for entry_id, row in data["ids"].items():
        head = catalogue[entry_id].heading if entry_id in catalogue else ""
        head = head if len(head) <= 44 else head[:43] + "…"
        worst = "-" if row["worst_error"] is None else f"{row['worst_error']:.2g}"
        yield (
            f"{entry_id:<9} {head:<44} {row['status']:<9} {len(row['tests']):>5} "
            f"{row['examples']:>8} {row.get('evidence', 0):>8} {worst:>6}"
        )[:width]
    s = data["summary"]
    yield (
        f"{s['proven']} proven, {s['failed']} failed, {s['skipped']} skipped, "
        f"{s['unproven']} unproven of {len(data['ids'])} IDs ({catalogue.where()})"
    )
    yield from no_evidence_lines(data)
    if data.get("asserts_uncounted"):
        yield f"passing asserts were not counted as evidence: {data['asserts_uncounted']}"


def no_evidence_lines(data: Mapping[str, Any]) -> Iterator[str]:
    """``no evidence: NODEID (IDS): why`` for each test that passed without checking anything."""
    for nodeid, test in sorted((data.get("tests") or {}).items()):
        if _evidence.without_evidence(test):
            ids = ", ".join(test.get("ids", []))
            yield f"no evidence: {nodeid} ({ids}): {_evidence.missing(test)}"


@pytest.fixture(scope="session")
def proof() -> ProofRecorder:
    """Record evidence for tests that prove a bound without the checker (works under @given)."""
    return ProofRecorder()
