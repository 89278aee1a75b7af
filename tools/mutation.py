"""Mutation testing of the specs' backward, Jacobian and gradient-derived functions (issue 12.3).

    python -m tools.mutation [--jobs 2] [--only rnn] [--out docs/mutation.md] [--cpu-limit 300]

(or ``tox -e mutation``). Not part of the default test run: a campaign takes tens of minutes.

What it mutates: in every module of `MODULES`, every function whose name matches `TARGET` (the
backwards, Jacobians, σ'/tanh' helpers, and the functions that return gradient-derived
quantities: norms by lag, per-lag contributions, deltas, profiles, cell paths, plot data). One
mutant is one small change of one AST node (`OPERATORS`): an arithmetic operator swapped, a
``.T`` dropped, a keyword argument (``keepdims=True``, ``axis=...``) dropped, a numeric constant
moved by one, a unary minus dropped.

How a mutant is judged: the package ``lstm_gradients`` is copied to ``.mutants/<n>/``, the one
file is replaced by its mutated source, and each *killer* runs against that copy (first on
``PYTHONPATH``, so it shadows the installed package). A killer that fails kills the mutant; the
next killers are then skipped. A mutant no killer kills *survives*.

What counts as a kill, and what is no verdict at all (so that neither a busy machine nor a
broken set-up can move a mutant between "killed" and "survived"):

- pytest's exit status 1 (a test failed) or 2 (collection failed: the mutant broke an import
  or a parametrisation) kills; 0 and 5 (no test selected) pass. A plain command kills by any
  non-zero status.
- Time is *CPU* time, not wall time: each killer runs under ``RLIMIT_CPU`` = ``--cpu-limit``
  seconds (default 300; the unmutated families need 10–50 CPU-s). A killer that spends them all
  (an infinite loop, an iteration that no longer converges) kills, reported as "(CPU limit)".
  CPU seconds a process spends do not grow when other processes compete for the cores, so an
  overloaded machine cannot turn a survivor into a kill by time.
- Anything else is *undecided*, neither killed nor survived: the wall-clock backstop
  (``--wall-limit``, default 4 × the CPU limit: a killer blocked without computing), pytest's
  3 (internal error) and 4 (usage error), a signal other than the CPU limit's, a worker that
  died without a verdict. The report lists undecided mutants under "Not judged" with the
  reason, and ``--only`` re-runs them. So a kill cannot become a survivor by time either.

Killers are pluggable: `KILLERS` is a list of `Killer` records, each a command (argv with
``{tests}`` standing for the copy's ``proofs`` directory and ``{k}`` for the family's ``-k``
expression) tried in order. The proof suite's tests of the mutated family come first, then the
registry tests and the 50-digit reference. Another killer, e.g. a symbolic prover run as
``python -m ...``, is one more `Killer` (or ``--killer NAME=COMMAND`` on the command line).

Equivalent mutants (no test can kill them: the mutated program computes the same function) are
listed in `EQUIVALENT` by mutant id with the reason; the score is killed / (all − equivalent).
The report (``--out``) lists the score, every survivor and every equivalent mutant.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "article" / "lstm_gradients"
#: this run's copies, verdicts and logs (one directory per process: two campaigns over disjoint
#: ``--only`` sets can run side by side)
WORK = ROOT / ".mutants" / f"run-{os.getpid()}"

#: module (relative to lstm_gradients/specs) -> its family's proof files (the registry's first:
#: its checks are the quickest to fail) and the -k expression that picks the family's cases
MODULES: dict[str, tuple[tuple[str, ...], str]] = {
    # σ' itself (activations.sigmoid_prime and tanh_prime call it; every RNN/LSTM/GRU backward
    # takes its gate derivatives from there): judged by the activations family, whose tests
    # compare σ' and tanh' with FD, a 40-digit reference and the output forms
    "_elementwise.py": (("test_registry.py", "test_activations.py"), "activations or act."),
    "activations.py": (("test_registry.py", "test_activations.py"), "activations or act."),
    "mlp.py": (("test_registry.py", "test_mlp.py", "test_mlp_deep.py"), "mlp"),
    "rnn.py": (("test_registry.py", "test_rnn.py", "test_rnn_jacobians.py"), "rnn"),
    # the Jacobian file first: 4 CPU-s where the registry's LSTM records take 16, and most of
    # lstm.py's target functions (Jacobians, cell path, PLOT-A) are tested only there
    "lstm.py": (("test_lstm_jacobians.py", "test_registry.py", "test_lstm.py"), "lstm"),
    "gru.py": (("test_registry.py", "test_gru.py"), "gru"),
    "normalization/layers.py": (
        ("test_registry.py", "test_norm_backward.py", "test_norm_invariants.py"),
        "norm",
    ),
    "normalization/statistics.py": (
        ("test_gradient_quantities.py", "test_norm_statistics.py"),
        "norm or gradient_quantities",
    ),
}

#: the functions mutated: backwards, Jacobians, derivative helpers, gradient-derived quantities
TARGET = re.compile(
    r"backward|jacobian|prime|_primes|_weights|gradient|norms|per_lag|delta|profile|cell_path"
    r"|direct_partials|article_dE|composite|plot_d_data|bn_deep"
)


@dataclass(frozen=True)
class Killer:
    """A command that must fail on a mutant: ``argv`` with ``{files}`` (the family's proof files,
    one argument each, in the mutated copy), ``{tests}`` (the copy's proofs directory) and
    ``{k}`` (the family's -k expression) filled in. ``pytest=True``: ``argv`` are pytest's
    arguments, run by ``pytest.main`` in a forked process that has pytest, numpy, scipy and
    Hypothesis imported already (saves ~3 s of start-up per run); otherwise ``argv`` is a command
    run with the copy first on ``PYTHONPATH``."""

    name: str
    argv: tuple[str, ...]
    pytest: bool = False


# -W: pytest would rewrite the asserts of plugins it imports itself (Hypothesis'), and warns
# (an error under the suite's filterwarnings) when the forking parent imported them first
_PYTEST: tuple[str, ...] = ("-x", "-q", "-p", "no:cacheprovider", "--no-header")
_PYTEST += ("-W", "ignore::pytest.PytestAssertRewriteWarning")
KILLERS: list[Killer] = [
    Killer("family tests", (*_PYTEST, "{files}", "-k", "{k}"), pytest=True),
    Killer("50-digit reference", (*_PYTEST, "{tests}/test_high_precision.py", "-k", "{k}"), True),
    # every record proven for all inputs by gradcheck.symbolic: a mutant that changes a
    # backward's value anywhere is disproven whatever the numeric tests drew (deterministic)
    Killer(
        "symbolic prover",
        (*_PYTEST, "{tests}/test_symbolic.py", "-k", "every_record_is_proven and ({k})"),
        pytest=True,
    ),
]

#: Two passes. Every mutant first meets a quick profile: derandomized, 10 examples, no shrinking
#: (most mutants fail on the first example; shrinking changes no verdict, only the report). A
#: failure there is a genuine failure of a suite test, so a kill. The survivors are judged
#: again under the ``ci`` settings (derandomized, 50 examples: what CI runs), still without
#: shrinking; only a mutant that survives both is a survivor.
QUICK, CONFIRM = ("mutation-quick", 10), ("mutation-ci", 50)

#: mutant id -> why it computes the same function as the original (reviewed by hand; an id
#: names the k-th mutation of a function, so it must be reviewed again when the function changes)
_SQUARE = "W_s is (H, H) by the spec's shapes: shape[0] == shape[1]."
EQUIVALENT: dict[str, str] = {
    "rnn.rnn_backward#2": _SQUARE,
    "rnn.rnn_backward#3": _SQUARE,
    "rnn.state_jacobian#2": "Only the text of the ValueError for a bad (k, t) changes.",
    "rnn.state_jacobian#3": _SQUARE,
    "rnn.article_dEt_dparams#15": "direct_partials ignores s_i when given the pre-activation "
    "a_i (tanh' is taken from a_i), which this call passes.",
    "rnn.article_dEt_dparams#20": "numpy's reshape reads any negative size as 'inferred': -2 "
    "is -1.",
    "rnn.jacobian_norms_by_lag#1": _SQUARE,
    "lstm.lstm_step_backward#12": "The blocks are (N, H): axis=1 is axis=-1.",
    "lstm.peephole_step_backward#15": "The blocks are (N, H): axis=1 is axis=-1.",
    "lstm.cell_path#2": "`if f.shape[0]` becomes `if f.shape[1]` (L becomes H), and the two "
    "branches agree wherever the choice changes: numpy's product over an empty axis is 1, so "
    "diag(prod(f, axis=0)) is I_H when L = 0, and both branches give the (0, 0) float array "
    "when H = 0 (checked for (L, H) = (0, 1), (0, 3), (0, 0), (2, 0)).",
    "gru.gru_step_backward#20": "The blocks are (N, H): axis=1 is axis=-1.",
    "gru.gru_step_backward#25": "The blocks are (H, H): axis=1 is axis=-1.",
    "gru.state_jacobian#2": "Only the text of the ValueError for a bad (k, t) changes.",
    **{
        f"normalization.layers.normalize_backward_staged#{k}": "A factor of the term "
        "dvar·Σ(−2(x − μ))/m, which is 0: Σ(x − μ) = 0 over the group (and over all of x)."
        for k in (20, 28, 30, 33, 34)
    },
    "normalization.layers.normalize_backward_staged#24": "x / −1.0 is x · −1.0, exactly.",
}


@dataclass(frozen=True)
class Verdict:
    mutant: Mutant
    killed_by: str | None  # None: survived (or undecided)
    seconds: float
    undecided: str | None = None  # why there is no verdict (then killed_by is None)


@dataclass(frozen=True)
class Mutant:
    module: str  # path relative to specs/
    function: str
    index: int  # k-th mutation inside the function (the id is stable while the function is)
    line: int
    description: str
    source: str  # the whole mutated module

    @property
    def id(self) -> str:
        return f"{self.module.removesuffix('.py').replace('/', '.')}.{self.function}#{self.index}"


# ---------------------------------------------------------------------------------------------
# Mutation operators
# ---------------------------------------------------------------------------------------------

_BINOP_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
}


def _mutations(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(description, replacement node) for every mutation of ``node`` itself."""
    new: ast.AST
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAP:
        new = ast.BinOp(node.left, _BINOP_SWAP[type(node.op)](), node.right)
        yield f"`{ast.unparse(node)}` → `{ast.unparse(new)}`", new
    elif isinstance(node, ast.Attribute) and node.attr == "T":
        yield f"`{ast.unparse(node)}` → `{ast.unparse(node.value)}`", node.value
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield f"`{ast.unparse(node)}` → `{ast.unparse(node.operand)}`", node.operand
    elif isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if not isinstance(node.value, bool):
            new = ast.Constant(node.value + 1)
            yield f"`{ast.unparse(node)}` → `{ast.unparse(new)}`", new
    elif isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg in ("keepdims", "axis", "axes"):
                new = ast.Call(node.func, node.args, node.keywords[:i] + node.keywords[i + 1 :])
                yield f"`{ast.unparse(node)}` → `{ast.unparse(new)}`", new


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        visited: ast.AST = super().visit(node)
        return visited


def _body_nodes(fn: ast.FunctionDef) -> Iterator[ast.AST]:
    """The function's nodes in source order, docstring excluded."""
    body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
    for stmt in body:
        yield from sorted(
            ast.walk(stmt), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))
        )


