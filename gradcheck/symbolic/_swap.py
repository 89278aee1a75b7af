"""Functions numpy cannot run on symbols, swapped for symbolic ones while a proof runs.

numpy calls a method of the entry for ``np.exp``, ``np.tanh``, …; a scipy ufunc (``expit``,
``erf``) refuses object arrays instead. ``prove_vjp(..., swap={module: {name: replacement}})``
sets ``module.name = replacement`` for the duration of the proof and restores it afterwards
(also when the proof fails), as ``unittest.mock.patch`` does: patch where the function is
looked up. So the code under proof should call ``module.name(x)`` at run time, e.g. keep its
scipy functions in one module of its own (``from mylayer import _elementwise as ew``;
``ew.sigmoid(a)``), and a proof swaps that module. `elementwise` builds a replacement from a
sympy function; `sigmoid` is the one for ``scipy.special.expit``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from gradcheck._errors import InvalidInputError, InvalidTypeError
from gradcheck.symbolic._functions import Sigmoid
from gradcheck.symbolic._values import Symbolic, as_expr

__all__ = ["Swap", "elementwise", "sigmoid", "swapped"]

Swap = Mapping[ModuleType | str, Mapping[str, Callable[..., Any]]]
_MISSING = object()


def elementwise(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An array function applying the sympy ``function`` to every entry of a symbolic array.

    For ``swap``: ``{mymodule: {"erf": elementwise(sympy.erf)}}``. Takes a symbolic array, a
    symbolic entry or a number and returns the same kind (an object array for an array).
    """

    def apply(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            out = np.empty(x.shape, dtype=object)
            for index, value in np.ndenumerate(x):
                out[index] = Symbolic(function(as_expr(value)))
            return out
        return Symbolic(function(as_expr(x)))

    name = getattr(function, "__name__", "function")
    apply.__name__ = name
    apply.__doc__ = f"{name} on every entry of a symbolic array (gradcheck.symbolic.elementwise)."
    return apply


sigmoid = elementwise(Sigmoid)
sigmoid.__doc__ = (
    "σ(x) = 1/(1+e^{-x}) on every entry, with σ' = σ(1−σ): the stand-in for scipy's expit."
)


def _module(target: ModuleType | str) -> ModuleType:
    if isinstance(target, ModuleType):
        return target
    if isinstance(target, str):
        try:
            return importlib.import_module(target)
        except ImportError as exc:
            raise InvalidInputError(f"swap: cannot import module {target!r} ({exc})") from None
    raise InvalidTypeError(
        f"swap: keys are modules or module names, got {type(target).__name__}; "
        "e.g. swap={my_module: {'expit': gradcheck.symbolic.sigmoid}}"
    )


@contextmanager
def swapped(swap: Swap | None) -> Iterator[None]:
    """Set every ``module.name = replacement`` of ``swap`` inside the block, then restore."""
    saved: list[tuple[ModuleType, str, Any]] = []
    try:
        for target, names in (swap or {}).items():
            module = _module(target)
            for name, replacement in names.items():
                old = getattr(module, name, _MISSING)
                if old is _MISSING:
                    raise InvalidInputError(
                        f"swap: module {module.__name__} has no attribute {name!r}: swap the "
                        "name the code looks up at run time"
                    )
                if not callable(replacement):
                    raise InvalidTypeError(
                        f"swap: the replacement for {module.__name__}.{name} is not callable"
                    )
                saved.append((module, name, old))
                setattr(module, name, replacement)
        yield
    finally:
        for module, name, old in reversed(saved):
            setattr(module, name, old)
