"""The core's imports point one way: no import of the CLI layer or of ``sct.tune``, and no cycle.

The layering, from the top: the entry modules (:data:`ENTRY`: ``sct.cli``, the ``python -m`` modules) may
import anything; ``sct.tune`` (the sweep on Ray Tune + Optuna + MLflow) imports the core and ``sct.cli``;
the core (every other module of ``sct``) imports only the core. Among the core's modules the imports form a
DAG, so each module can be read after the modules it uses. Every ``import`` statement counts: module level,
inside functions and inside ``if TYPE_CHECKING:`` blocks, since each is a dependency a reader must follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sct"
ENTRY = {
    "sct.cli",
    "sct.train",
    "sct.sweep",
    "sct.ablate",
    "sct.report",
    "sct.evaluate.__main__",
    "sct.data.__main__",
}
UPPER = ("sct.cli", "sct.tune")  # the layers above the core


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}
CORE = sorted(name for name in MODULES if name not in ENTRY and not name.startswith("sct.tune"))


def imported(name: str, path: Path | None = None, *, everything: bool = False) -> set[str]:
    """The ``sct`` modules (``everything``: all modules, other libraries too) that module ``name`` (read from
    ``path``, default its file) imports anywhere in its source (a ``from package import x`` names the module
    ``package.x`` when that is a module, else the package)."""
    path = path or MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in MODULES else base)
    return out if everything else {target for target in out if target == "sct" or target.startswith("sct.")}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None (a depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("name", CORE)
def test_the_core_imports_no_layer_above_it(name: str) -> None:
    upward = sorted(t for t in imported(name) if any(t == u or t.startswith(f"{u}.") for u in UPPER))
    assert not upward, f"{name} imports {upward}: the core imports only the core"
    assert not imported(name) & ENTRY, f"{name} imports an entry module"


def test_the_core_imports_form_no_cycle() -> None:
    graph = {name: {t for t in imported(name) if t in CORE and t != name} for name in CORE}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in the core: " + " -> ".join(cycle or [])


def test_the_walk_sees_every_kind_of_import(tmp_path: Path) -> None:
    """A function-level and a TYPE_CHECKING import count; a cycle is found, a DAG is not one."""
    assert "sct.cli" in imported("sct.train")
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sct.cli import run\n"
    source += "def f():\n    from sct.tune.plan import spaces\n"
    probe = tmp_path / "probe.py"
    probe.write_text(source, encoding="utf-8")
    assert imported("sct.probe", probe) == {"sct.cli", "sct.tune.plan.spaces"}