def _text(module: str) -> str:
    return (PACKAGE / "specs" / module).read_text(encoding="utf-8")


def mutants(module: str) -> Iterator[Mutant]:
    """Every mutant of the target functions of ``module`` (relative to specs/)."""
    text = _text(module)
    for fn in ast.walk(ast.parse(text)):
        if not isinstance(fn, ast.FunctionDef) or not TARGET.search(fn.name):
            continue
        k = 0
        for node in _body_nodes(fn):
            for j in range(len(list(_mutations(node)))):
                tree = ast.parse(text)  # a fresh tree per mutant, the node found by position
                fresh = _same_node(tree, fn.name, node)
                description, replacement = list(_mutations(fresh))[j]
                mutated = _Replace(fresh, ast.copy_location(replacement, fresh)).visit(tree)
                ast.fix_missing_locations(mutated)
                line = _pos(node)[0]
                yield Mutant(module, fn.name, k, line, description, ast.unparse(mutated))
                k += 1


def _same_node(tree: ast.AST, function: str, node: ast.AST) -> ast.AST:
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.name == function:
            for n in _body_nodes(fn):
                if type(n) is type(node) and _pos(n) == _pos(node):
                    return n
    raise LookupError(f"{function}: node at {_pos(node)} not found")


def _pos(n: ast.AST) -> tuple[int, int, int, int]:
    return tuple(
        getattr(n, a, None) or 0 for a in ("lineno", "col_offset", "end_lineno", "end_col_offset")
    )  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def _overlay(n: int, mutant: Mutant) -> Path:
    """A copy of the package with the mutant in place: ``.mutants/<n>/lstm_gradients``."""
    base = WORK / str(n)
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(PACKAGE, base / "lstm_gradients", ignore=shutil.ignore_patterns("__pycache__"))
    (base / "lstm_gradients" / "specs" / mutant.module).write_text(mutant.source, encoding="utf-8")
    return base


