"""The study-level MLflow run: the cross-size table and plot, linked both ways with the per-size parents.

A study is named (default ``study-<exp>+<exp>…``) and is an MLflow experiment of its own holding one run
(tag ``sct.role`` = ``study``), reused when the report is made again, so the artifacts of the newest report
replace the older ones. Each size's parent run gets the tags ``sct.study`` and ``sct.study_run_id``; the study
run lists its experiments in ``sct.experiments`` and logs each size's best scores as metrics.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sct import metrics as M
from sct.errors import UserError
from sct.tune import tracking
from sct.tune.report import from_mlflow, tables
from sct.tune.report.size_plot import size_plot
from sct.tune.report.sizes import SizeResult, notes, size_result, sizes_table

STUDY_ROLE = "study"


def study_name(experiments: list[str]) -> str:
    return "study-" + "+".join(experiments)


def log_study(
    uri: str, name: str, found: list[SizeResult], table: tables.Table, title: str, notes: list[str], storage: Path
) -> str:
    """Log table (CSV, markdown) and plot to the study run ``name``; returns its run id."""
    mlflow = tracking.client(uri)
    local = uri.startswith(("sqlite:", "file:")) or "://" not in uri
    experiment_id = tracking.ensure_experiment(uri, name, storage / "mlartifacts" / name if local else None)
    experiments = ",".join(r.experiment for r in found)
    runs = mlflow.search_runs(
        [experiment_id], filter_string=f"tags.`sct.role` = '{STUDY_ROLE}'", order_by=["attributes.start_time DESC"]
    )
    if runs:
        run_id = runs[0].info.run_id
        mlflow.set_tag(run_id, "sct.experiments", experiments)
    else:
        tags = {"sct.role": STUDY_ROLE, "sct.experiments": experiments, "git.commit": tracking.git_commit()}
        run_id = mlflow.create_run(experiment_id, run_name=name, tags=tags).info.run_id
    for result in found:
        _, parent = from_mlflow.find_parent(uri, result.experiment)
        mlflow.set_tag(parent.info.run_id, "sct.study", name)
        mlflow.set_tag(parent.info.run_id, "sct.study_run_id", run_id)
        label = result.size or result.experiment
        scores = {f"{label}.{key}": result.metrics[key] for key in (M.PRIMARY, M.TEST_AVG) if key in result.metrics}
        tracking.log_metrics(mlflow, run_id, scores, 0)
    with tempfile.TemporaryDirectory(prefix="sct-study-") as tmp:
        for path in tables.write_tables(table, Path(tmp), "sizes", title=title, notes=notes):
            mlflow.log_artifact(run_id, str(path), "results")
        plot = size_plot(found, Path(tmp) / "sizes.png")
        if plot is not None:
            mlflow.log_artifact(run_id, str(plot), "plots")
    mlflow.set_terminated(run_id, "FINISHED")
    return run_id


def cross_size_report(uri: str, experiments: list[str], study: str | None, storage: Path) -> from_mlflow.Report:
    """The cross-size table of ``experiments``; logged to the study run ``study`` (``""``: the default name,
    None: not logged). Every experiment is read before anything is written."""
    if len(set(experiments)) < len(experiments):
        raise UserError(f"experiment given twice: {' '.join(experiments)}")
    found = [size_result(uri, name) for name in experiments]
    table = sizes_table(found)
    title = f"best hyperparameters by model size ({len(found)} sweeps): ours beside the paper's Table 1 / Table 2"
    report = from_mlflow.Report("sizes", title, table, notes(found))
    if study is not None:
        name = study or study_name(experiments)
        run_id = log_study(uri, name, found, table, title, report.notes, storage)
        report.notes.append(f"logged to MLflow experiment {name!r}, run {run_id} (table and plot)")
    return report
