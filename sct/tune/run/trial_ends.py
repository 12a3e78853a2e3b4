"""How the trials of a finished ``Tuner.fit`` ended, read from the ``ResultGrid``: who finished, failed, stopped.

Each trial's status is :func:`sct.tune.vocabulary.trial_end` of its last result; only a finished trial can be
the best (:func:`sct.tune.vocabulary.best`). The run was *interrupted* (Ctrl-C, SIGUSR1) when a trial never
reached a terminal state: :func:`end_log` records each trial (by key) that completed or errored
(``trials_ended.txt``, kept across resumes), since Ray marks every live trial TERMINATED while shutting down
and the grid alone cannot tell.

A trial the scheduler stopped never trains again: like a finished one, it keeps its best model and drops its
resumable state (:func:`retire`), as soon as it ended, or at the end of the experiment if its worker still
held the directory (:func:`drop_state`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct.checkpoint import MODEL_DIR, drop_states
from sct.errors import UserError
from sct.metrics import EVAL_KEYS
from sct.storage import DirLock, write_json
from sct.tune.experiment import Experiment
from sct.tune.run.trial import STOPPED_FILE, trial_dir, trial_key
from sct.tune.vocabulary import CRASHED, FAILURE_REASON, FAILURES, FINISHED, STATUSES, STOPPED, best, trial_end

ENDED_FILE = "trials_ended.txt"


def end_log(exp: Experiment) -> Any:
    """A Tune callback for every trial that reached a terminal state (completed or errored): its key is
    appended to ``trials_ended.txt``; one the scheduler stopped is retired (:func:`retire`)."""
    from ray.tune import Callback

    class EndLog(Callback):
        def __init__(self, path: str) -> None:
            self.path = path

        def _log(self, trial: Any) -> None:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(trial_key(trial.config) + "\n")

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._log(trial)
            last = trial.last_result or {}
            if trial_end(last) == STOPPED:  # it never trains again
                retire(trial_dir(trial.config), last)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._log(trial)

    return EndLog(str(exp.path / ENDED_FILE))


def ended_trials(exp: Experiment) -> set[str]:
    path = exp.path / ENDED_FILE
    return set(path.read_text(encoding="utf-8").split()) if path.is_file() else set()


def retire(run_dir: Path, last: dict[str, Any]) -> None:
    """A trial the scheduler stopped: it records its last evaluation (:data:`STOPPED_FILE`; handed to Ray
    again after Ray's state was lost, it reports that and trains no more), keeps its model and drops its
    resumable state (:func:`drop_state`)."""
    if run_dir.is_dir():
        write_json(run_dir / STOPPED_FILE, {k: last[k] for k in EVAL_KEYS if k in last})
    drop_state(run_dir)


def drop_state(run_dir: Path) -> bool:
    """Delete the resumable state of a trial that will not train again, once no process trains in ``run_dir``
    (its lock is free); its model and metrics stay. False when a process still holds the directory."""
    if not run_dir.is_dir():
        return True
    try:
        with DirLock(run_dir, "trial"):
            drop_states(run_dir)
    except UserError:
        return False
    return True


@dataclass
class TrialEnd:
    trial_id: str  # the trial's key (sct.tune.run.trial.trial_key): its directory's name
    status: str  # one of sct.tune.vocabulary.STATUSES
    metrics: dict[str, Any]
    config: dict[str, Any]
    reason: str = ""
    model_dir: Path | None = None


def _last_line(text: str, default: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else default


@dataclass
class Outcome:
    trials: list[TrialEnd] = field(default_factory=list)
    interrupted: bool = False

    @classmethod
    def of(cls, grid: Any, num_samples: int, exp: Experiment) -> Outcome:
        trials = []
        for result in grid:
            metrics = dict(result.metrics or {})
            # a trial that never reported has no config here: it never ended, so Ray's name for it will do
            trial_id = trial_key(result.config) if result.config else Path(result.path).name
            status = trial_end(metrics, error=result.error is not None)
            end = TrialEnd(trial_id, status, metrics, result.config)
            if status == CRASHED:
                end.reason = _last_line(str(result.error), "error")
            elif status in FAILURES:
                end.reason = str(metrics[FAILURE_REASON])
            elif status == FINISHED:
                end.model_dir = exp.trials_root / trial_id / MODEL_DIR
            trials.append(end)
        ended = ended_trials(exp)
        return cls(trials, interrupted=any(t.trial_id not in ended for t in trials) or len(grid) < num_samples)

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.trials)

    @property
    def crashed(self) -> bool:
        return self.count(CRASHED) > 0

    @property
    def best(self) -> TrialEnd | None:
        return best(self.trials, lambda t: t.metrics, lambda t: t.status == FINISHED)

    def describe(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in STATUSES if self.count(s)]
        return f"{len(self.trials)} trials: " + (", ".join(parts) or "none ended")

    def print(self) -> None:
        """One line of counts; each diverged/invalid trial (results) and each crash (stderr) with its reason."""
        print(self.describe())
        for trial in self.trials:
            if trial.status in FAILURES:
                stream = sys.stderr if trial.status == CRASHED else sys.stdout
                print(f"trial {trial.trial_id} {trial.status.upper()}: {trial.reason}", file=stream)
        if self.crashed:
            print(f"{self.count(CRASHED)} trial(s) crashed", file=sys.stderr)
