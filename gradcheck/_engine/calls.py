"""Calling the user's code: under the user's numpy error state, with arrays it cannot corrupt.

**Error state.** The checker's own arithmetic runs under `checking` (``np.errstate(all=
"ignore")``: it meets inf and NaN on purpose, at a stencil that leaves f's domain, and handles
them explicitly), so an ``np.seterr(all="raise")`` of the user's cannot turn it into a
``FloatingPointError``. The user's functions run under the error state that was in force when
the check was called (`Calls.user`): a user who asked numpy to raise in their code still gets
that.

**Fresh arrays.** f is evaluated thousands of times, so it is first called with read-only
arrays (no copy: fast mode on 10⁷ parameters must not copy them at every call). The first time
f writes into one, numpy raises ``ValueError: ... read-only`` inside f; the call is then
repeated with fresh writable copies, every later call gets copies too, each is compared with
what was passed after the call, and a write is reported as a note in the result ("f modified
`params['W']` in place"): a function that only modifies its inputs is checked and passes. The
analytic side (grad, backward) is called a few times only and always gets fresh copies (and
``dout`` is copied for every call of backward), compared afterwards the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from gradcheck._tree import Member, Tree, arrays, map_arrays

T = TypeVar("T")


def _user_state() -> dict[str, str]:
    state = np.geterr()
    return {k: str(v) for k, v in state.items() if k in ("divide", "over", "under", "invalid")}


@dataclass
class Calls:
    """How one check calls the user's code, and what it noticed.

    ``f`` and ``grad`` name the user's two functions in notes ("f", "grad"; "forward",
    "backward"). Create it on entry to a checker, before changing numpy's error state.
    """

    f: str = "f"
    grad: str = "grad"
    errstate: dict[str, str] = field(default_factory=_user_state)
    copying: bool = False  # f wrote into a read-only argument once: copies from then on
    readonly_error: str = ""  # numpy's message when it did
    notes: list[str] = field(default_factory=list)

    def user(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` under the user's numpy error state."""
        with np.errstate(**self.errstate):  # type: ignore[arg-type]
            return fn(*args)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def report(self) -> list[str]:
        """The notes for the result."""
        if self.readonly_error and not any(n.startswith(f"{self.f} modified") for n in self.notes):
            return [
                f"{self.f} needs writable arrays (numpy: {self.readonly_error}); it was called "
                "with fresh copies from then on, and modified none of them.",
                *self.notes,
            ]
        return list(self.notes)

    def modified(self, who: str, path: str) -> None:
        self.note(
            f"{who} modified `{path}` in place. gradcheck gives every call fresh arrays, so the "
            "check is unaffected, but a caller that reuses the array sees it change."
        )


def checking() -> AbstractContextManager[Any]:
    """The checker's own numpy error state (see the module docstring)."""
    return np.errstate(all="ignore")


def readonly(x: Any) -> NDArray[Any]:
    """``x`` as an ndarray that cannot be written through (a view; no copy)."""
    arr = np.asarray(x)
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr


def fresh(x: Any) -> NDArray[Any]:
    """A writable copy of ``x`` (a broadcast view is materialized)."""
    return np.array(x, copy=True, subok=False)


def same(a: Any, b: Any) -> bool:
    """``a`` and ``b`` hold the same values (NaN equal to NaN where the dtype has NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if np.array_equal(a, b):  # no temporary beyond one boolean per entry
        return True
    return a.dtype.kind in "fc" and b.dtype.kind in "fc" and np.array_equal(a, b, equal_nan=True)


def _is_readonly_error(exc: ValueError) -> bool:
    return "read-only" in str(exc) or "readonly" in str(exc)


def call_f(
    calls: Calls, raw: Callable[[list[Any]], T], xs: Sequence[Any], paths: Sequence[str]
) -> T:
    """``raw(xs)`` with read-only arrays, or fresh copies once f has written into one."""
    if not calls.copying:
        try:
            return raw([readonly(x) for x in xs])
        except ValueError as exc:
            if not _is_readonly_error(exc):
                raise
            calls.copying, calls.readonly_error = True, str(exc)
    copies = [fresh(x) for x in xs]
    out = raw(copies)
    for path, x, y in zip(paths, xs, copies, strict=True):
        if not same(x, y):
            calls.modified(calls.f, path)
    return out


@dataclass
class Constants:
    """A tree's constant members as the user's code gets them (`gradcheck._tree.Tree.build`):
    fresh containers at every call, the arrays read-only views (fresh copies once the user's
    code has written into one, and always with ``copy=True``); `check` notes the arrays a
    call wrote into."""

    tree: Tree
    user: Calls
    copy: bool = False
    given: list[tuple[Member, Any]] = field(default_factory=list)

    def __call__(self, m: Member) -> Any:
        value = map_arrays(fresh if self.copy or self.user.copying else readonly, m.value)
        self.given.append((m, value))
        return value

    def check(self, who: str) -> None:
        """Note the constants the last call wrote into, and forget them."""
        for m, value in self.given:
            theirs = dict(arrays(value, m.path))  # what the call added (a dict entry) is not ours
            for path, a in arrays(m.value, m.path):
                if path in theirs and not same(a, theirs[path]):
                    self.user.modified(who, path)
        self.given.clear()
