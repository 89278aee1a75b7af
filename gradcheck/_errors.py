"""The typed errors of gradcheck: one base class, conventional bases where they apply."""

from __future__ import annotations


class GradcheckError(Exception):
    """Base class of every error gradcheck raises on purpose."""


class InvalidInputError(GradcheckError, ValueError):
    """An argument has the right type but a bad value: NaN/inf, a wrong shape, an empty tree."""


class InvalidTypeError(GradcheckError, TypeError):
    """An argument has the wrong type: integer or complex params, a non-scalar ``f``,
    a gradient whose tree structure or dtype differs from the parameters'."""


class NondeterministicError(GradcheckError, RuntimeError):
    """``f`` or ``grad`` gave different values at the same point (randomness or hidden state)."""


class GradientMismatch(GradcheckError, AssertionError):
    """The analytic gradient disagrees with finite differences beyond the error model.

    ``.result`` holds the full `CheckResult`; ``str(err)`` is its report.
    """

    def __init__(self, result: object) -> None:
        super().__init__(str(result))
        self.result = result


# Exported as gradcheck.<Name>: tracebacks and pytest show that name, not gradcheck._errors.
for _cls in (
    GradcheckError,
    InvalidInputError,
    InvalidTypeError,
    NondeterministicError,
    GradientMismatch,
):
    _cls.__module__ = "gradcheck"
