"""``python -m tools.soak``: the suite under the random ``dev`` profile with K seeds, then the
statistical proofs once under ``thorough``, in sequence; a summary of every run in
``docs/soak.md``.

A flaky test is one that fails for some seeds: the README's test command uses the ``dev``
profile outside CI, with a new seed every run, so a user meets such a test sooner or later.
The soak runs what that user runs, with the seeds written down, so any failure replays:

    python -m pytest -n 2 -p no:cacheprovider --hypothesis-profile=dev --hypothesis-seed=N

What each seed runs. A Hypothesis seed changes only the tests Hypothesis drives (the
``@given`` tests; Hypothesis' pytest plugin marks them ``hypothesis``); every other test draws
nothing from it and runs the same under every seed. So the first seed runs the whole suite
once, and the other seeds run only ``-m "hypothesis and not slow and not packaging"`` (the
heavy campaigns and the wheel builds are not driven by the seed either). On 2 cores a
whole-suite dev run takes about 5 minutes, a hypothesis-only one about half of that; 20 seeds
of the whole suite would take about 2 hours and re-run the same non-Hypothesis tests 19 times.
``--full-seeds N`` runs the whole suite under the first N seeds instead of 1.

The thorough run (1000 examples where a test does not fix ``max_examples``) covers the
statistical proofs and the float bounds (``THOROUGH_PATHS``: their false-failure
probabilities are stated per run of up to ``max_examples`` examples, so thorough is where a
miscounted budget shows); ``--thorough-paths`` changes that.

Each run gets its own, empty Hypothesis example database (``HYPOTHESIS_STORAGE_DIRECTORY`` in a
temporary directory), so no run replays another's failure and the runs are independent; ``CI``
and ``HYPOTHESIS_PROFILE`` are removed from the environment. Node IDs of failures come from
pytest's ``-rfE`` lines, counts from its JUnit XML. The full logs go to ``--logs`` (default
``build/soak``, not committed). The exit status is 1 if any run failed or errored, else 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "HYPOTHESIS_ONLY",
    "THOROUGH_PATHS",
    "Run",
    "main",
    "parse_failures",
    "parse_junit",
    "render",
    "soak",
]

# What the seeds after the first --full-seeds run: the items Hypothesis drives (its pytest
# plugin marks them), without the heavy campaigns and the wheel builds.
HYPOTHESIS_ONLY = "hypothesis and not slow and not packaging"

# What the thorough run runs by default: the statistical assertions (proofs/bands.py) and the
# float bounds of the activations' derivatives.
THOROUGH_PATHS = (
    "article/lstm_gradients/proofs/test_norm_statistics.py",
    "article/lstm_gradients/proofs/test_report_figures.py",
    "article/lstm_gradients/proofs/test_activations.py",
)

_SUMMARY_LINE = re.compile(r"^(FAILED|ERROR) (\S+)(?: - (.*))?$")


@dataclass
class Run:
    """One pytest run of the soak and what came of it."""

    profile: str
    seed: int
    command: list[str]
    scope: str = "whole suite"  # or the -m expression, or the paths it ran
    returncode: int = 0
    seconds: float = 0.0
    tests: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # kind, node ID, message
    timed_out: bool = False

    @property
    def passed(self) -> int:
        return self.tests - self.failed - self.errors - self.skipped

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def parse_junit(path: Path) -> tuple[int, int, int, int]:
    """``(tests, failures, errors, skipped)`` summed over the test suites of a JUnit XML file."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests, failures, errors, skipped = (
        sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")
    )
    return tests, failures, errors, skipped


def parse_failures(output: str) -> list[tuple[str, str, str]]:
    """``(FAILED|ERROR, node ID, message)`` from pytest's short test summary (``-rfE``)."""
    out = []
    for line in output.splitlines():
        m = _SUMMARY_LINE.match(line.strip())
        if m:
            out.append((m[1], m[2], (m[3] or "").strip()))
    return out


def _command(profile: str, seed: int, workers: int, junit: Path, args: Sequence[str]) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", *args]
    if workers > 0:
        cmd += ["-n", str(workers)]
    return [
        *cmd,
        "-q",
        "-rfE",
        "-p",
        "no:cacheprovider",
        f"--hypothesis-profile={profile}",
        f"--hypothesis-seed={seed}",
        f"--junitxml={junit}",
    ]


