"""gradcheck.torch on PyTorch's own OpInfo database, against torch.autograd.gradcheck.

    python -m benchmarks.opinfo                 # every op (several minutes), table on stdout
    python -m benchmarks.opinfo --ops sin,mm    # some ops
    python -m benchmarks.opinfo --json out.json # every row, for benchmarks/README.md

Input: every op of ``op_db`` that supports float64 or complex128 autograd on the CPU, at most
`SAMPLES` samples per op and dtype (``torch.manual_seed(0)`` before each op's samples, so the
set is deterministic). Each sample becomes ``fn(*tensors)`` over its tensors that require grad,
exactly as torch's own ``TestGradients`` builds it (``gradcheck_wrapper``,
``output_process_fn_grad``). Both tools see the same ``fn`` and inputs, one thread each.

Every gradcheck verdict other than a pass is classified (`classify`): inconclusive at a kink,
a domain edge or below the noise floor; a fail is a false alarm unless `KNOWN` holds it as a
real torch bug with its evidence (an independent mpmath reference); an exception inside
gradcheck is a bug. `planted` plants a (1 + 1e-4) error in one gradient entry of `PLANTED`
random samples through an ``autograd.Function`` and counts what each tool catches and names.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch.autograd.gradcheck import GradcheckError

import gradcheck.torch as gt
from gradcheck import Status

#: samples per op and dtype (the issue's budget).
SAMPLES = 3
#: samples with a planted bug.
PLANTED = 30
#: the planted relative error of one gradient entry.
PLANT = 1e-4
DTYPES = (torch.float64, torch.complex128)
#: torch's default gradcheck builds dense Jacobians (input entries x output entries, real and
#: imaginary parts apart): above this many entries it is not run (conv_transpose3d's 740 x
#: 73,568 took 136 CPU s and ~9 GB of memory on the shared machine). Such a sample keeps its
#: gradcheck verdicts and leaves the full-mode time ratio (`summary`).
MAX_JACOBIAN = 2**24
#: the four columns: each tool in each mode.
TOOLS = ("torch default", "gradcheck full", "torch fast_mode", "gradcheck fast")


@dataclass(frozen=True)
class Sample:
    """One OpInfo sample as a function of its tensors that require grad."""

    op: str
    dtype: str
    index: int
    fn: Callable[..., Any]
    inputs: tuple[torch.Tensor, ...]

    @property
    def name(self) -> str:
        return f"{self.op}[{self.dtype}#{self.index}]"


def op_db() -> list[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db as db
    return list(db)


def samples(ops: set[str] | None = None) -> Iterator[Sample]:
    """The deterministic sample set (see the module docstring)."""
    for op in op_db():
        if ops is not None and op.name not in ops and _full_name(op) not in ops:
            continue
        if not op.supports_autograd:
            continue
        backward = op.supported_backward_dtypes("cpu")
        for dtype in DTYPES:
            if dtype not in backward or not op.supports_dtype(dtype, "cpu"):
                continue
            torch.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = []
                for k, s in enumerate(op.sample_inputs("cpu", dtype, requires_grad=True)):
                    if k >= SAMPLES:
                        break
                    got.append(s)
            for k, s in enumerate(got):
                fn, inputs = _as_function(op, s)
                if inputs:
                    yield Sample(_full_name(op), str(dtype).removeprefix("torch."), k, fn, inputs)


def _full_name(op: Any) -> str:
    return f"{op.name}.{op.variant_test_name}" if op.variant_test_name else str(op.name)


def _as_function(op: Any, sample: Any) -> tuple[Callable[..., Any], tuple[torch.Tensor, ...]]:
    """``fn(*inputs)`` over the sample's tensors that require grad (torch's TestGradients)."""

    def is_list(x: Any) -> bool:
        return isinstance(x, list | tuple) and all(isinstance(t, torch.Tensor) for t in x)

    def grads(x: Any) -> bool:
        return isinstance(x, torch.Tensor) and x.requires_grad

    if is_list(sample.input):
        every = chain(sample.input, sample.args, sample.kwargs.values())
    else:
        every = chain((sample.input,), sample.args, sample.kwargs.values())
    inputs = tuple(x.detach().clone() for x in every if grads(x))

    def put(ts: list[torch.Tensor], x: Any) -> Any:
        if is_list(x):
            return [ts.pop(0) if grads(t) else t for t in x]
        return ts.pop(0) if grads(x) else x

    def fn(*ts: torch.Tensor) -> Any:
        rest = list(ts)
        first = put(rest, sample.input)
        args = [put(rest, a) for a in sample.args]
        kwargs = {k: put(rest, v) for k, v in sample.kwargs.items()}
        out = op.gradcheck_wrapper(op.get_op(), first, *args, **kwargs)
        return sample.output_process_fn_grad(out) if sample.output_process_fn_grad else out

    fn.__name__ = fn.__qualname__ = _full_name(op)
    return fn, inputs


# --- the two tools, timed -------------------------------------------------------------------


@dataclass
class Outcome:
    """One tool on one sample: verdict, classification, time (CPU seconds)."""

    tool: str
    status: str  # pass / fail / inconclusive / error
    kind: str  # classification of a non-pass
    seconds: float
    detail: str = ""


def _timed(run: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    t0 = time.process_time()
    try:
        out, exc = run(), None
    except Exception as e:  # recorded, classified by the caller
        out, exc = None, e
    return out, exc, time.process_time() - t0


def run_gradcheck(s: Sample, mode: str) -> Outcome:
    def go() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gt.check(s.fn, *s.inputs, mode=mode, seed=0, label=s.name)

    res, exc, dt = _timed(go)
    tool = f"gradcheck {mode}"
    if exc is not None:
        return Outcome(tool, "error", classify_error(exc), dt, f"{type(exc).__name__}: {exc}")
    return Outcome(tool, str(res.status), classify(s, res), dt, str(res))


def run_torch(s: Sample, fast: bool) -> Outcome:
    def go() -> Any:
        torch.manual_seed(0)
        ins = tuple(t.detach().clone().requires_grad_() for t in s.inputs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.autograd.gradcheck(s.fn, ins, fast_mode=fast)

    _, exc, dt = _timed(go)
    tool = "torch fast_mode" if fast else "torch default"
    if exc is None:
        return Outcome(tool, "pass", "", dt)
    failed = isinstance(exc, GradcheckError)
    return Outcome(tool, "fail" if failed else "error", "", dt, f"{type(exc).__name__}: {exc}")


# --- classification -------------------------------------------------------------------------


def classify(s: Sample, res: Any) -> str:
    """Why a result is not a pass: kink / domain edge / vacuous, a known torch bug, or a
    false alarm (a fail nobody explained: a checker bug to fix)."""
    if res.status is Status.PASS:
        return ""
    if res.status is Status.INCONCLUSIVE:
        notes = " ".join(e.note for e in res.worst) + " " + res.reason
        if "not finite" in notes:
            return "domain edge"
        if "not smooth" in notes:
            return "kink"
        if "vacuous" in notes:
            return "vacuous"
        if "staircase" in notes:
            return "staircase (values on a grid)"
        return "inconclusive (other)"
    known = KNOWN.get(s.op)
    if known is not None and known.applies(s, res):
        return f"torch bug: {known.title}"
    return "FALSE ALARM"


def classify_error(exc: BaseException) -> str:
    """An exception inside gradcheck is a bug, unless it is a typed refusal of the input."""
    from gradcheck import GradcheckError

    typed = isinstance(exc, GradcheckError)
    return error_kind(f"{type(exc).__name__}: {exc}", typed)


def error_kind(detail: str, typed: bool = True) -> str:
    """The classification of an error from its message (also for rows read back from a log)."""
    if not typed or not detail.startswith(("Invalid", "Nondeterministic")):
        return "BUG (exception in gradcheck)"
    if "nothing to check" in detail:
        return "empty sample: no entry to check"
    if "sparse" in detail:
        return "refused: sparse input (dense tensors only)"
    if "fresh copies" in detail:
        return "refused: fn reads its input's storage beyond the tensor (as_strided offset)"
    return f"refused: {detail.split(':')[0]}"


@dataclass(frozen=True)
class KnownBug:
    """A torch backward confirmed wrong by an independent high-precision reference."""

    title: str
    evidence: str  # what the reference shows, with numbers
    applies: Callable[[Sample, Any], bool]


def as_strided_scatter_reference(
    shape: tuple[int, ...], size: tuple[int, ...], stride: tuple[int, ...], offset: int
) -> NDArray[np.float64]:
    """The exact Jacobian of ``as_strided_scatter(input, src, size, stride, offset)`` with
    respect to ``input`` (contiguous, of ``shape``), entry by entry: 1 where the entry is kept,
    0 where ``src`` overwrites it. The op copies values, so its Jacobian is 0/1, found here by
    integer index bookkeeping in numpy's own ``as_strided`` (no floating point, no torch): an
    exact reference, stronger than a high-precision one."""
    n = int(np.prod(shape, dtype=np.int64))
    index = np.arange(n, dtype=np.int64)
    itemsize = index.itemsize
    view = np.lib.stride_tricks.as_strided(
        index[offset:], shape=size, strides=tuple(itemsize * st for st in stride)
    )
    kept = np.ones(n)
    kept[np.asarray(view).ravel()] = 0.0
    return kept.reshape(shape)


def as_strided_scatter_evidence(dtype: torch.dtype = torch.float64) -> list[str]:
    """For every benchmark sample of ``as_strided_scatter``: the exact reference
    (`as_strided_scatter_reference`) against torch's backward at a random cotangent ``v``
    (``grad_input / v``, and whether torch's forward agrees with numpy's semantics)."""
    lines = []
    for s in samples({"as_strided_scatter"}):
        if s.dtype != str(dtype).removeprefix("torch."):
            continue
        x, src = (t.detach().clone().requires_grad_() for t in s.inputs)
        size, stride, offset = _scatter_args(s)
        out = torch.as_strided_scatter(x, src, size, stride, offset)
        v = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(0))
        gx, _ = torch.autograd.grad(out, (x, src), v)
        exact = as_strided_scatter_reference(tuple(x.shape), size, stride, offset)
        mine = np.asarray(torch.abs(gx / v).detach().reshape(x.shape).numpy())
        lines.append(
            f"{s.name}: d out / d input exact {exact.ravel().tolist()}, torch's backward "
            f"{mine.ravel().tolist()}; forward as numpy's semantics: "
            f"{_scatter_forward_agrees(x, src, out, size, stride, offset)}"
        )
    return lines


def _scatter_args(s: Sample) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """The (size, stride, storage_offset) a sample of as_strided_scatter was built with."""
    db = {_full_name(op): op for op in op_db()}
    torch.manual_seed(0)
    dtype = getattr(torch, s.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, raw in enumerate(db["as_strided_scatter"].sample_inputs("cpu", dtype, True)):
            if k == s.index:
                offset = int(raw.kwargs.get("storage_offset", 0))
                return tuple(raw.args[1]), tuple(raw.args[2]), offset
    raise LookupError(s.name)


def _scatter_forward_agrees(
    x: torch.Tensor,
    src: torch.Tensor,
    out: torch.Tensor,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    offset: int,
) -> bool:
    want = x.detach().numpy().copy().ravel()
    view = np.lib.stride_tricks.as_strided(
        want[offset:], shape=size, strides=tuple(want.itemsize * st for st in stride)
    )
    view[...] = src.detach().numpy()
    return bool(np.array_equal(want.reshape(x.shape), out.detach().numpy()))


def _only_input_entries(s: Sample, res: Any) -> bool:
    """A fail whose wrong entries are all entries of ``input`` (inputs[0]), none of ``src``."""
    wrong = [e for e in res.worst if e.status is Status.FAIL and e.index]
    return bool(wrong) and all(e.path.startswith("inputs[0]") for e in wrong)


def hardsigmoid_evidence() -> tuple[float, float]:
    """(relative error of torch's float64 hardsigmoid backward against the exact 1/6 on its
    linear piece, relative error of float32(1/6)): equal, the constant is float32's."""
    x = torch.tensor([-1.25, 0.5, 2.685009210157367], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.nn.functional.hardsigmoid(x).sum(), x)
    exact = 1 / 6  # d/dx (x + 3) / 6 on (-3, 3); the forward equals (x + 3) / 6 there exactly
    return float((g / exact - 1).abs().max()), float(np.float32(exact)) / exact - 1