def _argv(killer: Killer, base: Path, module: str) -> list[str]:
    files, k = MODULES[module]
    tests = base / "lstm_gradients" / "proofs"
    out: list[str] = []
    for a in killer.argv:
        if a == "{files}":
            out += [str(tests / f) for f in files]
        else:
            out.append(a.format(tests=tests, k=k))
    return out


def _limit_cpu(seconds: float) -> None:
    """In a killer's process: SIGXCPU after ``seconds`` of CPU time (SIGKILL 10 s later)."""
    soft = max(1, int(seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 10))


def _wait(pid: int, timeout: float) -> int | None:
    """The exit status of child ``pid``, or None (and the child killed) after ``timeout`` s of
    wall time."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.2)


@dataclass(frozen=True)
class Limits:
    cpu: float  # CPU seconds per killer: spending them all kills
    wall: float  # wall seconds per killer: reaching them leaves the mutant undecided


def _run_pytest(argv: list[str], base: Path, log: Path, limits: Limits) -> int | None:
    pid = os.fork()
    if pid == 0:  # the child: the mutated copy first on the path, pytest in-process
        code = 99
        try:
            _limit_cpu(limits.cpu)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.path.insert(0, str(base))
            import pytest

            code = int(pytest.main(argv))
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return _wait(pid, limits.wall)


def _run_command(argv: list[str], base: Path, log: Path, limits: Limits) -> int | None:
    env = {**os.environ, "PYTHONPATH": str(base)}
    with log.open("a") as out:
        try:
            return subprocess.run(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=out,
                timeout=limits.wall,
                check=False,
                preexec_fn=lambda: _limit_cpu(limits.cpu),
            ).returncode
        except subprocess.TimeoutExpired:
            return None


_CPU_SIGNALS = (-signal.SIGXCPU, -signal.SIGKILL)  # the soft and the hard RLIMIT_CPU


def _outcome(killer: Killer, code: int | None, limits: Limits) -> str | None:
    """``"killed:NAME"``, ``"undecided:WHY"``, or None (the killer passed): the rules of the
    module's docstring."""
    if code is None:
        return f"undecided:{killer.name} reached the wall-clock limit ({limits.wall:.0f} s)"
    if code in _CPU_SIGNALS:
        return f"killed:{killer.name} (CPU limit)"
    if code in (0, 5):  # 5: pytest selected no test, which proves nothing either way
        return None
    if not killer.pytest and code > 0:
        return f"killed:{killer.name}"
    if killer.pytest and code in (1, 2):  # a test failed; collection failed
        return f"killed:{killer.name}"
    return f"undecided:{killer.name} ended with status {code} (not a test failure)"


