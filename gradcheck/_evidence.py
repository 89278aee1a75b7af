"""A hook through which every finished check reports itself (the proof plugin listens here),
and what counts as evidence.

The checkers call `record` with their result; `listening` installs a listener for the duration
of a ``with`` block. With no listener, `record` costs one empty loop. `count` is the rule that
turns one test's record into evidence units (the plugin and the report share it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_listeners: list[Callable[[Any], None]] = []


def record(result: Any) -> None:
    """Hand a finished check's result to every active listener."""
    for listener in tuple(_listeners):
        listener(result)


@contextmanager
def listening(listener: Callable[[Any], None]) -> Iterator[None]:
    """Call ``listener(result)`` for every check that finishes inside the block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def count(evidence: Mapping[str, Any]) -> int:
    """The evidence units in one test's record (the plugin's ``evidence`` dict): checks that
    passed, symbolic proofs that came back proven (`gradcheck.symbolic`), passing ``assert``
    statements and ``proof.record`` calls. A check that came back inconclusive (a kink, or
    vacuous: every entry within its allowed error of 0) or failed (a rejected negative
    control), and a symbolic proof disproven or unsupported, are not evidence by themselves;
    the assert on the verdict is."""

    def n(key: str) -> int:
        value = evidence.get(key, 0)
        return int(value) if isinstance(value, int | float) else 0

    passed = max(n("checks") - n("rejected") - n("inconclusive"), 0)
    symbolic = evidence.get("symbolic") or []
    proven = sum(1 for p in symbolic if isinstance(p, Mapping) and p.get("status") == "proven")
    return passed + proven + n("asserts") + n("explicit")


def without_evidence(test: Mapping[str, Any]) -> bool:
    """A test record (``outcome``, ``evidence``) that passed but checked nothing: no evidence
    unit, or not one example ran to completion."""
    ev = test.get("evidence") or {}
    ran = int(ev.get("examples", 0) or 0)
    return test.get("outcome") == "passed" and (ran == 0 or count(ev) == 0)


def missing(test: Mapping[str, Any]) -> str:
    """What a test without evidence lacked, and why its asserts went uncounted if they did."""
    ev = test.get("evidence") or {}
    if not int(ev.get("examples", 0) or 0):
        return "it passed without running one example"
    bits = [
        "it passed without a passing check, proven symbolic proof, assert or recorded bound "
        "(pytest.raises alone is not counted: assert on the exception it caught)"
    ]
    if ev.get("inconclusive"):
        bits.append(f"{ev['inconclusive']} inconclusive check(s) are not evidence")
    if ev.get("note"):
        bits.append(f"asserts not counted: {ev['note']}")
    return "; ".join(bits)
