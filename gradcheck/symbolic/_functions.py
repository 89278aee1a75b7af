"""The elementwise functions of a symbolic proof, as sympy functions with derivative rules.

`Sigmoid` is the logistic function σ(x) = 1/(1+e^{-x}) with σ' = σ(1−σ); `Exp` is e^x kept as
one factor per call (sympy's own ``exp`` merges ``exp(a)*exp(b)`` into ``exp(a+b)``, which
hides the per-unit factors a stable derivative form is made of). Both print as ``sigmoid`` and
``exp``; tanh is sympy's (tanh' = 1 − tanh²).
"""

from __future__ import annotations

from typing import Any

import sympy

__all__ = ["Exp", "Sigmoid"]


class Sigmoid(sympy.Function):  # type: ignore[misc]  # sympy is untyped
    """σ(x) = 1/(1+e^{-x}); derivative σ(x)(1−σ(x)); rewrites to exp; real for real x."""

    nargs = 1

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_Number:
            return 1 / (1 + sympy.exp(-x))
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, x: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sympy.exp(-x))

    def _eval_evalf(self, prec: int) -> Any:
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_extended_real  # type: ignore[no-any-return]

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_extended_real  # type: ignore[no-any-return]


class Exp(sympy.Function):  # type: ignore[misc]
    """e^x as one unevaluated factor (see the module docstring); derivative itself."""

    nargs = 1

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_Number:
            return sympy.exp(x)
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return self

    def _eval_rewrite_as_exp(self, x: Any, **kwargs: Any) -> Any:
        return sympy.exp(x)

    def _eval_evalf(self, prec: int) -> Any:
        return sympy.exp(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_extended_real  # type: ignore[no-any-return]

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_extended_real  # type: ignore[no-any-return]


Sigmoid.__name__ = "sigmoid"  # how sympy prints it: sigmoid(x), exp(x)
Exp.__name__ = "exp"
