"""The pytest plugin (gradcheck.pytest_plugin), run on small generated projects with pytester.

Covers: the proves marker (unknown IDs are a collection error, foreign catalogues through the
ini option), evidence (checker results, passing asserts, Hypothesis examples, the proof
fixture; a ``pass``-only test or an inconclusive check is no evidence; why asserts go uncounted
without the ini option, under --assert=plain, python -O or a stale rewrite cache), the per-ID
outcome rules (proven / failed / skipped / unproven; a skip or an xfail never proves), the
aggregation across pytest-xdist workers, and the exit codes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gradcheck._prove import _plugin_autoloads
from gradcheck.pytest_plugin import record_evidence

pytest_plugins = ["pytester"]

# With the package installed, the entry point loads the plugin; otherwise load it by name
# (doing both would register the module twice).
PLUGIN = [] if _plugin_autoloads() else ["-p", "gradcheck.pytest_plugin"]
# pytest-benchmark warns (an error under this suite's filterwarnings) when xdist is active
QUIET = ["-p", "no:cacheprovider", "-p", "no:benchmark"]

CATALOGUE = {
    "name": "toy",
    "entries": [{"id": f"A-{i}", "heading": f"claim A-{i}"} for i in range(1, 10)]
    + [{"id": "B-1", "heading": "nobody proves this"}],
}

TESTS = """
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
import gradcheck


