"""Paper-style results tables built from MLflow alone (issue 3, §5): sweeps and ablations.

Sweeps: the top trials by best STS-B dev with their searched hyperparameters and test average, and the best
trial's per-task scores beside the paper's Table 2 (:mod:`sct.tune.paper_compare`). Ablations: one row per
variant — mean ± sd over seeds of the score actually averaged, Δ against the baseline row paired by seed with a
95% CI, and the paper's Δ beside it (:mod:`sct.tune.ablation_results`, arithmetic in :mod:`sct.tune.stats`).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct.errors import UserError
from sct.tune import ablation_results, paper_compare, tracking

Table = list[dict[str, Any]]


def experiment_names(uri: str) -> list[str]:
    """Names of the experiments in the store at ``uri`` (sorted; MLflow's 'Default' left out)."""
    found = tracking.client(uri).search_experiments(max_results=1000)
    return sorted(e.name for e in found if e.name != "Default")


def find_parent(uri: str, experiment: str) -> tuple[str, Any]:
    """(experiment id, latest parent run) of experiment ``experiment``; UserError listing those that exist."""
    mlflow = tracking.client(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        names = experiment_names(uri)
        known = ", ".join(names) if names else "none"
        raise UserError(f"no MLflow experiment {experiment!r} at {uri}: experiments there: {known}")
    runs = mlflow.search_runs(
        [exp.experiment_id],
        filter_string="tags.`sct.role` = 'parent'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise UserError(f"MLflow experiment {experiment!r} at {uri} has no sct parent run (made by sct.sweep/ablate)")
    return exp.experiment_id, runs[0]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _short(param: str) -> str:
    """A searched float param to 4 significant digits for tables (MLflow keeps the full value)."""
    try:
        number = float(param)
    except ValueError:
        return param
    return param if number.is_integer() else f"{number:.4g}"


def sweep_table(parent: Any, children: list[Any], top: int = 10) -> Table:
    """Top ``top`` trials by best dev score, with the searched keys (parent tag ``sct.space_keys``)."""
    keys = [k for k in parent.data.tags.get("sct.space_keys", "").split(",") if k]
    scored = [r for r in children if "best_stsb_dev" in r.data.metrics]
    scored.sort(key=lambda r: r.data.metrics["best_stsb_dev"], reverse=True)
    table: Table = []
    for rank, run in enumerate(scored[:top], start=1):
        row: dict[str, Any] = {"rank": rank, "trial": run.info.run_name, "status": run.info.status}
        row |= {key: _short(run.data.params.get(key, "")) for key in keys}
        row["best_stsb_dev"] = _fmt(run.data.metrics.get("best_stsb_dev"))
        row["test_avg"] = _fmt(run.data.metrics.get("test_avg"))
        table.append(row)
    return table


def sweep_notes(table: Table) -> list[str]:
    """Why a trial of :func:`sweep_table` shows test_avg n/a: a trial scores the test sets when it finishes."""
    ended = [f"{row['trial']} ({row['status']})" for row in table if row["test_avg"] == "n/a"]
    unfinished = [name for name in ended if not name.endswith("(FINISHED)")]
    notes = []
    if unfinished:
        notes.append(
            f"n/a in test_avg of {', '.join(unfinished)}: a trial scores the test sets when it finishes training; "
            "these did not (stopped early by ASHA, failed, or still running)"
        )
    if len(unfinished) < len(ended):
        notes.append("n/a in test_avg of a FINISHED trial: it ran no test set (eval.test_tasks is empty)")
    return notes


def variant_scores(children: list[Any], metric: str | None = None) -> dict[str, list[float]]:
    """Scores of finished runs per ``sct.variant``: ``metric``, or the one :func:`choose_score` picks."""
    metric = metric or ablation_results.choose_score(children).metric
    return {name: list(seeds.values()) for name, seeds in ablation_results.seed_scores(children, metric).items()}


def ablation_table(parent: Any, children: list[Any], paper: dict[str, float | None] | None = None) -> Table:
    """One row per variant in grid order: n, mean ± sd, Δ paired by seed with its 95% CI, the paper's Δ."""
    return ablation_results.analyse(parent, children, paper).table()


def to_markdown(table: Table) -> str:
    if not table:
        return "(no finished trials)\n"
    header = list(table[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in header) + " |" for row in table]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    if not table:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


@dataclass
class Report:
    """What ``sct.report`` prints for one experiment: a titled table, notes, and ours vs the paper per task."""

    kind: str
    title: str
    table: Table
    notes: list[str] = field(default_factory=list)
    comparison: paper_compare.Comparison | None = None


def experiment_report(uri: str, experiment: str, top: int = 10) -> Report:
    """The report of the latest parent run of ``experiment``: a sweep's top trials or an ablation's rows."""
    experiment_id, parent = find_parent(uri, experiment)
    children = tracking.child_runs(uri, experiment_id, parent.info.run_id)
    kind = parent.data.tags.get("sct.kind", "sweep")
    size = parent.data.tags.get("sct.size", "")
    if kind == "sweep":
        sweep_runs = [r for r in children if r.data.tags.get("sct.kind", "sweep") == "sweep"]
        title = f"sweep {experiment} ({size}): top {top} trials by best STS-B dev"
        comparison = paper_compare.sweep_comparison(parent, sweep_runs)
        table = sweep_table(parent, sweep_runs, top)
        return Report(kind, title, table, sweep_notes(table), comparison)
    runs = [r for r in children if r.data.tags.get("sct.kind", kind) == kind]
    result = ablation_results.analyse(parent, runs)
    grid = parent.data.tags.get("sct.grid", experiment)
    title = f"{kind} {experiment} (grid {grid}, {size}): {result.score.label}, Δ vs '{result.baseline}' paired by seed"
    comparison = paper_compare.baseline_comparison(parent, runs, result.baseline)
    return Report(kind, title, result.table(), result.notes, comparison)


def experiment_table(uri: str, experiment: str, top: int = 10) -> tuple[str, Table]:
    """(kind, table) of the latest parent run of ``experiment`` (the table of :func:`experiment_report`)."""
    report = experiment_report(uri, experiment, top)
    return report.kind, report.table


def write_tables(
    table: Table, directory: Path, stem: str = "results", *, title: str = "", notes: list[str] | None = None
) -> list[Path]:
    """``<stem>.csv`` (the table only) and ``<stem>.md`` (title, table, notes) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{stem}.csv", directory / f"{stem}.md"]
    paths[0].write_text(to_csv(table), encoding="utf-8")
    head = f"{title}\n\n" if title else ""
    tail = "".join(f"\n- {note}" for note in notes or []) + ("\n" if notes else "")
    paths[1].write_text(head + to_markdown(table) + tail, encoding="utf-8")
    return paths
