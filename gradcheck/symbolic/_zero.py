"""Deciding that a residual is exactly 0: a σ-normal form, polynomial arithmetic, Abs by sign.

The residual of one gradient entry, ``backward − exact derivative``, is built from input
symbols, rationals, sigmoid, tanh, exp, Abs, sign and powers. `is_zero` proves it identically
0 in three steps, each an exact identity, so ``True`` is a proof:

1. **σ-normal form.** ``tanh(u) = 2σ(2u) − 1``, ``exp(w) = σ(w)/(1 − σ(w))``,
   ``σ(−w) = 1 − σ(w)``; ``Abs(v)`` and ``sign(v)`` are written out where the region has
   decided the sign of ``v``. Every σ(w), other function application, root ``b**(1/q)`` and
   remaining ``Abs(v)``/``sign(v)`` becomes an independent generator (an *atom*).
2. **Polynomial arithmetic.** The normal form is evaluated as a fraction of two polynomials
   over the rationals in the symbols and atoms (sympy's sparse ``PolyRing``). The residual is
   0 when the numerator is the zero polynomial: zero as a rational function of independent
   atoms implies zero for the atoms' actual values.
3. **Abs by sign.** If atoms of an undecided ``v`` remain (|v|, sign v, σ(c|v|)), both cases
   are substituted, v > 0 (|v| = v, σ(c|v|) = σ(cv)) and v < 0 (|v| = −v,
   σ(c|v|) = 1 − σ(cv)); if the two results are equal the residual does not depend on the case
   and one is kept, otherwise each is proven. A stable form such as
   ``e^{-|x|}/(1+e^{-|x|})^2`` is σ(|x|)(1 − σ(|x|)), which is σ(x)(1 − σ(x)) in both cases.
   Where |v| appears in any other way, each case is converted again from the start.

Relations between atoms the normal form does not know (``sqrt(a)**2 = a`` is known, not, say,
``sin² + cos² = 1``) can only make a true identity go unrecognized, never a false one pass:
`prove_vjp` then tells a wrong gradient from such a gap at points (`_witness`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sympy

from gradcheck.symbolic._functions import Exp, Sigmoid
from gradcheck.symbolic._poly import Ring
from gradcheck.symbolic._regions import canonical
from gradcheck.symbolic._unsupported import SymbolicUnsupported

__all__ = ["is_zero", "shown", "zero_all"]

Tick = Callable[[], None]
_EXP = (Exp, sympy.exp)
_ABS = (sympy.Abs, sympy.sign)


def is_zero(r: Any, signs: Mapping[Any, int], tick: Tick | None = None) -> bool:
    """True if ``r`` is identically 0 where the decided signs ``signs`` hold (see above).

    ``tick()`` is called between steps (the proof's time budget raises from it)."""
    if r == 0:
        return True
    tick = tick or (lambda: None)
    fields = _Fields(r, signs)
    num, den = fields.fraction()
    if not num:
        return True
    if not fields.open:
        return False
    if fields.substitutable:
        return _cases(fields.ring, num, den, [fields.cases(v) for v in fields.open], tick)
    key = fields.open[0]
    tick()
    return is_zero(r, {**signs, key: 1}, tick) and is_zero(r, {**signs, key: -1}, tick)


def zero_all(residuals: list[Any], signs: Mapping[Any, int], tick: Tick) -> Iterator[bool]:
    """`is_zero` of each of many residuals of one region, in order: one ring and one memo for
    all, so the subexpressions they share (the forward's states, the adjoints of the chain
    rule) are evaluated once. A residual the shared pass does not show 0 gets `is_zero`."""
    fields = _Fields(residuals, signs)
    for r in residuals:
        tick()
        num, _ = fields.fraction(r)
        # with no undecided |v| anywhere, is_zero would compute this same fraction again
        yield not num or (bool(fields.open) and is_zero(r, signs, tick))


def _cases(ring: Ring, num: Any, den: Any, cases: list[tuple[Any, Any]], tick: Tick) -> bool:
    if not cases:
        return not num
    (plus, minus), rest = cases[0], cases[1:]
    n1, d1 = ring.compose(num, plus), ring.compose(den, plus)
    n2, d2 = ring.compose(num, minus), ring.compose(den, minus)
    if not d1 or not d2:
        return False
    tick()
    if not (n1 * d2 - n2 * d1):
        return _cases(ring, n1, d1, rest, tick)
    return _cases(ring, n1, d1, rest, tick) and _cases(ring, n2, d2, rest, tick)


class _Fields:
    """An expression as a fraction of polynomials in its symbols and atoms. The atoms are
    collected first (pass 1), so that one ring holds them all; then it is evaluated (pass 2)."""

    def __init__(self, r: Any, signs: Mapping[Any, int]) -> None:
        self.r, self.signs = r, signs  # one expression, or a list of them
        self.atoms: dict[Any, Any] = {}  # atom key -> the symbol standing for it
        self.shown: dict[Any, Any] = {}  # that symbol -> the expression it stands for
        self.open: list[Any] = []  # the undecided v of Abs(v), sign(v), σ(c|v|)
        self.scaled: dict[Any, set[Any]] = {}  # v -> the c of its σ(c|v|) atoms
        self.substitutable = True
        self._seen: set[Any] = set()
        self._resolved: dict[Any, Any] = {}
        for e in r if isinstance(r, list) else [r]:
            self._collect(e)
        for v in self.open:
            self._collect(v)
            for c in self.scaled.get(v, ()):
                self._sigma_key(c * v)
        gens = list(self.atoms.values())
        self.ring = Ring(gens)
        self._gen = dict(zip(gens, self.ring.gens, strict=False))
        self._number = {g: i for i, g in enumerate(gens)}
        self._memo: dict[Any, tuple[Any, Any]] = {}

    # -- pass 1: the atoms ------------------------------------------------------------------
    def _atom(self, key: Any, shown: Any) -> Any:
        found = self.atoms.get(key)
        if found is None:
            found = shown if shown.is_Symbol else sympy.Dummy(f"a{len(self.atoms)}", real=True)
            self.atoms[key] = found
            self.shown[found] = shown
        return found

    def _resolve(self, w: Any) -> Any:
        """``w`` with every Abs and sign whose sign the region decides written out."""
        found = self._resolved.get(w)
        if found is None:
            subs = {}
            for node in w.atoms(*_ABS):
                key, flip = canonical(node.args[0])
                if key in self.signs:
                    s = flip * self.signs[key]
                    subs[node] = s * node.args[0] if node.func is sympy.Abs else sympy.Integer(s)
            found = self._resolved[w] = w.xreplace(subs) if subs else w
        return found

    def _open(self, v: Any) -> None:
        if v not in self.open:
            self.open.append(v)

    def _sigma_key(self, w: Any, tanh_of: Any = None) -> None:
        key, flip = canonical(w)
        atom = self._atom(("sigma", key), Sigmoid(key))
        if tanh_of is not None:  # shown as tanh: σ(2u) = (1 + tanh u)/2
            self.shown[atom] = (1 + flip * sympy.tanh(flip * tanh_of)) / 2
        if key.has(*_ABS):
            coeff, rest = key.as_coeff_Mul()
            if rest.func is sympy.Abs and coeff.is_Rational and coeff > 0:
                v = canonical(rest.args[0])[0]
                self._open(v)
                self.scaled.setdefault(v, set()).add(coeff)
            else:
                self.substitutable = False

    def _collect(self, e: Any) -> None:
        if e in self._seen:
            return
        self._seen.add(e)
        if e.is_Symbol:
            self._atom(e, e)
        elif e.is_Number:
            return
        elif e.func is Sigmoid or e.func in _EXP:
            self._sigma_key(self._resolve(e.args[0]))
        elif e.func is sympy.tanh:
            u = self._resolve(e.args[0])
            self._sigma_key(2 * u, tanh_of=u)
        elif e.func in _ABS:
            key, _ = canonical(e.args[0])
            if key in self.signs:
                self._collect(e.args[0])
            else:
                self._atom((e.func, key), e.func(key))
                self._open(key)
        elif e.is_Pow and not e.exp.is_Integer:
            base = self._resolve(e.base)
            if base.has(*_ABS):
                self.substitutable = False
            if e.exp.is_Rational:
                self._atom(("root", base, e.exp.q), base ** sympy.Rational(1, e.exp.q))
            else:
                self._atom(("power", base, e.exp), e)
        elif e.is_Mul:
            lemmas, rest = _stable_forms(e.args)
            for w, _ in lemmas:
                self._sigma_key(self._resolve(w))
            for a in rest:
                self._collect(a)
        elif e.is_Add or e.is_Pow:
            for a in e.args:
                self._collect(a)
        else:
            if self._resolve(e).has(*_ABS):
                self.substitutable = False
            self._atom(self._resolve(e), self._resolve(e))

    # -- pass 2: the fraction ---------------------------------------------------------------
    def fraction(self, e: Any = None) -> tuple[Any, Any]:
        """``(numerator, denominator)`` of the expression (or of ``e``, one of the list), as
        ``PolyElement``."""
        return self._frac(self.r if e is None else e)

    def _g(self, key: Any) -> Any:
        return self._gen[self.atoms[key]]

    def _sigma(self, w: Any) -> Any:
        key, flip = canonical(w)
        s = self._g(("sigma", key))
        return s if flip > 0 else 1 - s

    def _frac(self, e: Any) -> tuple[Any, Any]:
        found = self._memo.get(e)
        if found is None:
            found = self._memo[e] = self._convert(e)
        return found

    def _convert(self, e: Any) -> tuple[Any, Any]:
        one = self.ring.one
        if e.is_Symbol:
            return self._g(e), one
        if e.is_Rational:
            return self.ring.const(int(e.p), int(e.q)), one
        if e.is_Number:
            raise SymbolicUnsupported(f"the number {e} is not rational: no exact arithmetic")
        if e.func is Sigmoid:
            return self._sigma(self._resolve(e.args[0])), one
        if e.func is sympy.tanh:
            return 2 * self._sigma(2 * self._resolve(e.args[0])) - 1, one
        if e.func in _EXP:
            s = self._sigma(self._resolve(e.args[0]))
            return _reduce(self.ring, s, 1 - s)
        if e.func in _ABS:
            return self._abs(e)
        if e.is_Add:
            return _sum(self.ring, [self._frac(a) for a in e.args])
        if e.is_Mul:
            lemmas, rest = _stable_forms(e.args)
            num, den = one, one
            for w, k in lemmas:  # e^{-|w|}/(1+e^{-|w|})^2 = σ(w)(1 − σ(w)), whatever sign w has
                s = self._sigma(self._resolve(w))
                num = num * (s * (1 - s)) ** k
            for n, d in (self._frac(a) for a in rest):
                num, den = num * n, den * d
            return _reduce(self.ring, num, den)
        if e.is_Pow and e.exp.is_Integer:
            n, d = self._frac(e.base)
            k = int(e.exp)
            if k < 0 and not n:
                raise SymbolicUnsupported(f"division by {e.base}, which is identically 0")
            r = self.ring
            return _reduce(r, n**k, d**k) if k >= 0 else _reduce(r, d ** (-k), n ** (-k))
        if e.is_Pow and e.exp.is_Rational:
            root = self._g(("root", self._resolve(e.base), e.exp.q))
            p = int(e.exp.p)
            return (root**p, one) if p >= 0 else (one, root ** (-p))
        if e.is_Pow:
            return self._g(("power", self._resolve(e.base), e.exp)), one
        return self._g(self._resolve(e)), one

    def _abs(self, e: Any) -> tuple[Any, Any]:
        key, flip = canonical(e.args[0])
        if key not in self.signs:
            g = self._g((e.func, key))
            return (g if e.func is sympy.Abs else flip * g), self.ring.one
        s = flip * self.signs[key]
        if e.func is sympy.sign:
            return self.ring.const(s), self.ring.one
        n, d = self._frac(e.args[0])
        return n * s, d

    # -- step 3: the two cases of an undecided sign -----------------------------------------
    def cases(self, v: Any) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]]]:
        """The substitutions for v > 0 and v < 0: |v| = ±v, sign v = ±1, σ(c|v|) = σ(±cv)."""
        n, d = self._frac(v)
        if d != self.ring.one:
            raise SymbolicUnsupported(f"|{v}| of a fraction: not supported by the sign cases")
        plus: list[tuple[Any, Any]] = []
        minus: list[tuple[Any, Any]] = []
        if (sympy.Abs, v) in self.atoms:
            g = self._number[self.atoms[(sympy.Abs, v)]]
            plus.append((g, n))
            minus.append((g, -n))
        if (sympy.sign, v) in self.atoms:
            g = self._number[self.atoms[(sympy.sign, v)]]
            plus.append((g, self.ring.one))
            minus.append((g, -self.ring.one))
        for c in self.scaled.get(v, ()):
            g = self._number[self.atoms[("sigma", c * sympy.Abs(v))]]
            s = self._sigma(c * v)
            plus.append((g, s))
            minus.append((g, 1 - s))
        return plus, minus


