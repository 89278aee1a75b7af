"""Parameter trees: an ndarray, or a (nested) dict / list / tuple / namedtuple / dataclass of
ndarrays.

`parse` takes a tree apart into the leaves to check, each with a readable path
(``params['W']``, ``params[0]['b']``, ``params.W`` for a namedtuple or dataclass field), and
validates them: real floating ndarrays (complex ones too where the checker takes them, see
`gradcheck._complex`), 0-d included, non-empty, finite. ``wrt`` names the
top-level members to check; the others are constants (index arrays, masks, targets, a
``conv_param`` dict), passed to the user's function as they are and never differenced.
`Tree.build` puts new leaves back into the same containers (namedtuples and dataclasses as
their own type, a dict subclass as its own type); `Tree.gradient` reads a gradient tree in the
parameters' order (a dict's keys in any order; a list or a tuple for any sequence) and checks
that it mirrors them.

A tree more than `MAX_DEPTH` levels deep, or one that contains itself, is a typed error, not
a ``RecursionError``. No function here keeps a reference to the leaves it builds (no closure
cycle), so an evaluated point is freed as soon as the caller drops it.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._errors import InvalidInputError, InvalidTypeError

#: the deepest tree gradcheck reads (a model's parameters are a few levels deep).
MAX_DEPTH = 100
#: how much of a tree an error message describes.
DESCRIBED = 160


@dataclass(frozen=True)
class Leaf:
    """One array of a parameter tree, with its path from the root."""

    path: str
    array: NDArray[Any]


def _kind(node: object) -> str:
    if isinstance(node, np.ndarray):
        return "leaf"
    if isinstance(node, dict):
        return "dict"
    if isinstance(node, tuple) and hasattr(type(node), "_fields"):
        return "namedtuple"
    if isinstance(node, list | tuple):
        return "sequence"
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return "dataclass"
    return "leaf"


def _children(node: Any, kind: str) -> list[tuple[Any, str, Any]]:
    """``(key, path suffix, child)`` for every child of a container, in order."""
    if kind == "dict":
        return [(k, f"[{k!r}]", v) for k, v in node.items()]
    if kind == "namedtuple":
        return [(k, f".{k}", v) for k, v in zip(node._fields, node, strict=True)]
    if kind == "sequence":
        return [(i, f"[{i}]", v) for i, v in enumerate(node)]
    return [(f.name, f".{f.name}", getattr(node, f.name)) for f in dataclasses.fields(node)]


def _rebuild(node: Any, kind: str, keys: list[Any], items: list[Any]) -> Any:
    """A container of ``node``'s own type holding ``items``."""
    if kind == "dict":
        if type(node) is dict:
            return dict(zip(keys, items, strict=True))
        out = copy.copy(node)  # OrderedDict, defaultdict, ...: their type and attributes
        out.clear()
        out.update(zip(keys, items, strict=True))
        return out
    if kind == "namedtuple":
        return type(node)(*items)
    if kind == "sequence":
        return items if type(node) is list else type(node)(items)
    return dataclasses.replace(node, **dict(zip(keys, items, strict=True)))


def _check_rebuildable(node: Any, kind: str, path: str) -> None:
    if kind == "dataclass":
        hidden = [f.name for f in dataclasses.fields(node) if not f.init]
        if hidden:
            raise InvalidTypeError(
                f"{path} is a {type(node).__name__} dataclass whose field(s) {hidden} are "
                "not __init__ arguments, so gradcheck cannot rebuild it around new arrays; "
                "use a dict of its arrays instead."
            )
    elif kind == "sequence" and type(node) not in (list, tuple):
        try:
            type(node)(list(node))
        except Exception:
            raise InvalidTypeError(
                f"{path} is a {type(node).__name__}, which gradcheck cannot rebuild from a "
                "list of its items; use a dict, list or tuple of the arrays instead."
            ) from None


def walk(
    node: object,
    path: str,
    visit: Callable[[str, object], None],
    *,
    depth: int = 0,
    ancestors: frozenset[int] = frozenset(),
) -> None:
    """Call ``visit(path, leaf)`` for every leaf, in order; typed errors for cycles (a node
    among its own ``ancestors``, given by id) and depth."""
    _walk(node, path, visit, depth, set(ancestors))


