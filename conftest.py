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
    """A proof run (``gradcheck prove``, which writes ``--gradcheck-proof``) deselects the
    ``packaging`` tests: they prove no ID and re-run the whole proof from the wheels (about a
    minute more). The test suite (``pytest -n 2``, CI) runs them."""
    if not config.getoption("--gradcheck-proof", default=None):
        return
    packaging = [item for item in items if item.get_closest_marker("packaging")]
    if packaging:
        config.hook.pytest_deselected(items=packaging)
        items[:] = [item for item in items if not item.get_closest_marker("packaging")]
