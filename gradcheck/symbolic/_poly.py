"""Sparse polynomials over the rationals for the zero test, in one small interface.

python-flint's ``fmpq_mpoly`` (FLINT, in C) when it is installed, which multiplies the
article's residuals 50-100x faster; otherwise sympy's pure-Python ``PolyRing``. Both are exact;
the zero test only adds, multiplies, divides exactly and substitutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

flint: Any
try:  # the [symbolic] extra brings python-flint; without it sympy's rings do the same, slower
    import flint
except ImportError:  # pragma: no cover - exercised where python-flint is not installed
    flint = None

__all__ = ["Ring"]


class Ring:
    """Polynomials over QQ in generators standing for ``symbols`` (sympy symbols)."""

    def __init__(self, symbols: Sequence[Any]) -> None:
        self.symbols = list(symbols) or [sympy.Dummy("unit")]
        n = len(self.symbols)
        if flint is not None:
            self._ctx = flint.fmpq_mpoly_ctx.get(tuple(f"g{i}" for i in range(n)), "lex")
            self.gens = list(self._ctx.gens())
            self.one, self.zero = self._ctx.constant(1), self._ctx.constant(0)
        else:
            from sympy.polys.domains import QQ
            from sympy.polys.orderings import lex
            from sympy.polys.rings import PolyRing

            self._ring = PolyRing(self.symbols, QQ, lex)
            self.gens = list(self._ring.gens)
            self.one, self.zero = self._ring.one, self._ring.zero
        self._index = {i: i for i in range(n)}

    def const(self, p: int, q: int = 1) -> Any:
        if flint is not None:
            return self._ctx.constant(flint.fmpq(p, q))
        from sympy.polys.domains import QQ

        return self._ring(QQ(p, q))

    def monomial(self, exponents: tuple[int, ...], coeff: Any) -> Any:
        if flint is not None:
            return self._ctx.from_dict({tuple(exponents): coeff})
        return self._ring.from_dict({tuple(exponents): coeff})

    def div(self, a: Any, b: Any) -> tuple[Any, Any]:
        """``(quotient, remainder)``; the remainder is 0 exactly when ``b`` divides ``a``."""
        if flint is not None:
            q, r = divmod(a, b)
            return q, r
        q, r = a.div(b)
        return q, r

    @staticmethod
    def is_monomial(p: Any) -> bool:
        return len(p) == 1

    def compose(self, p: Any, pairs: Sequence[tuple[int, Any]]) -> Any:
        """``p`` with generator number ``i`` replaced by the polynomial ``v``, for each pair."""
        if flint is not None:
            subs = list(self.gens)
            for i, v in pairs:
                subs[i] = v
            return p.compose(*subs)
        return p.compose([(self.gens[i], v) for i, v in pairs])

    def head(self, p: Any, n: int) -> Any:
        """The first ``n`` terms of ``p``."""
        return self.monomial_sum(list(zip(p.monoms(), p.coeffs(), strict=True))[:n])

    def monomial_sum(self, terms: list[tuple[tuple[int, ...], Any]]) -> Any:
        if flint is not None:
            return self._ctx.from_dict(dict(terms))
        return self._ring.from_dict(dict(terms))

    def as_expr(self, p: Any) -> Any:
        """``p`` as a sympy expression in ``symbols``."""
        out = []
        for exps, c in zip(p.monoms(), p.coeffs(), strict=True):
            coeff = sympy.Rational(int(c.numerator), int(c.denominator))
            out.append(coeff * sympy.Mul(*[s**e for s, e in zip(self.symbols, exps, strict=True)]))
        return sympy.Add(*out)
