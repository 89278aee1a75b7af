"""Why a test's passing ``assert`` statements may go uncounted as proof evidence.

The proof plugin counts passing asserts through pytest's ``pytest_assertion_pass`` hook. pytest
calls it only from assert statements it rewrote (test modules, ``conftest.py``, modules named by
``pytest.register_assert_rewrite``) while the ini option ``enable_assertion_pass_hook`` is on,
and only when the module was rewritten with it on: pytest caches rewritten modules as
``__pycache__/*-pytest-*.pyc`` without recording that setting, so a module cached before the
option was switched on keeps asserts that never call the hook. ``--assert=plain`` rewrites
nothing (and under ``python -O`` its asserts do not even run; rewritten ones do, being ifs).

`run_problem` names what stops the counting for a whole run, `module_problem` what stops it for
one test function; both return ``""`` when asserts are counted. The plugin attaches the reason
to a test that ends without evidence, so the report says why instead of a bare "no evidence".
`written_by_the_test` tells the test's own asserts from those of the libraries pytest rewrites
because they are pytest plugins.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
from _pytest import assertion

__all__ = ["HOOK_INI", "module_problem", "run_problem", "written_by_the_test"]

HOOK_INI = "enable_assertion_pass_hook"
_HOOK_HELPER = "_check_if_assertion_pass_impl"  # what a hooked, rewritten assert calls
_REWRITTEN = "@pytest_ar"  # the global every rewritten assert refers to


def run_problem(config: Any) -> str:
    """Why no passing assert of this run can be counted (``""``: they can)."""
    if config.getoption("assertmode", "rewrite") == "plain":
        if sys.flags.optimize:  # rewritten asserts are plain ifs and survive -O; these are not
            return (
                "python -O strips the assert statements, which --assert=plain leaves as they "
                "are, so no assert ran; drop --assert=plain (or -O)"
            )
        return (
            "pytest runs with --assert=plain, which rewrites no assert, so none is counted; "
            "drop --assert=plain"
        )
    if not config.getini(HOOK_INI):
        return (
            f"the ini option {HOOK_INI} is off, so pytest does not report passing asserts; "
            f"add `{HOOK_INI} = true` to your pytest configuration (or pass "
            f"-o {HOOK_INI}=true; gradcheck prove does) and delete the __pycache__ "
            "directories of your tests once"
        )
    return ""


def module_problem(function: Any) -> str:
    """Why the asserts of this (rewritten) test function are not counted (``""``: they are)."""
    code = getattr(function, "__code__", None)
    if not isinstance(code, types.CodeType):
        return ""
    rewritten = hooked = False
    for c in _codes(code):
        rewritten = rewritten or _REWRITTEN in c.co_names
        hooked = hooked or _HOOK_HELPER in c.co_names
    if rewritten and not hooked:
        where = getattr(sys.modules.get(getattr(function, "__module__", "")), "__file__", None)
        return (
            f"its module {where or function.__module__} was rewritten by pytest before {HOOK_INI} "
            "was on and is cached that way; delete the __pycache__/*-pytest-*.pyc files beside "
            "it and run again"
        )
    return ""


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


# the frames between a passing assert and the hook: pytest's own modules and pluggy's
_MACHINERY = tuple(
    str(Path(path).resolve().parent) + os.sep
    for path in (str(Path(assertion.__file__).parent), pluggy.__file__)
)


def written_by_the_test(test_file: Path, frame: types.FrameType | None) -> bool:
    """Whether the passing assert that called the hook (found above ``frame``) lies in a file
    beside ``test_file`` or below it: the test module, its conftest and helper modules."""
    # both sides resolved: an installed proof may reach pytest through a symlink (the packaging
    # tests' venvs do), and the raw frame path then matched no resolved machinery path
    while frame is not None and _real(frame.f_code.co_filename).startswith(_MACHINERY):
        frame = frame.f_back
    if frame is None:
        return False
    return _real(frame.f_code.co_filename).startswith(_real(str(test_file.parent)) + os.sep)


@functools.lru_cache(maxsize=1024)
def _real(path: str) -> str:
    return os.path.realpath(path)
