"""The words every phase of an experiment shares, each defined once, and the two rules defined on them.

A trial reports metrics (:mod:`sct.metrics`) and, at its end, one of the result keys below; how it ended is
read from its last result by :func:`trial_end` alone (the outcome, the MLflow callback, the live view and the
searcher all ask it). Runs in MLflow carry the ``sct.*`` tags below; how a child run ended is read back by
:func:`run_end` alone (tables, reports, the best run). Which run is the best of a set is :func:`best` (the top
of :func:`ranked`): a finished run with the highest primary metric.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sct.metrics import PRIMARY

# Result keys a trial reports to Tune besides its metrics, and the config key the searcher sets.
FAILURE = "sct_failure"  # "diverged" or "invalid", with the reason under FAILURE_REASON
FAILURE_REASON = "sct_failure_reason"
DONE = "done_training"  # in the final result of a trial that trained to its end
TRIAL_NUMBER = "trial"  # config key: a sweep trial's number in the Optuna study
WARM_KEY = "warm_start"  # config key: where a warm-started trial's point came from (searcher -> MLflow callback)

# How a trial ended.
FINISHED = "finished"  # trained to its end: the only status that can be the best
STOPPED = "stopped"  # stopped early by the scheduler (ASHA)
DIVERGED = "diverged"  # NaN/inf loss: a result of the experiment, not a crash
INVALID = "invalid"  # a config the trainer refused: a result too
CRASHED = "crashed"  # Ray reported an error after its retries
STATUSES = (FINISHED, STOPPED, DIVERGED, INVALID, CRASHED)
RUNNING = "running"  # a child run not ended yet (read from MLflow only)
INTERRUPTED = "interrupted"  # the sweep was interrupted before the trial ended; --resume continues it
FAILURES = (DIVERGED, INVALID, CRASHED)

# What an experiment is (tag KIND, the trials' payload): a sweep, an ablation grid, a sweep's seed re-runs.
SWEEP, ABLATION, SEEDS = "sweep", "ablation", "seeds"

# MLflow tags.
ROLE = "sct.role"  # "parent" on an experiment's parent run
PARENT_ROLE = "parent"
INSTANCE = "sct.instance"  # a parent run's experiment instance (sct_experiment.json): finds it again
TRIAL = "sct.trial"  # a child run's trial key (t03, contrastive-s43): finds its run again
KIND = "sct.kind"
SIZE = "sct.size"
VARIANT = "sct.variant"  # a child run's grid row ("sweep" for a sweep trial)
SEED = "sct.seed"
PAPER_DELTA = "sct.paper_delta"
SPACE_KEYS = "sct.space_keys"  # a sweep parent's searched keys, comma-separated
GRID = "sct.grid"
ROWS = "sct.rows"  # an ablation parent's rows in grid order, comma-separated
BASELINE = "sct.baseline"
SKIPPED = "sct.skipped"  # JSON: rows --skip-unavailable did not run, with their reasons
WARM_START = "sct.warm_start"  # Optuna user attribute and MLflow tag: where a warm start's point came from
FAILURE_TAG = "sct.failure"  # a failed child run: diverged | invalid | crash
FAILURE_REASON_TAG = "sct.failure_reason"
TRIAL_END = "sct.trial_end"  # MLflow tag and Optuna user attribute: how a trial ended, one of STATUSES
EARLY_STOPPED = "sct.early_stopped"  # older stores: an early stop was a KILLED run with this tag

# A child run's MLflow status per end: a stop the scheduler decided is not a failure, so it is FINISHED too
# (MLflow's KILLED reads as a crash in its UI); the tag TRIAL_END tells the two apart.
MLFLOW_STATUS = {FINISHED: "FINISHED", STOPPED: "FINISHED", DIVERGED: "FAILED", INVALID: "FAILED", CRASHED: "FAILED"}


def score_tag(prefix: str = "") -> str:
    """``sct.score`` (``sct.seeds.score`` for a sweep's seed re-runs): the metric an ablation table averaged."""
    return f"sct.{prefix}score"


def trial_end(result: Mapping[str, Any] | None, error: bool = False) -> str:
    """How a trial ended, from its last result (and whether Ray reported an error): one of :data:`STATUSES`."""
    result = result or {}
    if error:
        return CRASHED
    if FAILURE in result:
        return str(result[FAILURE])
    if DONE in result:
        return FINISHED
    return STOPPED


def run_end(run: Any) -> str:
    """How an MLflow child run ended, in the words of :func:`trial_end` (or :data:`RUNNING`,
    :data:`INTERRUPTED`): its tag :data:`TRIAL_END`, else its status and tags as older stores wrote them."""
    status, tags = run.info.status, run.data.tags
    if status == "RUNNING":  # a resumed trial: what an earlier attempt's tag said is over
        return RUNNING
    if tags.get(TRIAL_END) in STATUSES:
        return str(tags[TRIAL_END])
    if status == "KILLED":
        return STOPPED if tags.get(EARLY_STOPPED) == "true" else INTERRUPTED
    if status == "FAILED":
        failure = tags.get(FAILURE_TAG, "crash")
        return failure if failure in FAILURES else CRASHED
    return FINISHED if status == "FINISHED" else status.lower()


def score(metrics: Mapping[str, Any]) -> float | None:
    """The primary metric of a run when it is a finite number (MLflow stores -inf as -1.8e308)."""
    value = metrics.get(PRIMARY)
    if not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) >= 1e300:
        return None
    return float(value)


T = TypeVar("T")


def ranked(items: Iterable[T], metrics: Callable[[T], Mapping[str, Any]]) -> list[T]:
    """The items that have a score, best first (ties keep their order)."""
    scored = [(score(metrics(item)), item) for item in items]
    return [item for value, item in sorted((p for p in scored if p[0] is not None), key=lambda p: -p[0])]


def best(items: Iterable[T], metrics: Callable[[T], Mapping[str, Any]], finished: Callable[[T], bool]) -> T | None:
    """The best finished item: the top of :func:`ranked` among the finished ones, or None."""
    top = ranked((item for item in items if finished(item)), metrics)
    return top[0] if top else None