def judge(
    n: int, mutant: Mutant, killers: list[Killer], limits: Limits, keep_log: Path | None = None
) -> str:
    """``"killed:NAME"`` (the first killer that kills ``mutant``), ``"undecided:WHY"``, or ``""``
    (survived). ``keep_log``: where to copy the killers' output before the copy is removed."""
    base = _overlay(n, mutant)
    log = base / "log.txt"
    try:
        for killer in killers:
            run = _run_pytest if killer.pytest else _run_command
            code = run(_argv(killer, base, mutant.module), base, log, limits)
            if (outcome := _outcome(killer, code, limits)) is not None:
                return outcome
        return ""
    finally:
        if keep_log is not None and log.exists():
            shutil.copy(log, keep_log)
        shutil.rmtree(base, ignore_errors=True)


def _prepare() -> None:
    """Import what every killer needs once, before forking, and register the profile."""
    import hypothesis
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import scipy.special  # noqa: F401

    # gradcheck.profiles' "ci" (derandomized, no database), without shrinking
    for name, examples in (QUICK, CONFIRM):
        hypothesis.settings.register_profile(
            name,
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[hypothesis.HealthCheck.too_slow],
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate],
        )
    os.environ["CI"] = "true"


def campaign(
    chosen: list[Mutant], killers: list[Killer], jobs: int, limits: Limits
) -> list[Verdict]:
    """The quick pass over every mutant (and the unmutated modules), then the ci pass over the
    survivors (`QUICK`, `CONFIRM`). An undecided mutant of the quick pass stays undecided."""
    _prepare()
    first = _pass(chosen, killers, jobs, limits, QUICK[0], check_originals=True)
    again = [v.mutant for v in first if not v.killed_by and not v.undecided]
    if not again:
        return first
    print(f"{len(again)} survivors of the quick pass: judged again under ci settings", flush=True)
    confirmed = {v.mutant.id: v for v in _pass(again, killers, jobs, limits, CONFIRM[0])}
    return [confirmed.get(v.mutant.id, v) for v in first]


