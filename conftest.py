"""The repository's test setup: gradcheck's plugin from a plain clone, the default Hypothesis
profile, numpy errors as failures.

Profiles (defined once, in `gradcheck.profiles`): ``dev`` (the default), ``ci`` (the default
when ``CI`` is set; derandomized), ``thorough`` (nightly); ``HYPOTHESIS_PROFILE=NAME``,
``--hypothesis-profile NAME`` or ``--gradcheck-profile NAME`` choose another.

Budget: the default suite (``ci`` profile, ``-n 2``) runs in under 5 minutes on 2 cores.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator

import numpy as np
import pytest

from gradcheck import profiles

# The proof plugin and the fixtures arrive through their pytest11 entry points once gradcheck is
# installed; from a plain clone, load them here (loading one twice would make pluggy refuse the
# second copy).
_installed = {ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
pytest_plugins = [
    p for p in ("gradcheck.pytest_plugin", "gradcheck.fixtures") if p not in _installed
]

# The default profile, now: --hypothesis-profile and --gradcheck-profile are applied later (at
# pytest_configure), so they win.
profiles.load()


@pytest.fixture(autouse=True)
def _numpy_errors_are_failures() -> Iterator[None]:
    """Overflow, division by zero and invalid operations fail the test; underflow is harmless."""
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) tests that do not belong in this run.

    ``slow`` tests (heavy campaigns: the whole scipy.special battery, PLOT-A's own setting, the
    installed proof re-run from the wheels) run only when asked for: ``-m slow`` or
    ``--run-slow`` (the proof's option, registered by article/lstm_gradients/proofs/conftest.py,
    which deselects the same way for a proof run); .ci/run runs ``-m slow`` after the default
    run. A proof run (``gradcheck prove``, which writes ``--gradcheck-proof``) also deselects
    the ``packaging`` tests: they prove no ID. The test suite (``pytest -n 2``, CI) runs them."""
    slow = not (
        config.getoption("--run-slow", default=False) or "slow" in (config.getoption("-m") or "")
    )
    packaging = bool(config.getoption("--gradcheck-proof", default=None))

    def out(item: pytest.Item) -> bool:
        return (slow and item.get_closest_marker("slow") is not None) or (
            packaging and item.get_closest_marker("packaging") is not None
        )

    dropped = [item for item in items if out(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not out(item)]
