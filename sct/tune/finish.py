"""The end of an experiment: best trial summary, results tables, plots and parent-run artifacts in MLflow."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from sct.tune import plots, results, tracking
from sct.tune.driver import Experiment

MODEL_DIR = "model"


def best_result(grid: Any, metric: str) -> Any | None:
    """The trial with the highest ``metric`` over its whole history, or None when none reported."""
    try:
        best = grid.get_best_result(metric=metric, mode="max", scope="all", filter_nan_and_inf=True)
    except (RuntimeError, ValueError, KeyError):
        return None
    return best if best.metrics and metric in best.metrics else None


def best_checkpoint_dir(result: Any, metric: str) -> Path | None:
    """Local path of the best checkpoint of ``result`` (storage is a local or mounted filesystem)."""
    checkpoints = [c for c, m in (result.best_checkpoints or []) if not math.isnan(m.get(metric, float("nan")))]
    checkpoint = checkpoints[0] if checkpoints else result.checkpoint
    if checkpoint is None:
        return None
    path = Path(checkpoint.path)
    return path if path.is_dir() else None


def log_best_model(exp: Experiment, checkpoint_dir: Path | None) -> Path | None:
    """Copy the best exported model to ``<experiment>/best_model`` and log it to the parent run."""
    if checkpoint_dir is None or not (checkpoint_dir / MODEL_DIR).is_dir():
        print("no best model to log (no checkpoint with an exported model)")
        return None
    target = exp.path / "best_model"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(checkpoint_dir / MODEL_DIR, target)
    parent = exp.state["parent_run_id"]
    tracking.retry(tracking.client(exp.tracking_uri).log_artifacts, parent, str(target), "best_model")
    return target


def log_table(exp: Experiment, table: results.Table, stem: str = "results") -> None:
    """Print the markdown table and log CSV + markdown to the parent run."""
    print(results.to_markdown(table))
    for path in results.write_tables(table, exp.path, stem):
        tracking.retry(tracking.client(exp.tracking_uri).log_artifact, exp.state["parent_run_id"], str(path), "results")


def log_plots(exp: Experiment, paths: list[Path | None]) -> None:
    mlflow = tracking.client(exp.tracking_uri)
    for path in paths:
        if path is not None and path.is_file():
            tracking.retry(mlflow.log_artifact, exp.state["parent_run_id"], str(path), "plots")


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
    parent = tracking.retry(tracking.client(uri).get_run, parent_id)
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
