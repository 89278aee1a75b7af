"""The Hypothesis profiles of a gradcheck proof suite, defined once: ``dev``, ``ci``, ``thorough``,
``campaign``.

``dev``       fast local runs (the default outside CI): 20 examples, no deadline;
``ci``        the default when ``CI`` is set: derandomized, so a CI failure replays exactly;
              50 examples, no deadline, no example database, the reproduction blob printed on
              failure, the too-slow health check off (FD checks are slow by design);
``thorough``  nightly campaigns: 1000 examples, every phase (``explain`` too), blob printed;
``campaign``  what ``gradcheck campaign``'s HypoFuzz workers run: never derandomized (HypoFuzz
              skips derandomized tests), no deadline.

`register` adds them to Hypothesis, once per process: the first call replaces Hypothesis'
built-in ``ci`` (100 examples), later calls change nothing. gradcheck's pytest plugin makes that
first call before any ``conftest.py`` runs, so a project that registers its own ``dev``, ``ci``
or ``thorough`` there keeps it. `load` registers and loads one, by default `default_name`:
``$HYPOTHESIS_PROFILE``, else ``ci`` under CI, else ``dev``; a project's ``conftest.py`` calls
``gradcheck.profiles.load()`` to make the default the active one, and ``--gradcheck-profile``
(or Hypothesis' ``--hypothesis-profile``) picks another. Needs hypothesis (the ``test`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import InvalidArgument

__all__ = ["PROFILES", "default_name", "load", "register"]

#: the settings of each profile, by name.
PROFILES: Mapping[str, Mapping[str, Any]] = {
    "dev": {"max_examples": 20, "deadline": None},
    "ci": {
        "max_examples": 50,
        "deadline": None,
        "derandomize": True,
        "database": None,
        "print_blob": True,
        "suppress_health_check": [HealthCheck.too_slow],
    },
    "thorough": {
        "max_examples": 1000,
        "deadline": None,
        "print_blob": True,
        "suppress_health_check": [HealthCheck.too_slow],
        "phases": list(Phase),
    },
    # `gradcheck campaign`: HypoFuzz fuzzes only tests that are not derandomized
    "campaign": {"deadline": None, "derandomize": False},
}


_registered_once = False


def _registered(name: str) -> bool:
    try:
        settings.get_profile(name)
    except InvalidArgument:
        return False
    return True


def register() -> None:
    """Register ``dev``, ``ci`` and ``thorough`` with Hypothesis; only the first call does."""
    global _registered_once
    if _registered_once:
        return
    # on Hypothesis' own defaults, not on whatever is active (under CI, Hypothesis has loaded its
    # derandomized "ci": a "dev" built on it would be derandomized too)
    base = settings.get_profile("default")
    for name, values in PROFILES.items():
        settings.register_profile(name, parent=base, **values)
    _registered_once = True


def default_name(environ: Mapping[str, str] = os.environ) -> str:
    """``$HYPOTHESIS_PROFILE`` if set, else ``ci`` when ``$CI`` is set, else ``dev``."""
    return environ.get("HYPOTHESIS_PROFILE") or ("ci" if environ.get("CI") else "dev")


def load(name: str | None = None) -> str:
    """Register the profiles (`register`), load ``name`` (default: `default_name`), return it.

    Raises ValueError naming the registered choices for a profile nobody registered."""
    register()
    chosen = name or default_name()
    if not _registered(chosen):
        raise ValueError(
            f"Hypothesis profile {chosen!r} is not registered; use {', '.join(PROFILES)} "
            "(gradcheck's) or register it in your conftest.py first."
        )
    settings.load_profile(chosen)
    return chosen
