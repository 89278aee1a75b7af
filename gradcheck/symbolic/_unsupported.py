"""The one exception of the symbolic prover's internals: an operation it cannot do exactly."""

from __future__ import annotations

__all__ = ["SymbolicUnsupported"]


class SymbolicUnsupported(Exception):
    """An operation a symbolic proof cannot carry out exactly; the message says which and what
    to do. `gradcheck.symbolic.prove_vjp` turns it into an ``"unsupported"`` result."""
