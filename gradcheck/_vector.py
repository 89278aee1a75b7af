"""Checks of vector-valued functions, front ends over `gradcheck._engine`: a layer's backward
(`check_vjp`) and a Jacobian (`check_jacobian`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.analytic import same_values
from gradcheck._engine.calls import Calls, Constants, fresh, same
from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.options import DEFAULT_ULPS, Options, draw_seed, title
from gradcheck._engine.run import run_jacobian, run_scalar
from gradcheck._errors import InvalidInputError, InvalidTypeError
from gradcheck._result import CheckResult
from gradcheck._tree import Leaf, Tree, a_or_an, at, first_index, parse

_CONTRACT = (
    "check_vjp follows the CS231n contract `out, cache = forward(*args)`, "
    "`grads = backward(dout, cache)`"
)


def _split(res: Any, what: str) -> tuple[Any, Any]:
    """``forward``'s ``(out, cache)``, or a typed error saying what it must return."""
    if not isinstance(res, tuple | list) or len(res) != 2:
        got = (
            f"a {type(res).__name__} of {len(res)} items"
            if isinstance(res, tuple | list)
            else a_or_an(type(res).__name__)
        )
        raise InvalidTypeError(
            f"{what} returned {got}, not (out, cache): {_CONTRACT}. For a forward without "
            "a cache, pass `lambda *a: (forward(*a), a)`; for several outputs, return "
            "((out1, out2), cache)."
        )
    return res[0], res[1]


def _outputs(out: Any, what: str) -> tuple[NDArray[Any], ...]:
    outs = tuple(out) if isinstance(out, tuple | list) else (out,)
    arrays = []
    for k, o in enumerate(outs):
        if isinstance(o, float | np.floating):
            o = np.asarray(o)  # a 0-d output
        if not isinstance(o, np.ndarray) or not np.issubdtype(o.dtype, np.floating):
            raise InvalidTypeError(
                f"{what} output {k} is {type(o).__name__}"
                f"{'' if not isinstance(o, np.ndarray) else f' of dtype {o.dtype}'}: "
                "forward must return (out, cache) with out a float ndarray or a tuple of them."
            )
        arrays.append(o)
    return tuple(arrays)


#: spawns the cotangent's random stream from the user's seed (any fixed constant would do).
_COTANGENT_TAG = 0x636F74


def cotangents(shapes: Sequence[tuple[int, ...]], rng: np.random.Generator) -> list[FloatArray]:
    """Random upstream gradients: standard normal plus a random mean, never uniform.

    A uniform ``dout`` makes a normalization layer's check vacuous (the normalized output sums
    to zero, so both sides are ~0); a mean-free one hides a wrong mean path. This is neither.
    """
    return [np.asarray(rng.standard_normal(s) + rng.uniform(-1, 1)) for s in shapes]


def _args_tree(args: Any, names: Any, wrt: Any) -> Tree:
    """``args`` (a tuple/list, or a dict for keyword arguments) as a tree named by ``names``."""
    if isinstance(args, np.ndarray) or not isinstance(args, tuple | list | dict):
        raise InvalidTypeError(
            f"`args` must be a tuple of forward's arguments (e.g. `(x,)` for one argument, "
            f"`(x, W, b)` for three) or a dict of keyword arguments, not "
            f"{a_or_an(type(args).__name__)}."
        )
    if not args:
        raise InvalidInputError(
            "`args` is empty: pass forward's arguments, e.g. `(x, W, b)`; at least one of "
            "them must be a float array to check."
        )
    keys = list(args) if isinstance(args, dict) else None
    if names is None:
        names = (
            [str(k) for k in keys] if keys is not None else [f"args[{i}]" for i in range(len(args))]
        )
    elif isinstance(names, str) or not isinstance(names, Sequence):
        raise InvalidTypeError(
            f"`names` must be a sequence of str, one per argument, not {type(names).__name__}."
        )
    names = list(names)
    if len(names) != len(args):
        raise InvalidInputError(f"`names` has {len(names)} names for {len(args)} arguments.")
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise InvalidInputError(f"`names` must be distinct strings, not {names!r}.")
    return parse(args, "args", wrt=wrt, names=names)