@pytest.mark.proves("A-1")
@settings(max_examples=7, derandomize=True, database=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_hypothesis_checks(seed):
    x = np.random.default_rng(seed).standard_normal(3)
    res = gradcheck.check_grad(lambda p: float(np.sum(np.sin(p))), np.cos, x, seed=0)
    assert res.status == "pass"


@pytest.mark.proves("A-2")
def test_negative_control_is_rejected():
    x = np.linspace(0.1, 1.0, 4)
    res = gradcheck.check_grad(lambda p: float(np.sum(p**3)), lambda p: 2.9 * p**2, x, seed=0)
    assert res.status == "fail"


@pytest.mark.proves("A-3")
@settings(max_examples=5, derandomize=True, database=None)
@given(a=st.floats(0, 1))
def test_bound_recorded_with_the_fixture(a, proof):
    proof.record(error=a * a / 2.0)
    assert a * a <= 2.0


@pytest.mark.proves("A-3")
@pytest.mark.skip(reason="a skip never counts")
def test_skipped():
    pass


@pytest.mark.proves("A-4")
def test_fails():
    assert 1 + 1 == 3


@pytest.mark.proves("A-5")
@pytest.mark.xfail(reason="an expected failure proves nothing", strict=True)
def test_xfail():
    assert False


def test_without_ids():
    pass


@pytest.mark.proves("A-6")
def test_pass_only():
    pass


@pytest.mark.proves("A-7")
def test_inconclusive_check_only():
    gradcheck.check_grad(lambda p: float(np.sum(np.abs(p))), np.sign, np.zeros(3), seed=0)


@pytest.mark.proves("A-8")
def test_one_passing_assert():
    assert 2 + 2 == 4


@pytest.mark.proves("A-9")
def test_a_vacuous_check_and_a_passing_assert():
    res = gradcheck.check_grad(lambda p: 0.0, np.zeros_like, np.ones(3), seed=0)
    assert res.status == "inconclusive"
"""


@pytest.fixture
def project(pytester):
    pytester.makefile(".json", catalogue=json.dumps(CATALOGUE))
    pytester.makeini(
        "[pytest]\ngradcheck_catalogue = catalogue.json\nenable_assertion_pass_hook = true\n"
    )
    pytester.makepyfile(test_toy=TESTS)
    return pytester


def _outcomes(pytester, *args, subprocess=False):
    out = pytester.path / "proof.json"
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = run(*PLUGIN, *QUIET, "--gradcheck-proof", str(out), *args)
    return result, json.loads(out.read_text(encoding="utf-8"))


def test_outcomes_follow_the_rules_for_every_id(project):
    result, data = _outcomes(project)
    result.assert_outcomes(passed=8, failed=1, skipped=1, xfailed=1)
    status = {i: row["status"] for i, row in data["ids"].items()}
    assert status == {
        "A-1": "proven",
        "A-2": "proven",
        "A-3": "skipped",
        "A-4": "failed",
        "A-5": "skipped",
        "A-6": "unproven",  # passed, checked nothing
        "A-7": "unproven",  # its only check was inconclusive
        "A-8": "proven",  # one passing assert
        "A-9": "proven",  # the assert on the vacuous verdict is the evidence
        "B-1": "unproven",
    }
    assert data["summary"] == {"proven": 4, "failed": 1, "skipped": 2, "unproven": 3}
    assert data["ids"]["A-6"]["without_evidence"] == ["test_toy.py::test_pass_only"]
    assert data["ids"]["A-7"]["without_evidence"] == ["test_toy.py::test_inconclusive_check_only"]
    assert data["asserts_uncounted"] == ""


def test_evidence_counts_examples_checks_and_rejections(project):
    _, data = _outcomes(project)
    tests = data["tests"]
    hyp = tests["test_toy.py::test_hypothesis_checks"]["evidence"]
    assert hyp["examples"] == 7  # derandomized max_examples=7 over a 2**32 search space
    assert hyp["checks"] == 7
    assert 0 < hyp["worst_error"] <= 1  # a passing check is within its allowed error
    neg = tests["test_toy.py::test_negative_control_is_rejected"]["evidence"]
    assert (neg["checks"], neg["rejected"], neg["worst_error"]) == (1, 1, None)
    bound = tests["test_toy.py::test_bound_recorded_with_the_fixture"]["evidence"]
    assert (bound["examples"], bound["explicit"]) == (5, 5)
    assert bound["worst_error"] <= 0.5
    assert "assert (1 + 1) == 3" in tests["test_toy.py::test_fails"]["message"]
    # evidence units: passing checks + passing asserts + recorded bounds
    assert (hyp["asserts"], data["ids"]["A-1"]["evidence"]) == (7, 14)
    assert (neg["asserts"], data["ids"]["A-2"]["evidence"]) == (1, 1)  # the rejected check: 0
    assert (bound["asserts"], data["ids"]["A-3"]["evidence"]) == (5, 10)
    bare = tests["test_toy.py::test_pass_only"]["evidence"]
    assert (bare["checks"], bare["asserts"], bare["explicit"], bare["note"]) == (0, 0, 0, "")
    kink = tests["test_toy.py::test_inconclusive_check_only"]["evidence"]
    assert (kink["checks"], kink["inconclusive"], kink["asserts"]) == (1, 1, 0)
    assert data["ids"]["A-8"]["evidence"] == 1
    vac = tests["test_toy.py::test_a_vacuous_check_and_a_passing_assert"]["evidence"]
    assert (vac["checks"], vac["inconclusive"], vac["asserts"]) == (1, 1, 1)


def test_the_summary_lists_each_test_without_evidence_and_why(project):
    result = project.runpytest(*PLUGIN, "--gradcheck-summary", *QUIET)
    result.stdout.fnmatch_lines(
        [
            "A-6 *claim A-6 *unproven *1 *1 *0 *-",
            "A-8 *claim A-8 *proven *1 *1 *1 *-",
            "4 proven, 1 failed, 2 skipped, 3 unproven of 10 IDs*",
            "no evidence: test_toy.py::test_inconclusive_check_only (A-7): it passed without a "
            "passing check, proven symbolic proof, assert or recorded bound (pytest.raises "
            "alone is not counted: assert on the exception it caught); 1 inconclusive check(s) "
            "are not evidence",
            "no evidence: test_toy.py::test_pass_only (A-6): it passed without a passing check, "
            "proven symbolic proof, assert or recorded bound (*",
        ]
    )
    assert "passed · 1 example" not in result.stdout.str()
    assert "asserts not counted" not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "optimize", "why"),
    [
        (["-o", "enable_assertion_pass_hook=false"], "", "the ini option enable_assertion_pass"),
        (["--assert=plain"], "", "pytest runs with --assert=plain"),
        (["--assert=plain"], "1", "python -O strips the assert statements"),
    ],
)
def test_uncounted_asserts_are_no_evidence_and_the_report_says_why(
    project, monkeypatch, args, optimize, why
):
    # in a subprocess: in-process, the outer run's import hook would rewrite test_toy.py anyway
    monkeypatch.setenv("PYTHONOPTIMIZE", optimize)
    result, data = _outcomes(project, *args, "--gradcheck-summary", subprocess=True)
    if not optimize:
        result.assert_outcomes(passed=8, failed=1, skipped=1, xfailed=1)
    assert data["ids"]["A-8"]["status"] == "unproven"  # its only evidence was the assert
    assert data["ids"]["A-1"]["status"] == "proven"  # its checks still count
    assert data["asserts_uncounted"].startswith(why)
    note = data["tests"]["test_toy.py::test_one_passing_assert"]["evidence"]["note"]
    assert note.startswith(why)
    assert data["tests"]["test_toy.py::test_hypothesis_checks"]["evidence"]["note"] == ""
    result.stdout.fnmatch_lines([f"*passing asserts were not counted as evidence: {why}*"])


def test_under_python_O_the_rewritten_asserts_still_run_and_count(project, monkeypatch):
    monkeypatch.setenv("PYTHONOPTIMIZE", "1")
    _, data = _outcomes(project, "--gradcheck-summary", subprocess=True)
    assert data["ids"]["A-8"]["status"] == "proven"
    assert data["asserts_uncounted"] == ""


def test_a_module_cached_before_the_hook_was_on_is_named(project, monkeypatch):
    # pytest caches rewritten modules without recording enable_assertion_pass_hook: a cache
    # written with it off keeps asserts that never report, which the note must name
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    _outcomes(project, "-o", "enable_assertion_pass_hook=false", subprocess=True)
    assert list(project.path.glob("__pycache__/test_toy*-pytest-*.pyc"))
    _, data = _outcomes(project, subprocess=True)
    assert data["asserts_uncounted"] == ""
    note = data["tests"]["test_toy.py::test_one_passing_assert"]["evidence"]["note"]
    assert "was rewritten by pytest before enable_assertion_pass_hook was on" in note
    assert "test_toy.py" in note
    for pyc in project.path.glob("__pycache__/*.pyc"):
        pyc.unlink()
    _, fresh = _outcomes(project, subprocess=True)
    assert fresh["ids"]["A-8"]["status"] == "proven"


def test_xdist_workers_report_the_same_outcomes(project, monkeypatch):
    # the workers are fresh interpreters: they must import gradcheck from this checkout too
    root = str(Path(__file__).resolve().parent.parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    _, single = _outcomes(project)
    result, multi = _outcomes(project, "-n", "2")
    assert "2 workers" in result.stdout.str() or "gw1" in result.stdout.str()

    def essentials(data):
        return {
            i: (
                r["status"],
                r["examples"],
                r["evidence"],
                r["checks"],
                r["rejected"],
                sorted(r["tests"]),
                r["without_evidence"],
            )
            for i, r in data["ids"].items()
        }

    assert essentials(multi) == essentials(single)
    assert multi["summary"] == single["summary"]


def test_the_summary_table_is_printed_on_request(project):
    result = project.runpytest(*PLUGIN, "--gradcheck-summary", *QUIET)
    result.stdout.fnmatch_lines(
        [
            "*gradcheck proof*",
            "ID*claim*status*tests*examples*worst",
            "A-1 *claim A-1 *proven *1 *7 *",
            "B-1 *nobody proves this *unproven *0 *0 *0 *-",
            "4 proven, 1 failed, 2 skipped, 3 unproven of 10 IDs*",
        ]
    )


def test_an_unknown_id_is_a_collection_error_naming_test_id_and_catalogue(pytester):
    pytester.makefile(".json", catalogue=json.dumps([{"id": "LSTM-3"}, {"id": "GRU-1"}]))
    pytester.makeini("[pytest]\ngradcheck_catalogue = catalogue.json\n")
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.proves("LSTM-33")
        def test_typo():
            pass
    """
    )
    result = pytester.runpytest(*PLUGIN, *QUIET)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting test_bad.py*",
            "*test_bad.py::test_typo: proves('LSTM-33'): no such ID in the catalogue "
            "*catalogue.json; did you mean LSTM-3*",
        ]
    )


