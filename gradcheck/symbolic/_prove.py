"""`prove_vjp`: run a forward/backward pair on symbols and prove every gradient entry exactly."""

from __future__ import annotations

import inspect
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import sympy

from gradcheck import _evidence
from gradcheck._errors import InvalidInputError, InvalidTypeError
from gradcheck.symbolic._derivative import vjp
from gradcheck.symbolic._regions import Oracle, explore
from gradcheck.symbolic._swap import Swap, swapped
from gradcheck.symbolic._unsupported import SymbolicUnsupported
from gradcheck.symbolic._values import Symbolic, as_expr
from gradcheck.symbolic._witness import ROUNDING, find_witness
from gradcheck.symbolic._zero import is_zero, shown, zero_all

__all__ = ["Fixed", "SymbolicProof", "fixed", "prove_vjp"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Fixed:
    """An argument held fixed: a symbolic array of ``shape`` that is not differentiated (the
    backward returns no gradient for it). Build it with `fixed`."""

    shape: Shape


def fixed(*shape: int) -> Fixed:
    """``fixed(2, 3)``: a symbolic (2, 3) argument the backward does not differentiate."""
    return Fixed(_shape(shape, "fixed"))


@dataclass(frozen=True)
class SymbolicProof:
    """The outcome of `prove_vjp`.

    ``status`` is ``"proven"`` (every gradient entry equals the exact derivative of the
    forward, for all inputs, on each of ``regions`` regions), ``"disproven"`` (``entry`` is the
    first wrong one, ``residual`` its expression backward − exact, ``witness`` a point where it
    is nonzero) or ``"unsupported"`` (``reason`` says what could not be done). ``str()`` is
    the report a user reads; `to_dict` the JSON record the proof report carries.
    """

    kind: ClassVar[str] = "symbolic"  # how the pytest plugin tells it from a check result

    status: str
    label: str
    shapes: dict[str, Shape]
    entries: int = 0
    regions: int = 0
    seconds: float = 0.0
    reason: str = ""
    entry: str = ""
    residual: str = ""
    region: tuple[str, ...] = ()
    witness: dict[str, float] = field(default_factory=dict)
    value: float | None = None
    wrong: int = 0

    def shapes_text(self) -> str:
        return ", ".join(f"{n} {s}" for n, s in self.shapes.items())

    def __str__(self) -> str:
        head = f"{self.label}: {self.status} ({self.seconds:.2f} s)"
        at = f"at shapes {self.shapes_text()}"
        if self.status == "proven":
            where = f"on each of the {self.regions} regions" if self.regions > 1 else "everywhere"
            return (
                f"{head}\n  {self.entries} gradient entries equal the exact derivative of the "
                f"forward for all inputs, {where}, {at}."
            )
        if self.status == "unsupported":
            return f"{head}\n  not proven {at}: {self.reason}"
        lines = [f"{head}\n  {self.reason}", f"  residual (backward − exact): {self.residual}"]
        if self.region:
            lines.append(f"  in the region: {' and '.join(self.region)}")
        if self.value is not None:
            point = ", ".join(f"{k}={v:.3g}" for k, v in list(self.witness.items())[:8])
            more = " …" if len(self.witness) > 8 else ""
            lines.append(f"  at {point}{more}: residual {self.value:.6g}")
        if self.wrong:
            lines.append(f"  {self.wrong} of {self.entries} entries are wrong at that point.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "status": self.status,
            "shapes": {k: list(v) for k, v in self.shapes.items()},
            "entries": self.entries,
            "regions": self.regions,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "entry": self.entry,
            "residual": self.residual,
            "region": list(self.region),
            "witness": dict(self.witness),
            "value": self.value,
            "wrong": self.wrong,
        }


class _OutOfTime(Exception):
    pass


class _Budget:
    """The time budget: `tick` raises once it is spent, and a SIGALRM (in the main thread of a
    POSIX process, when no other timer is set) interrupts a single long sympy call."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.perf_counter() + seconds

    def tick(self) -> None:
        if time.perf_counter() > self.end:
            raise _OutOfTime

    @contextmanager
    def alarm(self) -> Iterator[None]:
        usable = (
            hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0
        )
        if not usable:
            yield
            return

        def ring(signum: int, frame: Any) -> None:
            raise _OutOfTime

        previous = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 1e-3))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _shape(shape: Any, what: str) -> Shape:
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in shape):
        raise InvalidTypeError(f"{what}: a shape is a tuple of ints, got {shape!r}")
    if any(int(n) < 0 for n in shape):
        raise InvalidInputError(f"{what}: negative size in the shape {shape!r}")
    return tuple(int(n) for n in shape)


def _is_shape(entry: Any) -> bool:
    return isinstance(entry, tuple) and all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) for n in entry
    )


def _names(forward: Callable[..., Any], count: int, names: Sequence[str] | None) -> list[str]:
    if names is not None:
        if len(names) != count:
            raise InvalidInputError(
                f"names: {len(names)} names for {count} arguments (shapes has {count} entries)"
            )
        return [str(n) for n in names]
    try:
        params = [
            p.name
            for p in inspect.signature(forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return params[:count] if len(params) >= count else [f"x{i}" for i in range(count)]


def _symbols(name: str, shape: Shape) -> np.ndarray[Any, np.dtype[Any]]:
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        label = f"{name}[{', '.join(map(str, index))}]" if shape else name
        out[index] = sympy.Symbol(label, real=True)
    return out


def _entry(name: str, index: tuple[int, ...]) -> str:
    return f"d{name}[{', '.join(map(str, index))}]" if index else f"d{name}"


@dataclass
class _Problem:
    names: list[str]
    args: list[Any]  # symbol arrays (sympy) for shapes and fixed, else the constant
    diff: list[int]  # indices of the differentiable arguments
    douts: list[np.ndarray[Any, np.dtype[Any]]] = field(default_factory=list)

    def inputs(self) -> list[Any]:
        out = []
        for a in self.args:
            if isinstance(a, np.ndarray) and a.dtype == object:
                wrapped = np.empty(a.shape, dtype=object)
                for index, s in np.ndenumerate(a):
                    wrapped[index] = Symbolic(s)
                out.append(wrapped)
            else:
                out.append(a)
        return out

    def shapes(self) -> dict[str, Shape]:
        return {
            self.names[i]: a.shape
            for i, a in enumerate(self.args)
            if isinstance(a, np.ndarray) and a.dtype == object
        }

    def symbols(self) -> list[Any]:
        arrays = [a for a in self.args if isinstance(a, np.ndarray) and a.dtype == object]
        return [s for a in [*arrays, *self.douts] for s in a.flat]


def _problem(
    forward: Callable[..., Any], shapes: Sequence[Any], names: Sequence[str] | None
) -> _Problem:
    if not isinstance(shapes, list | tuple):
        raise InvalidTypeError(
            f"shapes: a list with one entry per argument of forward, got {type(shapes).__name__}"
        )
    labels = _names(forward, len(shapes), names)
    args: list[Any] = []
    diff: list[int] = []
    for i, entry in enumerate(shapes):
        if isinstance(entry, Fixed):
            args.append(_symbols(labels[i], entry.shape))
        elif _is_shape(entry):
            args.append(_symbols(labels[i], _shape(entry, f"shapes[{i}]")))
            diff.append(i)
        else:
            args.append(entry)
    if not diff:
        raise InvalidInputError(
            "shapes: no differentiable argument; give a shape tuple for each one to prove"
        )
    return _Problem(labels, args, diff)


def _as_outputs(out: Any) -> tuple[list[np.ndarray[Any, np.dtype[Any]]], bool]:
    single = not isinstance(out, tuple)
    outs = [np.asarray(o, dtype=object) for o in ((out,) if single else out)]
    return outs, single


def _run(
    problem: _Problem, forward: Callable[..., Any], backward: Callable[..., Any]
) -> tuple[list[Any], Any]:
    try:
        out, cache = forward(*problem.inputs())
    except SymbolicUnsupported as exc:
        raise SymbolicUnsupported(f"forward: {exc}") from None
    except _OutOfTime:
        raise
    except Exception as exc:
        raise SymbolicUnsupported(f"forward raised {type(exc).__name__}: {exc}") from None
    outs, single = _as_outputs(out)
    if not problem.douts:
        many = len(outs) > 1
        problem.douts = [
            _symbols(f"dout{k}" if many else "dout", o.shape) for k, o in enumerate(outs)
        ]
    elif [o.shape for o in outs] != [d.shape for d in problem.douts]:
        raise SymbolicUnsupported("the forward's output shapes differ between regions")
    douts = [_wrap(d) for d in problem.douts]
    try:
        grads = backward(douts[0] if single else tuple(douts), cache)
    except SymbolicUnsupported as exc:
        raise SymbolicUnsupported(f"backward: {exc}") from None
    except _OutOfTime:
        raise
    except Exception as exc:
        raise SymbolicUnsupported(f"backward raised {type(exc).__name__}: {exc}") from None
    return outs, grads


def _wrap(a: np.ndarray[Any, np.dtype[Any]]) -> np.ndarray[Any, np.dtype[Any]]:
    out = np.empty(a.shape, dtype=object)
    for index, s in np.ndenumerate(a):
        out[index] = Symbolic(s)
    return out


def prove_vjp(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    shapes: Sequence[Any],
    *,
    label: str | None = None,
    names: Sequence[str] | None = None,
    swap: Swap | None = None,
    budget: float = 60.0,
    seed: int = 0,
) -> SymbolicProof:
    """Prove ``backward`` exact for all inputs: every entry of every gradient equals the
    derivative of ``forward`` contracted with an arbitrary upstream gradient ``dout``.

    Parameters
    ----------
    forward : ``forward(*args) -> (out, cache)``; ``out`` an array or a tuple of arrays.
    backward : ``backward(dout, cache)`` -> one gradient per differentiable argument, in order;
        ``dout`` is shaped like ``out`` (a tuple for a tuple).
    shapes : one entry per argument of ``forward``: a shape tuple for a differentiable
        argument (a symbolic array of that shape), `fixed` for a symbolic argument held fixed,
        anything else a concrete constant passed as is.
    label : the name in the report (default: the forward's name).
    names : the arguments' names (default: the forward's parameter names).
    swap : ``{module: {name: replacement}}``, set while the proof runs (`elementwise`).
    budget : seconds; when spent the result is ``"unsupported"`` and says so.
    seed : the seed of the points drawn for a disproof.

    Both functions run unchanged on numpy object arrays of symbols (`Symbolic`); every
    comparison splits the inputs into regions, proven one by one (`gradcheck.symbolic`).
    """
    problem = _problem(forward, shapes, names)
    title = str(label or getattr(forward, "__name__", "forward"))
    if not (isinstance(budget, int | float) and budget > 0):
        raise InvalidInputError(f"budget: a positive number of seconds, got {budget!r}")
    start = time.perf_counter()
    proof = _prove(problem, forward, backward, swap, _Budget(float(budget)), seed)
    result = SymbolicProof(
        label=title,
        shapes=problem.shapes(),
        seconds=time.perf_counter() - start,
        **proof,
    )
    _evidence.record(result)
    return result


def _prove(
    problem: _Problem,
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    swap: Swap | None,
    budget: _Budget,
    seed: int,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    progress = {"regions": 0, "entries": 0, "done": 0}
    try:
        with swapped(swap), budget.alarm():
            for oracle, (outs, grads) in explore(lambda: _run(problem, forward, backward)):
                progress["regions"] += 1
                failure = _check_region(problem, oracle, outs, grads, budget, rng, progress)
                if failure is not None:
                    return {**failure, "regions": progress["regions"]}
                _check_decisions(oracle, budget)
    except _OutOfTime:
        return {
            "status": "unsupported",
            "reason": (
                f"the time budget of {budget.seconds:g} s ran out in region "
                f"{progress['regions']}, after {progress['done']} of {progress['entries']} "
                "gradient entries were proven there"
            ),
            "regions": progress["regions"],
            "entries": progress["entries"],
        }
    except SymbolicUnsupported as exc:
        return {
            "status": "unsupported",
            "reason": str(exc),
            "regions": progress["regions"],
            "entries": progress["entries"],
        }
    return {"status": "proven", "regions": progress["regions"], "entries": progress["entries"]}


def _check_decisions(oracle: Oracle, budget: _Budget) -> None:
    """A region is an open set only if no decided difference is identically 0."""
    for key in [k for k, _ in oracle.decisions] + oracle.generic:
        if is_zero(key, {}, budget.tick):
            raise SymbolicUnsupported(
                f"the code compares two equal expressions ({key} is identically 0), so a "
                "branch it takes holds nowhere: no region to prove"
            )


def _gradients(problem: _Problem, grads: Any) -> list[np.ndarray[Any, np.dtype[Any]]]:
    if not isinstance(grads, tuple | list):
        grads = (grads,)
    want = [problem.names[i] for i in problem.diff]
    if len(grads) != len(want):
        raise SymbolicUnsupported(
            f"backward returned {len(grads)} gradients; expected one per differentiable "
            f"argument ({', '.join(want)}: {len(want)})"
        )
    return [np.asarray(g, dtype=object) for g in grads]


def _check_region(
    problem: _Problem,
    oracle: Oracle,
    outs: list[Any],
    grads: Any,
    budget: _Budget,
    rng: np.random.Generator,
    progress: dict[str, int],
) -> dict[str, Any] | None:
    gradients = _gradients(problem, grads)
    pairs = [
        (as_expr(d), as_expr(o))
        for dout, out in zip(problem.douts, outs, strict=True)
        for d, o in zip(dout.flat, out.flat, strict=True)
    ]
    exacts = vjp(pairs, [s for i in problem.diff for s in problem.args[i].flat])
    progress["entries"] = sum(problem.args[i].size for i in problem.diff)
    progress["done"] = 0
    for name, syms, g in _named(problem, gradients):
        if g.shape != syms.shape:
            return {
                "status": "disproven",
                "entry": f"d{name}",
                "reason": f"d{name} has shape {g.shape}; {name} has shape {syms.shape}",
                "entries": progress["entries"],
            }
    residuals = [
        (name, index, g, exacts[syms[index]], as_expr(g[index]) - exacts[syms[index]])
        for k, (name, syms, g) in enumerate(_named(problem, gradients))
        for index in np.ndindex(syms.shape)
    ]
    zero = zero_all([r for *_, r in residuals], oracle.signs, budget.tick)
    for (name, index, g, exact, r), proven in zip(residuals, zero, strict=True):
        if not proven:
            return _refute(problem, oracle, name, index, r, exact, g, budget, rng, progress)
        progress["done"] += 1
    return None


def _named(problem: _Problem, gradients: list[Any]) -> list[tuple[str, Any, Any]]:
    return [
        (problem.names[i], problem.args[i], g) for i, g in zip(problem.diff, gradients, strict=True)
    ]


def _refute(
    problem: _Problem,
    oracle: Oracle,
    name: str,
    index: tuple[int, ...],
    r: Any,
    exact: Any,
    g: Any,
    budget: _Budget,
    rng: np.random.Generator,
    progress: dict[str, int],
) -> dict[str, Any] | None:
    """The residual of ``d<name>[index]`` did not reduce to 0: disprove it at a point of the
    region, or (it vanishes at every point tried) try harder, or give up with the reason."""
    symbols = problem.symbols()
    conditions = list(oracle.decisions)
    witness, tried, largest = find_witness(symbols, r, exact, as_expr(g[index]), conditions, rng)
    entry = _entry(name, index)
    if witness is not None and largest > ROUNDING:
        return {
            "status": "disproven",
            "entry": entry,
            "reason": (
                f"{entry} is wrong: backward {witness.backward:.6g}, exact derivative "
                f"{witness.exact:.6g} at a point of the region"
            ),
            "residual": shown(r, oracle.signs),
            "region": tuple(oracle.describe()) if conditions else (),
            "witness": witness.point,
            "value": witness.value,
            "entries": progress["entries"],
        }
    if witness is not None:
        raise SymbolicUnsupported(
            f"the residual of {entry} is not 0, but at most {largest:.1g} of the gradient at "
            f"the {tried} points tried: float64 rounding, not a wrong formula. The code "
            "computes a constant in floats (np.sqrt(np.pi) is 1.7724538509055159, not √π; "
            "1/3 is 0.3333333333333333), which the proof reads as that exact decimal: "
            f"write it from exact parts. Residual: {shown(r, oracle.signs, 300)}"
        )
    if tried and _harder_zero(r, oracle, budget):
        return None
    why = (
        f"it vanishes at all {tried} points of the region tried"
        if tried
        else "no point of the region was found to test it at"
    )
    raise SymbolicUnsupported(
        f"sympy could not reduce the residual of {entry} to 0, and {why}: "
        f"{shown(r, oracle.signs, 300)}"
    )


def _harder_zero(r: Any, oracle: Oracle, budget: _Budget) -> bool:
    """Tier 2: the function arguments expanded to a canonical form, then sympy's simplify."""
    canonical = r.replace(
        lambda e: e.is_Function or (e.is_Pow and not e.exp.is_Integer),
        lambda e: e.func(*[sympy.expand(a) for a in e.args]),
    )
    if is_zero(canonical, oracle.signs, budget.tick):
        return True
    budget.tick()
    return bool(sympy.simplify(canonical.rewrite(sympy.exp)) == 0)
