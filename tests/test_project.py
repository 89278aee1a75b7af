"""The project's promises about itself: CI runs the README's test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [m.strip() for m in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_two_commands_and_ci_runs_the_second():
    commands = _readme_commands()
    assert len(commands) >= 2
    main_job, tests = commands[:2]
    assert "pip install" in main_job
    assert "gradcheck prove" in main_job  # the main job is the proof (issue 7)
    assert "pip install" in tests
    assert "pytest" in tests
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines, "the README's test command must be a line of .ci/run, verbatim"


def test_the_proof_run_leaves_the_packaging_tests_to_the_suite(tmp_path):
    """``gradcheck prove`` here (pytest with --gradcheck-proof) deselects tests/test_packaging.py;
    the suite (README's second command) runs it, except the installed proof's re-run from the
    wheels (marked slow: ``-m slow``, .ci/run's second pytest line, runs that one)."""

    def collected(*extra: str) -> str:
        cmd = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"]
        cmd += ["tests/test_packaging.py", *extra]
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        return res.stdout.strip().splitlines()[-1]

    proof = str(tmp_path / "proof.json")
    assert collected("--gradcheck-proof", proof).startswith("no tests collected (8 deselected)")
    assert collected().startswith("7/8 tests collected (1 deselected)")
    assert collected("-m", "slow").startswith("1/8 tests collected (7 deselected)")
