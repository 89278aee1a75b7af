"""gradcheck: gradient checking with an error model.

>>> import numpy as np, gradcheck
>>> res = gradcheck.check_grad(lambda p: np.sum(np.sin(p)), np.cos, np.array([0.1, 2.0]))
>>> res.status
<Status.PASS: 'pass'>

Public names: `check_grad`, `assert_grad`, `check_vjp`, `check_jacobian`, the result types
`CheckResult`, `Entry`, `ParamReport`, `Status`, and the errors (`GradcheckError` and its
subclasses). ``help(gradcheck.check_grad)`` summarizes the error model behind the tolerance;
`gradcheck._engine.numdiff` writes it out.
"""

from gradcheck._check import assert_grad, check_grad
from gradcheck._errors import (
    GradcheckError,
    GradientMismatch,
    InvalidInputError,
    InvalidTypeError,
    NondeterministicError,
)
from gradcheck._result import CheckResult, Entry, ParamReport, Status
from gradcheck._vector import check_jacobian, check_vjp

__all__ = [
    "CheckResult",
    "Entry",
    "GradcheckError",
    "GradientMismatch",
    "InvalidInputError",
    "InvalidTypeError",
    "NondeterministicError",
    "ParamReport",
    "Status",
    "assert_grad",
    "check_grad",
    "check_jacobian",
    "check_vjp",
]
__version__ = "0.1.0"
