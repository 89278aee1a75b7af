"""Benchmarks run peers (numdifftools, scipy) whose internals may overflow or warn: the test
suite's numpy-errors-raise fixture is replaced by numpy's defaults here."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _numpy_errors_are_failures() -> Iterator[None]:
    with np.errstate(all="warn"):
        yield