def _walk(
    node: object, path: str, visit: Callable[[str, object], None], depth: int, seen: set[int]
) -> None:
    kind = _kind(node)
    if kind == "leaf":
        visit(path, node)
        return
    if id(node) in seen:
        raise InvalidInputError(
            f"{path} contains itself (a reference cycle): a parameter tree must be a tree. "
            "Pass a dict of the arrays."
        )
    if depth >= MAX_DEPTH:
        raise InvalidInputError(
            f"{path[:80]}... is nested more than {MAX_DEPTH} levels deep: gradcheck reads "
            f"trees of at most {MAX_DEPTH} levels. Pass a flat dict of the arrays."
        )
    _check_rebuildable(node, kind, path)
    seen.add(id(node))
    for _, suffix, child in _children(node, kind):
        _walk(child, path + suffix, visit, depth + 1, seen)
    seen.discard(id(node))


def _build(node: Any, it: Iterator[Any], const: Callable[[int, Any], Any], depth: int) -> Any:
    """``node`` with its leaves taken from ``it``; at depth 0 ``const(position, member)``
    gives a constant member (or returns `_CHECKED` for a member to fill from ``it``)."""
    kind = _kind(node)
    if kind == "leaf":
        return next(it)
    keys, items = [], []
    for pos, (key, _, child) in enumerate(_children(node, kind)):
        value = const(pos, child) if depth == 0 else _CHECKED
        keys.append(key)
        items.append(_build(child, it, const, depth + 1) if value is _CHECKED else value)
    return _rebuild(node, kind, keys, items)


_CHECKED = object()


def _no_constants(pos: int, member: Any) -> Any:
    return _CHECKED


def unflatten(tree: object, new: Sequence[Any]) -> Any:
    """``tree``'s structure with its leaves replaced, in order, by ``new``."""
    return _build(tree, iter(new), _no_constants, 0)


@dataclass(frozen=True)
class Member:
    """A top-level member of a tree: its key (dict key, field name or position) and path."""

    key: Any
    path: str
    value: Any


@dataclass(frozen=True)
class Tree:
    """A parameter tree taken apart: the leaves to check, the constants, how to rebuild it.

    ``kind`` is the root's: ``"array"`` (a single array, no members), ``"dict"``,
    ``"dataclass"``, ``"namedtuple"``, ``"sequence"``, or ``"args"`` (check_vjp's arguments,
    named by ``names``).
    """

    root: Any
    name: str
    kind: str
    leaves: tuple[Leaf, ...]
    members: tuple[Member, ...]
    checked: frozenset[int]  # positions of the checked members

    def build(self, xs: Sequence[Any], constants: Callable[[Member], Any] | None = None) -> Any:
        """The tree around new leaves ``xs``; a constant member is ``constants(member)``
        (default: the member as given)."""

        def const(pos: int, member: Any) -> Any:
            if pos in self.checked:
                return _CHECKED
            m = self.members[pos]
            return constants(m) if constants is not None else m.value

        return _build(self.root, iter(xs), const, 0)

    def gradient(self, grad: object, what: str) -> list[NDArray[Any]]:
        """``grad``'s arrays in the order of `leaves`, validated (see `align`)."""
        return align(self, grad, what)


def _members(root: Any, name: str, names: Sequence[str] | None) -> tuple[Member, ...]:
    kind = _kind(root)
    if kind == "leaf":
        return ()
    children = _children(root, kind)
    paths = list(names) if names is not None else [name + sfx for _, sfx, _ in children]
    return tuple(
        Member(key, path, child) for (key, _, child), path in zip(children, paths, strict=True)
    )


def _selected(
    tree_kind: str, members: tuple[Member, ...], wrt: object, name: str
) -> frozenset[int]:
    """Positions of the members ``wrt`` names (all of them when it is None)."""
    if wrt is None:
        return frozenset(range(len(members)))
    if not members:
        raise InvalidInputError(
            f"`wrt` picks top-level members of a dict/list/tuple of parameters, but `{name}` "
            "is a single array: drop `wrt` (every entry of it is checked)."
        )
    one = isinstance(wrt, str | int | np.integer) and not isinstance(wrt, bool)
    items = [wrt] if one else wrt
    if not isinstance(items, list | tuple | set | frozenset):
        raise InvalidTypeError(
            f"`wrt` must be a name, an index, or a tuple of them, not {type(wrt).__name__}."
        )
    if not items:
        raise InvalidInputError("`wrt` is empty: name at least one member to check.")
    return frozenset(_position(tree_kind, members, item) for item in items)


