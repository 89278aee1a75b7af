"""One entry of a symbolic array: a sympy expression numpy's object loops can compute with.

numpy runs ``+ - * / ** @``, reductions and broadcasting on object arrays by calling the
entries' operators, and its elementwise functions (``np.exp``, ``np.tanh``, ``np.sqrt``, …) by
calling the entry's method of that name. `Symbolic` provides both, so a forward and a backward
written for float arrays run unchanged on arrays of `Symbolic`. A comparison (``np.maximum``,
``x > 0``, ``np.clip``) asks the active region oracle (`gradcheck.symbolic._regions`), which
decides the sign of ``lhs - rhs`` once per region. Whatever has no exact symbolic meaning
(``float(x)``, ``np.floor``) raises `SymbolicUnsupported`, which a proof reports as its reason.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from gradcheck.symbolic import _regions
from gradcheck.symbolic._functions import Exp
from gradcheck.symbolic._unsupported import SymbolicUnsupported

__all__ = ["Symbolic", "SymbolicUnsupported", "as_expr", "constant"]


_NAMED = {math.pi: sympy.pi, math.e: sympy.E}


def constant(value: float) -> Any:
    """A float constant as the exact number the source code means: ``np.pi`` and ``np.e`` as π
    and e, any other as the rational its shortest repr shows (0.1 -> 1/10, 1e-05 -> 1/100000).
    Infinite or NaN constants are refused."""
    if not math.isfinite(value):
        raise SymbolicUnsupported(f"the constant {value!r} is not a finite number")
    return _NAMED.get(float(value)) or sympy.Rational(repr(float(value)))


def as_expr(value: Any) -> Any:
    """A sympy expression for an entry: `Symbolic`, int, float, numpy scalar or sympy object."""
    found = _operand(value)
    if found is None:
        raise SymbolicUnsupported(
            f"a value of type {type(value).__name__} ({value!r:.60}) met a symbolic one; only "
            "numbers and symbolic entries can be computed with"
        )
    return found


def _operand(value: Any) -> Any:
    if isinstance(value, Symbolic):
        return value.expr
    if isinstance(value, bool | np.bool_):
        return sympy.Integer(int(value))
    if isinstance(value, int | np.integer):
        return sympy.Integer(int(value))
    if isinstance(value, float | np.floating):
        return constant(float(value))
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, complex | np.complexfloating):
        raise SymbolicUnsupported(f"complex constant {value!r}: symbolic proofs are over the reals")
    return None


def _binary(op: Callable[[Any, Any], Any], reflected: bool = False) -> Callable[..., Any]:
    def method(self: Symbolic, other: Any) -> Any:
        o = _operand(other)
        if o is None:
            return NotImplemented
        return Symbolic(op(o, self.expr) if reflected else op(self.expr, o))

    return method


def _unary(function: Callable[[Any], Any], name: str) -> Callable[[Symbolic], Symbolic]:
    def method(self: Symbolic) -> Symbolic:
        return Symbolic(function(self.expr))

    method.__name__ = name
    return method


def _compare(op: str) -> Callable[[Symbolic, Any], Any]:
    def method(self: Symbolic, other: Any) -> Any:
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _regions.compare(self.expr - o, op)

    return method


class Symbolic:
    """An entry of a symbolic array (`gradcheck.symbolic`): wraps the sympy expression ``expr``.

    Arithmetic with numbers and other entries gives entries; ``np.exp``, ``np.log``,
    ``np.sqrt``, ``np.tanh`` and the other elementwise functions numpy dispatches by method
    name are provided; comparisons are decided per region. ``float()`` of an entry with free
    symbols raises `SymbolicUnsupported` (a float array cannot hold a symbol: allocate with
    ``dtype=x.dtype`` or ``np.empty_like``).
    """

    __slots__ = ("expr",)
    __hash__ = None  # type: ignore[assignment]  # == is decided per region, not by identity

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def __repr__(self) -> str:
        return f"Symbolic({self.expr})"

    def __str__(self) -> str:
        return str(self.expr)

    __add__ = _binary(operator.add)
    __radd__ = _binary(operator.add, reflected=True)
    __sub__ = _binary(operator.sub)
    __rsub__ = _binary(operator.sub, reflected=True)
    __mul__ = _binary(operator.mul)
    __rmul__ = _binary(operator.mul, reflected=True)
    __truediv__ = _binary(operator.truediv)
    __rtruediv__ = _binary(operator.truediv, reflected=True)
    __pow__ = _binary(operator.pow)
    __rpow__ = _binary(operator.pow, reflected=True)
    __lt__ = _compare("<")
    __le__ = _compare("<=")
    __gt__ = _compare(">")
    __ge__ = _compare(">=")

    def __eq__(self, other: object) -> Any:
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _regions.compare(self.expr - o, "==")

    def __ne__(self, other: object) -> Any:
        o = _operand(other)
        if o is None:
            return NotImplemented
        return _regions.compare(self.expr - o, "!=")

    def __neg__(self) -> Symbolic:
        return Symbolic(-self.expr)

    def __pos__(self) -> Symbolic:
        return self

    def __abs__(self) -> Symbolic:
        return Symbolic(sympy.Abs(self.expr))

    def __bool__(self) -> bool:
        return bool(_regions.compare(self.expr, "!="))

    def __float__(self) -> float:
        if self.expr.is_number:
            return float(self.expr)
        raise SymbolicUnsupported(
            f"float() of the symbolic value {str(self.expr)[:80]}: the code converts to float "
            "(a float64 array from np.empty/np.zeros without dtype, .astype(float), float(x)); "
            "allocate with dtype=x.dtype or np.empty_like(x) so the array can hold symbols"
        )

    def __int__(self) -> int:
        if self.expr.is_Integer:
            return int(self.expr)
        raise SymbolicUnsupported(f"int() of the symbolic value {str(self.expr)[:80]}")

    __index__ = __int__

    # numpy's elementwise functions on object arrays call the method of the same name
    exp = _unary(Exp, "exp")
    exp2 = _unary(lambda e: Exp(e * sympy.log(2)), "exp2")
    expm1 = _unary(lambda e: Exp(e) - 1, "expm1")
    log = _unary(sympy.log, "log")
    log1p = _unary(lambda e: sympy.log(1 + e), "log1p")
    log2 = _unary(lambda e: sympy.log(e, 2), "log2")
    log10 = _unary(lambda e: sympy.log(e, 10), "log10")
    sqrt = _unary(sympy.sqrt, "sqrt")
    cbrt = _unary(sympy.cbrt, "cbrt")
    sin = _unary(sympy.sin, "sin")
    cos = _unary(sympy.cos, "cos")
    tan = _unary(sympy.tan, "tan")
    arcsin = _unary(sympy.asin, "arcsin")
    arccos = _unary(sympy.acos, "arccos")
    arctan = _unary(sympy.atan, "arctan")
    sinh = _unary(sympy.sinh, "sinh")
    cosh = _unary(sympy.cosh, "cosh")
    tanh = _unary(sympy.tanh, "tanh")
    arcsinh = _unary(sympy.asinh, "arcsinh")
    arccosh = _unary(sympy.acosh, "arccosh")
    arctanh = _unary(sympy.atanh, "arctanh")

    def conjugate(self) -> Symbolic:
        return self  # every symbol is real

    def square(self) -> Symbolic:
        return Symbolic(self.expr**2)
