"""The import graph of gradcheck: no cycle, and the engine layered in one direction.

docs/architecture.md draws it; this keeps the drawing true. Imports are read from the source
(every ``import``/``from`` statement, also inside functions and ``TYPE_CHECKING`` blocks: a
cycle hidden behind TYPE_CHECKING is still a cycle for a reader).
"""

from __future__ import annotations

import ast
from pathlib import Path

import gradcheck

ROOT = Path(gradcheck.__file__).parent

#: the engine's modules, bottom up: each may import only modules listed before it.
ENGINE = [
    "calls",
    "options",
    "numdiff",
    "problem",
    "noise",
    "analytic",
    "judge",
    "stacks",
    "complex_step",
    "full",
    "fast",
    "run",
]
#: what the engine may use of the rest of gradcheck (leaf modules that import no engine).
ENGINE_MAY_USE = {"_errors", "_tree", "_result", "_progress", "_evidence"}


def _module_names() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ("gradcheck", *path.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _graph() -> dict[str, set[str]]:
    modules = _module_names()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d in modules and d not in (name, "gradcheck")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path of module names, or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v: str) -> list[str]:
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return [*path[path.index(w) :], w]
            if w not in state and (found := visit(w)):
                return found
        state[v] = 2
        path.pop()
        return []

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return []


def test_gradcheck_has_no_import_cycle():
    assert _cycle(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    # the negative control of the test above
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_the_engine_is_layered_in_one_direction():
    graph = _graph()
    assert {m.rsplit(".", 1)[1] for m in graph if m.startswith("gradcheck._engine.")} == set(ENGINE)
    for rank, name in enumerate(ENGINE):
        below = {f"gradcheck._engine.{m}" for m in ENGINE[:rank]}
        allowed = below | {f"gradcheck.{m}" for m in ENGINE_MAY_USE}
        assert graph[f"gradcheck._engine.{name}"] <= allowed, name


def test_the_front_ends_reach_the_engine_only_through_its_modules():
    # check_grad / check_vjp / check_jacobian: thin front ends, importing no other front end
    graph = _graph()
    for front in ("gradcheck._check", "gradcheck._vector"):
        assert not graph[front] & {"gradcheck._check", "gradcheck._vector"}, front
        assert graph[front] & {"gradcheck._engine.run"}, front
