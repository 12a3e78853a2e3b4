"""The end of an experiment: best trial summary, results tables, plots and parent-run artifacts in MLflow."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sct.errors import UserError
from sct.presets import paper_best_queue_size
from sct.storage import copy_tree, write_dir
from sct.tune import tracking
from sct.tune.experiment import Experiment
from sct.tune.report import ablation as ablation_results
from sct.tune.report import plots
from sct.tune.report import tables as results
from sct.tune.report.description import describe_parent
from sct.tune.tracking.model import log_sentence_model


def log_best_model(exp: Experiment, model_dir: Path | None, register: str | None = None) -> Path | None:
    """Copy the best trial's model to ``<experiment>/best_model`` and log it to the parent run, as files and
    as an MLflow model (``mlflow.pyfunc.load_model`` returns embeddings); ``register`` also registers it."""
    if model_dir is None or not model_dir.is_dir():
        print("no best model to log (no finished trial with a model)")
        return None
    target = exp.path / "best_model"
    write_dir(target, lambda tmp: copy_tree(model_dir, tmp))  # hard links: the trial's model costs no more disk
    tracking.client(exp.tracking_uri).log_artifacts(exp.state["parent_run_id"], str(target), "best_model")
    try:
        uri = log_sentence_model(exp.tracking_uri, exp.state["parent_run_id"], target, register_name=register)
    except UserError as err:  # the files are logged; the MLflow model is a convenience, never a failure
        print(f"best model: {target} (not logged as an MLflow model: {err})")
        return target
    print(f"best model: {target} (MLflow model {uri}{f', registered as {register}' if register else ''})")
    return target


def log_table(
    exp: Experiment, table: results.Table, stem: str = "results", *, title: str = "", notes: list[str] | None = None
) -> None:
    """Print the markdown table (and its notes), log CSV + markdown to the parent run and show the table in
    the parent run's description (:mod:`sct.tune.report.description`)."""
    print(results.to_markdown(table) + "".join(f"- {note}\n" for note in notes or []))
    paths = results.write_tables(table, exp.path, stem, title=title, notes=notes)
    mlflow, parent_id = tracking.client(exp.tracking_uri), exp.state["parent_run_id"]
    for path in paths:
        mlflow.log_artifact(parent_id, str(path), "results")
    describe_parent(mlflow, parent_id, stem, title or f"{exp.name}: {stem}", table, notes)


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
    """The ablation table (mean ± sd, Δ paired by seed with its 95% CI, the paper's Δ), logged to the parent run.

    Also logs per-row parent metrics (``<row>.mean/.sd/.n/.delta/.ci_low/.ci_high/.paper_delta``; prefixed
    ``seeds.`` for a sweep's seed re-runs), the tag ``sct.score`` (which metric was averaged), the Δ bar chart
    and, for a queue-size grid, the Figure 4 curve. ``order`` and ``baseline`` are the grid's; the parent's
    ``sct.rows``/``sct.baseline`` tags win when present (they are what ran).
    """
    uri, parent_id = exp.tracking_uri, exp.state["parent_run_id"]
    mlflow = tracking.client(uri)
    children = [
        r
        for r in tracking.child_runs(uri, exp.state["experiment_id"], parent_id)
        if r.data.tags.get("sct.kind") == kind
    ]
    parent = mlflow.get_run(parent_id)
    tags = {"sct.rows": ",".join(order), "sct.baseline": baseline} | dict(parent.data.tags)
    result = ablation_results.analyse(_with_tags(parent, tags), children, paper)
    table = result.table()
    if kind == "seeds":
        table = [row for row in table if row["n"]]
    title = f"{kind} {exp.name}: {result.score.label}; Δ vs '{result.baseline}' paired by seed, 95% CI"
    log_table(exp, table, "results" if kind == "ablation" else "seeds", title=title, notes=result.notes)
    log_parent_metrics(exp, result, "" if kind == "ablation" else f"{kind}.")
    figures: list[Path | None] = []
    if kind == "ablation":
        rows = [r for r in result.rows if r.name != result.baseline]
        figures.append(
            plots.ablation_bars(
                [r.name for r in rows],
                [r.paired.delta if r.paired else None for r in rows],
                [(r.paired.ci_low, r.paired.ci_high) if r.paired and r.paired.has_interval else None for r in rows],  # type: ignore[misc]
                [r.paper_delta for r in rows],
                result.baseline,
                result.score.label,
                exp.path / "plots" / "ablation.png",
                title=f"{exp.name}: Δ vs '{result.baseline}' per row, paired by seed (95% CI), beside the paper's Δ",
            )
        )
    if queue_sizes:
        scores = results.variant_scores(children, result.score.metric)
        points = {k: scores.get(name, []) for name, k in queue_sizes.items()}
        best_k = paper_best_queue_size(tags.get("sct.size"))
        path = exp.path / "plots" / "queue_size.png"
        figures.append(plots.queue_curve(points, path, best_k=best_k, score_label=result.score.label))
    log_plots(exp, figures)
    return table


def log_parent_metrics(exp: Experiment, result: ablation_results.AblationResult, prefix: str = "") -> None:
    """Per-row statistics as metrics of the parent run, and the averaged metric's name as tag ``sct.score``."""
    from mlflow.entities import Metric, RunTag

    parent_id, now = exp.state["parent_run_id"], int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in result.parent_metrics(prefix).items()]
    mlflow = tracking.client(exp.tracking_uri)
    mlflow.log_batch(parent_id, tags=[RunTag(f"sct.{prefix}score", result.score.metric)])
    for start in range(0, len(metrics), 1000):
        mlflow.log_batch(parent_id, metrics=metrics[start : start + 1000])


def _with_tags(run: Any, tags: dict[str, str]) -> Any:
    """A stand-in of ``run`` whose tags are ``tags`` (the MLflow entity is read-only)."""
    data = SimpleNamespace(tags=tags, params=run.data.params, metrics=run.data.metrics)
    return SimpleNamespace(info=run.info, data=data)