def _pass(
    chosen: list[Mutant],
    killers: list[Killer],
    jobs: int,
    limits: Limits,
    profile: str,
    check_originals: bool = False,
) -> list[Verdict]:
    """Judge every mutant, ``jobs`` at a time, each in a forked worker process; first the
    unmutated package, which every killer must pass (else the campaign would count as kills
    what are failures of the suite or of the set-up)."""
    os.environ["HYPOTHESIS_PROFILE"] = profile
    originals = [
        Mutant(module, "(unmutated)", 0, 0, "the unmutated package", _text(module))
        for module in dict.fromkeys(m.module for m in chosen)
        if check_originals
    ]
    pending = list(enumerate(originals + chosen))
    running: dict[int, tuple[int, Mutant, float]] = {}
    verdicts: list[Verdict] = []
    while pending or running:
        while pending and len(running) < jobs:
            n, m = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                log = WORK / f"{n}.log" if m.function == "(unmutated)" else None
                outcome = "undecided:the worker raised"
                try:
                    outcome = judge(n, m, killers, limits, keep_log=log)
                finally:
                    (WORK / f"{n}.verdict").write_text(outcome, encoding="utf-8")
                    os._exit(0)
            running[pid] = (n, m, time.monotonic())
        pid, _ = os.wait()
        n, m, started = running.pop(pid)
        path = WORK / f"{n}.verdict"
        text = path.read_text(encoding="utf-8") if path.exists() else "undecided:worker crashed"
        path.unlink(missing_ok=True)
        kind, _, what = text.partition(":")
        seconds = time.monotonic() - started
        v = Verdict(
            m, what if kind == "killed" else None, seconds, what if kind == "undecided" else None
        )
        if m.function == "(unmutated)":
            if v.killed_by or v.undecided:
                for other in running:
                    os.kill(other, 9)
                raise SystemExit(
                    f"the unmutated {m.module} fails: {v.killed_by or v.undecided}; see "
                    f"{WORK / f'{n}.log'} (a suite that fails on the original kills nothing)"
                )
            print(f"the unmutated {m.module} passes every killer ({v.seconds:.0f} s)", flush=True)
            continue
        verdicts.append(v)
        state = (
            f"killed by {v.killed_by}"
            if v.killed_by
            else f"UNDECIDED ({v.undecided})"
            if v.undecided
            else "SURVIVED"
        )
        print(
            f"[{len(verdicts)}/{len(chosen)}] {m.id} ({m.description}): {state}, {v.seconds:.0f} s",
            flush=True,
        )
    return sorted(verdicts, key=lambda v: chosen.index(v.mutant))


