"""MLflow bookkeeping for sweeps and ablations (issue 3, §4): one parent run per experiment, one child per trial.

The driver creates the experiment and the parent run; each trial opens its own child run *inside the trial
process* (tag ``mlflow.parentRunId``), so nothing assumes the driver and the workers share a machine, only
the tracking URI. A trial finds its run again by the id stored in its checkpoint or by its Ray trial id tag,
so a resumed or retried trial continues its own run instead of starting a duplicate.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

RUN_ID_FILE = "mlflow_run_id.txt"
PARENT_TAG = "mlflow.parentRunId"
TRIAL_TAG = "ray.trial_id"
EVAL_METRICS = {
    "loss": "loss",
    "lr": "lr",
    "stsb_dev_spearman": "stsb_dev",
    "best_stsb_dev_spearman": "best_stsb_dev",
    "examples_per_s": "examples_per_s",
    "epoch": "epoch",
}
_T = TypeVar("_T")


def default_tracking_uri(storage: Path) -> str:
    """``sqlite:///<abs storage>/mlflow.db``: absolute, so every process on every node means the same file."""
    return f"sqlite:///{Path(storage).resolve() / 'mlflow.db'}"


def client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def retry(fn: Callable[..., _T], *args: Any, attempts: int = 8, **kwargs: Any) -> _T:
    """Call ``fn``, retrying while a shared sqlite store reports 'database is locked'."""
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - sqlite lock errors come wrapped in MlflowException
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def ensure_experiment(uri: str, name: str, artifact_root: Path | None = None) -> str:
    """The id of experiment ``name``, created with an absolute artifact location when given."""
    mlflow = client(uri)
    found = retry(mlflow.get_experiment_by_name, name)
    if found is not None:
        return found.experiment_id
    location = Path(artifact_root).resolve().as_uri() if artifact_root is not None else None
    return retry(mlflow.create_experiment, name, artifact_location=location)


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


def start_parent(uri: str, experiment_id: str, name: str, tags: dict[str, str]) -> str:
    """Create the driver's parent run (status RUNNING) and return its id."""
    run = retry(client(uri).create_run, experiment_id, run_name=name, tags={"sct.role": "parent", **tags})
    return run.info.run_id


def end_run(uri: str, run_id: str, status: str) -> None:
    retry(client(uri).set_terminated, run_id, status)


def child_runs(uri: str, experiment_id: str, parent_id: str) -> list[Any]:
    """All child runs of ``parent_id`` (every status), oldest first."""
    runs = retry(
        client(uri).search_runs,
        [experiment_id],
        filter_string=f"tags.`{PARENT_TAG}` = '{parent_id}'",
        max_results=5000,
        order_by=["attributes.start_time ASC"],
    )
    return list(runs)


class TrialRun:
    """The child run of one trial, opened (or re-opened) inside the trial process."""

    def __init__(self, uri: str, run_id: str) -> None:
        self.uri, self.run_id = uri, run_id
        self._client = client(uri)

    @classmethod
    def open(
        cls,
        meta: dict[str, Any],
        trial_id: str,
        trial_name: str,
        *,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> TrialRun:
        """Resume ``run_id`` or the run tagged with this trial id; else create a child of the parent run."""
        uri, parent = meta["tracking_uri"], meta["parent_run_id"]
        mlflow = client(uri)
        if run_id is None:
            found = retry(
                mlflow.search_runs,
                [meta["experiment_id"]],
                filter_string=f"tags.`{PARENT_TAG}` = '{parent}' and tags.`{TRIAL_TAG}` = '{trial_id}'",
                max_results=1,
            )
            run_id = found[0].info.run_id if found else None
        if run_id is not None:
            retry(mlflow.update_run, run_id, status="RUNNING")
            return cls(uri, run_id)
        all_tags = {PARENT_TAG: parent, TRIAL_TAG: trial_id, "ray.trial_name": trial_name, **(tags or {})}
        run = retry(mlflow.create_run, meta["experiment_id"], run_name=trial_name, tags=all_tags)
        trial = cls(uri, run.info.run_id)
        if params:
            trial.log_params(params)
        return trial

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k[:250], str(v)[:6000]) for k, v in sorted(params.items())]
        for start in range(0, len(items), 100):
            retry(self._client.log_batch, self.run_id, params=items[start : start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, int(step)) for k, v in metrics.items() if isinstance(v, (int, float))]
        if items:
            retry(self._client.log_batch, self.run_id, metrics=items)

    def log_eval(self, metrics: dict[str, float], step: int) -> None:
        """One evaluation's metrics under the stable names of :data:`EVAL_METRICS`."""
        self.log_metrics({new: metrics[old] for old, new in EVAL_METRICS.items() if old in metrics}, step)

    def finish(self, result: dict[str, float], step: int) -> None:
        """Final metrics (``test_<task>``, ``test_avg``, best dev, time) and status FINISHED."""
        final = {k: v for k, v in result.items() if k.startswith("test_")}
        final |= {"best_stsb_dev": result.get("best_stsb_dev_spearman", float("nan"))}
        final |= {k: result[k] for k in ("best_step", "train_seconds") if k in result}
        self.log_metrics(final, step)
        retry(self._client.set_terminated, self.run_id, "FINISHED")

    def fail(self, error_text: str) -> None:
        """Status FAILED with the traceback stored as ``error.txt``."""
        try:
            retry(self._client.log_text, self.run_id, error_text, "error.txt")
        finally:
            retry(self._client.set_terminated, self.run_id, "FAILED")

    def stopped(self) -> None:
        """Status KILLED with tag ``sct.early_stopped``: the scheduler ended the trial early."""
        retry(self._client.set_tag, self.run_id, "sct.early_stopped", "true")
        retry(self._client.set_terminated, self.run_id, "KILLED")


def close_dangling(uri: str, experiment_id: str, parent_id: str, errors: dict[str, str]) -> None:
    """After ``fit``: runs still RUNNING belong to trials ASHA stopped (KILLED) or that died (FAILED)."""
    for run in child_runs(uri, experiment_id, parent_id):
        if run.info.status != "RUNNING":
            continue
        trial_id = run.data.tags.get(TRIAL_TAG, "")
        if trial_id in errors:
            TrialRun(uri, run.info.run_id).fail(errors[trial_id])
        else:
            TrialRun(uri, run.info.run_id).stopped()