def _only_linear_piece(s: Sample, res: Any) -> bool:
    return all(
        e.status is not Status.FAIL or abs(e.analytic / e.numeric - 1) < 1e-7
        for e in res.worst
        if e.numeric
    )


#: the max_unpool ops whose OpInfo samples hold duplicate indices (their ``.grad`` variants
#: keep unique ones).
UNPOOL = tuple(f"nn.functional.max_unpool{d}d" for d in (1, 2, 3))


def unpool_routing(s: Sample) -> NDArray[np.int64]:
    """For each output entry of a max_unpool sample, the flat index of the input entry whose
    value it holds (-1: none). Read from torch's forward at the distinct integers 1 ... n (exact
    in float64), so it is the forward's own bookkeeping: where indices repeat, the input
    written last survives and the others are overwritten."""
    x = s.inputs[0]
    probe = torch.arange(1, x.numel() + 1, dtype=torch.float64).reshape(x.shape)
    with torch.no_grad():
        out = s.fn(probe.to(x.dtype))
    return np.asarray(out.to(torch.float64).numpy()).ravel().astype(np.int64) - 1


def _unpool_overwritten(s: Sample, routing: NDArray[np.int64] | None = None) -> set[int]:
    """Flat indices of the inputs no output entry holds (overwritten at a duplicate index);
    ``routing``: `unpool_routing` of ``s``, when already read."""
    held = unpool_routing(s) if routing is None else routing
    return set(range(s.inputs[0].numel())) - set(held.tolist())


