"""End to end: ``gradcheck prove`` on tests/example_project (a tiny project with its own
catalogue), as a user runs it: a subprocess, the report files, the table, the exit status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck._prove import _exit_status

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "example_project"


def _prove(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("HYPOTHESIS_PROFILE", None)  # the command's --profile decides
    cmd = [sys.executable, "-m", "gradcheck._cli", "prove", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run on a copy of the example project (so nothing is written into the repo)."""
    project = tmp_path_factory.mktemp("example") / "project"
    shutil.copytree(EXAMPLE, project)
    out = project / "build" / "proof"
    result = _prove(project, "-n", "0", "--profile", "dev", "--seed", "3")
    return project, out, result


def test_prove_prints_the_table_and_writes_the_report(run):
    _, out, result = run
    assert "SQ-1      Gradient of the squared norm                 proven" in result.stdout
    assert "3 proven, 0 failed, 0 skipped, 1 unproven of 4 IDs" in result.stdout
    for name in ("proof.md", "proof.html", "proof.json"):
        assert (out / name).is_file(), result.stdout + result.stderr
    data = json.loads((out / "proof.json").read_text(encoding="utf-8"))
    status = {i: r["status"] for i, r in data["ids"].items()}
    assert status == {"SQ-1": "proven", "LIN-1": "proven", "BOUND-1": "proven",
                      "TODO-1": "unproven"}  # fmt: skip
    assert data["ids"]["SQ-1"]["examples"] == 5  # the example's max_examples
    env = data["environment"]
    assert env["hypothesis profile"] == "dev"
    assert env["hypothesis seed"] == "3"
    assert "gradcheck prove" in env["command"]
    md = (out / "proof.md").read_text(encoding="utf-8")
    assert "$\\nabla_w \\tfrac12\\|w\\|^2 = w$" in md  # the statement, LaTeX for GitHub
    assert "`tests/checks_model.py::test_squared_norm_gradient_is_w`" in md


def test_an_unproven_id_fails_the_run(run):
    assert run[2].returncode == 1, run[2].stdout + run[2].stderr


@pytest.mark.parametrize(
    ("summary", "pytest_rc", "allow", "expected"),
    [
        ({"failed": 0, "unproven": 0, "skipped": 0}, 0, False, 0),
        ({"failed": 0, "unproven": 1, "skipped": 0}, 0, False, 1),
        ({"failed": 0, "unproven": 1, "skipped": 0}, 1, True, 0),  # a failing test naming no ID
        ({"failed": 0, "unproven": 0, "skipped": 2}, 0, False, 1),  # a skip is not a proof
        ({"failed": 0, "unproven": 0, "skipped": 2}, 0, True, 0),
        ({"failed": 1, "unproven": 0, "skipped": 0}, 1, True, 1),
        # pytest could not run the tests as asked: prove's usage/setup status 2, never 1
        ({"failed": 0, "unproven": 0, "skipped": 0}, 2, True, 2),  # collection error, interrupt
        ({"failed": 0, "unproven": 0, "skipped": 0}, 3, False, 2),  # internal error
        ({"failed": 1, "unproven": 0, "skipped": 0}, 4, False, 2),  # usage error
    ],
)
def test_exit_status_rules(summary, pytest_rc, allow, expected):
    assert _exit_status({"summary": summary}, pytest_rc, allow) == expected