def test_an_id_without_a_configured_catalogue_says_how_to_configure_one(pytester):
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.proves("EQ-1")
        def test_eq():
            pass
    """
    )
    result = pytester.runpytest(*PLUGIN, *QUIET)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*test_bad.py::test_eq: proves('EQ-1'): no catalogue is configured; name your JSON "
            "catalogue with the ini option gradcheck_catalogue or --gradcheck-catalogue PATH*"
        ]
    )


def test_proves_needs_id_strings(pytester):
    pytester.makepyfile(
        test_empty="""
        import pytest

        @pytest.mark.proves()
        def test_nothing():
            pass

        @pytest.mark.proves(3)
        def test_number():
            pass
    """
    )
    result = pytester.runpytest(*PLUGIN, *QUIET)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*test_nothing: @pytest.mark.proves needs one or more ID*",
            "*test_number: proves() takes ID strings, got ?3?*",
        ]
    )


def test_a_missing_catalogue_is_a_usage_error(pytester):
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest(*PLUGIN, "--gradcheck-catalogue", "nope.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*catalogue file nope.json does not exist*"])


def test_record_evidence_outside_a_test_says_so():
    with pytest.raises(RuntimeError, match="outside a running test"):
        record_evidence(examples=1, error=0.5)


def test_only_tests_that_name_ids_pay_for_counting_asserts(pytester):
    # pytest formats an explanation for every passing assert while the hook has an
    # implementation; the plugin provides one only around tests that name IDs
    pytester.makefile(".json", catalogue=json.dumps(CATALOGUE))
    pytester.makeini(
        "[pytest]\ngradcheck_catalogue = catalogue.json\nenable_assertion_pass_hook = true\n"
    )
    pytester.makepyfile(
        test_cost="""
        import pytest
        from _pytest.assertion import util

        def test_plain():
            assert util._assertion_pass is None

        @pytest.mark.proves("A-1")
        def test_proof():
            assert util._assertion_pass is not None
        """
    )
    result, data = _outcomes(pytester)
    result.assert_outcomes(passed=2)
    assert data["ids"]["A-1"]["evidence"] == 1


def test_merged_records_are_judged_by_the_same_evidence_rule():
    # merge-proofs rebuilds the proof from per-test records with proof_from_tests: the rule
    # (_id_row) is the live run's, so a record without evidence does not prove its ID there
    from gradcheck.catalogue import Catalogue, Entry
    from gradcheck.pytest_plugin import proof_from_tests

    cat = Catalogue(name="toy", entries=tuple(Entry.from_record({"id": i}) for i in "ABCDEF"))
    ev = {"examples": 3, "checks": 0, "rejected": 0, "inconclusive": 0, "explicit": 0}
    tests = {
        "t::asserts": {"ids": ["A"], "outcome": "passed", "evidence": {**ev, "asserts": 3}},
        "t::bare": {"ids": ["B"], "outcome": "passed", "evidence": {**ev, "asserts": 0}},
        "t::kink": {"ids": ["C"], "outcome": "passed",
                    "evidence": {**ev, "checks": 3, "inconclusive": 3}},
        "t::check": {"ids": ["D"], "outcome": "passed",
                     "evidence": {**ev, "checks": 3, "rejected": 1}},
        "t::proven": {"ids": ["E"], "outcome": "passed",
                      "evidence": {**ev, "symbolic": [{"status": "proven"}]}},
        "t::disproven": {"ids": ["F"], "outcome": "passed",
                         "evidence": {**ev, "symbolic": [{"status": "disproven"}]}},
    }  # fmt: skip
    proof = proof_from_tests(cat, tests)
    assert {i: r["status"] for i, r in proof["ids"].items()} == {
        "A": "proven", "B": "unproven", "C": "unproven", "D": "proven",
        "E": "proven", "F": "unproven",
    }  # fmt: skip
    assert [proof["ids"][i]["evidence"] for i in "ABCDEF"] == [3, 0, 0, 2, 1, 0]
    assert proof["ids"]["F"]["symbolic"]["status"] == "disproven"
    assert proof["ids"]["C"]["without_evidence"] == ["t::kink"]


SYMBOLIC_TESTS = """
import numpy as np
import pytest
from gradcheck.symbolic import prove_vjp


