"""The hostile battery (issue 11), continued: the edges as they reach a user through the CLI
(``gradcheck demo``) and through the pytest plugin (a generated project whose tests call the
checkers on hostile inputs). Every case asserts an exit status and a message, or a test
outcome, its failure text and the evidence the plugin recorded."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from gradcheck._cli import main
from gradcheck._prove import _plugin_autoloads

pytest_plugins = ["pytester"]

# --- the CLI ----------------------------------------------------------------------------------

DEMO = "gradcheck demo: two-layer tanh network"
CLI = [
    pytest.param(["demo"], 0, "out", DEMO + ": PASS", id="demo passes"),
    pytest.param([], 0, "out", DEMO + ": PASS", id="no command is the demo"),
    pytest.param(
        ["demo", "--bug"],
        1,
        "out",
        DEMO + r": FAIL(.|\n)*params\['W1'\]",
        id="a planted bug fails and is named",
    ),
    pytest.param(["demo", "--seed", "5"], 0, "out", r"seed=5\)", id="the seed is recorded"),
    pytest.param(
        ["demo", "--seed", "-1"],
        2,
        "err",
        r"^gradcheck demo: `seed` must be a non-negative int or None, not -1\.\n$",
        id="a negative seed is one line, exit 2",
    ),
]


@pytest.mark.parametrize(("argv", "status", "stream", "pattern"), CLI)
def test_cli(argv, status, stream, pattern, capsys):
    assert main(argv) == status
    out = capsys.readouterr()
    assert re.search(pattern, getattr(out, stream)), out


def test_cli_usage_error_exits_2_with_argparse_message(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--seed", "abc"])
    assert info.value.code == 2
    assert "argument --seed: invalid int value: 'abc'" in capsys.readouterr().err


def test_python_dash_m_gradcheck_runs_the_demo():
    done = subprocess.run(
        [sys.executable, "-m", "gradcheck", "demo", "--bug"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert DEMO + ": FAIL" in done.stdout


# --- the plugin -------------------------------------------------------------------------------

PLUGIN = [] if _plugin_autoloads() else ["-p", "gradcheck.pytest_plugin"]
QUIET = ["-p", "no:cacheprovider", "-p", "no:benchmark"]

IDS = ["E-1", "E-2", "E-3", "E-4", "E-5", "E-6", "E-7", "E-8"]
CATALOGUE = {"name": "edges", "entries": [{"id": i, "heading": f"edge {i}"} for i in IDS]}

TESTS = """
import numpy as np
import pytest
import gradcheck


@pytest.mark.proves("E-1")
def test_zero_d():
    res = gradcheck.check_grad(lambda p: float(np.sin(p)), np.cos, np.array(0.7))
    assert res.status == "pass", res


def backward_writes_dout(dout, cache):
    x, W = cache
    dW = x.T @ dout
    dout *= 2.0  # CS231n style: works on its upstream gradient in place
    return dout @ W.T / 2.0, dW


@pytest.mark.proves("E-2")
def test_backward_writing_dout():
    x, W = np.ones((2, 3)) / 3, np.arange(6.0).reshape(3, 2) / 6
    res = gradcheck.check_vjp(lambda x, W: (x @ W, (x, W)), backward_writes_dout, (x, W), seed=0)
    assert res.status == "pass", res
    assert any("backward modified `dout` in place" in n for n in res.notes), res.notes


@pytest.mark.proves("E-3")
def test_expected_typed_error():
    with pytest.raises(gradcheck.InvalidTypeError, match="wrt=") as caught:
        gradcheck.check_grad(lambda p: 0.0, lambda p: p, {"x": np.ones(2), "y": np.arange(2)})
    assert isinstance(caught.value, gradcheck.GradcheckError)  # the evidence: a passing assert


@pytest.mark.proves("E-4")
def test_assert_grad_on_a_wrong_gradient():
    gradcheck.assert_grad(lambda p: float(np.sum(p**2)), lambda p: 2.02 * p, np.ones(3))


@pytest.mark.proves("E-5")
def test_unexpected_typed_error():
    d = {"W": np.ones(2)}
    d["again"] = d
    gradcheck.check_grad(lambda p: 0.0, lambda p: p, d)


@pytest.mark.proves("E-6")
def test_users_raise_state():
    with np.errstate(all="raise"):
        res = gradcheck.check_grad(
            lambda p: float(np.sum(np.sin(p))), np.cos, np.array([1e-200, 1.0]), mode="fast"
        )
    assert res.status == "pass", res


@pytest.mark.proves("E-7")
def test_float32_parameters_float64_gradient():
    x = np.linspace(0.1, 1.0, 5, dtype=np.float32)
    res = gradcheck.check_grad(lambda p: float(np.sum(p**3)), lambda p: 3.0 * p.astype(float)**2, x)
    assert "dtypes: parameters float32, gradient float64" in str(res)
    assert res.status == "pass", res


@pytest.mark.proves("E-8")
def test_nondeterministic_f():
    calls = [0]

    def f(p):
        calls[0] += 1
        return float(np.sum(p)) * (1 + calls[0] * 2.0**-52)

    gradcheck.check_grad(f, np.ones_like, np.ones(3), label="drifting loss")
"""

#: test name -> (outcome, text its failure shows, checks recorded, the ID's status)
PLUGIN_CASES = {
    "test_zero_d": ("passed", None, 1, "proven"),
    "test_backward_writing_dout": ("passed", None, 1, "proven"),
    "test_expected_typed_error": ("passed", None, 0, "proven"),
    "test_assert_grad_on_a_wrong_gradient": (
        "failed",
        "gradcheck.GradientMismatch: gradcheck <lambda> at test_edges.py:37: FAIL (0 pass, 3 fail",
        1,
        "failed",
    ),
    "test_unexpected_typed_error": (
        "failed",
        "gradcheck.InvalidInputError: params['again'] contains itself (a reference cycle)",
        0,
        "failed",
    ),
    "test_users_raise_state": ("passed", None, 1, "proven"),
    "test_float32_parameters_float64_gradient": ("passed", None, 1, "proven"),
    "test_nondeterministic_f": (
        "failed",
        "gradcheck.NondeterministicError: f(params) returned 3.000000000000001 and then "
        "3.0000000000000013 at the same point",
        0,
        "failed",
    ),
}


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory):
    """The generated project, run once in a subprocess; its report and proof.json."""
    root = tmp_path_factory.mktemp("edges_project")
    (root / "catalogue.json").write_text(json.dumps(CATALOGUE), encoding="utf-8")
    (root / "pytest.ini").write_text(
        "[pytest]\ngradcheck_catalogue = catalogue.json\nenable_assertion_pass_hook = true\n"
    )
    (root / "test_edges.py").write_text(TESTS, encoding="utf-8")
    out = root / "proof.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *PLUGIN, *QUIET, "-rA", "--gradcheck-proof", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done, json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(PLUGIN_CASES))
def test_plugin(plugin_run, name):
    done, proof = plugin_run
    outcome, text, checks, status = PLUGIN_CASES[name]
    record = proof["tests"][f"test_edges.py::{name}"]
    assert record["outcome"] == outcome, (record, done.stdout[-3000:])
    if text:
        assert text in done.stdout, done.stdout
    assert record["evidence"]["checks"] == checks, record
    ids = {name: f"E-{k}" for k, name in enumerate(PLUGIN_CASES, start=1)}
    assert proof["ids"][ids[name]]["status"] == status, proof["ids"]
