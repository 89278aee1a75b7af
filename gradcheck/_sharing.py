"""The plugin's options for proofs that span machines: a shared example database and shards.

``--gradcheck-database URL`` (ini ``gradcheck_database``, environment ``GRADCHECK_DATABASE``)
    The Hypothesis example database every test reads first and writes what it finds to (see
    `gradcheck._database` for the URLs). The loaded profile keeps its settings and gains the
    database; a derandomized profile stays derandomized (Hypothesis still replays the database
    first, then generates the same examples as without it).
``--gradcheck-database-read-only`` (ini ``gradcheck_database_read_only``, environment
    ``GRADCHECK_DATABASE_READ_ONLY=1``): replay, never write (`ReadOnlyDatabase`): for PR runs.
``--gradcheck-database-mirror DIR`` (environment ``GRADCHECK_DATABASE_MIRROR``): a local
    directory that receives every write as well (`MultiplexedDatabase`).
``--gradcheck-shard I/N``: run only the I-th of N deterministic parts of the collected tests
    (every N-th test in collection order, starting at the I-th), so that N machines each prove
    a part and ``gradcheck merge-proofs`` joins them.

The URL may carry a password: it is read from the environment by ``gradcheck prove`` and
``gradcheck campaign`` so that it never appears on a command line, and the proof JSON records
only the masked URL (`provenance`).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

__all__ = ["add_options", "configure", "finish", "parse_shard", "select_shard"]

DATABASE_ENV = "GRADCHECK_DATABASE"
READ_ONLY_ENV = "GRADCHECK_DATABASE_READ_ONLY"
MIRROR_ENV = "GRADCHECK_DATABASE_MIRROR"
EVENTS_ENV = "GRADCHECK_DATABASE_EVENTS"  # = gradcheck._database.EVENTS_ENV (imported lazily:
# the plugin loads in every pytest run, and only a run with a database needs Hypothesis here)
_PROFILE = "gradcheck-with-database"
_state_key = pytest.StashKey[dict[str, Any]]()


def add_options(group: Any, parser: pytest.Parser) -> None:
    group.addoption(
        "--gradcheck-database",
        metavar="URL",
        help="Hypothesis example database: redis://[:password@]host:port/db, rediss://… or a "
        f"directory (default: ${DATABASE_ENV}, else the ini option gradcheck_database).",
    )
    group.addoption(
        "--gradcheck-database-read-only",
        action="store_true",
        default=None,
        help="replay the example database without writing to it (CI runs of pull requests).",
    )
    group.addoption(
        "--gradcheck-database-mirror",
        metavar="DIR",
        help="a local directory that receives every write to the example database as well.",
    )
    group.addoption(
        "--gradcheck-shard",
        metavar="I/N",
        help="run only the I-th of N deterministic parts of the tests (1 <= I <= N).",
    )
    parser.addini("gradcheck_database", "Hypothesis example database URL or directory", default="")
    parser.addini("gradcheck_database_read_only", "replay the example database only", type="bool")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; raises ValueError with the fix for anything else."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ValueError(f"--shard must be I/N with 1 <= I <= N, e.g. 2/4; got {text!r}.")
    return int(m.group(1)), int(m.group(2))


def _setting(config: pytest.Config) -> tuple[str, bool, str]:
    url = (
        config.getoption("--gradcheck-database")
        or os.environ.get(DATABASE_ENV)
        or config.getini("gradcheck_database")
    )
    read_only = config.getoption("--gradcheck-database-read-only")
    if read_only is None:
        env = os.environ.get(READ_ONLY_ENV, "").strip().lower()
        read_only = env in ("1", "true", "yes") or bool(
            config.getini("gradcheck_database_read_only")
        )
    mirror = config.getoption("--gradcheck-database-mirror") or os.environ.get(MIRROR_ENV, "")
    return str(url or ""), bool(read_only), str(mirror or "")


def configure(config: pytest.Config) -> dict[str, str]:
    """Open the database and load the profile with it; returns the provenance to record."""
    provenance: dict[str, str] = {}
    shard = config.getoption("--gradcheck-shard")
    if shard:
        try:
            parse_shard(shard)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        provenance["shard"] = str(shard).replace(" ", "")
    url, read_only, mirror = _setting(config)
    state: dict[str, Any] = {}
    config.stash[_state_key] = state
    if not url:
        return provenance
    if config.getoption("hypothesis_seed", None) is not None:
        raise pytest.UsageError(
            "--hypothesis-seed makes Hypothesis ignore every example database, so "
            "--gradcheck-database would replay nothing; drop one of the two."
        )
    from gradcheck._database import DatabaseError, open_database, parse_url

    try:
        db = open_database(url, read_only=read_only, mirror=mirror or None)
    except DatabaseError as exc:
        raise pytest.UsageError(str(exc)) from None
    _load_with_database(db)
    state["database"] = True
    provenance["database"] = parse_url(url).masked
    provenance["database mode"] = "read-only (replay)" if read_only else "read-write"
    if mirror:
        provenance["database mirror"] = str(Path(mirror).resolve())
    if not os.environ.get(EVENTS_ENV) and not hasattr(config, "workerinput"):
        fd, path = tempfile.mkstemp(prefix="gradcheck-db-events-", suffix=".jsonl")
        os.close(fd)
        os.environ[EVENTS_ENV] = path
        state["events_owned"] = path
    state["events"] = os.environ.get(EVENTS_ENV, "")
    return provenance


def _load_with_database(db: Any) -> None:
    """The loaded profile, plus the database (derandomize and everything else unchanged)."""
    from hypothesis import settings

    settings.register_profile(_PROFILE, parent=settings.default, database=db)
    settings.load_profile(_PROFILE)


def select_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect every test outside ``--gradcheck-shard I/N`` (by position in collection order)."""
    shard = config.getoption("--gradcheck-shard")
    if not shard:
        return
    i, n = parse_shard(shard)
    keep = [it for k, it in enumerate(items) if k % n == i - 1]
    drop = [it for k, it in enumerate(items) if k % n != i - 1]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def align_database_keys(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every Hypothesis test the database key HypoFuzz gives it, so that each replays what
    a campaign found.

    Hypothesis derives a test's key from its source and, for parametrized tests only, its node
    ID; HypoFuzz 25.11.1 adds the node ID for every test. Without this, a plain run would look
    for an unparametrized test's examples under another key than the one the fuzzer wrote."""
    if not config.stash.get(_state_key, {}).get("database"):
        return
    for item in items:
        inner = getattr(getattr(getattr(item, "obj", None), "hypothesis", None), "inner_test", None)
        if inner is not None:
            inner._hypothesis_internal_add_digest = item.nodeid.encode()


def finish(config: pytest.Config) -> dict[str, str]:
    """Provenance learned at the end of the run: whether the shared database was lost."""
    from gradcheck._database import lost_events

    state = config.stash.get(_state_key, {})
    events = lost_events(state["events"]) if state.get("events") else []
    if not events:
        return {}
    first = events[0]
    return {
        "database lost": f"at {first.get('at')} in {len({e.get('pid') for e in events})} "
        f"process(es): {first.get('reason')}; the run went on without it"
    }


def unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_state_key, {})
    owned = state.get("events_owned")
    if owned:
        os.environ.pop(EVENTS_ENV, None)
        Path(owned).unlink(missing_ok=True)