def max_unpool_evidence() -> list[str]:
    """For every float64 benchmark sample of max_unpool{1,2,3}d: the exact gradient against
    torch's backward at a random cotangent ``v``.

    The forward copies values along ``unpool_routing`` (checked: ``out`` equals the input read
    through the routing, exactly), so d out[p] / d x[j] is 1 where ``routing[p] == j`` and 0
    elsewhere, and the exact VJP is ``g[j] = sum of v[p] over routing[p] == j``: integer
    bookkeeping and one sum, no finite differences. An overwritten input gets 0."""
    lines = []
    for s in samples(set(UNPOOL)):
        if s.dtype != "float64":
            continue
        x = s.inputs[0].detach().clone().requires_grad_()
        out = s.fn(x)
        v = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(0))
        (g,) = torch.autograd.grad(out, (x,), v)
        routing = unpool_routing(s)
        held = routing >= 0
        flat = x.detach().numpy().ravel()
        copies = bool(np.array_equal(out.detach().numpy().ravel()[held], flat[routing[held]]))
        exact = np.zeros(x.numel())
        np.add.at(exact, routing[held], v.numpy().ravel()[held])
        diff = np.abs(g.numpy().ravel() - exact)
        lost = sorted(_unpool_overwritten(s, routing))
        others = [j for j in range(x.numel()) if j not in lost]
        lines.append(
            f"{s.name}: {len(lost)} of {x.numel()} inputs overwritten; torch's backward - exact: "
            f"max {diff[lost].max() if lost else 0.0:.3g} at the overwritten inputs, "
            f"max {diff[others].max() if others else 0.0:.3g} at the others; "
            f"forward copies along the routing: {copies}"
        )
    return lines


