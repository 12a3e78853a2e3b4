"""The import graph of ``sct``: no cycle, and Ray, MLflow and Optuna only where the work needs them.

Every import statement of every module counts — at module level, inside functions, and under
``if TYPE_CHECKING:`` — so an arrow cannot be hidden from the rule by moving it into a function. The walk and the cycle
search are :mod:`tests.test_layering`'s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_layering import MODULES, find_cycle, imported

# Where each library may be imported (module names; a name ending in "." is a whole sub-package).
ALLOWED = {
    "ray": ("sct.tune.run.", "sct.data.backtranslation.ray_runner"),
    "mlflow": ("sct.tune.tracking.", "sct.tune.tracking", "sct.tune.run.mlflow_callback"),
    "optuna": (
        "sct.tune.plan.spaces",  # the space as Optuna distributions
        "sct.tune.run.search",  # the study behind the searcher
        "sct.tune.run.live_view",  # its log level, with the other libraries' noise
        "sct.tune.run.study_view",  # each size's progress, read from its study
        "sct.tune.report.plots",  # the study's plots
        "sct.tune.report.history",  # the optimisation history, from the study's trials
    ),
}


COMMANDS = ("sct.sweep", "sct.ablate", "sct.report", "sct.train")


def graph() -> dict[str, set[str]]:
    return {name: {m for m in imported(name) if m in MODULES and m != name} for name in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module: each is a set of modules in a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.b\ndef f():\n    from c import d\n"
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    assert {"a.b", "c"} <= imported("m", tmp_path / "m.py", everything=True)


def test_cycles_are_found_and_only_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"] and cycles(edges) == [{"a", "b", "c"}]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None and cycles({"a": {"b"}, "b": set()}) == []


def test_no_tune_module_and_no_command_line_is_in_an_import_cycle() -> None:
    tune = [c for c in cycles(graph()) if any(m.startswith("sct.tune") or m in COMMANDS for m in c)]
    assert tune == []


def test_sct_has_no_import_cycle() -> None:
    assert find_cycle(graph()) is None


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_a_library_is_imported_only_where_its_work_runs(library: str) -> None:
    allowed = ALLOWED[library]
    offenders = sorted(
        name
        for name in MODULES
        if any(m == library or m.startswith(library + ".") for m in imported(name, everything=True))
        and not any(name.startswith(a) if a.endswith(".") else name == a for a in allowed)
    )
    assert offenders == [], f"{library} imported outside {allowed}"
