"""The proof suite's own setup: the default Hypothesis profile, numpy errors fail a proof, heavy
campaigns are opt-in.

Runs wherever the proofs run: from a checkout (beside the repository's conftest) or from the
installed package (``gradcheck prove`` on ``lstm_gradients/proofs``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from gradcheck import profiles

# The kit's asserts (assert_pass, ...) are the proofs' checks too: rewritten by pytest like the
# test modules', they explain a failure and count as the test's evidence (a passing assert).
pytest.register_assert_rewrite("lstm_gradients.proofs.kit")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked `slow`")


def pytest_configure(config: pytest.Config) -> None:
    """The default profile of `gradcheck.profiles` (``$HYPOTHESIS_PROFILE``, else ``ci`` under
    CI, else ``dev``), unless one was chosen on the command line: installed, without the
    repository's conftest.py, the proofs would otherwise run under Hypothesis' own default
    (100 examples, a 200 ms deadline)."""
    if not (config.getoption("--gradcheck-profile") or config.getoption("--hypothesis-profile")):
        profiles.load()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) the heavy campaigns unless asked for.

    A deselected test reports nothing, so the IDs it names are judged by the default tests alone;
    a skip would mark those IDs *skipped* in the proof report although nothing was left out of
    the default proof. Every ID a slow test names is also named by a default test (checked in
    proofs/test_catalogue.py)."""
    if config.getoption("--run-slow") or "slow" in (config.getoption("-m") or ""):
        return
    slow = [item for item in items if "slow" in item.keywords]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if "slow" not in item.keywords]


@pytest.fixture(autouse=True)
def _numpy_errors_are_failures() -> Iterator[None]:
    """Overflow, division by zero and invalid operations fail the test; underflow is harmless."""
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield
