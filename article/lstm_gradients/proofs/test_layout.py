"""The article package's modules import one another in one direction: no import cycles.

An integrity check of the layout (docs/architecture.md), not a proof: it names no ID. Edges are
the ``import lstm_gradients.…`` / ``from lstm_gradients… import …`` statements anywhere in a
module (an import deferred into a function is a dependence too: that is how the old
figures ↔ schematics cycle hid); a package's ``__init__`` re-exporting its own submodules is
the package, not a cycle, so an edge from a module to one of its parent packages is not
counted.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import lstm_gradients

ROOT = Path(lstm_gradients.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The lstm_gradients modules ``path`` imports (``from a import b`` counts ``a.b`` when that
    is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {m for m in found if m in modules}


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in ROOT.rglob("*.py") if "proofs" not in p.parts}
    modules = set(paths)
    return {
        name: {m for m in _imports(path, modules) if not name.startswith(m + ".") and m != name}
        for name, path in paths.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (depth-first search), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_article_package_has_no_import_cycle() -> None:
    graph = _graph()
    assert "lstm_gradients.figures.schematics.probe" in graph  # the walk sees the tree
    assert graph["lstm_gradients.figures.schematics.draw"] >= {
        "lstm_gradients.figures.schematics.models",
        "lstm_gradients.figures.schematics.probe",
    }
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a planted back edge is reported as the cycle it closes."""
    graph = _graph()
    graph["lstm_gradients.figures.schematics.probe"].add("lstm_gradients.figures.schematics.draw")
    cycle = _cycle(graph)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    back = ("lstm_gradients.figures.schematics.probe", "lstm_gradients.figures.schematics.draw")
    assert back in set(itertools.pairwise(cycle))