def _only_overwritten_entries(s: Sample, res: Any) -> bool:
    """A fail whose named wrong entries (fast mode's direction rows have no index) are all
    inputs the forward overwrote."""
    wrong = [e for e in res.worst if e.status is Status.FAIL and e.index]
    if not wrong or any(not e.path.startswith("inputs[0]") for e in wrong):
        return False
    shape = tuple(s.inputs[0].shape)
    lost = _unpool_overwritten(s)
    return all(int(np.ravel_multi_index(e.index, shape)) in lost for e in wrong)


_UNPOOL_BUG = KnownBug(
    "max_unpool's backward at duplicate indices gives overwritten inputs the output's gradient",
    "where an index repeats, the forward keeps the input written last and the others are "
    "overwritten, so d out / d (an overwritten input) is exactly 0 (exact VJP by index "
    "bookkeeping on torch's own forward: `max_unpool_evidence()`); torch's backward gathers "
    "the output gradient for every input, so it is off by v at exactly the overwritten inputs "
    "and exact at the others. Both torch gradcheck modes fail these samples too; OpInfo skips "
    "test_fn_grad for max_unpool and keeps unique indices in its `.grad` variants.",
    _only_overwritten_entries,
)


NORMAL = ("normal", "normal.number_mean")


def _secant_jacobian(fn: Callable[..., Any], inputs: list[torch.Tensor], k: int) -> NDArray[Any]:
    """d out / d inputs[k] of an affine ``fn`` by unit secants (exact for an affine map up to
    rounding), with the largest deviation from affinity (out(x + 2e) - out(x) against twice the
    secant) as the last row: (out entries + 1, inputs[k] entries)."""
    with torch.no_grad():
        base = fn(*inputs).reshape(-1)
        cols, worst = [], 0.0
        for j in range(inputs[k].numel()):
            moved = [t.clone() for t in inputs]
            moved[k].view(-1)[j] += 1.0
            col = fn(*moved).reshape(-1) - base
            moved[k].view(-1)[j] += 1.0
            twice = fn(*moved).reshape(-1) - base
            worst = max(worst, float((twice - 2 * col).abs().max()))
            cols.append(col.numpy())
    jac = np.stack(cols, axis=1)
    return np.vstack([jac, np.full((1, jac.shape[1]), worst)])