def _position(tree_kind: str, members: tuple[Member, ...], item: object) -> int:
    if isinstance(item, bool | np.bool_):
        item = repr(item)  # never an index
    elif isinstance(item, np.integer):
        item = int(item)
    by_key = tree_kind in ("dict", "dataclass", "namedtuple") or isinstance(item, str)
    if by_key:
        for i, m in enumerate(members):
            if (tree_kind == "args" and m.path == item) or (
                tree_kind != "args" and type(m.key) is type(item) and m.key == item
            ):
                return i
    positional = tree_kind in ("sequence", "namedtuple", "args")
    if positional and isinstance(item, int) and 0 <= item < len(members):
        return item
    shown = [m.path if tree_kind == "args" else m.key for m in members]
    index = "" if tree_kind in ("dict", "dataclass") else f", or an index 0..{len(members) - 1}"
    raise InvalidInputError(
        f"`wrt` names {item!r}, which is not a member: use one of {shown}{index}."
    )


def parse(
    root: object,
    name: str = "params",
    *,
    wrt: object = None,
    names: Sequence[str] | None = None,
    complex_ok: bool = False,
) -> Tree:
    """Take ``root`` apart into validated leaves. ``wrt`` picks the checked top-level members
    (the others are constants); ``names`` makes ``root`` check_vjp's arguments, member ``i``
    named ``names[i]``; ``complex_ok`` accepts complex leaves (`gradcheck._complex`)."""
    kind = "args" if names is not None else _kind(root)
    kind = "array" if kind == "leaf" else kind
    members = _members(root, name, names)
    checked = _selected(kind, members, wrt, name)
    leaves: list[Leaf] = []

    def visit(path: str, leaf: object) -> None:
        leaves.append(Leaf(path, leaf))  # type: ignore[arg-type]

    if members:
        _check_rebuildable(root, _kind(root), name)
        for i, m in enumerate(members):
            top = frozenset([id(root)])
            walk(m.value, m.path, visit if i in checked else _skip, depth=1, ancestors=top)
    else:
        walk(root, name, visit)
    tree = Tree(root, name, kind, tuple(leaves), members, checked)
    if not leaves:
        raise InvalidInputError(
            f"`{name}` holds no arrays to check: pass an ndarray or a dict/list/tuple of ndarrays."
        )
    for leaf in leaves:
        _check_leaf(leaf, tree, complex_ok)
    return tree


def _skip(path: str, leaf: object) -> None:
    """A constant's leaf: anything goes (ints, dicts of settings, objects)."""


def _check_leaf(leaf: Leaf, tree: Tree, complex_ok: bool = False) -> None:
    a: Any = leaf.array
    if _masked(a):
        raise InvalidTypeError(
            f"{leaf.path} is a numpy masked array: finite differences would move the masked "
            "entries too, and masked arithmetic hides them from f. Pass the plain data "
            f"(np.asarray(a.filled(0.0))) and apply the mask inside f{_leave_out(leaf, tree)}."
        )
    if isinstance(a, np.matrix):
        raise InvalidTypeError(
            f"{leaf.path} is an np.matrix, whose * is a matrix product: pass np.asarray(it)."
        )
    if not isinstance(a, np.ndarray):
        if isinstance(a, float | int | np.number) and not isinstance(a, bool):
            fix = "wrap it with np.asarray(..., dtype=float) (a scalar becomes a 0-d array)"
        else:
            fix = (
                "gradcheck reads ndarrays held in dicts, lists, tuples, namedtuples and "
                "dataclasses; use a dict of its arrays"
            )
        raise InvalidTypeError(
            f"{leaf.path} is {a_or_an(type(a).__name__)}, not an ndarray: "
            f"{fix}{_leave_out(leaf, tree)}."
        )
    check_float_dtype(leaf.path, a.dtype, _leave_out(leaf, tree), complex_ok)
    if a.size == 0:
        raise InvalidInputError(f"{leaf.path} is empty (shape {a.shape}): nothing to check.")
    bad = ~np.isfinite(a)
    if bad.any():
        idx = first_index(bad)
        raise InvalidInputError(
            f"{leaf.path}{at(idx)} is {a[idx]}: the check needs finite parameters; "
            "replace NaN/inf before checking."
        )


