"""The exact derivative a backward is compared with: the chain rule on the forward's expressions.

`vjp` computes :math:`\\sum_j \\mathrm{dout}_j\\,\\partial\\,\\mathrm{out}_j/\\partial\\theta` for
every input symbol θ in one reverse sweep over the expression graph of the forward's outputs
(shared subexpressions visited once). The local derivatives are sympy's own rules: 1 for a
sum, the other factors for a product, :math:`e\\,b^{e-1}` and :math:`b^e\\log b` for a power,
and ``fdiff`` for a function (σ' = σ(1 − σ), tanh' = 1 − tanh², exp' = exp, |u|' = sign u,
…). ``sign`` is constant on every region (its derivative is 0 off the kink). This is the same
derivative ``sympy.diff`` takes, without its per-call canonicalization, which costs minutes
on an unrolled sequence; the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sympy

from gradcheck.symbolic._unsupported import SymbolicUnsupported

__all__ = ["vjp"]


def vjp(pairs: Iterable[tuple[Any, Any]], wrt: Iterable[Any]) -> dict[Any, Any]:
    """``{θ: Σ_j d_j ∂o_j/∂θ}`` for ``pairs`` of ``(d_j, o_j)`` expressions, for each symbol θ
    of ``wrt`` (0 where an output does not depend on θ)."""
    targets = set(wrt)
    pairs = list(pairs)
    order, depends = _graph([o for _, o in pairs], targets)
    contributions: dict[Any, list[Any]] = {}
    for d, o in pairs:
        if depends.get(o):
            contributions.setdefault(o, []).append(d)
    grads = {theta: sympy.S.Zero for theta in targets}
    for node in reversed(order):  # every parent before its children
        parts = contributions.pop(node, None)
        if parts is None:
            continue
        adjoint = sympy.Add(*parts)
        if node in targets:
            grads[node] = adjoint
            continue
        for child, partial in _partials(node):
            if depends.get(child):
                contributions.setdefault(child, []).append(adjoint * partial)
    return grads


def _graph(roots: list[Any], targets: set[Any]) -> tuple[list[Any], dict[Any, bool]]:
    """The nodes below ``roots`` in post order (children first), and whether each one depends
    on a target symbol."""
    order: list[Any] = []
    depends: dict[Any, bool] = {}
    for root in roots:
        if root in depends:
            continue
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                depends[node] = node in targets or any(depends[c] for c in node.args)
                order.append(node)
            elif node not in depends:
                depends[node] = False  # placeholder: on the stack
                stack.append((node, True))
                stack.extend((c, False) for c in node.args if c not in depends)
    return order, depends


def _partials(node: Any) -> Iterator[tuple[Any, Any]]:
    """``(child, ∂node/∂child)`` for each argument of ``node``."""
    args = node.args
    if node.is_Add:
        for a in args:
            yield a, sympy.S.One
    elif node.is_Mul:
        for i, a in enumerate(args):
            yield a, sympy.Mul(*args[:i], *args[i + 1 :])
    elif node.is_Pow:
        base, exp = args
        yield base, exp * base ** (exp - 1)
        if not exp.is_number:
            yield exp, node * sympy.log(base)
    elif node.func is sympy.sign:
        return  # constant on each region
    elif isinstance(node, sympy.Function):
        for i, a in enumerate(args):
            yield a, node.fdiff(i + 1)
    elif args:
        raise SymbolicUnsupported(f"no derivative rule for {type(node).__name__}: {node}")