def check_vjp(
    forward: Callable[..., tuple[Any, Any]],
    backward: Callable[[Any, Any], Any],
    args: Sequence[Any] | dict[str, Any],
    *,
    names: Sequence[str] | None = None,
    wrt: Any = None,
    label: str | None = None,
    mode: str = "full",
    seed: int | None = None,
    rtol: float = 0.0,
    atol: float = 0.0,
    step: float | None = None,
    ulps: float = DEFAULT_ULPS,
    vectorized: bool = False,
) -> CheckResult:
    r"""Check a layer's backward pass (CS231n contract) against finite differences.

    ``forward(*args) -> (out, cache)`` with ``out`` an array or a tuple of arrays;
    ``backward(dout, cache) -> grads``, one gradient per checked argument (``dout`` a tuple
    when ``out`` is, in ``out``'s dtype). A random, non-uniform cotangent :math:`v` (drawn from
    ``seed``; a fresh seed is drawn and recorded in the result when it is None) turns the layer
    into the scalar :math:`\langle v, \mathrm{forward}(\mathrm{args})\rangle`, whose gradient
    ``backward(v)`` must be; each argument gets its own verdict, named by ``names`` (default
    ``args[i]``).

    ``args`` is a tuple of arguments (each an ndarray, 0-d included, or a tree of them as in
    `check_grad`, e.g. a dict of parameters), or a dict: ``forward(**args)``, named by its keys.
    ``wrt`` names the arguments to check, by name or index (``wrt=("x", "W")`` or
    ``wrt=(0, 1)``); the others are constants (index arrays, masks, targets, a ``conv_param``
    dict), passed unchanged and never differenced. ``backward`` returns a tuple or list (one
    gradient per argument, or one per checked argument; a constant's entry is ignored), a
    dict keyed by the arguments' names, or a bare array when one argument is checked; a dict
    argument's gradient is a dict with its keys. ``forward`` gets read-only arrays (fresh
    copies once it writes into them), ``backward`` a fresh copy of ``dout`` at every call; what
    they modify is noted in the result. ``label`` titles the report.

    The rounding bound of one evaluation is :math:`\text{ulps}\,\varepsilon
    \sum|v||\mathrm{out}|`, not :math:`|\langle v, \mathrm{out}\rangle|`, which cancellation
    can make small. ``mode="fast"`` checks random directions per argument, so every argument
    still gets its own verdict, and names wrong entries by bisection. ``vectorized=True``:
    ``forward`` broadcasts over a leading stack axis of every checked argument (returning
    outputs with that axis). Other options: see `check_grad`; the error model:
    `gradcheck._engine.numdiff`.
    """
    user = Calls("forward", "backward")
    o = Options(mode, rtol, atol, step, ulps, seed, vectorized=vectorized)
    seed = draw_seed(o.seed)  # the cotangent is random in either mode: always recorded
    o = replace(o, seed=seed)
    tree = _args_tree(args, names, wrt)
    name = title(label, forward)
    kwargs = isinstance(args, dict)
    consts, fresh_consts = Constants(tree, user), Constants(tree, user, copy=True)

    def call(built: Any) -> Any:
        return forward(**built) if kwargs else forward(*built)

    def run_forward(xs: list[Any], c: Constants) -> tuple[Any, Any]:
        res = _split(user.user(call, tree.build(xs, c)), "forward(*args)")
        c.check("forward")
        return res

    start = [fresh(leaf.array) for leaf in tree.leaves]
    v, dout = _cotangent(run_forward(start, fresh_consts)[0], seed)

    def raw(xs: list[FloatArray]) -> tuple[Any, Any]:
        ys = _outputs(run_forward(xs, consts)[0], "forward(*args)")
        stacked = vectorized and len(ys) == len(v) and ys[0].ndim > v[0].ndim
        _same_outputs(ys, v, stacked)
        if stacked:  # a stack: one inner product per item
            return _stacked_inner(v, ys)
        value = sum(float(np.vdot(vk, yk)) for vk, yk in zip(v, ys, strict=True))
        mag = sum(float(np.vdot(np.abs(vk), np.abs(yk))) for vk, yk in zip(v, ys, strict=True))
        return value, mag

    def analytic(xs: list[NDArray[Any]]) -> list[NDArray[Any]]:
        _, cache = run_forward(xs, fresh_consts)
        given = tuple(fresh(d) for d in v)
        g = user.user(backward, given if isinstance(dout, tuple) else given[0], cache)
        if any(not same(a, b) for a, b in zip(v, given, strict=True)):
            user.modified("backward", "dout")
        fresh_consts.check("backward")
        return tree.gradient(g, "backward(dout, cache)")

    return run_scalar(raw, analytic, list(tree.leaves), "<v, forward(*args)>", name, o, user)


def _same_outputs(ys: Sequence[NDArray[Any]], v: Sequence[FloatArray], stacked: bool) -> None:
    """Typed errors when forward's outputs change number or shape between calls."""
    if len(ys) != len(v):
        raise InvalidInputError(
            f"forward(*args) returned {len(ys)} output(s) at a perturbed point but {len(v)} "
            "at the given point: the number of outputs must not depend on the values."
        )
    for k, (y, vk) in enumerate(zip(ys, v, strict=True)):
        shape = y.shape[1:] if stacked else y.shape
        if shape != vk.shape:
            raise InvalidInputError(
                f"forward(*args) output {k} has shape {shape} at a perturbed point but "
                f"{vk.shape} at the given point: output shapes must not depend on the values."
            )


