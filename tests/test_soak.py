"""``python -m tools.soak`` on a small project: every run recorded with its seed and counts, a
failure named by its node ID in the run where it happened, the exit status, the summary file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.soak import HYPOTHESIS_ONLY, main, parse_failures, render, soak

PROJECT = {
    "pytest.ini": "[pytest]\n",
    "test_small.py": """
import os
from hypothesis import given, strategies as st


def test_passes():
    assert True


@given(st.integers())
def test_property(x):
    assert x == x


def test_fails_every_time():
    assert os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"), "no private example database"
    assert "CI" not in os.environ
    assert 1 == 2, "planted"
""",
}


def _project(root: Path) -> Path:
    for name, text in PROJECT.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_each_run_is_recorded_with_its_seed_counts_and_failures(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "1")  # the soak runs the dev profile whatever the environment says
    project = _project(tmp_path)
    runs = soak(
        [3, 4], thorough=True, full_seeds=2, workers=0, cwd=project, logs=tmp_path / "logs",
        echo=False,
    )  # fmt: skip
    assert [(r.profile, r.seed) for r in runs] == [("dev", 3), ("dev", 4), ("thorough", 0)]
    for r in runs:
        assert (r.tests, r.failed, r.errors, r.skipped, r.passed) == (3, 1, 0, 0, 2)
        assert not r.ok
        assert r.failures == [
            ("FAILED", "test_small.py::test_fails_every_time", "AssertionError: planted")
        ]
        assert f"--hypothesis-seed={r.seed}" in r.command
        assert f"--hypothesis-profile={r.profile}" in r.command
    assert (tmp_path / "logs" / "dev-3.log").read_text().count("test_fails_every_time") >= 1
    text = render(runs, project, "python -m tools.soak --seeds 2")
    assert "**3 runs, 9 test executions, failures: 3**" in text
    assert "| dev | 3 | whole suite | 2 | 1 | 0 | 0 |" in text
    assert "- thorough seed 0: FAILED `test_small.py::test_fails_every_time`: " in text


def test_after_the_first_seed_only_the_tests_hypothesis_drives_run(tmp_path):
    # a seed changes only the @given tests (Hypothesis' plugin marks them `hypothesis`): the
    # first seed runs the whole suite, the others those items; the thorough run its own paths
    project = _project(tmp_path)
    runs = soak([1, 2, 3], thorough=True, thorough_args=["test_small.py::test_property"],
                workers=0, cwd=project, logs=tmp_path / "logs", echo=False)  # fmt: skip
    counts = [(r.profile, r.seed, r.tests, r.passed, r.ok) for r in runs]
    assert counts == [
        ("dev", 1, 3, 2, False),
        ("dev", 2, 1, 1, True),
        ("dev", 3, 1, 1, True),
        ("thorough", 0, 1, 1, True),
    ]
    assert runs[1].command[3:].count("-m") == 1  # after `python -m pytest`
    assert runs[1].command[runs[1].command.index("-m", 3) + 1] == HYPOTHESIS_ONLY
    assert "-m" not in runs[0].command[3:]
    assert (runs[0].scope, runs[1].scope) == ("whole suite", f"-m {HYPOTHESIS_ONLY!r}")
    assert runs[3].scope == "test_small.py::test_property"
    text = render(runs, project, "python -m tools.soak --seeds 3")
    assert f"| dev | 2 | -m {HYPOTHESIS_ONLY!r} | 1 | 0 | 0 | 0 |" in text
    assert "The dev runs ran `pytest (testpaths)`." in text


def test_main_writes_the_summary_and_exits_zero_only_without_failures(tmp_path, monkeypatch):
    project = _project(tmp_path)
    (project / "test_small.py").write_text("def test_ok():\n    assert True\n", encoding="utf-8")
    monkeypatch.chdir(project)
    out = tmp_path / "soak.md"
    assert main(["--seeds", "1", "--no-thorough", "-n", "0", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "**1 runs, 1 test executions, failures: 0**" in text
    assert "## Failures\n\nNone." in text
    (project / "test_small.py").write_text("def test_bad():\n    assert False\n", encoding="utf-8")
    assert main(["--seeds", "1", "--no-thorough", "-n", "0", "--out", str(out)]) == 1


def test_the_help_says_what_each_seed_runs_and_why(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "A Hypothesis seed changes only the tests Hypothesis drives" in text
    assert HYPOTHESIS_ONLY in text
    assert "test_norm_statistics.py" in text  # the thorough run's default paths


def test_a_run_that_crashes_is_a_failure_not_a_silent_zero(tmp_path):
    runs = soak(
        [1], thorough=False, workers=0, args=["--no-such-option"], cwd=_project(tmp_path),
        logs=tmp_path / "logs", echo=False,
    )  # fmt: skip
    (run,) = runs
    assert not run.ok
    assert run.failures[0][:2] == ("ERROR", "(the run)")
    assert "exit 4" in run.failures[0][2]


def test_parse_failures_reads_pytest_short_summary_lines():
    out = "x\nFAILED a.py::t[1-2] - assert 0\nERROR b.py - ImportError: no\nFAILED c.py::u\n"
    assert parse_failures(out) == [
        ("FAILED", "a.py::t[1-2]", "assert 0"),
        ("ERROR", "b.py", "ImportError: no"),
        ("FAILED", "c.py::u", ""),
    ]


def test_the_thorough_run_can_be_limited_to_some_paths(tmp_path):
    project = _project(tmp_path)
    (project / "test_other.py").write_text("def test_x():\n    assert True\n", encoding="utf-8")
    runs = soak(
        [1], thorough=True, thorough_args=["test_other.py"], workers=0, cwd=project,
        logs=tmp_path / "logs", echo=False,
    )  # fmt: skip
    assert [(r.profile, r.tests, r.ok) for r in runs] == [("dev", 4, False), ("thorough", 1, True)]
    text = render(runs, project, "python -m tools.soak")
    assert "The thorough runs ran `pytest test_other.py`." in text
    assert "The dev runs ran `pytest (testpaths)`." in text
