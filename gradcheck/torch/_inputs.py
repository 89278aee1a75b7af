"""Which tensors of a call are checked, their names and layouts, and the call rebuilt around
new values of them.

The inputs are positional (named ``inputs[i]``, nested lists/tuples ``inputs[i][j]``) or one
dict passed as keyword arguments (named by its keys); an ``nn.Module``'s parameters that
require grad are parameters too (named as in ``named_parameters()``), substituted through
``torch.func.functional_call``. Every floating or complex tensor is a parameter unless ``wrt``
selects a subset; anything else (index tensors, ints, shapes) is passed through unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from gradcheck._errors import InvalidInputError, InvalidTypeError
from gradcheck._tree import Leaf, parse

Wrt = Any

#: dtypes a finite difference can resolve (float16/bfloat16 have 3 or 2 significant digits).
CHECKABLE = (torch.float32, torch.float64, torch.complex64, torch.complex128)


@dataclass(frozen=True)
class Param:
    """One checked tensor: its name, the user's tensor, and the strides to reproduce."""

    path: str
    tensor: torch.Tensor
    layout: tuple[int, ...] | None  # strides of a non-contiguous input (None: contiguous)

    def array(self) -> NDArray[Any]:
        """A numpy copy of the tensor's values (0-d stays 0-d), for the engine."""
        return np.array(self.tensor.detach().resolve_conj().cpu().numpy(), copy=True)


def leaves(params: Sequence[Param]) -> list[Leaf]:
    """The parameters as the engine's leaves, named by their paths and validated (finite; a
    complex one whole: `gradcheck._complex` splits it) by `gradcheck._tree.parse`."""
    names = [p.path for p in params]
    return list(parse([p.array() for p in params], "inputs", names=names, complex_ok=True).leaves)


@dataclass(frozen=True)
class _Slot:
    k: int