def run_once(
    profile: str,
    seed: int,
    *,
    workers: int,
    args: Sequence[str],
    cwd: Path,
    logs: Path,
    timeout: float | None,
    select: str | None = None,
) -> Run:
    """One pytest run with a fresh example database (only the items ``-m select`` picks, if
    given); its log is written to ``logs``."""
    logs.mkdir(parents=True, exist_ok=True)
    junit = logs / f"{profile}-{seed}.xml"
    junit.unlink(missing_ok=True)
    cmd = _command(profile, seed, workers, junit, [*args, *(["-m", select] if select else [])])
    scope = f"-m {select!r}" if select else shlex.join(args) if args else "whole suite"
    run = Run(profile, seed, cmd, scope=scope)
    with tempfile.TemporaryDirectory(prefix="soak-hypothesis-") as db:
        env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = db
        start = time.monotonic()
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
            )
            output, run.returncode = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            output = _text(exc.stdout) + _text(exc.stderr)
            run.returncode, run.timed_out = -1, True
        run.seconds = time.monotonic() - start
    (logs / f"{profile}-{seed}.log").write_text(output, encoding="utf-8")
    if junit.exists():
        run.tests, run.failed, run.errors, run.skipped = parse_junit(junit)
    run.failures = parse_failures(output)
    if not run.ok and not run.failures:  # a crash, a usage error or a timeout: say so
        tail = output.strip().splitlines()[-1:] or ["no output"]
        what = f"timed out after {timeout:g} s" if run.timed_out else f"exit {run.returncode}"
        run.failures = [("ERROR", "(the run)", f"{what}: {tail[0][:200]}")]
    return run


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


def soak(
    seeds: Sequence[int],
    *,
    thorough: bool = True,
    thorough_seed: int = 0,
    thorough_args: Sequence[str] | None = None,
    full_seeds: int = 1,
    select: str | None = HYPOTHESIS_ONLY,
    workers: int = 2,
    args: Sequence[str] = (),
    cwd: Path = Path("."),
    logs: Path = Path("build/soak"),
    timeout: float | None = None,
    echo: bool = True,
) -> list[Run]:
    """The dev runs, one per seed, then the thorough run (on ``thorough_args`` if given, else
    on ``args``); in sequence (the machine has 2 cores). The first ``full_seeds`` dev runs run
    all of ``args``; the later ones only the items ``-m select`` picks (``None``: all)."""
    plan = [("dev", s, i >= full_seeds) for i, s in enumerate(seeds)]
    plan += [("thorough", thorough_seed, False)] if thorough else []
    runs = []
    for i, (profile, seed, narrow) in enumerate(plan, 1):
        what = thorough_args if profile == "thorough" and thorough_args is not None else args
        only = select if narrow else None
        if echo:
            scope = f"-m {only!r}" if only else shlex.join(what) or "whole suite"
            print(f"[{i}/{len(plan)}] {profile} seed {seed} ({scope}) …", flush=True)
        run = run_once(
            profile, seed, workers=workers, args=what, cwd=cwd, logs=logs, timeout=timeout,
            select=only,
        )  # fmt: skip
        if echo:
            state = "ok" if run.ok else f"{len(run.failures)} failure(s)"
            print(f"    {run.passed} passed, {run.skipped} skipped, {state}, {run.seconds:.0f} s")
            for kind, node, message in run.failures:
                print(f"    {kind} {node} {('- ' + message) if message else ''}")
        runs.append(run)
    return runs