def _cotangent(out0: Any, seed: int) -> tuple[list[FloatArray], Any]:
    """The random cotangent ``v`` (one array per output, in its dtype) and ``dout`` as
    ``backward`` receives it (a tuple when ``forward`` returns one)."""
    outs = _outputs(out0, "forward(*args)")
    # a stream of its own: a caller who draws the data from default_rng(seed) and passes the
    # same seed must not get a cotangent made of the data's own draws (v − v̄ ∝ x̂ makes a
    # normalization layer's check vacuous).
    stream = np.random.default_rng(np.random.SeedSequence([seed, _COTANGENT_TAG]))
    drawn = cotangents([y.shape for y in outs], stream)
    v = [c.astype(y.dtype) for c, y in zip(drawn, outs, strict=True)]
    return v, tuple(v) if isinstance(out0, tuple | list) else v[0]


def _stacked_inner(
    v: Sequence[FloatArray], ys: Sequence[NDArray[Any]]
) -> tuple[FloatArray, FloatArray]:
    """``<v, y_b>`` and ``sum |v| |y_b|`` for every item ``b`` of stacked outputs."""
    value: Any = 0.0
    mag: Any = 0.0
    for vk, yk in zip(v, ys, strict=True):
        axes = tuple(range(1, yk.ndim))
        value = value + np.sum(vk * yk, axis=axes)
        mag = mag + np.sum(np.abs(vk) * np.abs(yk), axis=axes)
    return np.asarray(value), np.asarray(mag)


def check_jacobian(
    f: Callable[[NDArray[Any]], Any],
    jac: Callable[[NDArray[Any]], NDArray[Any]],
    x: NDArray[Any],
    *,
    label: str | None = None,
    mode: str = "full",
    rtol: float = 0.0,
    atol: float = 0.0,
    step: float | None = None,
    ulps: float = DEFAULT_ULPS,
) -> CheckResult:
    r"""Check an analytic Jacobian ``jac(x)`` (shape ``out.shape + x.shape``) of ``f(x)``.

    ``x`` is one float ndarray (0-d included); for several arguments or a tree, use
    `check_vjp`. Every entry :math:`J_{oi} = \partial f_o / \partial x_i` is judged as in
    `check_grad`, with the rounding of output :math:`o` bounded by :math:`\text{ulps}\,
    \varepsilon|f_o|` and the analytic rounding judged against row :math:`o`'s scale (at the
    lower of ``x``'s and ``jac``'s precision). Entries are reported with index ``out_index +
    x_index``. ``label`` titles the report.
    """
    user = Calls("f", "jac")
    o = Options(mode, rtol, atol, step, ulps)
    if mode != "full":
        raise InvalidInputError(
            "check_jacobian checks every entry (mode='full'); for a fast check of a "
            "vector-valued f use check_vjp(..., mode='fast'), which checks random directions."
        )
    if not isinstance(x, np.ndarray) and isinstance(x, dict | list | tuple):
        raise InvalidTypeError(
            f"`x` is a {type(x).__name__}: check_jacobian takes one ndarray. For several "
            "arguments or a tree of them, use check_vjp (random cotangents over every "
            "output), or concatenate them into one array."
        )
    (leaf,) = parse(x, "x").leaves
    name = title(label, f)

    def raw(xs: list[FloatArray]) -> tuple[Any, Any]:
        v = user.user(f, xs[0])
        return v, v

    def jacobian(out_shape: tuple[int, ...]) -> NDArray[Any]:
        return _jacobian(jac, leaf, out_shape, user)

    return run_jacobian(raw, jacobian, leaf, name, o, user)


def _jacobian(
    jac: Callable[[Any], Any], leaf: Leaf, out_shape: tuple[int, ...], user: Calls
) -> NDArray[Any]:
    """``jac(x)`` twice at fresh copies, validated; in its own dtype."""

    def once() -> NDArray[Any]:
        given = fresh(leaf.array)
        J = user.user(jac, given)
        if not same(given, leaf.array):
            user.modified("jac", "x")
        return np.asarray(J) if isinstance(J, float | np.floating) else J

    J, again = once(), once()
    want = out_shape + leaf.array.shape
    if not isinstance(J, np.ndarray):
        raise InvalidTypeError(
            f"jac(x) returned {a_or_an(type(J).__name__)}; return an ndarray of shape "
            f"out.shape + x.shape = {want}."
        )
    if J.shape != want:
        raise InvalidInputError(
            f"jac(x) has shape {J.shape}; for f(x) of shape {out_shape} and x of shape "
            f"{leaf.array.shape} it must be out.shape + x.shape = {want}."
        )
    if not np.issubdtype(J.dtype, np.floating):
        raise InvalidTypeError(f"jac(x) has dtype {J.dtype}; return a float array.")
    bad = ~np.isfinite(J)
    if bad.any():
        idx = first_index(bad)
        raise InvalidInputError(
            f"jac(x){at(idx)} is {J[idx]}: the analytic Jacobian must be finite at the "
            f"checked point (index = out index {list(idx[: len(out_shape)])} + x index "
            f"{list(idx[len(out_shape) :])})."
        )
    same_values([J], [np.asarray(again)], [Leaf("jac(x)", J)], "jac(x)")
    return J