def report(verdicts: list[Verdict], not_run: list[Mutant], note: str = "") -> str:
    """The markdown of ``docs/mutation.md``. ``verdicts``: every mutant run (undecided ones
    included, listed as not judged with the reason); ``not_run``: the mutants no run reached;
    ``note``: a paragraph on the campaign (date, machine, runs merged)."""
    decided = [v for v in verdicts if not v.undecided]
    undecided = [v for v in verdicts if v.undecided]
    equivalent = [v for v in decided if v.mutant.id in EQUIVALENT]
    counted = [v for v in decided if v.mutant.id not in EQUIVALENT]
    killed = [v for v in counted if v.killed_by]
    survivors = [v for v in counted if not v.killed_by]
    score = 100.0 * len(killed) / max(1, len(counted))
    every = [v.mutant for v in verdicts] + not_run
    functions = {(m.module, m.function) for m in every}
    modules = {m.module for m in every}
    lines = [
        "# Mutation score of the specs",
        "",
        "Written by `python -m tools.mutation` (`tox -e mutation`); the method is in that "
        "module's docstring.",
        "",
        f"- mutants: {len(every)} in {len(functions)} functions of {len(modules)} modules; "
        f"judged: {len(decided)}, not judged: {len(undecided) + len(not_run)}",
        f"- equivalent (listed below, with the reason): {len(equivalent)}",
        f"- killed: {len(killed)} of {len(counted)} non-equivalent: **{score:.1f} %**",
        f"- survivors: {len(survivors)}",
        f"- killers, in order: {', '.join(k.name for k in KILLERS)}; every mutant under a quick "
        f"profile ({QUICK[1]} examples), the survivors again under ci settings ({CONFIRM[1]})",
    ]
    if note:
        lines += ["", note.strip()]
    lines += ["", "## Survivors", ""]
    lines += [f"- `{v.mutant.id}` line {v.mutant.line}: {v.mutant.description}" for v in survivors]
    lines += ["", "## Equivalent mutants", ""]
    lines += [
        f"- `{v.mutant.id}` line {v.mutant.line}: {v.mutant.description}. {EQUIVALENT[v.mutant.id]}"
        for v in equivalent
    ]
    if undecided or not_run:
        lines += ["", f"## Not judged ({len(undecided) + len(not_run)} mutants)", ""]
        lines += [f"- `{v.mutant.id}`: {v.undecided}" for v in undecided]
        lines += [
            f"- `{f}`: not run" for f in sorted({f"{m.module}:{m.function}" for m in not_run})
        ]
    lines += ["", "## Killed, by killer", ""]
    by: dict[str, int] = {}
    for v in killed:
        by[v.killed_by or ""] = by.get(v.killed_by or "", 0) + 1
    lines += [f"- {name}: {count}" for name, count in sorted(by.items())]
    return "\n".join(lines) + "\n"


_LINE = re.compile(
    r"^\[\d+/\d+\] (\S+) \((.*)\): "
    r"(?:killed by (.*)|UNDECIDED \((.*)\)|SURVIVED), (\d+) s$"
)