def normal_evidence() -> list[str]:
    """For every float64 benchmark sample of ``torch.normal`` (OpInfo seeds each call with
    ``wrapper_set_seed``, so ``fn`` is deterministic): the exact VJP against torch's backward
    at a random cotangent ``v``.

    Seeded, ``normal`` is out = mean + std z with z fixed: affine in mean and std. An affine
    map's unit secants are its exact Jacobian (no step error; rounding ~eps |out|), checked
    affine by a second secant, so the exact VJP is ``J^T v``: d out / d mean = 1 and
    d out / d std = z. torch defines the backward of a sample as 0 (derivatives.yaml gives
    mean and std ``zeros_like``), and OpInfo skips TestBwdGradients for it ("Gradients are
    incorrect!")."""
    lines = []
    for s in samples(set(NORMAL)):
        if s.dtype != "float64":
            continue
        xs = [t.detach().clone().requires_grad_() for t in s.inputs]
        out = s.fn(*xs)
        v = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(0))
        grads = torch.autograd.grad(out, xs, v, allow_unused=True)
        exact, torch_max, affine = 0.0, 0.0, 0.0
        for k, g in enumerate(grads):
            jac = _secant_jacobian(s.fn, [t.detach() for t in s.inputs], k)
            affine = max(affine, float(jac[-1].max()))
            exact = max(exact, float(np.abs(jac[:-1].T @ v.detach().numpy().ravel()).max()))
            torch_max = max(torch_max, 0.0 if g is None else float(g.abs().max()))
        lines.append(
            f"{s.name}: affine in its inputs (second secant off by at most {affine:.2g}); "
            f"exact VJP max |.| {exact:.3g}, torch's backward max |.| {torch_max:.3g}"
        )
    return lines


def _zero_backward(s: Sample, res: Any) -> bool:
    """A fail whose every failing entry (and direction) has torch's analytic value exactly 0."""
    wrong = [e for e in res.worst if e.status is Status.FAIL]
    return bool(wrong) and all(e.analytic == 0 for e in wrong)


_NORMAL_ZERO = KnownBug(
    "normal's backward is 0 by definition, while the seeded forward is mean + std z",
    "OpInfo seeds every call (`wrapper_set_seed`), so the sample is the affine map mean + "
    "std z with d out / d mean = 1 and d out / d std = z; torch returns zeros for both (its "
    "derivative of a random sample, by design) and OpInfo skips TestBwdGradients for it "
    '("Gradients are incorrect!"). Exact VJP by unit secants of the affine forward against '
    "torch's zeros: `normal_evidence()`. Both torch gradcheck modes fail these samples too.",
    _zero_backward,
)


def group_norm_evidence() -> list[str]:
    """For every float64 benchmark sample of ``native_group_norm``: the backward of its
    ``mean`` output alone (autograd leaves the other outputs' gradients undefined) against the
    exact one. ``mean`` is linear in the input, so unit secants give its exact Jacobian (checked
    affine by second secants), and the exact VJP of a seeded cotangent is ``J^T v``."""
    lines = []
    for s in samples({"native_group_norm"}):
        if s.dtype != "float64":
            continue

        def mean_of(*ts: torch.Tensor, s: Sample = s) -> torch.Tensor:
            return torch.as_tensor(s.fn(*ts)[1])

        xs = [t.detach().clone().requires_grad_() for t in s.inputs]
        out = mean_of(*xs)
        v = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(0))
        (g,) = torch.autograd.grad(out, xs[:1], v, allow_unused=True)
        jac = _secant_jacobian(mean_of, [t.detach() for t in s.inputs], 0)
        exact = jac[:-1].T @ v.numpy().ravel()
        got = np.zeros_like(exact) if g is None else g.numpy().ravel()
        lines.append(
            f"{s.name}: mean affine in x (second secant off by at most {jac[-1].max():.2g}); "
            f"backward of mean alone: {'None' if g is None else 'a tensor'}, off by max "
            f"{np.abs(got - exact).max():.3g} (exact VJP max |.| {np.abs(exact).max():.3g})"
        )
    return lines


def _per_output_fail(s: Sample, res: Any) -> bool:
    """A fail that is only the per-output check's (every entry agrees with finite
    differences at the weighted sum of the outputs)."""
    wrong = [e for e in res.worst if e.status is Status.FAIL]
    return bool(wrong) and all(e.note.startswith("each output's backward alone") for e in wrong)


