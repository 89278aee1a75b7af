"""`check`: the torch front end over `gradcheck._engine`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from gradcheck import _complex
from gradcheck._engine.calls import Calls
from gradcheck._engine.options import DEFAULT_ULPS, Options, check_flag, draw_seed, title
from gradcheck._engine.run import run_scalar
from gradcheck._result import CheckResult, Status
from gradcheck.torch._evaluate import Evaluator
from gradcheck.torch._inputs import Wrt, leaves, make_call, to_tensor
from gradcheck.torch._linearity import per_output
from gradcheck.torch._loss import cotangent


def check(
    fn: Callable[..., Any],
    *inputs: Any,
    mode: str = "full",
    seed: int | None = None,
    wrt: Wrt = None,
    label: str | None = None,
    rtol: float = 0.0,
    atol: float = 0.0,
    step: float | None = None,
    ulps: float = DEFAULT_ULPS,
    vmap: bool = True,
) -> CheckResult:
    r"""Check ``fn``'s backward against finite differences of ``fn`` itself.

    Parameters
    ----------
    fn : any callable on tensors: a torch op, an ``autograd.Function.apply``, an
        ``nn.Module`` (its parameters that require grad are checked too, named as in
        ``named_parameters()``). It may return one tensor or several (nested tuples, lists,
        dicts); integer and boolean outputs are ignored.
    *inputs : the arguments of ``fn``, named ``inputs[0]``, ``inputs[1]``, ... (nested lists
        of tensors ``inputs[0][1]``); or one dict, passed as keyword arguments and named by its
        keys. Every float32/float64/complex64/complex128 tensor is checked (0-d,
        non-contiguous, on any device); anything else is passed through unchanged. The
        tensors are never modified: ``fn`` gets fresh copies with the same layout and device.
    mode : ``"full"`` checks every entry; ``"fast"`` checks random directions and names wrong
        entries by bisection (see `gradcheck.check_grad`).
    seed : draws the cotangent and fast mode's directions (a fresh seed is drawn and recorded
        in the result when None).
    wrt : the inputs to check, as `gradcheck.check_vjp` reads it: a position (or the name
        ``"inputs[1]"``), a dict key or a module parameter's name, or a tuple of them. The
        others are constants, passed to ``fn`` unchanged and never differenced. Default: every
        floating or complex tensor.
    label : the report's title (default: ``fn``'s name: ``Linear`` for a module,
        ``MyFunction.apply``, ``sin``; a lambda as ``<lambda> at file.py:LINE``).
    rtol, atol, step, ulps : as in `gradcheck.check_grad`.
    vmap : evaluate stacked perturbations through ``torch.func.vmap`` (default); ``fn`` that
        cannot be vmapped (data-dependent control flow, ``.item()``) falls back to a loop by
        itself, and the result's ``notes`` say so (as they name outputs autograd declares
        non-differentiable, which are not checked, as in ``torch.autograd.gradcheck``).

    The backward is checked through a random non-uniform cotangent :math:`v`: the real loss
    :math:`L = \sum \operatorname{Re}\langle v, \mathrm{fn}(\text{inputs})\rangle` is
    differenced (natively in torch, see `gradcheck.torch._evaluate`), and its gradient is
    ``fn``'s backward at :math:`v`. Complex inputs follow PyTorch's convention and complex
    outputs get a complex cotangent (`gradcheck._complex`). Float32 inputs are differenced in
    float64 when ``fn`` accepts float64 tensors, and their backward is judged in float32 (as
    `gradcheck.check_grad` does).
    """
    user = Calls("fn", "backward")
    check_flag("vmap", vmap)
    o = Options(mode, rtol, atol, step, ulps, seed)
    o = replace(o, seed=draw_seed(o.seed))  # the cotangent is random in either mode
    assert o.seed is not None
    name = title(label, fn) if label is not None else _name(fn)
    call = make_call(fn, inputs, wrt)
    whole = leaves(call.params)
    fresh = [to_tensor(leaf.array, p) for leaf, p in zip(whole, call.params, strict=True)]
    loss, graph = cotangent(call, fresh, o.seed)
    ev = Evaluator(loss, call.params, whole, user, vmap=vmap, graph=graph)
    if loss.skipped:
        user.note(
            f"output(s) {list(loss.skipped)} do not require grad (declared non-differentiable "
            "by autograd) and were not checked."
        )
    res = run_scalar(
        ev.raw,
        ev.analytic,
        _complex.split(whole),
        "<v, fn(*inputs)>",
        name,
        o,
        user,
        ev.stack_factory(),
    )
    if res.status is Status.FAIL:
        return res
    fresh = [to_tensor(leaf.array, p) for leaf, p in zip(whole, call.params, strict=True)]
    wrong = per_output(loss, fresh, whole, o.ulps)
    if wrong is None:
        return res
    return replace(
        res,
        status=Status.FAIL,
        reason=(
            "the backward of all outputs at once agrees with finite differences, but each "
            "output's backward alone (the others' gradients None) does not add up to it: "
            "the backward is wrong where autograd leaves some outputs' gradients undefined."
        ),
        worst=(wrong, *res.worst),
        worst_ratio=max(res.worst_ratio, wrong.ratio),
    )


def _name(fn: Any) -> str:
    import torch

    if isinstance(fn, torch.nn.Module):
        return type(fn).__name__
    owner = getattr(fn, "__self__", None)  # autograd.Function.apply is bound to the class
    if isinstance(owner, type):
        return f"{owner.__name__}.apply"
    if type(fn).__name__ == "builtin_function_or_method":  # torch.sin, not its C class
        return str(fn.__name__)
    return title(None, fn)
