"""A hook through which every finished check reports itself (the proof plugin listens here).

The checkers call `record` with their result; `listening` installs a listener for the duration
of a ``with`` block. With no listener, `record` costs one empty loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