def _stable_forms(factors: tuple[Any, ...]) -> tuple[list[tuple[Any, int]], list[Any]]:
    """The stable σ' factors of a product: ``(w, k)`` for each ``e^{-k|w|}·(1+e^{-|w|})^{-2k}``
    among ``factors`` (the form `σ'(w) = σ(w)(1 − σ(w))` takes when computed without overflow,
    for every real w: e^{-|w|}/(1+e^{-|w|})^2 is even in w, and so is σ(1 − σ)); and the
    other factors. A stable form needs no sign cases this way."""
    exps: dict[Any, tuple[int, Any]] = {}  # w -> (k, the factor)
    for f in factors:
        base, k = (f.base, f.exp) if f.is_Pow and f.exp.is_Integer else (f, 1)
        if base.func in _EXP and k > 0:
            arg = base.args[0]
            if arg.could_extract_minus_sign() and (-arg).func is sympy.Abs:
                exps[(-arg).args[0]] = (int(k), f)
    if not exps:
        return [], list(factors)
    lemmas: list[tuple[Any, int]] = []
    used: set[Any] = set()
    for f in factors:
        if not (f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add):
            continue
        terms = f.base.args
        if len(terms) != 2 or sympy.S.One not in terms:
            continue
        e = next(t for t in terms if t != 1)
        if e.func in _EXP and (-e.args[0]).func is sympy.Abs:
            w = (-e.args[0]).args[0]
            k, factor = exps.get(w, (0, None))
            if k and -f.exp == 2 * k and factor not in used:
                lemmas.append((w, k))
                used.update((f, factor))
    return lemmas, [f for f in factors if f not in used]


