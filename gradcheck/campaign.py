"""``gradcheck campaign``: HypoFuzz workers for M minutes on a shared database, then the proof.

1. The database is opened and (Redis) PINGed: down, unreachable or a wrong password is a
   one-line error and exit status 2, before anything starts.
2. ``hypothesis fuzz`` (HypoFuzz, extra ``[campaign]``) runs the tests with ``-n WORKERS``
   processes under the ``campaign`` profile (HypoFuzz fuzzes no derandomized test), writing
   everything it finds to the shared database and to a local mirror directory
   (`MultiplexedDatabase`). gradcheck never imports HypoFuzz: it runs it as a command.
3. After M minutes of fuzzing the workers get SIGINT (the clock starts at the first example a
   worker runs: HypoFuzz first collects the suite in every worker, which takes from seconds to
   minutes with the machine's load and the suite's size, and is not fuzzing); each waits until
   its queued writes reached the database (`gradcheck._campaign_worker`) and stops. HypoFuzz
   alone runs until killed.
4. ``gradcheck prove`` runs against the same database, so that the report includes every
   failure any worker on any machine found (Hypothesis replays the database first). If the
   shared database was lost during the campaign, the proof replays the mirror and says so.

Progress on a terminal (rich): elapsed time, examples run, failures found.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gradcheck._campaign_worker import CAMPAIGN_DIR_ENV, read_stats
from gradcheck._database import (
    EVENTS_ENV,
    DatabaseError,
    lost_events,
    open_database,
    parse_url,
    unreachable,
)
from gradcheck._errors import GradcheckError
from gradcheck._sharing import DATABASE_ENV, MIRROR_ENV

__all__ = ["CampaignOptions", "CampaignResult", "run_campaign"]

_STOP_GRACE_S = 30.0  # the workers flush their queued writes (at most 20 s) and exit
#: how long the workers may take to run their first example (import, collect the suite under
#: pytest, start HypoFuzz): 6 s for the example project on an idle 2-core machine, over 60 s at
#: a load of 9; the article's suite collects in ~20 s idle. Past this, the campaign stops.
_START_LIMIT_S = 600.0
_FUZZ_MAIN = "from hypothesis.extra.cli import main; main()"
# hypofuzz 25.11.1 crashes while shrinking under hypothesis >= 6.157.1 (pyproject's campaign extra)
_HYPOFUZZ_MAX_HYPOTHESIS = {"25.11.1": (6, 157, 0)}


@dataclass
class CampaignOptions:
    """What ``gradcheck campaign`` was asked to do (the CLI flags)."""

    database: str
    minutes: float
    workers: int = 1
    pytest_args: Sequence[str] = ()
    out: str = "build/proof"
    profile: str = "ci"  # the proof's profile after the campaign
    mirror: str = ".hypothesis/campaign-mirror"
    prove_workers: int = 2
    figures: bool = True
    allow_unproven: bool = False
    catalogue: str | None = None


@dataclass
class CampaignResult:
    """What the workers did: examples and failing test cases per test, and how they ended."""

    seconds: float = 0.0  # of fuzzing, from the first example any worker ran
    startup: float = 0.0  # from launching the workers to their first example
    examples: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    ended: str = "stopped after the time limit"
    lost: list[dict[str, object]] = field(default_factory=list)
    log: Path | None = None

    @property
    def total_examples(self) -> int:
        return sum(self.examples.values())

    @property
    def failing_tests(self) -> list[str]:
        return sorted(k for k, v in self.failures.items() if v)


class CampaignError(GradcheckError, ValueError):
    """The campaign cannot start: a bad option, HypoFuzz missing or incompatible."""


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:3] if p.isdigit())


def check_hypofuzz() -> None:
    """HypoFuzz must be installed, with a Hypothesis it works with (never imported here)."""
    if importlib.util.find_spec("hypofuzz") is None:
        raise CampaignError(
            "gradcheck campaign runs HypoFuzz, which is not installed: "
            "pip install 'gradcheck[campaign]'."
        )
    hypofuzz, hypothesis = md.version("hypofuzz"), md.version("hypothesis")
    limit = _HYPOFUZZ_MAX_HYPOTHESIS.get(hypofuzz)
    if limit and _version_tuple(hypothesis) > limit:
        top = ".".join(map(str, limit))
        raise CampaignError(
            f"hypofuzz {hypofuzz} crashes while shrinking under hypothesis {hypothesis} (works "
            f"up to {top}); pip install 'gradcheck[campaign]' pins a working pair."
        )


def _validate(opts: CampaignOptions) -> None:
    if not opts.minutes > 0:
        raise CampaignError(f"--minutes must be > 0, got {opts.minutes}.")
    if opts.workers < 1:
        raise CampaignError(f"-n/--workers must be >= 1, got {opts.workers}.")
    check_hypofuzz()
    open_database(opts.database, mirror=opts.mirror)  # DatabaseError: one line, exit 2


def fuzz_command(opts: CampaignOptions) -> list[str]:
    """The HypoFuzz invocation (no dashboard; the URL travels in the environment)."""
    pytest_args = ["-p", "gradcheck._campaign_worker", "--gradcheck-profile", "campaign"]
    return [
        sys.executable,
        "-c",
        _FUZZ_MAIN,
        "fuzz",
        "-n",
        str(opts.workers),
        "--no-dashboard",
        "--",
        *pytest_args,
        *opts.pytest_args,
    ]


def _stop(proc: subprocess.Popen[bytes]) -> str:
    """SIGINT to the workers' process group, then SIGTERM, then SIGKILL; returns how it ended."""
    for sig, wait in ((signal.SIGINT, _STOP_GRACE_S), (signal.SIGTERM, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return "stopped after the time limit"
        try:
            proc.wait(timeout=wait)
            return "stopped after the time limit"
        except subprocess.TimeoutExpired:
            continue
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return "killed: the workers did not stop within 35 s (writes still queued may be lost)"


def fuzz(
    opts: CampaignOptions, state: Path, tick: Callable[[float, CampaignResult], None]
) -> CampaignResult:
    """Run the workers for ``opts.minutes``; ``tick(elapsed, result)`` about twice a second."""
    env = {
        **os.environ,
        DATABASE_ENV: opts.database,
        MIRROR_ENV: str(Path(opts.mirror).resolve()),
        CAMPAIGN_DIR_ENV: str(state),
        EVENTS_ENV: str(state / "events.jsonl"),
    }
    env.pop("HYPOTHESIS_PROFILE", None)  # the campaign profile decides
    result = CampaignResult(log=state / "fuzz.log")
    launched = time.monotonic()
    start: float | None = None  # the fuzzing clock starts at the first example
    with open(state / "fuzz.log", "wb") as log:
        proc = subprocess.Popen(
            fuzz_command(opts), env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                _update(result, state, start if start is not None else now)
                if start is None and result.total_examples:
                    start, result.startup = now, now - launched
                if start is None and now - launched > _START_LIMIT_S:
                    result.ended = f"stopped: no worker ran an example within {_START_LIMIT_S:g} s"
                    break
                tick(now - (start if start is not None else now), result)
                if start is not None and now - start >= opts.minutes * 60:
                    break
        finally:
            if proc.poll() is None:
                ended = _stop(proc)
                result.ended = result.ended if result.ended.startswith("stopped: no") else ended
            else:
                result.ended = _early_end(proc.returncode, state / "fuzz.log")
    _update(result, state, start if start is not None else time.monotonic())
    result.lost = lost_events(state / "events.jsonl")
    gone = None if result.lost else unreachable(opts.database)
    if gone:  # lost while no worker was writing (e.g. every test had failed)
        stamp = time.strftime("%H:%M:%S")
        result.lost = [{"at": stamp, "reason": f"found unreachable at the end: {gone}"}]
    return result


def _update(result: CampaignResult, state: Path, start: float) -> None:
    stats = read_stats(state)
    result.examples, result.failures = stats["examples"], stats["failures"]
    result.seconds = time.monotonic() - start


def _early_end(rc: int, log: Path) -> str:
    text = log.read_text(encoding="utf-8", errors="replace")
    if "Found a failing input for every test" in text:
        return "ended early: every fuzzed test has a failing input"
    tail = [ln for ln in text.strip().splitlines() if ln.strip()][-1:] or ["(no output)"]
    return f"ended early with exit status {rc}: {tail[0][:200]}"


def no_tests_collected(result: CampaignResult) -> bool:
    """HypoFuzz found nothing to fuzz (e.g. every test sets derandomize=True)."""
    return result.log is not None and "No property-based tests were collected" in (
        result.log.read_text(encoding="utf-8", errors="replace")
    )


def summary_lines(opts: CampaignOptions, result: CampaignResult) -> Iterator[str]:
    """What the campaign did, as printed and as the report's environment block records it."""
    failing = result.failing_tests
    took = f"{int(result.seconds) // 60}:{int(result.seconds) % 60:02d}"
    yield (
        f"campaign: {took} (min:s) of {opts.minutes:g} min after {result.startup:.0f} s of "
        f"start-up, {opts.workers} "
        f"worker(s), {result.total_examples} examples over {len(result.examples)} tests, "
        f"{len(failing)} failing test(s) found; {result.ended}"
    )
    for nodeid in failing:
        yield f"  failure found in {nodeid} ({result.failures[nodeid]} failing test cases)"
    if result.lost:
        first = result.lost[0]
        yield (
            f"  the shared example database {parse_url(opts.database).masked} was lost at "
            f"{first.get('at')} ({first.get('reason')}); everything the workers recorded is in "
            f"the local mirror {Path(opts.mirror).resolve()}, which the proof replays instead"
        )


def _environment(opts: CampaignOptions, result: CampaignResult) -> dict[str, str]:
    env = {"campaign": next(summary_lines(opts, result)).removeprefix("campaign: ")}
    env["campaign examples per test"] = (
        ", ".join(f"{k} {v}" for k, v in sorted(result.examples.items())) or "none"
    )
    if result.lost:
        env["campaign database lost"] = (
            f"at {result.lost[0].get('at')}: {result.lost[0].get('reason')}"
        )
    env["campaign command"] = shlex.join(
        ["gradcheck", "campaign", "--database", parse_url(opts.database).masked.split(" (")[0],
         "--minutes", f"{opts.minutes:g}", "-n", str(opts.workers), *opts.pytest_args]
    )  # fmt: skip
    return env


def run_campaign(opts: CampaignOptions, progress: bool | None = None) -> int:
    """The whole command; returns its exit status (2: could not start; else the proof's)."""
    try:
        _validate(opts)
    except (CampaignError, DatabaseError) as exc:
        print(f"gradcheck campaign: {exc}", file=sys.stderr)
        return 2
    show = sys.stdout.isatty() if progress is None else progress
    shown = shlex.join(["hypothesis", *fuzz_command(opts)[3:]])
    print(f"$ {shown}  (HypoFuzz for {opts.minutes:g} min)", flush=True)
    with tempfile.TemporaryDirectory(prefix="gradcheck-campaign-") as tmp, _ticker(show) as tick:
        result = fuzz(opts, Path(tmp), tick)
        if no_tests_collected(result):
            print(
                "gradcheck campaign: HypoFuzz collected no test it can fuzz (a test that sets "
                "derandomize=True or has no @given is skipped); see the pytest arguments.",
                file=sys.stderr,
            )
            return 2
    for line in summary_lines(opts, result):
        print(line, flush=True)
    return _prove_after(opts, result)


def _prove_after(opts: CampaignOptions, result: CampaignResult) -> int:
    from gradcheck._prove import ProveOptions, prove

    database = str(Path(opts.mirror).resolve()) if result.lost else opts.database
    return prove(
        ProveOptions(
            out=opts.out,
            workers=opts.prove_workers,
            profile=opts.profile,
            allow_unproven=opts.allow_unproven,
            catalogue=opts.catalogue,
            figures=opts.figures,
            pytest_args=tuple(opts.pytest_args),
            database=database,
            mirror=None if result.lost else opts.mirror,
            extra_environment=_environment(opts, result),
            campaign_examples=dict(result.examples),
        )
    )


@contextmanager
def _ticker(show: bool) -> Iterator[Callable[[float, CampaignResult], None]]:
    """A rich live line on a terminal (elapsed, examples, failures); silent otherwise."""
    if not show:
        yield lambda elapsed, result: None
        return
    try:
        from rich.live import Live
    except ImportError:  # pragma: no cover - rich comes with the campaign extra
        yield lambda elapsed, result: None
        return
    with Live(refresh_per_second=4, transient=False) as live:

        def tick(elapsed: float, result: CampaignResult) -> None:
            live.update(_status_line(elapsed, result))

        yield tick


def _status_line(elapsed: float, result: CampaignResult) -> str:
    minutes, seconds = divmod(int(elapsed), 60)
    failing = len(result.failing_tests)
    mark = "[red]" if failing else "[green]"
    return (
        f"fuzzing {minutes:02d}:{seconds:02d} · {result.total_examples} examples · "
        f"{len(result.examples)} tests · {mark}{failing} failing[/]"
    )
