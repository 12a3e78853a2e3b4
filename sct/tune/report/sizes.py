"""The paper's Table 1 regenerated: one row per swept size, from several sweep experiments in MLflow.

Per experiment (one size each): the best trial by best STS-B dev — its lr, k, τ_ref and τ_θ beside Table 1's
(:mod:`sct.presets`), its STS-B dev and test scores beside Table 2's (:mod:`sct.paper`) — with what the row
cost: trials run, trial-hours and GPU-hours (each trial's wall time × the GPU share its trials held, the
parent's ``sct.gpus_per_trial`` tag) and how many trials were warm starts (tag ``sct.warm_start``). The
top-5 trials' values of each hyperparameter feed the plot's spread (:mod:`sct.tune.report.size_plot`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sct import metrics as M
from sct.config import STS_TASKS
from sct.errors import UserError
from sct.paper import paper_row
from sct.presets import SIZES, size_overrides
from sct.tune import tracking
from sct.tune.plan.model_dirs import SHAPES
from sct.tune.report import from_mlflow, tables
from sct.tune.vocabulary import WARM_START as WARM_TAG  # on a trial's run: where its point came from

HYPERPARAMETERS = ("optim.lr", "method.queue_size", "method.tau_ref", "method.tau_online")
SHORT = {"optim.lr": "lr", "method.queue_size": "k", "method.tau_ref": "tau_ref", "method.tau_online": "tau_online"}
GPUS_TAG = "sct.gpus_per_trial"  # on a sweep's parent: the GPU share each trial held (0 on a CPU-only cluster)
TOP = 5


@dataclass
class SizeResult:
    """What one sweep experiment found for its size."""

    experiment: str
    size: str | None
    best: dict[str, float]  # the best trial's hyperparameters
    metrics: dict[str, float]  # the best trial's metrics
    top: list[dict[str, float]]  # the top trials' hyperparameters, best first
    trials: int
    trial_hours: float
    gpu_hours: float | None
    warm_starts: int
    test_tasks: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> int | None:
        return SHAPES[self.size].parameters() if self.size in SHAPES else None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _hours(run: Any) -> float:
    start, end = run.info.start_time, run.info.end_time
    return max(0.0, (end - start) / 3.6e6) if start and end else 0.0


def size_result(uri: str, experiment: str) -> SizeResult:
    """The best trial and the cost of sweep ``experiment`` (UserError when it is not a sweep or has no score)."""
    experiment_id, parent = from_mlflow.find_parent(uri, experiment)
    if parent.data.tags.get("sct.kind", "sweep") != "sweep":
        raise UserError(f"{experiment}: a {parent.data.tags['sct.kind']} experiment, not a sweep")
    runs = [
        r
        for r in tracking.child_runs(uri, experiment_id, parent.info.run_id)
        if r.data.tags.get("sct.kind", "sweep") == "sweep"
    ]
    scored = sorted(
        (r for r in runs if M.PRIMARY in r.data.metrics), key=lambda r: r.data.metrics[M.PRIMARY], reverse=True
    )
    if not scored:
        raise UserError(f"{experiment}: no trial has a {M.PRIMARY} score yet")
    points = [{k: v for k in HYPERPARAMETERS if (v := _float(r.data.params.get(k))) is not None} for r in scored]
    gpus = _float(parent.data.tags.get(GPUS_TAG))
    trial_hours = sum(_hours(r) for r in runs)
    size = parent.data.tags.get("sct.size")
    tasks = [t for t in STS_TASKS if f"test_{t}" in scored[0].data.metrics]
    return SizeResult(
        experiment=experiment,
        size=size if size in SIZES else None,
        best=points[0],
        metrics=dict(scored[0].data.metrics),
        top=points[:TOP],
        trials=len(runs),
        trial_hours=trial_hours,
        gpu_hours=None if gpus is None else trial_hours * gpus,
        warm_starts=sum(1 for r in runs if r.data.tags.get(WARM_TAG)),
        test_tasks=tasks,
    )


def _cell(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _param(key: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return str(int(value)) if key == "method.queue_size" else f"{value:.3g}"


def sizes_table(found: list[SizeResult]) -> tables.Table:
    """One row per size, smallest model first: ours beside the paper's, then what the row cost."""
    table: tables.Table = []
    for result in sorted(found, key=lambda r: (r.parameters or 0, r.experiment)):
        paper = size_overrides(result.size) if result.size else {}
        row_t2 = paper_row(result.size, distill=False)
        params = result.parameters
        row: dict[str, Any] = {
            "size": result.size or "custom",
            "experiment": result.experiment,
            "params_M": _cell(params / 1e6 if params else None, ".1f"),
        }
        for key in HYPERPARAMETERS:
            row[SHORT[key]] = _param(key, result.best.get(key))
            row[f"paper_{SHORT[key]}"] = _param(key, paper.get(key))
        row["stsb_dev"] = _cell(result.metrics.get(M.PRIMARY), ".2f")
        row["test_stsb"] = _cell(result.metrics.get("test_stsb"), ".2f")
        row["paper_stsb"] = _cell(row_t2.tasks["stsb"] if row_t2 else None, ".2f")
        complete = len(result.test_tasks) == len(STS_TASKS)
        row["avg7"] = _cell(result.metrics.get(M.TEST_AVG) if complete else None, ".2f")
        row["paper_avg7"] = _cell(row_t2.mean if row_t2 else None, ".2f")
        row["trials"] = result.trials
        row["warm_starts"] = result.warm_starts
        row["trial_hours"] = f"{result.trial_hours:.3g}"
        row["gpu_hours"] = _cell(result.gpu_hours, ".3g")
        table.append(row)
    return table


def notes(found: list[SizeResult]) -> list[str]:
    """What a reader of the table must know to read it right."""
    out = [
        "paper_lr/k/tau: Table 1; paper_stsb and paper_avg7: Table 2 (SCT fine-tuned; its STS-B is the test set, "
        "the mean of its seven printed rows): the paper prints no STS-B dev score",
        "best trial: highest best STS-B dev; gpu_hours: each trial's wall time (MLflow run start to end) × the GPU "
        "share per trial (0 on a CPU-only cluster, n/a when the sweep did not record it)",
    ]
    partial = [f"{r.experiment} ({', '.join(r.test_tasks) or 'none'})" for r in found if len(r.test_tasks) < 7]
    if partial:
        out.append("avg7 n/a: fewer than the 7 STS test sets were scored by " + "; ".join(partial))
    sizes = [r.size for r in found if r.size]
    if len(set(sizes)) < len(sizes):
        out.append("several experiments of one size: each is its own row")
    return out