def _sum(ring: Ring, parts: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    """Σ n_i/d_i over a common denominator (equal ones shared, dividing ones absorbed)."""
    one = ring.one
    num, den = parts[0]
    for n, d in parts[1:]:
        if d == den:
            num = num + n
        elif d == one:
            num = num + n * den
        elif den == one:
            num, den = num * d + n, d
        else:
            q, rem = ring.div(den, d)
            if not rem:
                num = num + n * q
            else:
                q, rem = ring.div(d, den)
                num, den = (num * q + n, d) if not rem else (num * d + n * den, den * d)
    return _reduce(ring, num, den)


def _reduce(ring: Ring, num: Any, den: Any) -> tuple[Any, Any]:
    """``num/den`` with a common monomial factor removed, or the division done when exact."""
    one = ring.one
    if not num:
        return num, one
    if den == one:
        return num, den
    if ring.is_monomial(den):
        (dm,), lead = den.monoms(), den.coeffs()[0]
        common = tuple(min(e) for e in zip(dm, *num.monoms(), strict=True))
        if any(common):
            num, _ = ring.div(num, ring.monomial(common, 1))
            den = ring.monomial(tuple(a - b for a, b in zip(dm, common, strict=True)), lead)
        return num, den
    q, rem = ring.div(num, den)
    return (q, one) if not rem else (num, den)


def shown(r: Any, signs: Mapping[Any, int], limit: int = 600) -> str:
    """The residual as a reader should see it: in normal form with the atoms written out
    (σ(2u) from a tanh as tanh u), factored when it is short, at most ``limit`` characters."""
    try:
        fields = _Fields(r, signs)
        num, den = fields.fraction()
        names, legend = _names(fields.shown)
        ring = fields.ring
        if len(num) <= 60 and len(den) <= 8:
            n = sympy.expand(ring.as_expr(num).xreplace(names))
            e = n / ring.as_expr(den).xreplace(names)
            # factoring is what makes a residual readable, and cheap in few symbols
            text = str(sympy.factor(e) if len(e.free_symbols) <= 12 else sympy.factor_terms(e))
        else:
            head = ring.as_expr(ring.head(num, 4)).xreplace(names)
            more = "" if den == ring.one else " over a denominator"
            text = f"({len(num)} terms) {head} + …{more}"
        used = [f"{k} = {v}" for k, v in legend if k in text]
        text += f", where {'; '.join(used)}" if used else ""
    except Exception as exc:  # the display must never hide the verdict
        text = f"{r} (not reduced: {type(exc).__name__})"
    if len(text) > limit:
        text = text[:limit] + f" … ({len(text) - limit} more characters)"
    return text


def _names(
    shown: dict[Any, Any], longest: int = 50
) -> tuple[dict[Any, Any], list[tuple[str, str]]]:
    """Atoms as they print, with every function call or root longer than ``longest``
    characters in them given a short name (A1, …) and a line in the legend."""
    short: dict[Any, Any] = {}
    legend: list[tuple[str, str]] = []
    for expr in shown.values():
        near = [expr, *expr.args, *(a for b in expr.args for a in b.args)]  # the call, not inside
        for node in near:
            if (node.is_Function or node.is_Pow) and node not in short and len(str(node)) > longest:
                short[node] = sympy.Symbol(f"A{len(legend) + 1}")
                legend.append((str(short[node]), str(node)))
    return {atom: expr.xreplace(short) for atom, expr in shown.items()}, legend