def _masked(a: object) -> bool:
    """``a`` is a numpy masked array (without importing numpy.ma, which takes 80 ms: if it was
    never imported, nothing is masked)."""
    ma = sys.modules.get("numpy.ma")
    return ma is not None and isinstance(a, ma.MaskedArray)


def _leave_out(leaf: Leaf, tree: Tree) -> str:
    """How to keep ``leaf``'s top-level member out of the check (for an error message)."""
    if not tree.members:
        return ""
    mine = next(m for m in tree.members if leaf.path.startswith(m.path))
    others = [m for i, m in enumerate(tree.members) if i in tree.checked and m is not mine]
    floats = [m for m in others if _all_float(m.value)]
    if not floats:
        return ""
    keep = ", ".join(repr(_wrt_name(tree, m)) for m in floats)
    return (
        f". If {mine.path} is a constant (indices, a mask, targets, settings), check only "
        f"the others: wrt=({keep}{',' if len(floats) == 1 else ''})"
    )


def _wrt_name(tree: Tree, m: Member) -> Any:
    """How ``wrt`` names member ``m``: its key, or for check_vjp its name (index by default)."""
    if tree.kind == "args" and m.path != f"{tree.name}[{m.key}]":
        return m.path
    return m.key


def _all_float(node: object) -> bool:
    values: list[object] = []
    try:
        walk(node, "", lambda p, v: values.append(v), depth=1)
    except InvalidInputError:
        return False
    return all(isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating) for v in values)


