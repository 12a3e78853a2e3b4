"""MLflow for sweeps and ablations: one parent run per experiment, one child run per trial, one writer.

This package is the only ``sct`` code that imports MLflow (with the Tune callback that writes the trials'
runs): the store here, run names in :mod:`~sct.tune.tracking.names`, the logged model in
:mod:`~sct.tune.tracking.model`; tag names are :mod:`sct.tune.vocabulary`'s.

The driver is the only process that writes to MLflow: :class:`~sct.tune.run.mlflow_callback.MlflowTrials` is a
Ray Tune callback that
turns each trial's results into its child run (tag ``mlflow.parentRunId``). Trials never need to reach the
tracking store, a sqlite file has one writer per experiment, and logging is exactly-once: a trial's run is
found again by its key (after a retry, a driver restart or a new Ray session) and only evaluation steps after the last
one logged are written, so no metric step appears twice.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from sct.tune import vocabulary as V
from sct.tune.tracking.names import experiment_tags

PARENT_TAG = "mlflow.parentRunId"
TRIAL_TAG = "ray.trial_id"  # the Ray trial id of the run's first attempt (informational)
PARENT_FILTER = f"tags.`{V.ROLE}` = '{V.PARENT_ROLE}'"


def default_tracking_uri(storage: Path) -> str:
    """``sqlite:///<abs storage>/mlflow.db``: absolute, so every process means the same file."""
    return f"sqlite:///{Path(storage).resolve() / 'mlflow.db'}"


@functools.cache
def client(uri: str) -> Any:
    """The one MLflow client of this process for the store at ``uri``."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


@functools.cache
def git_commit() -> str:
    """The commit of the checkout this package runs from, or 'unknown' (installed wheel, no git)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def library_versions() -> dict[str, str]:
    """Versions of the libraries that decide a result, as ``version.<name>`` tags."""
    out = {"version.python": platform.python_version()}
    for name in ("sct", "torch", "transformers", "ray", "optuna", "mlflow"):
        try:
            out[f"version.{name}"] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[f"version.{name}"] = "not installed"
    return out


def ensure_experiment(uri: str, name: str, artifact_root: Path | None = None) -> str:
    """The id of experiment ``name``; a new one is a model-training experiment with an absolute artifact root."""
    mlflow = client(uri)
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = Path(artifact_root).resolve().as_uri() if artifact_root is not None else None
    return mlflow.create_experiment(name, artifact_location=location, tags=experiment_tags())


def start_parent(uri: str, experiment_id: str, name: str, tags: dict[str, str]) -> str:
    """Create the driver's parent run (status RUNNING) and return its id."""
    run = client(uri).create_run(experiment_id, run_name=name, tags={V.ROLE: V.PARENT_ROLE, **tags})
    return run.info.run_id


def find_parent(uri: str, experiment_id: str, tags: dict[str, str]) -> str | None:
    """The id of the parent run carrying ``tags`` (any status), or None."""
    condition = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
    runs = client(uri).search_runs([experiment_id], filter_string=f"{PARENT_FILTER} and {condition}")
    return runs[0].info.run_id if runs else None


def child_runs(uri: str, experiment_id: str, parent_id: str) -> list[Any]:
    """All child runs of ``parent_id`` (every status), oldest first."""
    runs = client(uri).search_runs(
        [experiment_id],
        filter_string=f"tags.`{PARENT_TAG}` = '{parent_id}'",
        max_results=5000,
        order_by=["attributes.start_time ASC"],
    )
    return list(runs)


def latest_parent(uri: str, experiment_id: str) -> Any | None:
    """The newest parent run of the experiment, or None."""
    runs = client(uri).search_runs(
        [experiment_id], filter_string=PARENT_FILTER, order_by=["attributes.start_time DESC"], max_results=1
    )
    return runs[0] if runs else None


def close_dangling(uri: str, experiment_id: str, parent_id: str) -> None:
    """After ``fit``: no child run stays RUNNING (an interrupted trial's run is KILLED until it resumes)."""
    for run in child_runs(uri, experiment_id, parent_id):
        if run.info.status == "RUNNING":
            client(uri).set_terminated(run.info.run_id, "KILLED")


def log_metrics(mlflow: Any, run_id: str, metrics: dict[str, Any], step: int) -> None:
    """One batch at ``step``; the objective first: MLflow lists a run's metrics in the order they were first
    logged, and its compare page plots the first one in its parallel coordinates."""
    from mlflow.entities import Metric

    from sct.metrics import PRIMARY

    now = int(time.time() * 1000)
    ordered = sorted(metrics.items(), key=lambda item: item[0] != PRIMARY)  # stable: the rest as given
    items = [Metric(k, float(v), now, int(step)) for k, v in ordered if isinstance(v, (int, float))]
    for start in range(0, len(items), 1000):  # MLflow's limit per batch
        mlflow.log_batch(run_id, metrics=items[start : start + 1000])


def log_params(mlflow: Any, run_id: str, params: dict[str, Any]) -> None:
    from mlflow.entities import Param

    items = [Param(k[:250], str(v)[:6000]) for k, v in sorted(params.items())]
    for start in range(0, len(items), 100):
        mlflow.log_batch(run_id, params=items[start : start + 100])


def log_tags(mlflow: Any, run_id: str, tags: dict[str, str]) -> None:
    from mlflow.entities import RunTag

    mlflow.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])


def trial_tags(
    kind: str, variant: str, seed: int, size: str | None, paper_delta: float | None, warm_start: str | None = None
) -> dict[str, str]:
    """A child run's tags: what it is (kind, grid row or "sweep", seed, size, the paper's Δ, where a warm
    start's point came from) and what ran it."""
    warm = {V.WARM_START: str(warm_start)} if warm_start else {}
    return {
        V.KIND: kind,
        V.VARIANT: variant,
        V.SEED: str(seed),
        V.SIZE: str(size or "custom"),
        V.PAPER_DELTA: "" if paper_delta is None else f"{paper_delta:g}",
        "git.commit": git_commit(),
        **warm,
    } | library_versions()
