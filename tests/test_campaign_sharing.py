"""Proofs beyond one machine, without Redis or HypoFuzz: database URLs and their errors, one
database object per URL, surviving a lost shared database, shards that merge into the report of
one unsharded run, and a directory database replayed read-only in another checkout."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    InMemoryExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

from gradcheck import GradcheckError
from gradcheck._database import (
    PASSWORD_ENV,
    DatabaseURLError,
    SharedDatabase,
    lost_events,
    open_database,
    parse_url,
)
from gradcheck._merge import merge_records
from tests._campaign_kit import checkout, run

# ---------------------------------------------------------------- URLs, typed errors


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@10.0.0.5:6390/3", "redis://:***@10.0.0.5:6390/3"),
        ("redis://alice:hunter2@db.example/0", "redis://alice:***@db.example:6379/0"),
        (
            "rediss://:hunter2@db.example:6380/1?ssl_ca_certs=/etc/ca.pem",
            "rediss://:***@db.example:6380/1?ssl_ca_certs=/etc/ca.pem",
        ),
        ("redis://127.0.0.1", "redis://127.0.0.1:6379/0"),
    ],
)
def test_campaign_url_is_parsed_and_shown_masked(url, shown):
    parsed = parse_url(url, environ={})
    assert parsed.masked == shown
    assert "hunter2" not in parsed.masked + str(parsed) + repr(parsed)
    assert parsed.tls == url.startswith("rediss")


def test_campaign_password_from_the_environment_is_used_and_never_shown():
    parsed = parse_url("redis://10.0.0.5:6390/0", environ={PASSWORD_ENV: "hunter2"})
    assert parsed.password == "hunter2"
    assert parsed.masked == f"redis://10.0.0.5:6390/0 (password from ${PASSWORD_ENV})"
    # a password in the URL wins over the environment
    assert parse_url("redis://:a@h/0", environ={PASSWORD_ENV: "b"}).password == "a"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),
        ("http://:hunter2@host/0", "unsupported example database URL scheme 'http'"),
        ("redis://:hunter2@host:99999/0", "port that is not a number"),
        ("redis://:hunter2@host/zero", "must be a database number"),
        ("redis://:hunter2@/0", "names no host"),
        ("redis://:hunter2@host/0?password=x", "not accepted"),
        ("rediss://:hunter2@host/0?socket_timeout=1", "not accepted"),
    ],
)
def test_campaign_bad_url_is_a_typed_error_that_hides_the_password(url, words):
    with pytest.raises(DatabaseURLError, match=re.escape(words)) as info:
        parse_url(url, environ={})
    assert isinstance(info.value, GradcheckError)
    assert isinstance(info.value, ValueError)
    assert "hunter2" not in str(info.value)


def test_campaign_a_file_is_not_a_directory_database(tmp_path):
    f = tmp_path / "examples.txt"
    f.write_text("x")
    with pytest.raises(DatabaseURLError, match="is a file, not a directory"):
        open_database(str(f))


# ---------------------------------------------------------------- one object per URL


def test_campaign_one_database_object_per_url_and_equal_by_url(tmp_path):
    path = str(tmp_path / "db")
    assert open_database(path) is open_database(path)
    ro = open_database(path, read_only=True)
    assert isinstance(ro, ReadOnlyDatabase)
    assert ro is open_database(path, read_only=True)
    mirrored = open_database(path, mirror=tmp_path / "mirror")
    assert isinstance(mirrored, MultiplexedDatabase)
    # two objects for one Redis URL compare equal (HypoFuzz re-collects in every worker)
    url = parse_url("redis://:pw@127.0.0.1:6390/0", environ={})
    a, b = (
        SharedDatabase(url, InMemoryExampleDatabase()),
        SharedDatabase(url, InMemoryExampleDatabase()),
    )
    assert a == b
    assert hash(a) == hash(b)
    assert ReadOnlyDatabase(a) == ReadOnlyDatabase(b)
    other = SharedDatabase(parse_url("redis://:pw@127.0.0.1:6390/1", environ={}), a._inner)
    assert a != other


class _DyingServer(InMemoryExampleDatabase):
    """A database whose server dies after ``alive`` calls (what redis-py raises: OSError kin)."""

    def __init__(self, alive: int) -> None:
        super().__init__()
        self.alive = alive

    def _tick(self) -> None:
        self.alive -= 1
        if self.alive < 0:
            raise ConnectionRefusedError("Connection refused")

    def save(self, key, value):
        self._tick()
        super().save(key, value)

    def fetch(self, key):
        self._tick()
        return super().fetch(key)


def test_campaign_lost_shared_database_loses_nothing_the_mirror_recorded(
    tmp_path, monkeypatch, capsys
):
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("GRADCHECK_DATABASE_EVENTS", str(events))
    url = parse_url("redis://:hunter2@127.0.0.1:6390/0", environ={})
    shared = SharedDatabase(url, _DyingServer(alive=2))
    mirror = DirectoryBasedExampleDatabase(str(tmp_path / "mirror"))
    db = MultiplexedDatabase(mirror, shared)
    db.save(b"k", b"before")
    db.save(b"k", b"also before")
    db.save(b"k", b"after the server died")  # no exception: the run goes on
    assert shared.lost is not None
    assert "Connection refused" in shared.lost
    assert set(mirror.fetch(b"k")) == {b"before", b"also before", b"after the server died"}
    assert set(db.fetch(b"k")) == set(mirror.fetch(b"k"))  # the lost half reads as empty
    [event] = lost_events(events)
    assert event["database"] == "redis://:***@127.0.0.1:6390/0"
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "lost the shared example database" in err
    assert "hunter2" not in err + events.read_text()


# ---------------------------------------------------------------- merging per-test records


def test_campaign_merge_records_sum_counts_keep_fields_and_take_the_worst_outcome():
    a = {
        "t": {
            "nodeid": "t",
            "ids": ["A"],
            "outcome": "passed",
            "duration": 1.0,
            "message": "",
            "evidence": {"examples": 5, "checks": 5, "worst_error": 0.2, "verdicts": ["ok"]},
        }
    }
    b = {"t": {"nodeid": "t", "ids": ["A", "B"], "outcome": "failed", "duration": 2.0,
               "message": "E boom", "evidence": {"examples": 3, "checks": 1, "worst_error": 0.5,
                                                 "verdicts": ["bad"], "new_field": 7}}}  # fmt: skip
    [(nodeid, m)] = merge_records(a, b).items()
    assert nodeid == "t"
    assert m["outcome"] == "failed"
    assert m["message"] == "E boom"
    assert m["ids"] == ["A", "B"]
    assert m["duration"] == 3.0
    ev = m["evidence"]
    assert (ev["examples"], ev["checks"], ev["worst_error"]) == (8, 6, 0.5)
    assert ev["verdicts"] == ["ok", "bad"]
    assert ev["new_field"] == 7


# ---------------------------------------------------------------- shards


def _prove(project: Path, *args: str):
    return run(sys.executable, project, "-m", "gradcheck._cli", "prove", "-n", "0", *args,
               "--no-figures", "--allow-unproven")  # fmt: skip


def _comparable(report: dict) -> dict:
    """What must agree between a merged and an unsharded report (not dates, durations)."""
    tests = {k: {f: v for f, v in t.items() if f != "duration"} for k, t in report["tests"].items()}
    ids = {k: {f: v for f, v in r.items()} for k, r in report["ids"].items()}
    return {"summary": report["summary"], "ids": ids, "tests": tests}


def test_campaign_two_shards_merge_into_the_report_of_one_unsharded_run(tmp_path):
    project = checkout(tmp_path, "p")
    whole = _prove(project, "--out", "whole")
    one = _prove(project, "--out", "s1", "--shard", "1/2")
    two = _prove(project, "--out", "s2", "--shard", "2/2")
    assert whole.returncode == 1, whole.stdout + whole.stderr  # the planted failure: TODO-1
    assert sorted(r.returncode for r in (one, two)) == [0, 1]  # in one shard of the two
    s1 = json.loads((project / "s1" / "proof.json").read_text())
    s2 = json.loads((project / "s2" / "proof.json").read_text())
    assert s1["environment"]["shard"] == "1/2"
    assert s2["environment"]["shard"] == "2/2"
    assert set(s1["tests"]).isdisjoint(s2["tests"])
    assert s1["tests"]
    assert s2["tests"]
    merged = run(sys.executable, project, "-m", "gradcheck._cli", "merge-proofs",
                 "s1/proof.json", "s2/proof.json", "--out", "merged")  # fmt: skip
    assert merged.returncode == 1, merged.stdout + merged.stderr  # TODO-1 failed, as unsharded
    full = json.loads((project / "whole" / "proof.json").read_text())
    joined = json.loads((project / "merged" / "proof.json").read_text())
    assert _comparable(joined) == _comparable(full)
    assert "s1/proof.json (shard 1/2" in joined["environment"]["merged from"]
    assert "TODO-1    A claim nobody has proven yet                failed" in merged.stdout
    # one shard alone cannot be merged: its missing half could hide a failure
    alone = run(sys.executable, project, "-m", "gradcheck._cli", "merge-proofs",
                "s1/proof.json", "--out", "bad")  # fmt: skip
    assert alone.returncode == 2
    assert "shard(s) 2/2 missing" in alone.stderr


def test_campaign_bad_shard_is_a_one_line_usage_error(tmp_path):
    r = _prove(checkout(tmp_path, "p", planted=False), "--shard", "3/2")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "gradcheck prove: --shard must be I/N with 1 <= I <= N, e.g. 2/4; got '3/2'."
    )


# ---------------------------------------------------------------- a directory database


def _statistics(stdout: str, test: str) -> str:
    """The --hypothesis-show-statistics block of one test."""
    m = re.search(re.escape(test) + r":\n(.*?)(?=\n\S|\Z)", stdout, flags=re.S)
    return m.group(1) if m else ""


def test_campaign_directory_database_is_replayed_read_only_in_another_checkout(tmp_path):
    # (--opt=PATH: pytest takes a bare existing path among its arguments for a rootdir hint)
    db = tmp_path / "shared-db"
    first = run(sys.executable, checkout(tmp_path, "a"), "-m", "pytest", "-p", "no:cacheprovider",
                f"--gradcheck-database={db}", "--gradcheck-profile", "dev")  # fmt: skip
    assert first.returncode == 1
    assert "test_planted_sign_of_tanh_slope" in first.stdout
    before = sorted((str(p.relative_to(db)), p.read_bytes()) for p in db.rglob("*") if p.is_file())
    other = checkout(tmp_path, "b")
    replay = run(sys.executable, other, "-m", "pytest", "-p", "no:cacheprovider",
                 f"--gradcheck-database={db}", "--gradcheck-database-read-only",
                 "--gradcheck-profile", "ci", "--hypothesis-show-statistics")  # fmt: skip
    assert replay.returncode == 1, replay.stdout + replay.stderr
    planted = _statistics(replay.stdout, "checks_planted.py::test_planted_sign_of_tanh_slope")
    assert "during reuse phase" in planted, replay.stdout
    assert "1 failing" in planted
    # each test has its own key: the sound test did not replay the planted test's failure
    sound = _statistics(replay.stdout, "test_sound_bound_recorded_with_the_proof_fixture")
    assert sound, replay.stdout
    assert "during reuse phase" not in sound, replay.stdout
    after = sorted((str(p.relative_to(db)), p.read_bytes()) for p in db.rglob("*") if p.is_file())
    assert after == before  # read-only: nothing written
    assert not (other / ".hypothesis" / "examples").exists()


def test_campaign_hypothesis_seed_and_a_database_are_refused_together(tmp_path):
    r = run(sys.executable, checkout(tmp_path, "a", planted=False), "-m", "pytest",
            f"--gradcheck-database={tmp_path / 'db'}", "--hypothesis-seed", "1")  # fmt: skip
    assert r.returncode == 4
    assert "--hypothesis-seed makes Hypothesis ignore" in r.stderr
