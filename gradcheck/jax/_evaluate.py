"""The JAX adapter's pieces: the checked leaves of a call, the loss with its cotangent, its
gradient by ``jax.grad``, and stacked points through ``jax.vmap`` (or a loop).

As in `gradcheck.torch._evaluate`, the engine's numpy values become JAX arrays once per point
or once per stack of points, and the first vmapped stack also evaluates the base point: a
vmapped value off the plain one by more than two rounding bounds sends the check to the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import NDArray

from gradcheck import _complex
from gradcheck._engine.calls import Calls
from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.options import DEFAULT_ULPS
from gradcheck._engine.problem import Problem
from gradcheck._engine.stacks import Moved, Stack, in_blocks
from gradcheck._errors import InvalidInputError, InvalidTypeError
from gradcheck._tree import Leaf, parse
from gradcheck._vector import _COTANGENT_TAG, cotangents

Wrt = Any

#: bytes of moved parameter copies built (and sent to JAX) at once.
BLOCK = 2**24


def _checkable(x: Any) -> bool:
    dt = getattr(x, "dtype", None)
    if dt is None or not hasattr(x, "shape"):
        return False
    return bool(jnp.issubdtype(dt, jnp.floating) or jnp.issubdtype(dt, jnp.complexfloating))


@dataclass(frozen=True)
class Call:
    """``f`` with its checked leaves taken out; ``call(values)`` puts new ones in."""

    f: Callable[..., Any]
    keyword: bool
    treedef: Any  # of the whole input tuple (or dict)
    every: list[Any]  # every input leaf, the checked ones included
    slots: list[int]  # positions in `every` of the checked leaves
    leaves: list[Leaf]  # the checked leaves, named, as numpy arrays (0-d included)
    shapes: list[tuple[int, ...]]

    def __call__(self, values: Sequence[Any]) -> Any:
        every = list(self.every)
        for k, v in zip(self.slots, values, strict=True):
            every[k] = v
        tree = jax.tree_util.tree_unflatten(self.treedef, every)
        return self.f(**tree) if self.keyword else self.f(*tree)


def make_call(f: Callable[..., Any], inputs: tuple[Any, ...], wrt: Wrt) -> Call:
    keyword = len(inputs) == 1 and isinstance(inputs[0], dict)
    tree: Any = inputs[0] if keyword else tuple(inputs)
    pairs, treedef = jax.tree_util.tree_flatten_with_path(tree)
    tops = list(tree) if keyword else list(range(len(inputs)))
    chosen = _selection(wrt, tops)
    slots, arrays, names = [], [], []
    for k, (path, x) in enumerate(pairs):
        top = path[0].key if keyword else path[0].idx
        if (chosen is not None and top not in chosen) or not _checkable(x):
            continue
        arr = np.array(x)
        if arr.size == 0:
            continue
        name = jax.tree_util.keystr(path[1:])
        names.append(f"{top}{name}" if keyword else f"inputs[{top}]{name}")
        slots.append(k)
        arrays.append(arr)
    if not arrays:
        raise InvalidInputError(
            "no input is a non-empty floating or complex array: nothing to check. Pass the "
            "arrays to differentiate."
        )
    leaves = list(parse(arrays, "inputs", names=names, complex_ok=True).leaves)
    every = [x for _, x in pairs]
    return Call(f, keyword, treedef, every, slots, leaves, [a.shape for a in arrays])


def _selection(wrt: Wrt, tops: list[Any]) -> set[Any] | None:
    """The inputs ``wrt`` names, as `gradcheck.check_vjp` reads it: a position (or the name
    ``"inputs[1]"``) or a dict key, or a list, tuple or set of them; None selects every one."""
    if wrt is None:
        return None
    one = isinstance(wrt, str | int | np.integer) and not isinstance(wrt, bool)
    items = [wrt] if one else wrt
    if not isinstance(items, list | tuple | set | frozenset):
        raise InvalidTypeError(
            "`wrt` must be a name, an index, or a tuple of them (an input's position or a "
            f"dict key), not {type(wrt).__name__}."
        )
    if not items:
        raise InvalidInputError("`wrt` is empty: name at least one input to check.")
    names: dict[Any, Any] = {f"inputs[{k}]": k for k in tops if isinstance(k, int)}
    chosen = set()
    for w in items:
        if isinstance(w, bool | np.bool_) or not isinstance(w, int | str | np.integer):
            raise InvalidTypeError(
                f"`wrt` must be a name, an index, or a tuple of them, not {type(w).__name__} {w!r}."
            )
        w = int(w) if isinstance(w, np.integer) else names.get(w, w)
        if w not in tops:
            raise InvalidInputError(
                f"`wrt` names {w!r}, which is not an input: the inputs are {tops}."
            )
        chosen.add(w)
    return chosen


def outputs(out: Any) -> list[Any]:
    return [y for y in jax.tree_util.tree_leaves(out) if _checkable(y)]


@dataclass(frozen=True)
class Loss:
    """``loss(values) -> (L, magnitude)``: the real loss of a cotangent ``v``, in JAX."""

    call: Call
    v: tuple[Any, ...]

    def __call__(self, values: Sequence[Any]) -> tuple[Any, Any]:
        ys = outputs(self.call(values))
        if [tuple(y.shape) for y in ys] != [tuple(v.shape) for v in self.v]:
            raise InvalidInputError(
                f"f returned outputs of shapes {[tuple(y.shape) for y in ys]} here and "
                f"{[tuple(v.shape) for v in self.v]} at the checked point: the outputs of a "
                "differentiable function keep their shapes."
            )
        value: Any = 0.0
        mag: Any = 0.0
        for y, v in zip(ys, self.v, strict=True):
            parts = [(y.real, v.real), (y.imag, v.imag)] if jnp.iscomplexobj(y) else [(y, v)]
            for yp, vp in parts:
                vp = vp.astype(yp.dtype)
                value = value + jnp.sum(vp * yp)
                mag = mag + jnp.sum(jnp.abs(vp) * jnp.abs(yp))
        return value, mag


def cotangent(call: Call, seed: int) -> Loss:
    at = [leaf.array.reshape(s) for leaf, s in zip(call.leaves, call.shapes, strict=True)]
    ys = outputs(call(at))
    if not ys:
        raise InvalidTypeError("f returned no floating or complex array: nothing to check.")
    stream = np.random.default_rng(np.random.SeedSequence([seed, _COTANGENT_TAG]))
    vs = []
    for y in ys:
        shape = tuple(y.shape)
        if jnp.iscomplexobj(y):
            re, im = cotangents([shape, shape], stream)
            vs.append(jnp.asarray(re + 1j * im))
        else:
            vs.append(jnp.asarray(cotangents([shape], stream)[0]))
    return Loss(call, tuple(vs))


@dataclass
class Evaluator:
    loss: Loss
    leaves: list[Leaf]
    user: Calls = field(default_factory=Calls)  # where notes go (`gradcheck._engine.calls`)
    vmap: bool = True

    def values(self, xs: list[Any], stacked: Sequence[bool] | None = None) -> list[Any]:
        zs = _complex.join(self.leaves, xs)
        shapes = self.loss.call.shapes
        flags = stacked or [False] * len(zs)
        return [
            jnp.asarray(np.reshape(z, (z.shape[0], *s) if st else s))
            for z, s, st in zip(zs, shapes, flags, strict=True)
        ]

    def __post_init__(self) -> None:
        n = len(self.leaves)
        self.point = _Compiled(lambda *ps: self.loss(ps))
        self.grad = _Compiled(jax.grad(lambda *ps: self.loss(ps)[0], argnums=tuple(range(n))))

    def raw(self, xs: list[FloatArray]) -> tuple[Any, Any]:
        value, mag = self.point(*self.values(xs))
        return np.asarray(value), np.asarray(mag)

    def analytic(self, xs: list[NDArray[Any]]) -> list[NDArray[Any]]:
        """``jax.grad`` of the loss, conjugated for complex leaves (PyTorch's convention)."""
        gs = self.grad(*self.values(xs))
        out = [np.conj(np.asarray(g)) if jnp.iscomplexobj(g) else np.asarray(g) for g in gs]
        out = [g.reshape(leaf.array.shape) for g, leaf in zip(out, self.leaves, strict=True)]
        return _complex.split_values(self.leaves, out)

    def stack_factory(self) -> Callable[[Problem, Callable[[int], None]], Stack]:
        def make(prob: Problem, advance: Callable[[int], None]) -> Stack:
            return _JaxStack(self, prob, advance).__call__

        return make


class _Compiled:
    """``jax.jit(fn)``, or ``fn`` itself from the first call that cannot be traced (Python
    control flow on values): one XLA compilation per input signature instead of one per
    primitive and shape, which eager execution pays."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.jitted = fn, jax.jit(fn)
        self.traceable = True

    def __call__(self, *args: Any) -> Any:
        if self.traceable:
            try:
                return self.jitted(*args)
            except (jax.errors.JAXTypeError, jax.errors.JAXIndexError):
                self.traceable = False
        return self.fn(*args)


@dataclass
class _JaxStack:
    ev: Evaluator
    prob: Problem
    advance: Callable[[int], None]
    verified: bool = False
    vmapped: dict[tuple[int | None, ...], _Compiled] = field(default_factory=dict)

    def __call__(self, moved: Moved) -> tuple[FloatArray, FloatArray]:
        return in_blocks(moved, self.prob.base, BLOCK, self._block, self.prob.calls, self.advance)

    def _block(self, rows: dict[int, NDArray[Any]], b: int) -> tuple[FloatArray, FloatArray]:
        verify = self.ev.vmap and not self.verified
        if verify:
            rows = {j: np.concatenate([r, self.prob.base[j][None]]) for j, r in rows.items()}
        xs = [rows.get(j, x) for j, x in enumerate(self.prob.base)]
        stacked = _stacked_params(self.ev.leaves, list(rows))
        vals = self.ev.values(xs, stacked)
        out = self._vmapped(vals, stacked) if self.ev.vmap else None
        if out is not None and verify:
            out = self._verified(out)
        if out is None:
            out = self._looped(vals, stacked, b)
        return out[0][:b].astype(np.float64), np.abs(out[1][:b]).astype(np.float64)

    def _vmapped(self, vals: list[Any], stacked: list[bool]) -> tuple[Any, Any] | None:
        def one(*ps: Any) -> tuple[Any, Any]:
            return self.ev.loss(ps)

        axes = tuple(0 if s else None for s in stacked)
        if axes not in self.vmapped:
            self.vmapped[axes] = _Compiled(jax.vmap(one, in_axes=axes))
        try:
            value, mag = self.vmapped[axes](*vals)
        except Exception as exc:  # f does not vectorize: loop
            first = str(exc).strip().split("\n")[0][:100]
            self._fallback(f"f cannot be vmapped ({type(exc).__name__}: {first})")
            return None
        return np.asarray(value), np.asarray(mag)

    def _verified(self, out: tuple[Any, Any]) -> tuple[Any, Any] | None:
        self.verified = True
        at_base = float(out[0][-1])
        allowed = 2 * float(
            self.prob.rounding(np.abs(out[1][-1:]), np.zeros(1), DEFAULT_ULPS, None).max()
        )
        if not abs(at_base - float(self.prob.f0)) <= allowed:
            self._fallback(
                f"vmapped f gave {at_base!r} at the base point, the plain call "
                f"{float(self.prob.f0)!r}"
            )
            return None
        return out

    def _looped(self, vals: list[Any], stacked: list[bool], b: int) -> tuple[Any, Any]:
        pairs = [
            self.ev.point(*[v[k] if s else v for v, s in zip(vals, stacked, strict=True)])
            for k in range(b)
        ]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    def _fallback(self, why: str) -> None:
        self.ev.vmap = False
        self.ev.user.note(f"{why}; perturbed points were evaluated one by one.")


def _stacked_params(leaves: list[Leaf], moved: list[int]) -> list[bool]:
    out, j = [], 0
    for leaf in leaves:
        n = 2 if _complex.is_complex(leaf.array) else 1
        out.append(any(k in moved for k in range(j, j + n)))
        j += n
    return out