def check_float_dtype(
    path: str, dtype: np.dtype[Any], leave_out: str = "", complex_ok: bool = False
) -> None:
    """A typed error unless ``dtype`` is a real floating dtype (or complex, if ``complex_ok``)."""
    if np.issubdtype(dtype, np.complexfloating):
        if complex_ok:
            return
        raise InvalidTypeError(
            f"{path} is complex ({dtype}): this checker takes real arguments; check_grad "
            "takes complex parameters (see gradcheck._complex), or split it into real and "
            "imaginary parts as two real arguments."
        )
    if not np.issubdtype(dtype, np.floating):
        fix = (
            leave_out[2:] + "; if it is a parameter, convert it with .astype(np.float64)"
            if leave_out
            else "Convert it with .astype(np.float64)"
        )
        raise InvalidTypeError(
            f"{path} has dtype {dtype}: a gradient needs real floating parameters. {fix}."
        )


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article."""
    vowel = word[:1].lower() in "aeiou" or word.startswith("nd")  # "an ndarray"
    return f"{'an' if vowel else 'a'} {word}"


def at(idx: tuple[int, ...]) -> str:
    """An index as the report writes it after a path: ``[1, 2]``, or nothing for 0-d."""
    return str(list(idx)) if idx else ""


def first_index(mask: NDArray[np.bool_]) -> tuple[int, ...]:
    """The index of the first true entry of ``mask`` (``()`` for a 0-d mask)."""
    return tuple(int(i) for i in np.argwhere(mask)[0]) if mask.ndim else ()


# --- reading a gradient tree in the parameters' order ---------------------------------------


def align(tree: Tree, grad: object, what: str) -> list[NDArray[Any]]:
    """``grad``'s arrays in the order of ``tree.leaves``, each validated against its leaf.

    Where the parameters have a dict or a dataclass, ``grad`` may have any dict (keys in any
    order) or the same dataclass; where they have a list, tuple or namedtuple, any list or
    tuple of the same length; for a 0-d parameter, a float or numpy scalar. At the top level
    of a tree with constants, ``grad`` may hold the checked members only, or every member (the
    constants' entries are ignored; ``None`` will do). check_vjp's ``backward`` may return a
    tuple (one gradient per argument, or per checked argument), a dict keyed by the arguments'
    names, or a bare array when one argument is checked. A gradient may have another float
    dtype than its parameter: it is judged at the lower of the two precisions.
    """
    pairs: list[tuple[str, Any]] = []
    if tree.members:
        _align_top(tree, grad, what, pairs)
    else:
        _align(tree.root, grad, what, tree.name, 1, pairs)
    return [
        _check_gradient(leaf, g, where) for leaf, (where, g) in zip(tree.leaves, pairs, strict=True)
    ]


def _align_top(tree: Tree, grad: object, what: str, out: list[tuple[str, Any]]) -> None:
    checked = [tree.members[i] for i in sorted(tree.checked)]
    gkind = _kind(grad)
    by_name = tree.kind in ("dict", "dataclass", "namedtuple", "args")
    by_pos = tree.kind in ("sequence", "namedtuple", "args")
    if by_name and gkind in ("dict", "dataclass"):
        got = {k: v for k, _, v in _children(grad, gkind)}
        known = {m.key: m for m in tree.members} | {m.path: m for m in tree.members}
        unknown = [k for k in got if k not in known]
        if unknown:
            raise InvalidTypeError(
                f"{what} has gradients for {', '.join(map(repr, unknown))}, which "
                f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'}: "
                f"return one gradient per checked parameter ({_listing(tree)})."
            )
        for m in checked:
            key = m.key if m.key in got else m.path
            if key not in got:
                raise InvalidTypeError(
                    f"{what} has no gradient for {m.path} (it has "
                    f"{', '.join(map(repr, got)) or 'none'}): return one gradient per "
                    f"checked parameter ({_listing(tree)})."
                )
            _align(m.value, got[key], f"{what}[{key!r}]", m.path, 1, out)
        return
    if by_pos and gkind in ("sequence", "namedtuple"):
        items = list(grad)  # type: ignore[call-overload]
        n_all = len(tree.members)
        if len(items) == len(checked):
            pairs = list(zip(checked, range(len(items)), strict=True))
        elif len(items) == n_all:
            pairs = [(m, i) for i, m in enumerate(tree.members) if i in tree.checked]
        else:
            also = "" if len(checked) == n_all else f" (or {n_all}, one per member)"
            raise InvalidTypeError(
                f"{what} returned {len(items)} gradient{'s' * (len(items) != 1)}; it must "
                f"return {len(checked)}{also}: one per checked parameter, in order "
                f"({_listing(tree)})."
            )
        for m, i in pairs:
            _align(m.value, items[i], f"{what}[{i}]", m.path, 1, out)
        return
    if tree.kind == "args" and len(checked) == 1 and gkind == "leaf":
        _align(checked[0].value, grad, what, checked[0].path, 1, out)  # backward returns dx
        return
    raise InvalidTypeError(
        f"{what} returned {_describe(grad)}, but {tree.name} is {_describe(tree.root)}: "
        f"return one gradient per checked parameter ({_listing(tree)}), in the same "
        "containers."
    )


def _listing(tree: Tree) -> str:
    return ", ".join(tree.members[i].path for i in sorted(tree.checked))


def _align(
    node: Any, grad: Any, gpath: str, ppath: str, depth: int, out: list[tuple[str, Any]]
) -> None:
    kind = _kind(node)
    if kind == "leaf":
        out.append((gpath, grad))
        return
    children = _children(node, kind)
    gkind = _kind(grad)
    if kind in ("dict", "dataclass") and gkind in ("dict", "dataclass"):
        got = {k: v for k, _, v in _children(grad, gkind)}
        want = [k for k, _, _ in children]
        if set(got) != set(want):
            missing = [k for k in want if k not in got]
            extra = [k for k in got if k not in set(want)]
            raise InvalidTypeError(
                f"{gpath} has keys {list(got)} but {ppath} has {want}"
                f"{f'; missing {missing}' if missing else ''}"
                f"{f'; not parameters: {extra}' if extra else ''}. Return one gradient per "
                "parameter, keyed as the parameters (in any order)."
            )
        for k, suffix, child in children:
            _align(child, got[k], f"{gpath}[{k!r}]", ppath + suffix, depth + 1, out)
        return
    if kind in ("sequence", "namedtuple") and gkind in ("sequence", "namedtuple"):
        items = list(grad)
        if len(items) != len(children):
            raise InvalidTypeError(
                f"{gpath} has {len(items)} items but {ppath} has {len(children)}: return "
                "one gradient per parameter, in the same containers."
            )
        for (_, suffix, child), g in zip(children, items, strict=True):
            _align(child, g, gpath + suffix, ppath + suffix, depth + 1, out)
        return
    raise InvalidTypeError(
        f"{gpath} is {_describe(grad)}, but {ppath} is {_describe(node)}: return one gradient "
        "per parameter, in the same containers."
    )


def _check_gradient(leaf: Leaf, g: Any, where: str) -> NDArray[Any]:
    p = leaf.array
    real = (float, np.floating)
    scalar = (*real, complex, np.complexfloating) if np.iscomplexobj(p) else real
    if p.ndim == 0 and isinstance(g, scalar) and not isinstance(g, bool):
        g = np.asarray(g)
    if _masked(g):
        raise InvalidTypeError(f"{where} is a numpy masked array: return a plain ndarray.")
    if not isinstance(g, np.ndarray):
        raise InvalidTypeError(
            f"{where} is {a_or_an(type(g).__name__)}, not an ndarray: return the gradient of "
            f"{leaf.path} as an ndarray of shape {p.shape}."
        )
    if g.shape != p.shape:
        raise InvalidInputError(
            f"{where} has shape {g.shape}, but {leaf.path} has shape {p.shape}: the gradient "
            "must have the parameter's shape."
        )
    if np.iscomplexobj(p):
        if not np.issubdtype(g.dtype, np.complexfloating):
            raise InvalidTypeError(
                f"{where} has dtype {g.dtype} for {leaf.path}, whose dtype is {p.dtype}: the "
                "gradient of a complex parameter is complex, dL/dRe + i dL/dIm (see "
                "gradcheck._complex)."
            )
    elif not np.issubdtype(g.dtype, np.floating):
        raise InvalidTypeError(
            f"{where} has dtype {g.dtype}: return the gradient of {leaf.path} as real floats "
            f"(its dtype is {p.dtype})."
        )
    bad = ~np.isfinite(g)
    if bad.any():
        idx = first_index(bad)
        raise InvalidInputError(
            f"{where}{at(idx)} is {g[idx]}: the analytic gradient of {leaf.path} must be "
            "finite at the checked point."
        )
    return g


def _describe(tree: object, budget: int = DESCRIBED) -> str:
    """``tree``'s structure in Python notation, leaves shown as ``array``, cut at ``budget``
    characters (cycles and depth cannot make it recurse without end)."""
    out: list[str] = []
    size = [0]

    def emit(s: str) -> bool:
        out.append(s)
        size[0] += len(s)
        return size[0] < budget

    def go(node: object, depth: int) -> bool:
        kind = _kind(node)
        if kind == "leaf":
            return emit("array" if isinstance(node, np.ndarray) else type(node).__name__)
        if depth > 8:
            return emit("...")
        open_, close = {"dict": "{}", "sequence": "[]" if isinstance(node, list) else "()"}.get(
            kind, (type(node).__name__ + "(", ")")
        )
        if not emit(open_):
            return False
        for k, (key, _, child) in enumerate(_children(node, kind)):
            if k and not emit(", "):
                return False
            if kind == "dict" and not emit(f"{key!r}: "):
                return False
            if kind in ("namedtuple", "dataclass") and not emit(f"{key}="):
                return False
            if not go(child, depth + 1):
                return False
        return emit(close)

    if not go(tree, 0):
        return "".join(out)[:budget] + "..."
    return "".join(out)


def map_arrays(fn: Callable[[NDArray[Any]], Any], node: Any) -> Any:
    """``node`` rebuilt (fresh containers) with ``fn`` applied to every ndarray in it; other
    leaves (ints, settings, objects) are kept as they are. ``node`` has passed `walk`."""
    kind = _kind(node)
    if kind == "leaf":
        return fn(node) if isinstance(node, np.ndarray) else node
    children = _children(node, kind)
    return _rebuild(
        node, kind, [k for k, _, _ in children], [map_arrays(fn, c) for _, _, c in children]
    )


def arrays(node: Any, path: str) -> list[tuple[str, NDArray[Any]]]:
    """Every ndarray in ``node`` with its path, in order."""
    out: list[tuple[str, NDArray[Any]]] = []

    def visit(p: str, leaf: object) -> None:
        if isinstance(leaf, np.ndarray):
            out.append((p, leaf))

    walk(node, path, visit, depth=1)
    return out
