"""The pytest plugin (gradcheck.pytest_plugin), run on small generated projects with pytester.

Covers: the proves marker (unknown IDs are a collection error, foreign catalogues through the
ini option), evidence (checker results, Hypothesis examples, the proof fixture), the per-ID
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
    "entries": [{"id": i, "heading": f"claim {i}"} for i in ("A-1", "A-2", "A-3", "A-4", "A-5")]
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
"""


@pytest.fixture
def project(pytester):
    pytester.makefile(".json", catalogue=json.dumps(CATALOGUE))
    pytester.makeini("[pytest]\ngradcheck_catalogue = catalogue.json\n")
    pytester.makepyfile(test_toy=TESTS)
    return pytester


def _outcomes(pytester, *args, subprocess=False):
    out = pytester.path / "proof.json"
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = run(*PLUGIN, *QUIET, "--gradcheck-proof", str(out), *args)
    return result, json.loads(out.read_text(encoding="utf-8"))


def test_outcomes_follow_the_rules_for_every_id(project):
    result, data = _outcomes(project)
    result.assert_outcomes(passed=4, failed=1, skipped=1, xfailed=1)
    status = {i: row["status"] for i, row in data["ids"].items()}
    assert status == {
        "A-1": "proven",
        "A-2": "proven",
        "A-3": "skipped",
        "A-4": "failed",
        "A-5": "skipped",
        "B-1": "unproven",
    }
    assert data["summary"] == {"proven": 2, "failed": 1, "skipped": 2, "unproven": 1}


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
            i: (r["status"], r["examples"], r["checks"], r["rejected"], sorted(r["tests"]))
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
            "B-1 *nobody proves this *unproven *0 *0 *-",
            "2 proven, 1 failed, 2 skipped, 1 unproven of 6 IDs*",
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