_GROUP_NORM = KnownBug(
    "native_group_norm's backward drops the mean/rstd terms when another output's gradient "
    "is undefined",
    "autograd.grad(mean, x) is None, while mean is linear in x with d mean / dx = 1/(entries "
    "per group) on its group (exact VJP by unit secants of the linear map: "
    "`group_norm_evidence()`); with every output weighted the backward is right (gradcheck's "
    "finite differences agree there). torch's gradcheck fails it in both modes (its per-output "
    "Jacobian), and OpInfo lists it as an expected failure.",
    _per_output_fail,
)


#: torch backward bugs found by this benchmark, with their evidence (see benchmarks/README.md).
KNOWN: dict[str, KnownBug] = {
    "nn.functional.hardsigmoid": KnownBug(
        "hardsigmoid's float64 backward uses float32(1/6)",
        "on (-3, 3) the forward is (x + 3) / 6 exactly and d/dx = 1/6 exactly; torch's float64 "
        "backward returns 1/6 (1 + 2.98e-8), the relative error of float32(1/6) "
        "(`hardsigmoid_evidence()`); gradcheck full names the entry where that exceeds the "
        "allowed error, torch's gradcheck passes it.",
        _only_linear_piece,
    ),
    "as_strided_scatter": KnownBug(
        "as_strided_scatter's backward for `input` is the complement of the exact mask",
        "d out / d input is 0 where src overwrites input and 1 elsewhere (exact, by index "
        "bookkeeping: `as_strided_scatter_reference`); torch's backward returns 1 where it "
        "should be 0 and 0 where it should be 1 on every sample (3x3 input, size (2, 2), "
        "stride (1, 2): exact [0,0,0,0,1,1,1,1,1], torch [1,1,1,1,0,0,0,0,0]); the forward "
        "agrees with numpy's semantics. torch's own gradcheck fails on it too, and OpInfo "
        "lists TestBwdGradients.test_fn_grad as an expected failure for it. "
        "`as_strided_scatter_evidence()` recomputes this.",
        _only_input_entries,
    ),
    **dict.fromkeys(UNPOOL, _UNPOOL_BUG),
    **dict.fromkeys(NORMAL, _NORMAL_ZERO),
    "native_group_norm": _GROUP_NORM,
}


# --- planted bugs ---------------------------------------------------------------------------


