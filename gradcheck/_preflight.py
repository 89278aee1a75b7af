"""What ``gradcheck prove`` checks before any test runs, and the plugins it tells pytest to load.

Each check ends the command with one line on stderr and exit status 2 (a usage or setup error;
1 is kept for "an ID failed or is unproven"). This module imports neither pytest nor Hypothesis:
it must speak when they are missing.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import tempfile
from pathlib import Path

__all__ = ["ProveUsageError", "autoloaded", "check_out_dir", "missing_extra", "plugin_args"]

#: the ``prove`` extra: what the pytest run underneath needs (pytest-xdist for ``-n``).
PROVE_EXTRA = 'pip install "gradcheck[prove]"'


class ProveUsageError(Exception):
    """``gradcheck prove`` cannot run as asked; the message is the one line the user sees."""


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def missing_extra(workers: int) -> str | None:
    """The one-line complaint when a package ``prove`` needs is not installed, else None."""
    missing = [name for name in ("pytest", "hypothesis") if not _installed(name)]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return f"{' and '.join(missing)} {verb} not installed; {PROVE_EXTRA}"
    if workers > 0 and not _installed("xdist"):
        return (
            f"-n {workers} runs the tests on pytest-xdist workers, which is not installed; "
            "install pytest-xdist or pass -n 0"
        )
    return None


def check_out_dir(out: str) -> None:
    """Make sure the report directory ``out`` exists (it is created) and can be written to."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ProveUsageError(f"--out {out} is a file, not a directory; pass a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ProveUsageError(
            f"--out {out} cannot be written ({reason}); pass a directory you can write to"
        ) from None


def autoloaded(dist_module: str) -> bool:
    """Whether pytest loads the plugin module ``dist_module`` by itself (its pytest11 entry)."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    return any(ep.value == dist_module for ep in md.entry_points(group="pytest11"))


def plugin_args(workers: int) -> list[str]:
    """``-p`` options for the plugins ``prove`` relies on that pytest would not load itself.

    Under ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` pytest loads no entry-point plugin: gradcheck's
    (the ``proves`` marker, ``--gradcheck-*``), Hypothesis's (``--hypothesis-seed``) and, for
    ``-n``, xdist's must be named. Naming one that pytest also autoloads would register it twice,
    so each is named only when it is not autoloaded.
    """
    plugins = [
        ("gradcheck.pytest_plugin", "gradcheck.pytest_plugin"),
        ("_hypothesis_pytestplugin", "hypothesis.extra.pytestplugin"),
    ]
    if workers > 0:
        plugins.append(("xdist.plugin", "xdist.plugin"))
    args: list[str] = []
    for entry, module in plugins:
        if not autoloaded(entry):
            args += ["-p", module]
    return args
