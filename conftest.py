"""Hypothesis profiles and numpy error handling for the whole suite.

Profiles (``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``):

``dev``       fast local runs (the default outside CI);
``ci``        the default when ``CI`` is set: derandomized, so a CI failure replays exactly,
              enough examples to matter, no deadline, statistics and the reproduction blob
              printed on failure;
``thorough``  many examples, for nightly campaigns (``-m slow`` adds the heavy tests).

Budget: the default suite (``ci`` profile, ``-n 2``) runs in under 5 minutes on 2 cores.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

# The proof plugin arrives through its pytest11 entry point once gradcheck is installed; from a
# plain clone, load it here (loading it twice would make pluggy refuse the second copy).
if not any(
    ep.value == "gradcheck.pytest_plugin"
    for ep in importlib.metadata.entry_points(group="pytest11")
):
    pytest_plugins = ["gradcheck.pytest_plugin"]

settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
    phases=list(Phase),
)
_default_profile = "ci" if os.environ.get("CI") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or _default_profile)


@pytest.fixture(autouse=True)
def _numpy_errors_are_failures() -> Iterator[None]:
    """Overflow, division by zero and invalid operations fail the test; underflow is harmless."""
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield
