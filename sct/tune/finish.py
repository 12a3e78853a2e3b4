"""The end of an experiment: best trial summary, results tables, plots and parent-run artifacts in MLflow."""

from __future__ import annotations

import shutil
from pathlib import Path

from sct.storage import write_dir
from sct.tune import plots, results, tracking
from sct.tune.driver import Experiment


def log_best_model(exp: Experiment, model_dir: Path | None) -> Path | None:
    """Copy the best trial's model to ``<experiment>/best_model`` and log it to the parent run."""
    if model_dir is None or not model_dir.is_dir():
        print("no best model to log (no finished trial with a model)")
        return None
    target = exp.path / "best_model"
    write_dir(target, lambda tmp: shutil.copytree(model_dir, tmp, dirs_exist_ok=True))
    tracking.client(exp.tracking_uri).log_artifacts(exp.state["parent_run_id"], str(target), "best_model")
    return target


def log_table(exp: Experiment, table: results.Table, stem: str = "results") -> None:
    """Print the markdown table and log CSV + markdown to the parent run."""
    print(results.to_markdown(table))
    for path in results.write_tables(table, exp.path, stem):
        tracking.client(exp.tracking_uri).log_artifact(exp.state["parent_run_id"], str(path), "results")


def log_plots(exp: Experiment, paths: list[Path | None]) -> None:
    mlflow = tracking.client(exp.tracking_uri)
    for path in paths:
        if path is not None and path.is_file():
            mlflow.log_artifact(exp.state["parent_run_id"], str(path), "plots")


def ablation_outputs(
    exp: Experiment,
    order: list[str],
    baseline: str,
    paper: dict[str, float | None],
    *,
    kind: str,
    queue_sizes: dict[str, int] | None = None,
) -> results.Table:
    """Mean ± sd table, the Δ bar chart and (for a queue-size grid) the Figure 4 curve, logged to the parent."""
    uri, parent_id = exp.tracking_uri, exp.state["parent_run_id"]
    children = [
        r
        for r in tracking.child_runs(uri, exp.state["experiment_id"], parent_id)
        if r.data.tags.get("sct.kind") == kind
    ]
    parent = tracking.client(uri).get_run(parent_id)
    table = results.ablation_table(parent, children)
    if kind == "seeds":
        table = [row for row in table if row["n"]]
    log_table(exp, table, "results" if kind == "ablation" else "seeds")
    scores = results.variant_scores(children)
    figures: list[Path | None] = []
    if kind == "ablation":
        figures.append(plots.ablation_bars(scores, order, baseline, paper, exp.path / "plots" / "ablation.png"))
    if queue_sizes:
        points = {k: scores.get(name, []) for name, k in queue_sizes.items()}
        figures.append(plots.queue_curve(points, exp.path / "plots" / "queue_size.png"))
    log_plots(exp, figures)
    return table