def _git(cwd: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def commit_of(cwd: Path) -> str:
    """The checked-out commit, and whether tracked files differ from it."""
    dirty = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    return _git(cwd, "rev-parse", "HEAD") + (" (with uncommitted changes)" if dirty else "")


def render(runs: Sequence[Run], cwd: Path, invocation: str, commit: str | None = None) -> str:
    """The Markdown summary: what ran, where (``commit``: taken when the soak started; default
    now), each run's counts and failures, the totals."""
    failures = sum(len(r.failures) for r in runs)
    commit = commit or commit_of(cwd)
    lines = [
        "# Soak: the whole suite under many Hypothesis seeds",
        "",
        f"`{invocation}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC), commit `{commit}`, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores "
        "(shared with other work while it ran).",
        "",
        f"**{len(runs)} runs, {sum(r.tests for r in runs)} test executions, "
        f"failures: {failures}**, wall time {_minutes(sum(r.seconds for r in runs))}.",
        "",
        "Each run: `python -m pytest [-n W] -q -rfE -p no:cacheprovider "
        "--hypothesis-profile=P --hypothesis-seed=N` with a fresh example database "
        "(see `tools/soak.py`). A Hypothesis seed changes only the tests Hypothesis drives "
        "(marked `hypothesis` by its pytest plugin); the others run the same under every seed, "
        "so they run once, in the first dev run, and the later dev runs select "
        f"`-m {HYPOTHESIS_ONLY!r}`.",
        "",
        "| profile | seed | ran | passed | failed | errors | skipped | wall time |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.profile} | {r.seed} | {r.scope} | {r.passed} | {r.failed} | {r.errors} | "
            f"{r.skipped} | {_minutes(r.seconds)}{' (timed out)' if r.timed_out else ''} |"
        )
    paths = {r.profile: _args(r.command) for r in runs}
    lines += ["", *(f"The {k} runs ran `pytest {v or '(testpaths)'}`." for k, v in paths.items())]
    lines += ["", "## Failures", ""]
    if not failures:
        lines.append("None.")
    for r in runs:
        for kind, node, message in r.failures:
            detail = f": {message}" if message else ""
            lines.append(f"- {r.profile} seed {r.seed}: {kind} `{node}`{detail}")
    return "\n".join(lines) + "\n"


def _args(command: Sequence[str]) -> str:
    """The paths and options a run passed to pytest beyond the soak's own."""
    own = ("-n", "-q", "-rfE", "-p", "no:cacheprovider", "--hypothesis-", "--junitxml")
    rest = list(command[3:])
    kept, skip = [], False
    for a in rest:
        if skip:
            skip = False
            continue
        if a in ("-n", "-p", "-m"):
            skip = True
            continue
        if not a.startswith(own):
            kept.append(a)
    return shlex.join(kept)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tools.soak",
        description=(__doc__ or "").replace("``", "`"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=20,
        help="dev runs (default 20): the first runs the whole suite, the others only the "
        f"items Hypothesis drives (-m {HYPOTHESIS_ONLY!r}): a seed changes nothing else",
    )
    p.add_argument("--first-seed", type=int, default=1, help="seeds are FIRST … FIRST+K-1")
    p.add_argument(
        "--full-seeds",
        type=int,
        default=1,
        metavar="N",
        help="how many of the dev runs run the whole suite (default 1)",
    )
    p.add_argument("--no-thorough", action="store_true", help="skip the thorough run")
    p.add_argument("--thorough-only", action="store_true", help="only the thorough run")
    p.add_argument("--thorough-seed", type=int, default=0)
    p.add_argument(
        "--thorough-paths",
        nargs="+",
        metavar="PATH",
        default=list(THOROUGH_PATHS),
        help="run the thorough profile on these paths (default: the statistical proofs and "
        "the float bounds, " + " ".join(THOROUGH_PATHS) + ")",
    )
    p.add_argument("-n", "--workers", type=int, default=2, help="pytest-xdist workers (0: none)")
    p.add_argument("--out", default="docs/soak.md", help="the summary (default docs/soak.md)")
    p.add_argument("--logs", default="build/soak", help="full logs and JUnit XML per run")
    p.add_argument("--timeout", type=float, default=None, help="seconds per run (default none)")
    p.add_argument("pytest_args", nargs="*", help="paths and options passed to pytest")
    o = p.parse_args(argv)
    seeds = [] if o.thorough_only else list(range(o.first_seed, o.first_seed + o.seeds))
    cwd = Path.cwd()
    commit = commit_of(cwd)  # before the runs: a commit made while they run was not soaked
    runs = soak(
        seeds,
        thorough=not o.no_thorough,
        thorough_seed=o.thorough_seed,
        thorough_args=o.thorough_paths,
        full_seeds=o.full_seeds,
        workers=o.workers,
        args=o.pytest_args,
        cwd=cwd,
        logs=Path(o.logs),
        timeout=o.timeout,
    )
    invocation = shlex.join(["python", "-m", "tools.soak", *(argv or sys.argv[1:])])
    out = Path(o.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(runs, cwd, invocation, commit), encoding="utf-8")
    print(f"wrote {out}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
