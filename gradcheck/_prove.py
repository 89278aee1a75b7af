"""``gradcheck prove``: run the proofs under pytest, then write the report people cite.

What runs is decided first (`gradcheck._target`: the PATHS given, the project configured
here, or an installed proof package). pytest runs in a subprocess (a fresh interpreter; ``-n``
hands the tests to pytest-xdist) with the gradcheck plugin writing per-ID outcomes to JSON; this
module then draws the figures, writes ``proof.md`` / ``proof.html`` / ``proof.json`` and prints
the compact table.

Exit status: 0 when every ID is proven; 1 when an ID failed or is not proven
(``allow_unproven`` tolerates the latter); 2 when nothing could be proven as asked, with one line
saying why: a usage or setup error (a bad option, an unwritable ``--out``, a missing extra, no
proof tests found) or pytest's own usage, collection or internal error.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
import secrets
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gradcheck import _sharing
from gradcheck._preflight import ProveUsageError, autoloaded, check_out_dir, plugin_args
from gradcheck._target import Target, resolve
from gradcheck.catalogue import Catalogue, CatalogueError, empty, load
from gradcheck.pytest_plugin import summary_lines
from gradcheck.report._document import FigureOutcome

__all__ = ["ProveOptions", "environment", "prove", "pytest_command"]

PROFILES = ("dev", "ci", "thorough")
_DERANDOMIZED = {"ci"}
USAGE = 2  # exit status: nothing could be proven as asked (usage or setup error)
_PYTEST_COULD_NOT_RUN = (2, 3, 4)  # interrupted / collection errors, internal error, usage error
_PYTEST_NO_TESTS = 5


@dataclass
class ProveOptions:
    """What ``gradcheck prove`` was asked to do (the CLI flags)."""

    paths: Sequence[str] = ()
    out: str = "build/proof"
    workers: int = 2
    profile: str = "ci"
    formats: Sequence[str] = ("md", "html", "json")
    allow_unproven: bool = False
    seed: int | None = None
    catalogue: str | None = None
    figures: bool = True
    pytest_args: Sequence[str] = field(default_factory=tuple)
    # proofs beyond one machine (gradcheck._sharing): example database, replay only, local
    # mirror, shard I/N, and what a campaign adds to the report's environment block
    database: str | None = None
    read_only: bool = False
    mirror: str | None = None
    shard: str | None = None
    extra_environment: Mapping[str, str] = field(default_factory=dict)
    campaign_examples: Mapping[str, int] = field(default_factory=dict)  # per test node ID
    package: str | None = None  # an installed proof package (gradcheck._target)


def _plugin_autoloads() -> bool:
    """Whether pytest loads gradcheck's plugin by itself (its pytest11 entry point)."""
    return autoloaded("gradcheck.pytest_plugin")


def pytest_command(
    opts: ProveOptions, proof_json: Path, seed: int | None, target: Target | None = None
) -> list[str]:
    """The pytest invocation ``prove`` runs (printed in the report so a reader can rerun it)."""
    target = target or Target(tuple(opts.paths))
    # no paths: pytest's own choice (the ini's testpaths, else the current directory)
    cmd = [sys.executable, "-m", "pytest", *target.paths, *target.pytest_args]
    cmd += plugin_args(opts.workers)
    cmd += ["--gradcheck-proof", str(proof_json), "--gradcheck-profile", opts.profile]
    cmd += ["-o", "enable_assertion_pass_hook=true"]  # passing asserts are evidence
    if opts.catalogue:
        cmd += ["--gradcheck-catalogue", str(Path(opts.catalogue).resolve())]
    if opts.workers > 0:
        cmd += ["-n", str(opts.workers)]
    if seed is not None:
        cmd += [f"--hypothesis-seed={seed}"]
    cmd += _sharing.pytest_flags(opts.read_only, opts.mirror, opts.shard)
    return [*cmd, "-q", "-rfE", *opts.pytest_args]


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def _git_commit(cwd: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" (with uncommitted changes)" if dirty else "")


def environment(opts: ProveOptions, seed: int | None, command: Sequence[str]) -> dict[str, str]:
    """What a reader needs to rerun the proof: versions, commit, profile, seed, command."""
    import numpy

    seed_text = "derandomized by the profile" if seed is None else str(seed)
    env = {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "gradcheck": _version("gradcheck")
        if _version("gradcheck") != "not installed"
        else __import__("gradcheck").__version__ + " (source checkout)",
        "numpy": numpy.__version__,
    }
    for dist in ("scipy", "hypothesis", "pytest", "pytest-xdist", "matplotlib"):
        env[dist] = _version(dist)
    env["git commit"] = _git_commit(Path.cwd())
    env["hypothesis profile"] = opts.profile
    env["hypothesis seed"] = seed_text
    env["workers"] = str(opts.workers)
    env["command"] = shlex.join(["gradcheck", "prove", *_cli_args(opts, seed)])
    env["pytest command"] = shlex.join(command)
    return env


def _cli_args(opts: ProveOptions, seed: int | None) -> list[str]:
    args = [*opts.paths, "--out", opts.out, "-n", str(opts.workers), "--profile", opts.profile]
    if seed is not None:
        args += ["--seed", str(seed)]
    if opts.catalogue:
        args += ["--catalogue", opts.catalogue]
    if opts.package:
        args += ["--package", opts.package]
    return args + _sharing.cli_flags(opts.database, opts.read_only, opts.mirror, opts.shard)


