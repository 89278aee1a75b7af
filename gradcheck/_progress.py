"""Progress of a long check on a terminal; silent in CI logs, pipes and files.

A `Progress` counts evaluations of f. Nothing is shown until `DELAY` seconds have passed (a
typical check finishes before that), and never unless the stream is a TTY and the ``CI``
environment variable is unset. With ``rich`` installed it draws a rich progress bar, else a
plain ``\\r``-updated line; either is removed when the check ends.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Any, TextIO

#: seconds before anything is shown.
DELAY = 2.0
#: seconds between redraws of the plain line.
INTERVAL = 0.2


def _wanted(stream: TextIO) -> bool:
    if os.environ.get("CI"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """``with Progress(total, label) as p: ... p.advance(k)``; ``total`` may be None."""

    def __init__(
        self,
        total: int | None,
        label: str,
        *,
        stream: TextIO | None = None,
        delay: float | None = None,
        use_rich: bool | None = None,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.delay = DELAY if delay is None else delay
        self.done = 0
        self.enabled = _wanted(self.stream)
        self.use_rich = _has_rich() if use_rich is None else use_rich
        self._start = time.monotonic()
        self._last = 0.0
        self._bar: Any = None
        self._task: Any = None
        self.shown = False

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def advance(self, k: int = 1) -> None:
        self.done += k
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start < self.delay or now - self._last < INTERVAL:
            return
        self._last = now
        self._draw()

    def _draw(self) -> None:
        self.shown = True
        if self.use_rich:
            if self._bar is None:
                self._bar, self._task = _rich_bar(self.stream, self.label, self.total)
            self._bar.update(self._task, completed=self.done)
            return
        of = f"/{self.total}" if self.total else ""
        pct = f" {100 * self.done / self.total:3.0f}%" if self.total else ""
        self.stream.write(f"\r{self.label}:{pct} {self.done}{of} evaluations of f")
        self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _rich_bar(stream: TextIO, label: str, total: int | None) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=stream),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task(label, total=total)
