"""``gradcheck prove`` and the plugin fail early and clearly (issue 11, part 9; issue 14, part 8).

Every usage or setup error is one line on stderr, said before any test runs, with exit status 2
(1 stays "an ID failed or is unproven"). Each test asserts the exact line a user sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck._cli import main
from gradcheck._preflight import missing_extra, plugin_args
from gradcheck._prove import _plugin_autoloads

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "example_project"
PLUGIN = [] if _plugin_autoloads() else ["-p", "gradcheck.pytest_plugin"]

pytest_plugins = ["pytester"]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["prove", *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run in an empty directory and point prove at it: should a check under test be broken,
    prove runs pytest on nothing (never this repository's suite, recursively)."""
    monkeypatch.chdir(tmp_path)
    return [str(tmp_path), "--out", str(tmp_path / "out")]


def _prove(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full.get("PYTHONPATH")]))
    full.update(env or {})
    cmd = [sys.executable, "-m", "gradcheck._cli", "prove", *args]
    return subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True, timeout=300)


# ------------------------------------------------------------------ the report directory


def test_an_out_that_is_a_file_is_refused_before_any_test(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report").write_text("not a directory")
    rc, out, err = _cli(capsys, "tests", "--out", "report")
    assert (rc, out) == (2, "")  # no pytest command was even printed
    assert err == "gradcheck prove: --out report is a file, not a directory; pass a directory\n"


def test_an_out_below_a_file_is_refused_before_any_test(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report").write_text("not a directory")
    rc, out, err = _cli(capsys, "tests", "--out", "report/proof")
    assert (rc, out) == (2, "")
    assert err == (
        "gradcheck prove: --out report/proof cannot be written (Not a directory); "
        "pass a directory you can write to\n"
    )


def test_an_unwritable_out_is_refused_before_any_test(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if os.geteuid() == 0:  # root writes through permission bits; sysfs refuses a directory
        out_dir, reason = "/sys/gradcheck-proof", "Operation not permitted"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out_dir, reason = str(locked / "proof"), "Permission denied"
    rc, out, err = _cli(capsys, "tests", "--out", out_dir)
    assert (rc, out) == (2, "")
    assert err == (
        f"gradcheck prove: --out {out_dir} cannot be written ({reason}); "
        "pass a directory you can write to\n"
    )


# ------------------------------------------------------------------ options and extras


def test_an_unknown_format_is_a_usage_error(capsys, nowhere):
    rc, out, err = _cli(capsys, *nowhere, "--format", "md,pdf")
    assert (rc, out, err) == (2, "", "gradcheck prove: unknown --format pdf; use md,html,json\n")


def test_a_negative_worker_count_is_a_usage_error(capsys, nowhere):
    rc, out, err = _cli(capsys, *nowhere, "-n", "-1")
    assert (rc, out) == (2, "")
    assert err == "gradcheck prove: -n must be 0 (one process) or a number of workers, got -1\n"


def test_argparse_usage_errors_exit_2(capsys, nowhere):
    with pytest.raises(SystemExit) as exc:
        main(["prove", *nowhere, "--profile", "nightly"])
    assert exc.value.code == 2
    assert "invalid choice: 'nightly'" in capsys.readouterr().err


def test_without_pytest_prove_names_the_extra(capsys, monkeypatch, nowhere):
    monkeypatch.setitem(sys.modules, "pytest", None)  # import pytest now fails, as if absent
    rc, out, err = _cli(capsys, *nowhere)
    assert (rc, out) == (2, "")
    assert err == 'gradcheck prove: pytest is not installed; pip install "gradcheck[prove]"\n'


def test_without_hypothesis_prove_names_the_extra(capsys, monkeypatch, nowhere):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    rc, _, err = _cli(capsys, *nowhere)
    assert rc == 2
    assert err == 'gradcheck prove: hypothesis is not installed; pip install "gradcheck[prove]"\n'


def test_without_xdist_workers_are_refused_and_one_process_is_offered(capsys, monkeypatch, nowhere):
    monkeypatch.setitem(sys.modules, "xdist", None)
    rc, out, err = _cli(capsys, *nowhere, "-n", "2")
    assert (rc, out) == (2, "")
    assert err == (
        "gradcheck prove: -n 2 runs the tests on pytest-xdist workers, which is not installed; "
        "install pytest-xdist or pass -n 0\n"
    )
    assert missing_extra(0) is None  # -n 0 needs no xdist


# ------------------------------------------------------------------ what to prove


def test_an_unknown_package_is_a_usage_error(capsys, nowhere):
    rc, out, err = _cli(capsys, "--package", "nope", *nowhere[1:])
    assert (rc, out) == (2, "")
    assert err == (
        "gradcheck prove: --package nope: no such proof package is installed (lstm-gradients)\n"
    )


def test_package_and_paths_together_are_a_usage_error(capsys):
    rc, _, err = _cli(capsys, "tests", "--package", "lstm-gradients")
    assert rc == 2
    assert err == (
        "gradcheck prove: --package runs that package's tests; pass it or PATHS, not both\n"
    )


def _toy_proof_package(site: Path) -> None:
    """An installed proof package of one test (a dist-info with a gradcheck.proofs entry point,
    as pip leaves it), with no pytest configuration of its own."""
    pkg = site / "toy_proof"
    (pkg / "proofs").mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from pathlib import Path\n"
        "HERE = Path(__file__).parent\n"
        'PROOF = {"tests": HERE / "proofs", "catalogue": HERE / "ids.json"}\n'
    )
    (pkg / "ids.json").write_text(
        json.dumps({"name": "toy", "entries": [{"id": "T-1", "heading": "sin' = cos"}]})
    )
    (pkg / "proofs" / "__init__.py").write_text("")
    (pkg / "proofs" / "test_toy.py").write_text(
        "import numpy as np\nimport pytest\nimport gradcheck\n\n\n"
        '@pytest.mark.proves("T-1")\n'
        "def test_sin():\n"
        "    res = gradcheck.check_grad(lambda p: float(np.sum(np.sin(p))), np.cos,\n"
        "                               np.array([0.3, 1.2]))\n"
        '    assert res.status == "pass"\n'
    )
    info = site / "toy_proof-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-proof\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[gradcheck.proofs]\ntoy-proof = toy_proof:PROOF\n")


@pytest.fixture
def two_proofs(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    _toy_proof_package(site)
    return {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def test_with_two_proof_packages_installed_prove_asks_which(two_proofs, tmp_path):
    here = tmp_path / "anywhere"
    here.mkdir()
    res = _prove(here, env=two_proofs)
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr == (
        "gradcheck prove: 2 proof packages are installed (lstm-gradients, toy-proof); "
        "choose one with --package NAME\n"
    )


def test_package_runs_an_installed_proof_anywhere(two_proofs, tmp_path):
    here = tmp_path / "anywhere"
    here.mkdir()
    res = _prove(here, "--package", "toy-proof", "-n", "0", "--no-figures", env=two_proofs)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 proven, 0 failed, 0 skipped, 0 unproven of 1 IDs" in res.stdout
    data = json.loads((here / "build" / "proof" / "proof.json").read_text(encoding="utf-8"))
    assert data["ids"]["T-1"]["tests"] == ["toy_proof/proofs/test_toy.py::test_sin"]
    assert data["environment"]["proof package"].startswith("toy-proof 1.0 (")
    assert not (tmp_path / "site" / ".pytest_cache").exists()  # nothing written beside it


def _project(root: Path, tests: dict[str, str]) -> Path:
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\ngradcheck_catalogue = ids.json\n")
    (root / "ids.json").write_text(json.dumps({"name": "p", "entries": [{"id": "P-1"}]}))
    for name, text in tests.items():
        (root / name).write_text(text)
    return root


def test_a_project_whose_tests_prove_nothing_says_no_proof_tests_found(tmp_path):
    root = _project(tmp_path / "p", {"test_plain.py": "def test_plain():\n    assert True\n"})
    res = _prove(root, "-n", "0")
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr == (
        f"gradcheck prove: no proof tests found in pytest's test paths in {root}: no test there "
        'carries @pytest.mark.proves("ID"); no report was written\n'
    )
    assert not list((root / "build" / "proof").iterdir())  # created early, left empty


def test_a_project_without_tests_says_no_proof_tests_found(tmp_path):
    root = _project(tmp_path / "p", {})
    res = _prove(root, "-n", "0")
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr == (
        f"gradcheck prove: no proof tests found in pytest's test paths in {root}: pytest "
        "collected no test; no report was written\n"
    )


def test_a_pytest_usage_error_exits_2(tmp_path):
    res = _prove(EXAMPLE, "-n", "0", "--out", str(tmp_path), "--pytest-args", "--no-such-flag")
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.splitlines()[-1] == (
        "gradcheck prove: pytest exited with 4 before any outcome was recorded."
    )


# ------------------------------------------------------------------ plugin autoload disabled


def test_plugin_args_name_every_plugin_when_autoload_is_disabled(monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    hyp = ["-p", "gradcheck.pytest_plugin", "-p", "hypothesis.extra.pytestplugin"]
    assert plugin_args(0) == hyp
    assert plugin_args(2) == [*hyp, "-p", "xdist.plugin"]
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    assert plugin_args(2) == PLUGIN  # autoloaded: naming them again would register them twice


def test_prove_works_with_plugin_autoload_disabled(tmp_path):
    """Workers, a seed and the proves marker all work with no plugin autoloaded."""
    project = tmp_path / "project"
    project.mkdir()
    for f in EXAMPLE.rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts:
            (project / f.relative_to(EXAMPLE)).parent.mkdir(parents=True, exist_ok=True)
            (project / f.relative_to(EXAMPLE)).write_bytes(f.read_bytes())
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    res = _prove(project, "-n", "2", "--profile", "dev", "--seed", "3", env=env)
    assert res.returncode == 1, res.stdout + res.stderr  # TODO-1 is unproven by design
    assert "3 proven, 0 failed, 0 skipped, 1 unproven of 4 IDs" in res.stdout
    command = res.stdout.splitlines()[0]
    for plugin in ("gradcheck.pytest_plugin", "hypothesis.extra.pytestplugin", "xdist.plugin"):
        assert f"-p {plugin}" in command, command


# ------------------------------------------------------------------ the plugin


def test_gradcheck_proof_naming_a_directory_is_refused_at_configure(pytester):
    pytester.makepyfile(test_touch="def test_touch(tmp_path_factory):\n    open('ran', 'w')\n")
    where = pytester.mkdir("out")
    result = pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider", "--gradcheck-proof", str(where))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (
        f"ERROR: --gradcheck-proof {where} is a directory; name the JSON file to write, "
        f"e.g. {where / 'proof.json'}"
    )
    assert not (pytester.path / "ran").exists()  # no test ran


def test_gradcheck_proof_below_a_file_is_refused_at_configure(pytester):
    pytester.makepyfile(test_touch="def test_touch():\n    open('ran', 'w')\n")
    blocker = pytester.makefile(".txt", blocker="a file")
    target = blocker / "proof.json"
    result = pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider", "--gradcheck-proof", str(target))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (
        f"ERROR: --gradcheck-proof {target}: cannot create its directory (File exists); "
        "name a file you can write"
    )
    assert not (pytester.path / "ran").exists()