class _Plant(torch.autograd.Function):
    """Identity forward; backward scales one entry of the gradient by (1 + PLANT)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, index: int) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.index = inputs[1]

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        scale = torch.ones_like(g).reshape(-1)
        scale[ctx.index] = 1 + PLANT
        return g * scale.reshape(g.shape), None


def planted(pool: list[Sample], n: int = PLANTED, seed: int = 0) -> list[tuple[Sample, int]]:
    """``n`` random float64 samples, each with the entry of its first input whose Jacobian
    column is largest (so that the planted error is visible to any checker)."""
    rng = np.random.default_rng(seed)
    real = [s for s in pool if s.dtype == "float64"]
    out: list[tuple[Sample, int]] = []
    if n <= 0:
        return out
    for k in rng.permutation(len(real)):
        s = real[int(k)]
        index = _biggest_column(s)
        if index is None:
            continue
        out.append((_with_plant(s, index), index))
        if len(out) == n:
            break
    return out


def _biggest_column(s: Sample) -> int | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ys = gt._loss.outputs(s.fn(*s.inputs))
            x = s.inputs[0]

            def first(x0: torch.Tensor) -> tuple[torch.Tensor, ...]:
                return tuple(gt._loss.outputs(s.fn(x0, *s.inputs[1:])))

            jac = torch.autograd.functional.jacobian(first, x)
    except Exception:
        return None
    if not ys or x.numel() == 0:
        return None
    cols = sum(j.reshape(-1, x.numel()).abs().amax(0) for j in jac)
    if not isinstance(cols, torch.Tensor) or float(cols.max()) == 0:
        return None
    return int(cols.argmax())


def _with_plant(s: Sample, index: int) -> Sample:
    def fn(x: torch.Tensor, *rest: torch.Tensor) -> Any:
        return s.fn(_Plant.apply(x, index), *rest)

    fn.__name__ = fn.__qualname__ = f"planted {s.op}"
    return dataclasses.replace(s, op=f"planted {s.op}", fn=fn)


def caught(s: Sample, index: int, mode: str) -> tuple[bool, bool]:
    """(caught, named) for gradcheck: a fail whose named entries include the planted one."""
    res = gt.check(s.fn, *s.inputs, mode=mode, seed=1, label=s.name)
    want = tuple(int(i) for i in np.unravel_index(index, tuple(s.inputs[0].shape)))
    named = any(
        e.status is Status.FAIL and e.path == "inputs[0]" and e.index == want for e in res.worst
    )
    return res.status is Status.FAIL, named


def caught_by_torch(s: Sample, fast: bool) -> tuple[bool, bool]:
    """(caught, named) for torch: a GradcheckError; named if it points at input 0."""
    out = run_torch(s, fast)
    hit = out.status == "fail"
    return hit, hit and "with respect to input 0" in out.detail


# --- the run --------------------------------------------------------------------------------


def run(
    ops: set[str] | None = None,
    planted_n: int = PLANTED,
    progress: bool = False,
    log: str | None = None,
    only_logged: bool = False,
    redo: frozenset[str] = frozenset(),
    tools: tuple[str, ...] = TOOLS,
    first: int | None = None,
) -> dict[str, Any]:
    """Every sample through the four tools, then the planted bugs. With ``log``, each row is
    appended to that JSON-lines file as it finishes, and rows already there are not rerun (a
    long run survives an interruption); ``only_logged`` summarizes those rows without running
    the others; ``redo`` names ops whose logged rows are run again (the new row is appended
    and read back in their place). ``tools`` runs only some of the four (`TOOLS`: e.g. the
    fast-mode pair, to re-time fast mode alone); ``first`` keeps the first samples of the
    deterministic set (in ``op_db`` order)."""
    torch.set_num_threads(1)
    pool = list(itertools.islice(samples(ops), first))  # samples are drawn lazily
    done = _done_rows(log)
    rows = []
    for k, s in enumerate(pool):
        if s.name in done and s.op not in redo:
            rows.append(done[s.name])
            continue
        if only_logged:
            continue
        if progress:
            print(f"[{k + 1}/{len(pool)}] {s.name}", file=sys.stderr, flush=True)
        size = jacobian_entries(s)
        row = {"sample": s.name, "op": s.op, "dtype": s.dtype, "jacobian": size}
        for tool in TOOLS:
            if tool in tools:
                row[tool] = dataclasses.asdict(_run_tool(tool, s, size))
        rows.append(row)
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, default=str) + "\n")
    plants = []
    for s, index in planted(pool, planted_n):
        plant: dict[str, Any] = {"sample": s.name, "index": index}
        plant.update({tool: _plant_caught(tool, s, index) for tool in TOOLS if tool in tools})
        plants.append(plant)
    return {"rows": rows, "planted": plants, "ops": len({r["op"] for r in rows})}


def _plant_caught(tool: str, s: Sample, index: int) -> tuple[bool, bool]:
    """One column of a planted row: (caught, named)."""
    if tool.startswith("torch"):
        return caught_by_torch(s, tool == "torch fast_mode")
    return caught(s, index, tool.removeprefix("gradcheck "))


def _run_tool(tool: str, s: Sample, size: int) -> Outcome:
    """One column of a row (`TOOLS`)."""
    if tool == "torch default":
        return run_torch(s, False) if size <= MAX_JACOBIAN else _too_big(size)
    if tool == "torch fast_mode":
        return run_torch(s, True)
    return run_gradcheck(s, tool.removeprefix("gradcheck "))


def jacobian_entries(s: Sample) -> int:
    """The entries of the dense Jacobian torch's default gradcheck builds for ``s``."""

    def real(ts: Any) -> int:
        return sum(t.numel() * (2 if t.is_complex() else 1) for t in ts)

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            outs = gt._loss.outputs(s.fn(*s.inputs))
        except Exception:
            return 0  # the tools report the exception themselves
    return real(s.inputs) * real(outs)


def _too_big(size: int) -> Outcome:
    why = f"not run: a dense Jacobian of {size:,} entries (> MAX_JACOBIAN = {MAX_JACOBIAN:,})"
    return Outcome("torch default", "skipped", "", 0.0, why)


