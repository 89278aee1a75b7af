"""The README's examples run as written: the gradient check snippet, and the three-file project
of "Check your own model" proven by ``gradcheck prove`` in a subprocess (as a user runs it)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _files(section: str) -> dict[str, str]:
    """``name`` lines followed by a fenced block: the files of an example project."""
    blocks = re.findall(r"^`([^`\n]+)`\n```[a-z]*\n(.*?)^```", section, re.M | re.S)
    return dict(blocks)


def test_the_check_your_own_gradient_snippets_run_and_print_what_they_say():
    first, second = re.findall(r"```python\n(.*?)```", _section("Check your own gradient"), re.S)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(first, "README.md", "exec"), scope := {})  # the README's own code
        exec(compile(second, "README.md", "exec"), scope)  # it continues the first
    lines = out.getvalue().splitlines()
    assert lines[0] == "pass", out.getvalue()
    assert lines[-3:] == ["pass", "pass", "dtypes: parameters float32, gradient float64"]


def test_the_readme_example_project_is_proven_by_gradcheck_prove(tmp_path):
    files = _files(_section("Check your own model"))
    assert set(files) == {"equations.json", "pytest.ini", "tests/test_my_model.py"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("HYPOTHESIS_PROFILE", None)
    cmd = [
        sys.executable,
        "-m",
        "gradcheck._cli",
        "prove",
        "-n",
        "0",
        "--profile",
        "dev",
        "--seed",
        "0",
        "--no-figures",
    ]
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 proven, 0 failed, 0 skipped, 0 unproven of 2 IDs" in res.stdout, res.stdout
    for line in ("RNN-STEP  Backward of my tanh RNN step", "CONTRACT  A contraction shrinks"):
        assert line in res.stdout, res.stdout
    assert (tmp_path / "build" / "proof" / "proof.md").is_file()


def test_the_prove_your_own_layer_snippet_prints_what_the_readme_says():
    section = _section("Prove your own layer for all inputs")
    code, printed = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})  # the README's own code, unchanged

    def timeless(text: str) -> str:
        return re.sub(r"\(\d+\.\d+ s\)", "(… s)", text).strip()

    assert timeless(out.getvalue()) == timeless(printed)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_pytorch_and_jax_examples_run_and_pass(backend):
    pytest.importorskip(backend, reason=f"the [{backend}] extra is not installed")
    blocks = re.findall(
        r"```python\n(.*?)```", _section("Checking a PyTorch or JAX backward"), re.S
    )
    (code,) = [b for b in blocks if f"import gradcheck.{backend}" in b]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})  # the README's own code, unchanged
    lines = out.getvalue().splitlines()
    assert lines == (["pass", "pass", "True"] if backend == "torch" else ["pass"]), lines
