"""Checks of vector-valued functions, front ends over `gradcheck._engine`: a layer's backward
(`check_vjp`) and a Jacobian (`check_jacobian`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._engine.analytic import same
from gradcheck._engine.numdiff import FloatArray
from gradcheck._engine.options import DEFAULT_ULPS, Options, draw_seed
from gradcheck._engine.run import label, run_jacobian, run_scalar
from gradcheck._errors import InvalidInputError, InvalidTypeError
from gradcheck._result import CheckResult
from gradcheck._tree import Leaf, validate_grad, validate_params


def _outputs(out: Any, what: str) -> tuple[NDArray[Any], ...]:
    outs = tuple(out) if isinstance(out, tuple | list) else (out,)
    for k, o in enumerate(outs):
        if not isinstance(o, np.ndarray) or not np.issubdtype(o.dtype, np.floating):
            raise InvalidTypeError(
                f"{what} output {k} is {type(o).__name__}"
                f"{'' if not isinstance(o, np.ndarray) else f' of dtype {o.dtype}'}: "
                "forward must return (out, cache) with out a float ndarray or a tuple of them."
            )
    return outs


#: spawns the cotangent's random stream from the user's seed (any fixed constant would do).
_COTANGENT_TAG = 0x636F74


def cotangents(shapes: Sequence[tuple[int, ...]], rng: np.random.Generator) -> list[FloatArray]:
    """Random upstream gradients: standard normal plus a random mean, never uniform.

    A uniform ``dout`` makes a normalization layer's check vacuous (the normalized output sums
    to zero, so both sides are ~0); a mean-free one hides a wrong mean path. This is neither.
    """
    return [rng.standard_normal(s) + rng.uniform(-1, 1) for s in shapes]


def check_vjp(
    forward: Callable[..., tuple[Any, Any]],
    backward: Callable[[Any, Any], Sequence[NDArray[Any]]],
    args: Sequence[NDArray[Any]],
    *,
    names: Sequence[str] | None = None,
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
    ``backward(dout, cache) -> grads``, one gradient per argument (``dout`` a tuple when
    ``out`` is). A random, non-uniform cotangent :math:`v` (drawn from ``seed``; a fresh seed is
    drawn and recorded in the result when it is None) turns the layer into the scalar
    :math:`\langle v, \mathrm{forward}(\mathrm{args})\rangle`, whose gradient ``backward(v)``
    must be; each argument gets its own verdict, named by ``names`` (default ``args[i]``).
    The rounding bound of one evaluation is :math:`\text{ulps}\,\varepsilon
    \sum|v||\mathrm{out}|`, not :math:`|\langle v, \mathrm{out}\rangle|`, which cancellation
    can make small. ``mode="fast"`` checks random directions per argument, so every argument
    still gets its own verdict, and names wrong entries by bisection. ``vectorized=True``:
    ``forward`` broadcasts over a leading stack axis of every argument (returning outputs
    with that axis). Other options: see `check_grad`; the error model:
    `gradcheck._engine.numdiff`.
    """
    o = Options(mode, rtol, atol, step, ulps, seed, vectorized=vectorized)
    seed = draw_seed(o.seed)  # the cotangent is random in either mode: always recorded
    o = replace(o, seed=seed)
    names = tuple(names) if names is not None else tuple(f"args[{i}]" for i in range(len(args)))
    if len(names) != len(args):
        raise InvalidInputError(f"`names` has {len(names)} names for {len(args)} arguments.")
    leaves = [validate_params(a, n)[0] for a, n in zip(args, names, strict=True)]
    if any(not isinstance(a, np.ndarray) for a in args):
        raise InvalidTypeError("`args` must be a sequence of ndarrays, one per forward argument.")
    v, dout = _cotangent(forward(*[a.copy() for a in args])[0], seed)

    def raw(xs: list[FloatArray]) -> tuple[Any, Any]:
        ys = _outputs(forward(*xs)[0], "forward(*args)")
        if vectorized and ys[0].ndim > v[0].ndim:  # a stack: one inner product per item
            return _stacked_inner(v, ys)
        value = sum(float(np.vdot(vk, yk)) for vk, yk in zip(v, ys, strict=True))
        mag = sum(float(np.vdot(np.abs(vk), np.abs(yk))) for vk, yk in zip(v, ys, strict=True))
        return value, mag

    def analytic(xs: list[NDArray[Any]]) -> list[NDArray[Any]]:
        _, cache = forward(*xs)
        g = backward(dout, cache)
        if not isinstance(g, tuple | list) or len(g) != len(args):
            raise InvalidTypeError(
                f"backward returned {type(g).__name__}"
                f"{f' of length {len(g)}' if isinstance(g, tuple | list) else ''}; it must "
                f"return one gradient per argument ({len(args)}: {', '.join(names)})."
            )
        fresh = [Leaf(leaf.path, x) for leaf, x in zip(leaves, xs, strict=True)]
        return validate_grad(tuple(args), fresh, tuple(g), "backward(dout, cache)")

    return run_scalar(raw, analytic, leaves, "<v, forward(*args)>", label(forward), o)


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
    mode: str = "full",
    rtol: float = 0.0,
    atol: float = 0.0,
    step: float | None = None,
    ulps: float = DEFAULT_ULPS,
) -> CheckResult:
    r"""Check an analytic Jacobian ``jac(x)`` (shape ``out.shape + x.shape``) of ``f(x)``.

    Every entry :math:`J_{oi} = \partial f_o / \partial x_i` is judged as in `check_grad`,
    with the rounding of output :math:`o` bounded by :math:`\text{ulps}\,\varepsilon|f_o|` and
    the analytic rounding judged against row :math:`o`'s scale. Entries are reported with
    index ``out_index + x_index``.
    """
    o = Options(mode, rtol, atol, step, ulps)
    if mode != "full":
        raise InvalidInputError(
            "check_jacobian checks every entry (mode='full'); for a fast check of a "
            "vector-valued f use check_vjp(..., mode='fast'), which checks random directions."
        )
    leaf = validate_params(x, "x")[0]

    def raw(xs: list[FloatArray]) -> tuple[Any, Any]:
        v = f(xs[0])
        return v, v

    def jacobian(out_shape: tuple[int, ...]) -> FloatArray:
        return _jacobian(jac, leaf, out_shape)

    return run_jacobian(raw, jacobian, leaf, label(f), o)


def _jacobian(jac: Callable[[Any], Any], leaf: Leaf, out_shape: tuple[int, ...]) -> FloatArray:
    want = out_shape + leaf.array.shape
    J, again = (np.asarray(jac(leaf.array.copy())) for _ in range(2))
    if J.shape != want:
        raise InvalidInputError(
            f"jac(x) has shape {J.shape}; for f(x) of shape {out_shape} and x of shape "
            f"{leaf.array.shape} it must be out.shape + x.shape = {want}."
        )
    if not np.issubdtype(J.dtype, np.floating):
        raise InvalidTypeError(f"jac(x) has dtype {J.dtype}; return a float array.")
    if not np.all(np.isfinite(J)):
        raise InvalidInputError("jac(x) has NaN/inf entries at the checked point.")
    same([J], [again], [Leaf("jac(x)", J)], "jac(x)")
    return np.asarray(J, dtype=np.float64)
