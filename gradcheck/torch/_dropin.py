"""A drop-in for ``torch.autograd.gradcheck``: the common subset of its signature, judged by
gradcheck's error model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.autograd.gradcheck import GradcheckError as _TorchGradcheckError

from gradcheck._errors import GradcheckError, GradientMismatch, InvalidInputError
from gradcheck._result import CheckResult, Status
from gradcheck.torch._check import check


class GradcheckFailure(GradientMismatch, _TorchGradcheckError):
    """The backward disagrees with finite differences beyond the error model. Also a
    ``torch.autograd.gradcheck.GradcheckError``, so ``except`` clauses written for torch's
    gradcheck still catch it; ``.result`` is the `gradcheck.CheckResult`."""


class GradcheckInconclusive(GradcheckError, _TorchGradcheckError):
    """The backward could not be verified (a kink or domain edge inside the stencil, or a
    gradient below the noise floor): not a pass. ``.result`` is the `gradcheck.CheckResult`."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(str(result))
        self.result = result


#: torch's options that add checks gradcheck does not make: refused when switched on, so that
#: nothing is silently skipped.
_NOT_DONE = {
    "check_batched_grad": "batched gradients (vmap over the backward)",
    "check_batched_forward_grad": "batched forward-mode gradients",
    "check_forward_ad": "forward-mode AD",
}


def gradcheck(
    func: Callable[..., Any],
    inputs: torch.Tensor | Sequence[Any],
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    raise_exception: bool = True,
    fast_mode: bool = False,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    masked: bool | None = None,
    seed: int | None = None,
) -> bool:
    r"""``torch.autograd.gradcheck`` with gradcheck's error model: ``True`` when the backward
    of ``func`` agrees with finite differences; otherwise raises (or returns ``False`` with
    ``raise_exception=False``).

    As in torch, the checked inputs are the tensors of ``inputs`` with ``requires_grad=True``,
    and every floating or complex output of ``func`` is checked. What differs:

    * **Tolerance.** No fixed ``atol=1e-5, rtol=1e-3``: each entry is allowed the error that
      its own finite difference and the gradient's rounding can have (`gradcheck._engine.
      numdiff`), typically ~1e-10 relative in float64, so a one-entry error of 1e-4 is caught.
      ``atol``/``rtol`` given here are added on top (default 0).
    * **Step.** ``eps`` is a *relative* step (each entry moves by about ``eps`` times its own
      magnitude, as a power of two); by default it balances truncation against rounding.
    * **Backward, not Jacobian.** The backward is checked through one random non-uniform
      cotangent (an upstream gradient), not one per output entry; ``fast_mode=True`` checks
      random directions and names wrong entries by bisection. ``seed`` draws both.
    * **Verdicts.** A kink (ReLU at 0, a max tie) or a domain edge inside the stencil, or a
      gradient below the noise floor, is *inconclusive*: `GradcheckInconclusive` is raised
      (``False`` returned), where torch may pass or fail by chance. A failure raises
      `GradcheckFailure`, whose message names the wrong entries with the allowed error. Both
      are ``torch.autograd.gradcheck.GradcheckError``\ s.
    * **Not made.** ``check_undefined_grad`` and ``check_grad_dtypes`` are accepted and not
      performed (autograd casts gradients to the input's dtype); switching on
      ``check_batched_grad``, ``check_batched_forward_grad`` or ``check_forward_ad``, or
      passing ``nondet_tol > 0`` (gradcheck requires a deterministic backward) or ``masked``,
      raises `gradcheck.InvalidInputError`: use ``torch.autograd.gradcheck`` for those.
    """
    asked = {
        "check_batched_grad": check_batched_grad,
        "check_batched_forward_grad": check_batched_forward_grad,
        "check_forward_ad": check_forward_ad,
    }
    for name, on in asked.items():
        if on:
            raise InvalidInputError(
                f"`{name}=True`: gradcheck does not check {_NOT_DONE[name]}; use "
                "torch.autograd.gradcheck for it."
            )
    if not check_backward_ad:
        raise InvalidInputError("`check_backward_ad=False` leaves nothing for gradcheck to check.")
    if nondet_tol != 0.0 or masked is not None:
        raise InvalidInputError(
            "`nondet_tol` and `masked` are not supported: gradcheck needs a deterministic "
            "backward and dense tensors; use torch.autograd.gradcheck for those."
        )
    del check_undefined_grad, check_grad_dtypes  # accepted, not performed (see the docstring)
    args = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    wrt = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
    if not wrt:
        raise InvalidInputError(
            "no input tensor requires grad: gradcheck checks the inputs with "
            "requires_grad=True, as torch.autograd.gradcheck does."
        )
    result = check(
        func,
        *args,
        mode="fast" if fast_mode else "full",
        seed=seed,
        wrt=wrt,
        rtol=rtol or 0.0,
        atol=atol or 0.0,
        step=eps,
    )
    if result.status is Status.PASS:
        return True
    if not raise_exception:
        return False
    if result.status is Status.FAIL:
        raise GradcheckFailure(result)
    raise GradcheckInconclusive(result)