# ---------------------------------------------------------------- gradcheck prove's side


def prove_check(database: str | None, mirror: str | None, shard: str | None) -> str | None:
    """The one-line error for ``gradcheck prove``'s database/shard flags, or None when usable.

    Opens (and for Redis, PINGs) the database here, so that a server that is down or a wrong
    password stops the command before pytest starts."""
    if shard:
        try:
            parse_shard(shard)
        except ValueError as exc:
            return str(exc)
    if not database:
        return None
    from gradcheck._database import DatabaseError, open_database

    try:
        open_database(database, mirror=mirror or None)
    except DatabaseError as exc:
        return str(exc)
    return None


def pytest_flags(read_only: bool, mirror: str | None, shard: str | None) -> list[str]:
    """The plugin flags ``prove`` passes on (the URL itself travels in the environment)."""
    flags = ["--gradcheck-database-read-only"] if read_only else []
    if mirror:
        flags += ["--gradcheck-database-mirror", str(Path(mirror).resolve())]
    return flags + (["--gradcheck-shard", shard] if shard else [])


def pytest_env(database: str | None) -> dict[str, str] | None:
    """The subprocess environment carrying the database URL (None: inherit unchanged).

    In the environment, not on the command line: a password in argv is visible to every user
    of the machine (``ps``) and would be copied into the report's "pytest command"."""
    if not database:
        return None
    return {**os.environ, DATABASE_ENV: database}


def cli_flags(
    database: str | None, read_only: bool, mirror: str | None, shard: str | None
) -> list[str]:
    """The flags as the report's "command" shows them: the URL masked."""
    flags: list[str] = []
    if database:
        from gradcheck._database import parse_url

        flags += ["--database", parse_url(database).masked.split(" (")[0]]
    if read_only:
        flags.append("--read-only")
    if mirror:
        flags += ["--mirror", mirror]
    return flags + (["--shard", shard] if shard else [])


def shard_exit_status(proof: dict[str, Any], pytest_rc: int, allow_unproven: bool) -> int:
    """A shard's exit status: an ID no test of this shard names is left to the merge."""
    if pytest_rc in (2, 3, 4):
        return pytest_rc
    s = proof.get("summary", {})
    if s.get("failed", 0):
        return 1
    return 1 if s.get("skipped", 0) and not allow_unproven else 0


def report_environment(
    proof: dict[str, Any], database: str | None, profile: str, seed: int | None
) -> dict[str, str]:
    """The environment block's lines on how the proof was obtained (plugin's provenance)."""
    env = {str(k): str(v) for k, v in dict(proof.get("provenance") or {}).items()}
    if database and seed is None and profile not in ("ci",):
        env["hypothesis seed"] = "not pinned (a seed would make Hypothesis skip the database)"
    if env.get("database lost"):
        print(f"gradcheck prove: the shared example database was lost: {env['database lost']}",
              file=sys.stderr)  # fmt: skip
    return env


def examples_per_id(proof: dict[str, Any], per_test: Mapping[str, int]) -> dict[str, str]:
    """A campaign's examples per catalogue ID (its counts are per test node ID)."""
    if not per_test:
        return {}
    counts: dict[str, int] = {}
    for nodeid, record in dict(proof.get("tests") or {}).items():
        for entry_id in record.get("ids", []):
            counts[entry_id] = counts.get(entry_id, 0) + int(per_test.get(nodeid, 0))
    ids = list(dict(proof.get("ids") or {}))
    text = ", ".join(f"{i} {counts.get(i, 0)}" for i in ids)
    return {"campaign examples per ID": text or "none"}