def verdicts_from_logs(
    logs: list[Path], chosen: list[Mutant]
) -> tuple[list[Verdict], list[Mutant]]:
    """The verdicts printed by earlier runs (their progress lines) for the mutants ``chosen``,
    and the chosen mutants no log has a verdict for (the report lists them as not judged).
    Later lines win, except that an undecided line does not undo a verdict. A line counts only
    if its mutation (the description) is the one the mutant id names today: a function edited
    since the log may have renumbered its mutants."""
    seen: dict[str, Verdict] = {}
    by_id = {m.id: m for m in chosen}
    for log in logs:
        for line in log.read_text(encoding="utf-8").splitlines():
            m = _LINE.match(line)
            if not m or m[1] not in by_id or by_id[m[1]].description != m[2]:
                continue
            killed_by, undecided = m[3], m[4]
            if killed_by and killed_by.endswith(" (timeout)"):  # the wall clock of old runs
                killed_by, undecided = None, f"{killed_by}: wall-clock time, not a verdict"
            v = Verdict(by_id[m[1]], killed_by, float(m[5]), undecided)
            if not v.undecided or m[1] not in seen or seen[m[1]].undecided:
                seen[m[1]] = v
    return [seen[m.id] for m in chosen if m.id in seen], [m for m in chosen if m.id not in seen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.mutation", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--jobs", type=int, default=2, help="mutants judged in parallel")
    parser.add_argument("--only", default="", help="a regex on mutant ids (e.g. 'gru|rnn')")
    parser.add_argument(
        "--cpu-limit",
        type=float,
        default=300.0,
        help="CPU seconds per killer; a killer that spends them all kills the mutant",
    )
    parser.add_argument(
        "--wall-limit",
        type=float,
        default=0.0,
        help="wall seconds per killer (default 4 × --cpu-limit); reaching them leaves the mutant "
        "undecided, never killed",
    )
    parser.add_argument(
        "--note", default="", metavar="FILE", help="a markdown paragraph on the campaign"
    )
    parser.add_argument("--out", default="docs/mutation.md", help="the report ('' for none)")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument(
        "--from-log",
        action="append",
        default=[],
        metavar="LOG",
        help="rebuild the report from the output of earlier runs instead of running (later "
        "lines win: a re-run of some mutants with --only updates their verdicts)",
    )
    parser.add_argument(
        "--killer",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="one more killer, tried after the others ({tests}, {k} as in KILLERS)",
    )
    args = parser.parse_args(argv)
    killers = KILLERS + [
        Killer(name, tuple(shlex.split(cmd)))
        for name, _, cmd in (k.partition("=") for k in args.killer)
    ]
    chosen = [m for module in MODULES for m in mutants(module) if re.search(args.only, m.id)]
    if args.list:
        for m in chosen:
            print(f"{m.id:50s} line {m.line}: {m.description}")
        print(f"{len(chosen)} mutants")
        return 0
    not_run: list[Mutant] = []
    if args.from_log:
        verdicts, not_run = verdicts_from_logs([Path(p) for p in args.from_log], chosen)
    else:
        WORK.mkdir(parents=True, exist_ok=True)
        limits = Limits(args.cpu_limit, args.wall_limit or 4 * args.cpu_limit)
        verdicts = campaign(chosen, killers, args.jobs, limits)
        shutil.rmtree(WORK, ignore_errors=True)  # kept only when an unmutated module fails
    note = Path(args.note).read_text(encoding="utf-8") if args.note else ""
    text = report(verdicts, not_run, note)
    if args.out:
        (ROOT / args.out).write_text(text, encoding="utf-8")
    print(text)
    open_ = [v for v in verdicts if not v.killed_by and v.mutant.id not in EQUIVALENT]
    return 1 if open_ or not_run else 0  # a survivor, or a mutant without a verdict


if __name__ == "__main__":
    sys.exit(main())
