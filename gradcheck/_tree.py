"""Parameter trees: an ndarray, or a (nested) dict / list / tuple of ndarrays.

`flatten` turns a tree into leaves with readable paths (``params['W']``, ``params[0]['b']``);
`unflatten` rebuilds the same structure around new leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._errors import InvalidInputError, InvalidTypeError


@dataclass(frozen=True)
class Leaf:
    """One array of a parameter tree, with its path from the root."""

    path: str
    array: NDArray[Any]


def _key(k: object) -> str:
    return f"[{k!r}]"


def flatten(tree: object, name: str = "params") -> list[Leaf]:
    """The leaves of ``tree`` in a fixed order (dict insertion order, then sequence order)."""
    leaves: list[Leaf] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + _key(k))
        elif isinstance(node, list | tuple):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
        else:
            leaves.append(Leaf(path, node))  # type: ignore[arg-type]

    walk(tree, name)
    return leaves


def unflatten(tree: object, new: list[Any]) -> Any:
    """``tree``'s structure with its leaves replaced, in `flatten` order, by ``new``."""
    it = iter(new)

    def build(node: object) -> Any:
        if isinstance(node, dict):
            return {k: build(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            items = [build(v) for v in node]
            return items if isinstance(node, list) else tuple(items)
        return next(it)

    return build(tree)


def structure(tree: object) -> object:
    """A hashable description of ``tree``'s structure (containers and keys, not leaves)."""
    if isinstance(tree, dict):
        return ("dict", tuple((k, structure(v)) for k, v in tree.items()))
    if isinstance(tree, list | tuple):
        return (type(tree).__name__, tuple(structure(v) for v in tree))
    return "leaf"


def validate_params(params: object, argname: str = "params") -> list[Leaf]:
    """Flatten ``params`` and check every leaf is a non-empty finite real float array."""
    leaves = flatten(params, argname)
    if not leaves:
        raise InvalidInputError(
            f"`{argname}` holds no arrays: pass an ndarray or a dict/list/tuple of ndarrays."
        )
    for leaf in leaves:
        a = leaf.array
        if not isinstance(a, np.ndarray):
            raise InvalidTypeError(
                f"{leaf.path} is a {type(a).__name__}, not an ndarray: wrap it with "
                "np.asarray(..., dtype=float) (scalars as 0-d arrays)."
            )
        _check_float_dtype(leaf.path, a.dtype)
        if a.size == 0:
            raise InvalidInputError(f"{leaf.path} is empty (shape {a.shape}): nothing to check.")
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InvalidInputError(
                f"{leaf.path}{list(idx)} is {a[idx]}: the check needs finite parameters; "
                "replace NaN/inf before checking."
            )
    return leaves


def _check_float_dtype(path: str, dtype: np.dtype[Any]) -> None:
    if np.issubdtype(dtype, np.complexfloating):
        raise InvalidTypeError(
            f"{path} is complex ({dtype}): gradcheck checks real gradients; split it into "
            "real and imaginary parts as two real parameters."
        )
    if not np.issubdtype(dtype, np.floating):
        raise InvalidTypeError(
            f"{path} has dtype {dtype}: a gradient needs real floating parameters; "
            "convert with .astype(np.float64)."
        )


def validate_grad(
    params: object, leaves: list[Leaf], grad: object, what: str = "grad(params)"
) -> list[NDArray[Any]]:
    """Check ``grad`` mirrors ``params``: same tree structure, shapes, dtypes; finite values."""
    if structure(grad) != structure(params):
        raise InvalidTypeError(
            f"{what} returned a tree of structure {_describe(grad)}, but params is "
            f"{_describe(params)}: return one gradient per parameter, in the same containers."
        )
    out = []
    for leaf, g_leaf in zip(leaves, flatten(grad, leaf_root(leaves)), strict=True):
        g = g_leaf.array
        if not isinstance(g, np.ndarray):
            raise InvalidTypeError(
                f"{what} gives {type(g).__name__} for {leaf.path}; return an ndarray."
            )
        if g.shape != leaf.array.shape:
            raise InvalidInputError(
                f"{what} gives shape {g.shape} for {leaf.path}, whose shape is "
                f"{leaf.array.shape}: the gradient must have the parameter's shape."
            )
        if g.dtype != leaf.array.dtype:
            raise InvalidTypeError(
                f"{what} gives dtype {g.dtype} for {leaf.path}, whose dtype is "
                f"{leaf.array.dtype}: return the gradient in the parameter's dtype."
            )
        bad = ~np.isfinite(g)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InvalidInputError(
                f"{what} gives {g[idx]} at {leaf.path}{list(idx)}: the analytic gradient "
                "must be finite at the checked point."
            )
        out.append(g)
    return out


def leaf_root(leaves: list[Leaf]) -> str:
    path = leaves[0].path
    return path.split("[", 1)[0]


def _describe(tree: object) -> str:
    """``tree``'s structure in Python notation, leaves shown as ``array``."""
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in tree.items()) + "}"
    if isinstance(tree, list):
        return "[" + ", ".join(_describe(v) for v in tree) + "]"
    if isinstance(tree, tuple):
        return "(" + ", ".join(_describe(v) for v in tree) + ("," if len(tree) == 1 else "") + ")"
    return "array"


def map_leaves(fn: Callable[[NDArray[Any]], Any], tree: object) -> Any:
    """``tree`` with ``fn`` applied to every leaf."""
    return unflatten(tree, [fn(leaf.array) for leaf in flatten(tree)])
