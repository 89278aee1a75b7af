"""Progress shows on a terminal after a delay, never in CI logs, pipes or files."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import gradcheck
from gradcheck import _progress
from gradcheck._progress import Progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(stream, total=100, **kw):
    with Progress(total, "gradcheck f", stream=stream, **kw) as p:
        for _ in range(total):
            p.advance(1)
    return stream.getvalue()


@pytest.fixture
def no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(_progress, "INTERVAL", 0.0)


def test_a_plain_line_is_drawn_on_a_terminal_and_erased_at_the_end(no_ci):
    out = run(FakeTTY(), delay=0.0, use_rich=False)
    assert "gradcheck f: 100% 100/100 evaluations of f" in out
    assert out.endswith("\r\x1b[2K")


def test_rich_draws_the_bar_when_installed(no_ci):
    pytest.importorskip("rich")
    assert run(FakeTTY(), delay=0.0, use_rich=True)


def test_nothing_is_shown_before_the_delay(no_ci):
    assert run(FakeTTY(), delay=60.0, use_rich=False) == ""


def test_nothing_is_shown_when_not_a_terminal(no_ci):
    assert run(io.StringIO(), delay=0.0, use_rich=False) == ""


def test_nothing_is_shown_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "1")
    assert run(FakeTTY(), delay=0.0, use_rich=False) == ""


def test_a_long_check_reports_progress_on_stderr_and_the_result_is_unchanged(no_ci, monkeypatch):
    x = np.linspace(-1, 1, 50)

    def f(x):
        return float(np.sum(x**3))

    quiet = gradcheck.check_grad(f, lambda x: 3 * x**2, x)
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    monkeypatch.setattr(_progress, "_has_rich", lambda: False)
    res = gradcheck.check_grad(f, lambda x: 3 * x**2, x)
    assert "/200 evaluations of f" in tty.getvalue()  # 4 stencil points x 50 entries
    assert str(res) == str(quiet)
