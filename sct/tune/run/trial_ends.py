"""What a finished ``Tuner.fit`` produced, read from the ``ResultGrid`` alone: who finished, failed, stopped.

The run was *interrupted* (Ctrl-C, SIGUSR1) when a trial never reached a terminal state: :func:`end_log`
records each trial (by key) that completed or errored (``trials_ended.txt``, kept across resumes), since Ray marks
every live trial TERMINATED while shutting down and the grid alone cannot tell.

A trial *finished* when its last result carries ``done_training``; it *diverged*/was *invalid* when it carries
``sct_failure`` (a result of the experiment, not a crash); it *crashed* when Ray reports an error after its
retries; otherwise the scheduler stopped it early. Only a finished trial can be the best.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct.checkpoint import MODEL_DIR
from sct.metrics import PRIMARY
from sct.tune.experiment import Experiment
from sct.tune.run.keep_models import retire
from sct.tune.run.trial import DONE, FAILURE, FAILURE_REASON, trial_dir, trial_key

ENDED_FILE = "trials_ended.txt"


def end_log(exp: Experiment) -> Any:
    """A Tune callback for every trial that reached a terminal state (completed or errored): its key is
    appended to ``trials_ended.txt``; one the scheduler stopped is retired (:func:`sct.tune.run.keep_models.retire`)."""
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
            if DONE not in last and FAILURE not in last:  # stopped early: it never trains again
                retire(trial_dir(trial.config), last)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._log(trial)

    return EndLog(str(exp.path / ENDED_FILE))


def ended_trials(exp: Experiment) -> set[str]:
    path = exp.path / ENDED_FILE
    return set(path.read_text(encoding="utf-8").split()) if path.is_file() else set()


@dataclass
class TrialEnd:
    trial_id: str  # the trial's key (sct.tune.run.trial.trial_key): its directory's name
    status: str  # finished | diverged | invalid | crashed | stopped
    metrics: dict[str, Any]
    config: dict[str, Any]
    reason: str = ""
    model_dir: Path | None = None


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
            if result.error is not None:
                lines = [line for line in str(result.error).strip().splitlines() if line.strip()]
                end = TrialEnd(trial_id, "crashed", metrics, result.config, lines[-1] if lines else "error")
            elif FAILURE in metrics:
                end = TrialEnd(trial_id, str(metrics[FAILURE]), metrics, result.config, str(metrics[FAILURE_REASON]))
            elif DONE in metrics:
                end = TrialEnd(
                    trial_id, "finished", metrics, result.config, model_dir=exp.trials_root / trial_id / MODEL_DIR
                )
            else:
                end = TrialEnd(trial_id, "stopped", metrics, result.config)
            trials.append(end)
        ended = ended_trials(exp)
        return cls(trials, interrupted=any(t.trial_id not in ended for t in trials) or len(grid) < num_samples)

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.trials)

    @property
    def crashed(self) -> bool:
        return self.count("crashed") > 0

    @property
    def best(self) -> TrialEnd | None:
        finished = [t for t in self.trials if t.status == "finished" and PRIMARY in t.metrics]
        return max(finished, key=lambda t: t.metrics[PRIMARY], default=None)

    def describe(self) -> str:
        statuses = ("finished", "stopped", "diverged", "invalid", "crashed")
        parts = [f"{self.count(s)} {s}" for s in statuses if self.count(s)]
        return f"{len(self.trials)} trials: " + (", ".join(parts) or "none ended")

    def print(self) -> None:
        """One line of counts; each diverged/invalid trial (results) and each crash (stderr) with its reason."""
        print(self.describe())
        for trial in self.trials:
            if trial.status in ("diverged", "invalid", "crashed"):
                stream = sys.stderr if trial.status == "crashed" else sys.stdout
                print(f"trial {trial.trial_id} {trial.status.upper()}: {trial.reason}", file=stream)
        if self.crashed:
            print(f"{self.count('crashed')} trial(s) crashed", file=sys.stderr)