def forward(x, w):
    return x * w, (x, w)


def backward(dy, cache):
    x, w = cache
    return dy * w, dy * x


def transposed(dy, cache):
    x, w = cache
    return dy * x, dy * w


@pytest.mark.proves("A-1")
def test_a_proven_symbolic_proof_alone():
    prove_vjp(forward, backward, [(1,), (1,)])


@pytest.mark.proves("A-2")
def test_a_disproven_one_alone():
    prove_vjp(forward, transposed, [(1,), (1,)])


@pytest.mark.proves("A-3")
def test_the_assert_on_a_disproof():
    assert prove_vjp(forward, transposed, [(1,), (1,)]).status == "disproven"
"""


def test_a_symbolic_proof_is_evidence_when_proven_and_its_assert_when_not(pytester):
    # gradcheck.symbolic proofs arrive through the same hook as the checks: a proven one is
    # evidence like a passing check; a disproof (a negative control) only through the assert
    pytest.importorskip("sympy")
    pytester.makefile(".json", catalogue=json.dumps(CATALOGUE))
    pytester.makeini(
        "[pytest]\ngradcheck_catalogue = catalogue.json\nenable_assertion_pass_hook = true\n"
    )
    pytester.makepyfile(test_sym=SYMBOLIC_TESTS)
    result, data = _outcomes(pytester)
    result.assert_outcomes(passed=3)
    rows = {i: (r["status"], r["evidence"]) for i, r in data["ids"].items() if i < "A-4"}
    assert rows == {"A-1": ("proven", 1), "A-2": ("unproven", 0), "A-3": ("proven", 1)}
    assert data["ids"]["A-1"]["symbolic"]["status"] == "proven"
    assert data["ids"]["A-2"]["without_evidence"] == ["test_sym.py::test_a_disproven_one_alone"]
    assert data["ids"]["A-3"]["symbolic"]["status"] == "disproven"


def test_pytests_frames_are_skipped_when_pytest_is_reached_through_a_symlink(tmp_path):
    # the packaging tests' venvs reach pytest through symlinks: the frames between a passing
    # assert and the hook then carry the link's path, which must still count as pytest's
    import _pytest

    from gradcheck._asserts import written_by_the_test

    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "_pytest").symlink_to(Path(_pytest.__file__).parent)
    test_file = tmp_path / "proofs" / "test_x.py"
    machinery: dict = {}
    hook = "import sys\ndef hook(check):\n    return check(sys._getframe(0))\n"
    exec(compile(hook, str(shelf / "_pytest" / "assertion" / "x.py"), "exec"), machinery)
    test: dict = {"hook": machinery["hook"]}
    exec(compile("def test(check):\n    return hook(check)\n", str(test_file), "exec"), test)
    assert test["test"](lambda frame: written_by_the_test(test_file, frame))
    assert not test["test"](lambda frame: written_by_the_test(tmp_path / "other" / "t.py", frame))
