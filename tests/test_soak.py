"""``python -m tools.soak`` on a small project: every run recorded with its seed and counts, a
failure named by its node ID in the run where it happened, the exit status, the summary file."""

from __future__ import annotations

from pathlib import Path

from tools.soak import main, parse_failures, render, soak

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
    runs = soak([3, 4], thorough=True, workers=0, cwd=project, logs=tmp_path / "logs", echo=False)
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
    assert "| dev | 3 | 2 | 1 | 0 | 0 |" in text
    assert "- thorough seed 0: FAILED `test_small.py::test_fails_every_time`: " in text


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