def check_usage(opts: ProveOptions) -> None:
    """The options' own errors, found before anything runs (`ProveUsageError`)."""
    if opts.profile not in PROFILES:
        raise ProveUsageError(f"--profile must be one of {', '.join(PROFILES)}")
    if opts.catalogue:
        try:
            load(opts.catalogue)
        except CatalogueError as exc:
            raise ProveUsageError(str(exc)) from None
    problem = _sharing.prove_check(opts.database, opts.mirror, opts.shard)
    if problem or (opts.database and opts.seed is not None):
        raise ProveUsageError(
            problem or "--seed makes Hypothesis ignore the example database; drop one."
        )


def prove(opts: ProveOptions) -> int:
    """Run the proofs and write the report; returns the exit status (see the module doc)."""
    seed = opts.seed
    if seed is None and opts.profile not in _DERANDOMIZED and not opts.database:
        seed = secrets.randbelow(2**32)
    with tempfile.TemporaryDirectory(prefix="gradcheck-prove-") as tmp:
        try:
            check_usage(opts)
            target = resolve(opts.paths, opts.catalogue, opts.package, opts.pytest_args, Path(tmp))
            check_out_dir(opts.out)  # created now, when there is something to prove
        except ProveUsageError as exc:
            print(f"gradcheck prove: {exc}", file=sys.stderr)
            return USAGE
        proof_json = Path(tmp) / "outcomes.json"
        cmd = pytest_command(opts, proof_json, seed, target)
        print("$ " + shlex.join(cmd), flush=True)
        rc = subprocess.call(cmd, env=_sharing.pytest_env(opts.database))
        if not proof_json.exists():
            print(
                f"gradcheck prove: pytest exited with {rc} before any outcome was recorded.",
                file=sys.stderr,
            )
            return USAGE
        proof = json.loads(proof_json.read_text(encoding="utf-8"))
    if rc not in _PYTEST_COULD_NOT_RUN and not opts.shard and not proof.get("tests"):
        print(f"gradcheck prove: {_no_proof_tests(target, rc)}", file=sys.stderr)
        return USAGE
    if rc in _PYTEST_COULD_NOT_RUN:  # the outcomes are incomplete
        print(
            f"gradcheck prove: pytest exited with {rc}; the report below is incomplete.",
            file=sys.stderr,
        )
    used = proof.get("catalogue", {}).get("path")  # the plugin may have read an ini option
    catalogue = load(used) if used else empty()
    env = environment(opts, seed, cmd)
    env["catalogue"] = f"{catalogue.name} ({catalogue.where()}, {len(catalogue)} IDs)"
    if target.package is not None:
        env["proof package"] = target.describe()
    env.update(_sharing.report_environment(proof, opts.database, opts.profile, seed))
    env.update(opts.extra_environment)
    env.update(_sharing.examples_per_id(proof, opts.campaign_examples))
    _write(opts, catalogue, proof, env)
    if rc in _PYTEST_COULD_NOT_RUN:
        return USAGE
    if opts.shard:
        return _sharing.shard_exit_status(proof, rc, opts.allow_unproven)
    return _exit_status(proof, rc, opts.allow_unproven)


def _no_proof_tests(target: Target, rc: int) -> str:
    why = (
        "pytest collected no test"
        if rc == _PYTEST_NO_TESTS
        else 'no test there carries @pytest.mark.proves("ID")'
    )
    return f"no proof tests found in {target.describe()}: {why}; no report was written"


def _write(
    opts: ProveOptions, catalogue: Catalogue, proof: dict[str, Any], env: dict[str, str]
) -> None:
    from gradcheck.report import build_document, write_report

    figures = []
    if opts.figures:
        figures = _figures(opts.out, catalogue, str(proof.get("figures") or ""))
    doc = build_document(proof, catalogue, env, figures)
    paths = write_report(doc, opts.out, opts.formats)
    print()
    for line in summary_lines(proof, catalogue):
        print(line)
    produced = sum(f.produced for f in figures)
    print(f"figures: {produced} of {len(figures)} drawn")
    for path in paths:
        print(f"wrote {path}")


def _figures(out: str, catalogue: Catalogue, spec: str) -> list[FigureOutcome]:
    """The project's figures (ini ``gradcheck_figures = module:NAME``) for its catalogue IDs."""
    if not spec:
        return []
    from gradcheck.report.figures import FiguresNotFound, draw_figures, load_figures

    try:
        drawers = load_figures(spec)
    except FiguresNotFound as exc:
        return [FigureOutcome(e.id, reason=str(exc)) for e in catalogue.of_kind("figure", "plot")]
    return draw_figures(out, drawers, [e.id for e in catalogue if e.id in drawers])


def _exit_status(proof: dict[str, Any], pytest_rc: int, allow_unproven: bool) -> int:
    if pytest_rc in _PYTEST_COULD_NOT_RUN:
        return USAGE
    s = proof.get("summary", {})
    if s.get("failed", 0):
        return 1
    if not allow_unproven and (s.get("unproven", 0) or s.get("skipped", 0)):
        return 1
    return 0