def _done_rows(log: str | None) -> dict[str, dict[str, Any]]:
    if not log:
        return {}
    try:
        with open(log, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        return {}
    return {r["sample"]: r for r in rows}


def summary(result: dict[str, Any]) -> str:
    rows, plants = result["rows"], result["planted"]
    lines = [
        f"{result['ops']} ops, {len(rows)} samples "
        f"({sum(r['dtype'] == 'float64' for r in rows)} float64, "
        f"{sum(r['dtype'] == 'complex128' for r in rows)} complex128)",
        "",
        "| tool | pass | fail | inconclusive | error | total time (s) | median (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    big = [r for r in rows if r.get("jacobian", 0) > MAX_JACOBIAN]
    every = rows + plants
    present = [t for t in TOOLS if every and all(t in r for r in every)]  # `run`'s ``tools``
    timed = {
        tool: [r for r in rows if tool not in ("torch default", "gradcheck full") or r not in big]
        for tool in present
    }
    for tool in present:
        outs = [r[tool] for r in timed[tool]]
        if not outs:  # planted bugs only (``--only-logged`` on an empty log)
            continue
        count = {k: sum(o["status"] == k for o in outs) for k in ("pass", "fail", "inconclusive")}
        err = sum(o["status"] == "error" for o in outs)
        secs = [o["seconds"] for o in outs]
        lines.append(
            f"| {tool} | {count['pass']} | {count['fail']} | {count['inconclusive']} | {err} "
            f"| {sum(secs):.2f} | {1e3 * statistics.median(secs):.2f} |"
        )
    lines.append("")
    if rows and "gradcheck full" in present and "torch default" in present:
        full = sum(r["gradcheck full"]["seconds"] for r in timed["gradcheck full"])
        tdef = sum(r["torch default"]["seconds"] for r in timed["torch default"])
        left_out = ", ".join(f"{r['sample']} {r['gradcheck full']['seconds']:.1f} s" for r in big)
        lines += [
            f"full-mode rows leave out {len(big)} sample(s) whose dense Jacobian exceeds "
            f"MAX_JACOBIAN (torch default not run; gradcheck full there: {left_out or '-'})",
            f"time ratio: gradcheck full / torch default = {full / tdef:.2f} (target <= 0.5)",
        ]
    if rows and "gradcheck fast" in present and "torch fast_mode" in present:
        fast = sum(r["gradcheck fast"]["seconds"] for r in rows)
        tfast = sum(r["torch fast_mode"]["seconds"] for r in rows)
        lines.append(
            f"time ratio: gradcheck fast / torch fast_mode = {fast / tfast:.2f} (target <= 1)"
        )
    lines += [
        "",
        "gradcheck's non-passes by classification:",
    ]
    kinds: dict[str, list[str]] = {}
    for r in rows:
        for tool in ("gradcheck full", "gradcheck fast"):
            if tool not in present:
                continue
            o = r[tool]
            kind = error_kind(o["detail"]) if o["status"] == "error" else o["kind"]
            if o["status"] != "pass":
                kinds.setdefault(f"{tool}: {o['status']} — {kind}", []).append(r["sample"])
    for k, v in sorted(kinds.items()):
        lines.append(f"  {k}: {len(v)} ({', '.join(v[:8])}{' ...' if len(v) > 8 else ''})")
    lines += ["", f"planted (1 + {PLANT:g}) errors: caught / named of {len(plants)}"]
    for tool in present:
        c = sum(p[tool][0] for p in plants)
        n = sum(p[tool][1] for p in plants)
        lines.append(f"  {tool}: caught {c}, named {n}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", help="comma-separated op names (default: every op)")
    ap.add_argument("--planted", type=int, default=PLANTED)
    ap.add_argument("--json", help="write every row to this file")
    ap.add_argument("--log", help="append rows to this JSON-lines file; resume from it")
    ap.add_argument("--skip-planted", action="store_true")
    ap.add_argument("--only-logged", action="store_true", help="summarize the --log rows only")
    ap.add_argument("--redo", default="", help="comma-separated ops to run again into --log")
    ap.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help="comma-separated columns to run (e.g. 'torch fast_mode,gradcheck fast')",
    )
    ap.add_argument("--first", type=int, help="only the first FIRST samples (op_db order)")
    args = ap.parse_args(argv)
    tools = tuple(t.strip() for t in args.tools.split(","))
    unknown = set(tools) - set(TOOLS)
    if unknown:
        ap.error(f"--tools: unknown {sorted(unknown)}; choose from {list(TOOLS)}")
    ops = set(args.ops.split(",")) if args.ops else None
    planted_n = 0 if args.skip_planted else args.planted
    redo = frozenset(filter(None, args.redo.split(",")))
    result = run(ops, planted_n, True, args.log, args.only_logged, redo, tools, args.first)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1, default=str)
    print(summary(result))


if __name__ == "__main__":
    main()
