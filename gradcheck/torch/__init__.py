r"""gradcheck for PyTorch (extra ``[torch]``): check any backward with the error model.

>>> import torch, gradcheck.torch
>>> x = torch.randn(3, 4, dtype=torch.float64)
>>> gradcheck.torch.check(torch.tanh, x, seed=0).status
<Status.PASS: 'pass'>

`check` returns the `gradcheck.CheckResult` of `gradcheck.check_grad`; `gradcheck` is a drop-in
for ``torch.autograd.gradcheck`` (switching is an import change). Both judge by the error
model of `gradcheck._engine.numdiff`; complex tensors follow `gradcheck._complex`.
"""

from gradcheck.torch._check import check
from gradcheck.torch._dropin import GradcheckFailure, GradcheckInconclusive, gradcheck

__all__ = ["GradcheckFailure", "GradcheckInconclusive", "check", "gradcheck"]
