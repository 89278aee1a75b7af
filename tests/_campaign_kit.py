"""What the campaign tests share: the example project with a planted failure; a runner."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAILING = re.compile(r"Falsifying example|Failing test case")  # hypothesis < / >= 6.16x
EXAMPLE = ROOT / "tests" / "example_project"

# A failure planted in a property of the example project: tanh' is claimed negative for a >= 0.
# Every example with a >= 0 fails, so any run of a few dozen examples finds it (see the campaign
# tests for the probability).
PLANTED = """
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.proves("TODO-1")
@given(a=st.floats(-3, 3))
def test_planted_sign_of_tanh_slope(a, proof):
    slope = 1.0 - np.tanh(a) ** 2
    proof.record(error=slope)
    if a >= 0:
        assert slope < 0  # the planted bug: tanh' is positive everywhere


@pytest.mark.proves("BOUND-1")
@given(a=st.floats(-30, 30))
def test_sound_bound_recorded_with_the_proof_fixture(a, proof):
    slope = 1.0 - np.tanh(a) ** 2
    proof.record(error=slope)  # <= 1 holds
    assert slope <= 1.0
"""


def checkout(tmp_path: Path, name: str, planted: bool = True) -> Path:
    """A fresh copy of the example project (no .hypothesis), optionally with the planted file."""
    project = tmp_path / name
    shutil.copytree(EXAMPLE, project)
    if planted:
        (project / "tests" / "checks_planted.py").write_text(PLANTED, encoding="utf-8")
    return project


def run(
    python: str, cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 240
):
    full = dict(os.environ)
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full.get("PYTHONPATH")]))
    full.pop("HYPOTHESIS_PROFILE", None)
    full.pop("CI", None)
    full.update(env or {})
    return subprocess.run(
        [python, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout
    )
