"""What an experiment's parent MLflow run receives at its end: the best model, results tables, plots, and an
ablation's (or a sweep's seed re-runs') per-row statistics."""

from __future__ import annotations

from pathlib import Path

from sct.errors import UserError
from sct.presets import paper_best_queue_size
from sct.storage import copy_tree, write_dir
from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.experiment import Experiment
from sct.tune.report import ablation, plots, tables
from sct.tune.report.description import describe_parent
from sct.tune.tracking.model import log_sentence_model


def log_best_model(exp: Experiment, model_dir: Path | None, register: str | None = None) -> Path | None:
    """Copy the best trial's model to ``<experiment>/best_model`` and log it to the parent run as an MLflow
    model (``mlflow.pyfunc.load_model`` returns embeddings; its files are at ``artifacts/best_model``);
    ``register`` also registers it. One physical copy: ``best_model`` is hard links to the trial's files, and
    so is the logged model on a local artifact store (:mod:`sct.tune.tracking.local_copy`). A directory
    that is not a model MLflow can load is logged as plain files (run artifact ``best_model``) instead."""
    if model_dir is None or not model_dir.is_dir():
        print("no best model to log (no finished trial with a model)")
        return None
    target = exp.path / "best_model"
    write_dir(target, lambda tmp: copy_tree(model_dir, tmp))  # hard links: the trial's model costs no more disk
    try:
        uri = log_sentence_model(exp.tracking_uri, exp.parent_run_id, target, register_name=register)
    except UserError as err:  # the files still reach the run, as plain artifacts
        exp.mlflow.log_artifacts(exp.parent_run_id, str(target), "best_model")
        print(f"best model: {target} (logged as files, artifact best_model; not an MLflow model: {err})")
        return target
    print(f"best model: {target} (MLflow model {uri}{f', registered as {register}' if register else ''})")
    return target


def log_table(
    exp: Experiment, table: tables.Table, stem: str = "results", *, title: str = "", notes: list[str] | None = None
) -> None:
    """Print the markdown table (and its notes), log CSV + markdown to the parent run and show the table in
    the parent run's description (:mod:`sct.tune.report.description`)."""
    print(tables.to_markdown(table) + "".join(f"- {note}\n" for note in notes or []))
    for path in tables.write_tables(table, exp.path, stem, title=title, notes=notes):
        exp.mlflow.log_artifact(exp.parent_run_id, str(path), "results")
    describe_parent(exp.mlflow, exp.parent_run_id, stem, title or f"{exp.name}: {stem}", table, notes)


def log_plots(exp: Experiment, paths: list[Path | None]) -> None:
    for path in paths:
        if path is not None and path.is_file():
            exp.mlflow.log_artifact(exp.parent_run_id, str(path), "plots")


def ablation_outputs(
    exp: Experiment,
    order: list[str],
    baseline: str,
    paper: dict[str, float | None],
    *,
    kind: str,
    queue_sizes: dict[str, int] | None = None,
    size: str | None = None,
    skipped: dict[str, str] | None = None,
    grid: str = "",
) -> tables.Table:
    """The ablation table (mean ± sd, Δ paired by seed with its 95% CI, the paper's Δ), logged to the parent run.

    Also logs per-row parent metrics (``<row>.mean/.sd/.n/.delta/.ci_low/.ci_high/.paper_delta``; prefixed
    ``seeds.`` for a sweep's seed re-runs), the tag ``sct.score`` (which metric was averaged), the Δ bar chart
    and, for a queue-size grid, the Figure 4 curve (with the paper's best k for ``size``). ``order``,
    ``baseline`` and ``skipped`` are the rows of the plan that ran.
    """
    children = [
        r
        for r in tracking.child_runs(exp.tracking_uri, exp.experiment_id, exp.parent_run_id)
        if r.data.tags.get(V.KIND) == kind
    ]
    result = ablation.analyse(children, order, baseline, paper, skipped, size=size or "", grid=grid)
    table = result.table()
    if kind == V.SEEDS:
        table = [row for row in table if row["n"]]
    title = f"{kind} {exp.name}: {result.score.label}; Δ vs '{result.baseline}' paired by seed, 95% CI"
    log_table(exp, table, "results" if kind == V.ABLATION else "seeds", title=title, notes=result.notes)
    log_parent_metrics(exp, result, "" if kind == V.ABLATION else f"{kind}.")
    figures: list[Path | None] = []
    if kind == V.ABLATION:
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
        scores = tables.variant_scores(children, result.score.metric)
        points = {k: scores.get(name, []) for name, k in queue_sizes.items()}
        path = exp.path / "plots" / "queue_size.png"
        best_k = paper_best_queue_size(size)
        figures.append(plots.queue_curve(points, path, best_k=best_k, score_label=result.score.label))
    log_plots(exp, figures)
    return table


def log_parent_metrics(exp: Experiment, result: ablation.AblationResult, prefix: str = "") -> None:
    """Per-row statistics as metrics of the parent run, and the averaged metric's name as tag ``sct.score``."""
    tracking.log_tags(exp.mlflow, exp.parent_run_id, {V.score_tag(prefix): result.score.metric})
    tracking.log_metrics(exp.mlflow, exp.parent_run_id, result.parent_metrics(prefix), 0)
