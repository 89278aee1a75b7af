"""A pytest plugin that ``gradcheck campaign`` loads into each HypoFuzz worker (``-p``).

It never imports HypoFuzz. It does three things, only when ``GRADCHECK_CAMPAIGN_DIR`` is set:

* counts the test cases each property ran and how many of them failed, through Hypothesis'
  observability callbacks (HypoFuzz turns observability on anyway), and writes the counts to
  ``$GRADCHECK_CAMPAIGN_DIR/stats-<pid>.json`` at most twice a second; the campaign adds them
  up for its progress line and the report;
* gives ``proof.record(...)`` / `record_evidence` a sink: HypoFuzz calls the test body outside
  pytest's ``runtest`` hooks, where the plugin has no running test to attribute evidence to,
  and an error there would be a false failure found by the fuzzer;
* on SIGINT (how the campaign stops its workers), waits until Hypothesis' background writer
  has written every queued example to the database, then stops: the clean stop that HypoFuzz,
  which runs until killed, does not have.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CAMPAIGN_DIR_ENV", "read_stats"]

CAMPAIGN_DIR_ENV = "GRADCHECK_CAMPAIGN_DIR"
_FLUSH_TIMEOUT_S = 20.0  # queued writes are single Redis set operations (~1 ms each)


class _Counter:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock = threading.Lock()
        self.examples: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self._written = 0.0

    def observe(self, observation: Any, *_: Any) -> None:
        if getattr(observation, "type", None) != "test_case":
            return
        name = str(getattr(observation, "property", "?"))
        with self.lock:
            self.examples[name] = self.examples.get(name, 0) + 1
            if getattr(observation, "status", None) == "failed":
                self.failures[name] = self.failures.get(name, 0) + 1
        if time.monotonic() - self._written > 0.5:
            self.write()

    def write(self) -> None:
        with self.lock:
            data = {"pid": os.getpid(), "examples": self.examples, "failures": self.failures}
            self._written = time.monotonic()
        path = self.directory / f"stats-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)  # atomic: the campaign never reads half a file


_counter: _Counter | None = None


def read_stats(directory: str | Path) -> dict[str, dict[str, int]]:
    """The workers' counts added up: ``{"examples": {nodeid: n}, "failures": {nodeid: n}}``."""
    total: dict[str, dict[str, int]] = {"examples": {}, "failures": {}}
    for path in sorted(Path(directory).glob("stats-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for kind in ("examples", "failures"):
            for name, n in dict(data.get(kind, {})).items():
                total[kind][str(name)] = total[kind].get(str(name), 0) + int(n)
    return total


def _flush(db: Any, timeout: float) -> None:
    """Wait (at most ``timeout`` s) until ``db``, a BackgroundWriteDatabase, wrote its queue."""
    done = threading.Event()

    def wait() -> None:
        db.fetch(b"gradcheck.campaign.flush")  # fetch() first waits for the queued writes
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    done.wait(max(0.0, timeout))


def _flush_and_stop(signum: int, frame: Any) -> None:
    from hypothesis.database import BackgroundWriteDatabase

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # one stop is enough
    deadline = time.monotonic() + _FLUSH_TIMEOUT_S
    for obj in gc.get_objects():
        if isinstance(obj, BackgroundWriteDatabase):
            _flush(obj, deadline - time.monotonic())
    if _counter is not None:
        _counter.write()
    raise KeyboardInterrupt


def _sink() -> None:
    from gradcheck import pytest_plugin

    pytest_plugin._active.append(pytest_plugin.Evidence(ids=[]))


def pytest_configure(config: pytest.Config) -> None:
    global _counter
    directory = os.environ.get(CAMPAIGN_DIR_ENV)
    if not directory or _counter is not None:  # once per process (HypoFuzz collects twice)
        return
    from hypothesis.internal.observability import add_observability_callback

    _counter = _Counter(Path(directory))
    add_observability_callback(_counter.observe, all_threads=True)
    _sink()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _flush_and_stop)
