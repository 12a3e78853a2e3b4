"""An experiment read back from MLflow by its name, from any process that reaches the tracking store: its
latest parent run and children, the best trial of a sweep, and the report ``sct.report`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sct.errors import UserError
from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.report import ablation, paper_comparison
from sct.tune.report.tables import Table, sweep_notes, sweep_table


def experiment_names(uri: str) -> list[str]:
    """Names of the experiments in the store at ``uri`` (sorted; MLflow's 'Default' left out)."""
    found = tracking.client(uri).search_experiments(max_results=1000)
    return sorted(e.name for e in found if e.name != "Default")


def find_parent(uri: str, experiment: str) -> tuple[str, Any]:
    """(experiment id, latest parent run) of experiment ``experiment``; UserError listing those that exist."""
    exp = tracking.client(uri).get_experiment_by_name(experiment)
    if exp is None:
        names = experiment_names(uri)
        known = ", ".join(names) if names else "none"
        raise UserError(f"no MLflow experiment {experiment!r} at {uri}: experiments there: {known}")
    parent = tracking.latest_parent(uri, exp.experiment_id)
    if parent is None:
        raise UserError(f"MLflow experiment {experiment!r} at {uri} has no sct parent run (made by sct.sweep/ablate)")
    return exp.experiment_id, parent


def space_keys(parent: Any) -> list[str]:
    """The searched keys a sweep's parent run records."""
    return [k for k in parent.data.tags.get(V.SPACE_KEYS, "").split(",") if k]


def best_run(runs: list[Any]) -> Any | None:
    """The best finished run (:func:`sct.tune.vocabulary.best`)."""
    return V.best(runs, lambda r: r.data.metrics, lambda r: V.run_end(r) == V.FINISHED)


def sweep_best(uri: str, experiment: str) -> tuple[dict[str, str], Any] | None:
    """(searched params as MLflow holds them, run) of the best trial of sweep ``experiment``, or None."""
    experiment_id, parent = find_parent(uri, experiment)
    keys = space_keys(parent)
    best = best_run(tracking.child_runs(uri, experiment_id, parent.info.run_id))
    if best is None or not keys:
        return None
    return {key: best.data.params[key] for key in keys if key in best.data.params}, best


@dataclass
class Report:
    """What ``sct.report`` prints for one experiment: a titled table, notes, and ours vs the paper per task."""

    kind: str
    title: str
    table: Table
    notes: list[str] = field(default_factory=list)
    comparison: paper_comparison.Comparison | None = None


def experiment_report(uri: str, experiment: str, top: int = 10) -> Report:
    """The report of the latest parent run of ``experiment``: a sweep's top trials or an ablation's rows."""
    experiment_id, parent = find_parent(uri, experiment)
    children = tracking.child_runs(uri, experiment_id, parent.info.run_id)
    kind = parent.data.tags.get(V.KIND, V.SWEEP)
    size = parent.data.tags.get(V.SIZE, "")
    if kind == V.SWEEP:
        sweep_runs = [r for r in children if r.data.tags.get(V.KIND, V.SWEEP) == V.SWEEP]
        title = f"sweep {experiment} ({size}): top {top} trials by best STS-B dev"
        best = best_run(sweep_runs)
        comparison = None if best is None else paper_comparison.best_trial_comparison(parent, best)
        table = sweep_table(space_keys(parent), sweep_runs, top)
        return Report(kind, title, table, sweep_notes(table), comparison)
    runs = [r for r in children if r.data.tags.get(V.KIND, kind) == kind]
    result = ablation.analyse_parent(parent, runs)
    grid = parent.data.tags.get(V.GRID, experiment)
    title = f"{kind} {experiment} (grid {grid}, {size}): {result.score.label}, Δ vs '{result.baseline}' paired by seed"
    comparison = paper_comparison.baseline_comparison(parent, runs, result.baseline)
    return Report(kind, title, result.table(), result.notes, comparison)