@dataclass(frozen=True)
class Call:
    """``fn`` with its parameters taken out: ``call(tensors)`` puts new ones in and calls it."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]  # positional inputs with `_Slot`s where the parameters were
    kwargs: dict[str, Any]
    module_slots: dict[str, int]  # an nn.Module's parameters, by name, and their slots
    params: tuple[Param, ...]

    @functools.cached_property
    def _flat(self) -> bool:
        """Positional arguments only, none of them a container `_fill` would rebuild."""
        return (
            not self.kwargs
            and not self.module_slots
            and not any(isinstance(a, dict | list | tuple) for a in self.args)
        )

    def __call__(self, tensors: Sequence[torch.Tensor]) -> Any:
        if self._flat:  # fn(*tensors and constants): no tree to rebuild
            args = [tensors[a.k] if isinstance(a, _Slot) else a for a in self.args]
            return self.fn(*args)
        args = _fill(self.args, tensors)
        kwargs = _fill(self.kwargs, tensors)
        if self.module_slots:
            assert isinstance(self.fn, torch.nn.Module)
            named = {name: tensors[k] for name, k in self.module_slots.items()}
            return torch.func.functional_call(self.fn, named, tuple(args), kwargs, strict=False)
        return self.fn(*args, **kwargs)


def _fill(node: Any, tensors: Sequence[torch.Tensor]) -> Any:
    if isinstance(node, _Slot):
        return tensors[node.k]
    if isinstance(node, dict):
        return {k: _fill(v, tensors) for k, v in node.items()}
    if isinstance(node, list | tuple) and not hasattr(node, "_fields"):
        items = [_fill(v, tensors) for v in node]
        return items if isinstance(node, list) else tuple(items)
    return node


def layout(t: torch.Tensor) -> tuple[int, ...] | None:
    """``t``'s strides when they are worth reproducing: non-contiguous but non-overlapping
    (a transpose, a slice with a step). Overlapping layouts (``expand``) cannot hold
    independent entries and get a contiguous copy."""
    if t.is_contiguous():
        return None
    dims = sorted((s, n) for n, s in zip(t.shape, t.stride(), strict=True) if n > 1)
    extent = 1
    for s, n in dims:
        if s < extent:
            return None
        extent = s * n
    return tuple(t.stride())


def make_call(fn: Callable[..., Any], inputs: tuple[Any, ...], wrt: Wrt) -> Call:
    """Split ``fn(*inputs)`` (or ``fn(**inputs[0])`` for one dict) into template and params."""
    keyword = len(inputs) == 1 and isinstance(inputs[0], dict)
    tops: list[tuple[int | str, str, Any]] = (
        [(k, str(k), v) for k, v in inputs[0].items()]
        if keyword
        else [(i, f"inputs[{i}]", v) for i, v in enumerate(inputs)]
    )
    module = dict(fn.named_parameters()) if isinstance(fn, torch.nn.Module) else {}
    module = {k: p for k, p in module.items() if p.requires_grad}
    chosen = _selection(wrt, [key for key, _, _ in tops], list(module), keyword)
    params: list[Param] = []
    template = []
    for key, name, value in tops:
        sel, before = chosen is None or key in chosen, len(params)
        t = _take(value, name, sel, params)
        if sel and chosen is not None and len(params) == before:
            raise InvalidTypeError(
                f"`wrt` selects {name}, which holds no non-empty floating or complex tensor: "
                f"{_what(value)} cannot be differentiated."
            )
        template.append(t)
    slots = {}
    for name, p in module.items():
        if (chosen is None or name in chosen) and p.numel():
            slots[name] = len(params)
            params.append(Param(name, _checkable(p, name), layout(p)))
    if not params:
        raise InvalidInputError(
            "no input is a non-empty floating or complex tensor: nothing to check. Pass the "
            "tensors to differentiate (float32/64 or complex64/128)."
        )
    if keyword:
        return Call(fn, (), dict(zip(inputs[0], template, strict=True)), slots, tuple(params))
    return Call(fn, tuple(template), {}, slots, tuple(params))


def _selection(
    wrt: Wrt, keys: list[int | str], module: list[str], keyword: bool
) -> set[int | str] | None:
    """The inputs ``wrt`` names, as `gradcheck.check_vjp` reads it: a position, a dict key, a
    module parameter's name or an input's name (``"inputs[1]"``), or a list, tuple or set of
    them; None selects every input."""
    if wrt is None:
        return None
    one = isinstance(wrt, str | int | np.integer) and not isinstance(wrt, bool)
    items = [wrt] if one else wrt
    if not isinstance(items, list | tuple | set | frozenset):
        raise InvalidTypeError(
            "`wrt` must be a name, an index, or a tuple of them (an input's position, a dict "
            "key or a module parameter's name), not "
            f"{type(wrt).__name__}."
        )
    if not items:
        raise InvalidInputError("`wrt` is empty: name at least one input to check.")
    names = {f"inputs[{k}]": k for k in keys if isinstance(k, int)}
    valid = [*keys, *module]
    chosen: set[int | str] = set()
    for w in items:
        if isinstance(w, bool | np.bool_) or not isinstance(w, int | str | np.integer):
            raise InvalidTypeError(
                f"`wrt` must be a name, an index, or a tuple of them, not {type(w).__name__} {w!r}."
            )
        w = int(w) if isinstance(w, np.integer) else names.get(w, w)  # type: ignore[arg-type]
        if w not in valid:
            kind = "keys" if keyword else "positions"
            raise InvalidInputError(
                f"`wrt` names {w!r}, which is not an input: the inputs' {kind} are "
                f"{keys}{f' and the module parameters {module}' if module else ''}."
            )
        chosen.add(w)
    return chosen


def _take(value: Any, name: str, selected: bool, params: list[Param]) -> Any:
    """``value`` with its checked tensors replaced by slots (appended to ``params``)."""
    if isinstance(value, torch.Tensor):
        differentiable = value.is_floating_point() or value.is_complex()
        if not selected or not differentiable or value.numel() == 0:
            return value  # a constant (an empty tensor has no entry to check)
        params.append(Param(name, _checkable(value, name), layout(value)))
        return _Slot(len(params) - 1)
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        items = [_take(v, f"{name}[{i}]", selected, params) for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    return value


def _checkable(t: torch.Tensor, name: str) -> torch.Tensor:
    if t.layout is not torch.strided:
        raise InvalidTypeError(
            f"{name} is a {t.layout} tensor: only dense (strided) tensors can be checked; "
            "pass t.to_dense()."
        )
    if t.dtype not in CHECKABLE:
        raise InvalidTypeError(
            f"{name} has dtype {t.dtype}: finite differences need float32/float64 or "
            "complex64/complex128 (float16 and bfloat16 resolve 3 digits or fewer). Cast it, "
            "or leave it out with `wrt=`."
        )
    return t


def _what(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor"
    return f"a {type(value).__name__}"


def to_tensor(arr: NDArray[Any], p: Param, stacked: bool = False) -> torch.Tensor:
    """A fresh tensor of ``arr``'s values on ``p``'s device, with ``p``'s layout (per stacked
    item when ``stacked``: a leading axis of independent copies)."""
    shape = tuple(p.tensor.shape)
    # a fresh C-ordered copy, shared with torch (torch.tensor's own copy costs ~3x more)
    src = torch.from_numpy(np.array(arr, order="C")).to(p.tensor.device)
    src = src.reshape((src.shape[0], *shape) if stacked else shape)
    if p.layout is None:
        return src
    span = 1 + sum((n - 1) * s for n, s in zip(shape, p.layout, strict=True))
    strides = (span, *p.layout) if stacked else p.layout
    out = torch.empty_strided(src.shape, strides, dtype=src.dtype, device=src.device)
    return out.copy_(src)
