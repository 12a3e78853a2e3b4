"""The driver-side MLflow writer: a Ray Tune callback that keeps one child run per trial, exactly once.

On a trial's first result after this driver started (a new trial, a retried one, or any trial after
``--resume``), its child run is found by the trial's key (tag ``sct.trial``: ``t03``, ``contrastive-s43``;
not Ray's trial id, which a new Ray session changes) or created, and the last evaluation step already logged
is read back; later results log only newer steps. The final result logs the test scores
once. Ending a trial tags the run with how it ended (``sct.trial_end``: finished, stopped, diverged, invalid,
crashed) and sets its status: FINISHED (trained to the end, or stopped early by the scheduler: a decision, not
a failure) or FAILED with tag ``sct.failure`` (diverged / invalid / crash, the reason in
``sct.failure_reason`` and ``error.txt``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sct import metrics as M
from sct.config_io import flatten
from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.plan.spec import TrialPayload
from sct.tune.run.trial import trial_config, trial_dir, trial_key
from sct.tune.tracking import names

# Logged once, with the final result. Not best_stsb_dev: its final value is the last evaluation's, logged there.
FINAL_KEYS = (M.INITIAL_STSB_DEV, M.BEST_STEP, M.TRAIN_SECONDS)


def _callback_base() -> type:
    from ray.tune import Callback

    return Callback


class MlflowTrials(_callback_base()):  # type: ignore[misc]
    """Mirror every trial of one experiment into MLflow child runs of ``parent_id``."""

    def __init__(self, uri: str, experiment_id: str, parent_id: str, total: int | None = None) -> None:
        self.uri, self.experiment_id, self.parent_id, self.total = uri, experiment_id, parent_id, total
        self._runs: dict[str, str] = {}  # trial id -> run id
        self._last_step: dict[str, int] = {}  # trial id -> last evaluation step logged
        self._final_logged: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles callbacks with the experiment
        state = self.__dict__.copy()
        state.update(_runs={}, _last_step={}, _final_logged=set())
        return state

    @property
    def mlflow(self) -> Any:
        return tracking.client(self.uri)

    def run_id(self, trial: Any) -> str:
        """The trial's child run: cached, found by its key tag (:func:`trial_key`, the same for every attempt
        and Ray session), or created (with params and tags)."""
        key = trial_key(trial.config)
        if key in self._runs:
            return self._runs[key]
        found = self.mlflow.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{tracking.PARENT_TAG}` = '{self.parent_id}' and tags.`{V.TRIAL}` = '{key}'",
            max_results=1,
        )
        if found:
            run = found[0]
            history = self.mlflow.get_metric_history(run.info.run_id, M.STSB_DEV)
            self._last_step[key] = max((m.step for m in history), default=0)
            if M.TEST_AVG in run.data.metrics or M.BEST_STEP in run.data.metrics:
                self._final_logged.add(key)
            if run.info.status != "RUNNING":
                self.mlflow.update_run(run.info.run_id, status="RUNNING")
            self._runs[key] = run.info.run_id
            return run.info.run_id
        cfg = trial_config(trial.config)
        choices = {k: v for k, v in trial.config.items() if k != "sct"}
        payload, tag = TrialPayload.of(trial.config), names.experiment_tag(trial)
        name = names.trial_run_name(payload.kind, trial.trial_id, choices, total=self.total, experiment_tag=tag)
        variant = str(trial.config.get("row", V.SWEEP))
        tags = {tracking.PARENT_TAG: self.parent_id, V.TRIAL: key, tracking.TRIAL_TAG: trial.trial_id}
        tags |= {"ray.trial_name": str(trial)}
        tags |= tracking.trial_tags(
            payload.kind,
            variant,
            cfg.optim.seed,
            payload.size,
            payload.paper_delta.get(variant),
            trial.config.get(V.WARM_KEY),
        )
        run = self.mlflow.create_run(self.experiment_id, run_name=name, tags=tags)
        tracking.log_params(self.mlflow, run.info.run_id, flatten(cfg))
        self._runs[key], self._last_step[key] = run.info.run_id, 0
        return run.info.run_id

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        run_id, key = self.run_id(trial), trial_key(trial.config)
        if V.FAILURE in result:
            return
        if V.DONE in result:
            if key not in self._final_logged:
                final = {k: v for k, v in result.items() if k.startswith("test_") or k in FINAL_KEYS}
                tracking.log_metrics(self.mlflow, run_id, final, int(result.get(M.STEPS, 0)))
                self._final_logged.add(key)
            return
        step = int(result.get(M.STEP, 0))
        if step > self._last_step.get(key, 0):
            metrics = {k: result[k] for k in M.EVAL_KEYS if k in result and k != M.STEP}
            tracking.log_metrics(self.mlflow, run_id, metrics, step)
            self._last_step[key] = step

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        run_id = self.run_id(trial)
        last = trial.last_result or {}
        status = V.trial_end(last)
        if status in V.FAILURES:
            self.fail(run_id, status, str(last.get(V.FAILURE_REASON, "")))
            return
        if status == V.FINISHED:
            self.log_trial_files(trial, run_id)
        self.end(run_id, status)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.fail(self.run_id(trial), "crash", _error_text(trial))

    def fail(self, run_id: str, kind: str, reason: str) -> None:
        lines = [line for line in reason.strip().splitlines() if line.strip()]
        self.mlflow.set_tag(run_id, V.FAILURE_TAG, kind)
        self.mlflow.set_tag(run_id, V.FAILURE_REASON_TAG, (lines[-1] if lines else kind)[:4000])
        if reason:
            self.mlflow.log_text(run_id, reason, "error.txt")
        self.end(run_id, V.CRASHED if kind == "crash" else kind)

    def end(self, run_id: str, status: str) -> None:
        """Tag the run with how the trial ended (:data:`~sct.tune.vocabulary.TRIAL_END`) and close it."""
        self.mlflow.set_tag(run_id, V.TRIAL_END, status)
        self.mlflow.set_terminated(run_id, V.MLFLOW_STATUS[status])

    def log_trial_files(self, trial: Any, run_id: str) -> None:
        """The trial's final ``metrics.json`` and resolved ``config.yaml`` as run artifacts."""
        folder = trial_dir(trial.config)
        for name in ("metrics.json", "config.yaml"):
            if (folder / name).is_file():
                self.mlflow.log_artifact(run_id, str(folder / name))


def _error_text(trial: Any) -> str:
    """The trial's traceback: Ray writes it next to the trial (local path) before calling the callbacks."""
    local = getattr(trial, "error_file", None)
    if local and Path(local).is_file():
        return Path(local).read_text(encoding="utf-8", errors="replace")
    return str(trial.get_error() or "the trial process failed (see Ray's error.txt of the trial)")
