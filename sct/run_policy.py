"""When a training run evaluates, which model it keeps, when it writes its state, and when it stops early.

:class:`sct.trainer` asks these and acts on the answers, so its loop reads as step, count, evaluate when due:

- :class:`Cadence`: STS-B dev is scored every ``eval.every_steps`` steps and at the last step; early stopping
  ends the run after ``optim.early_stopping_patience`` evaluations without a new best.
- :class:`BestModel`: the best dev score so far; a better one replaces ``model/`` (:func:`save_best`). A run
  resumed from a state older than its ``model/`` (a crash between the two writes) keeps that model's score.
- :class:`StateSchedule`: the resumable state is written at most every ``run.checkpoint_every_s`` seconds at
  an evaluation, besides the writes the loop makes at an epoch's end, on a signal and at the end (with
  ``run.keep_state``); with ``run.save_checkpoints`` off, never.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sct.checkpoint import Progress, read_best, save_best
from sct.config import SCTConfig


class Cadence:
    """Which steps are evaluated, and when early stopping ends the run."""

    def __init__(self, every: int, last: int, patience: int | None) -> None:
        self.every, self.last, self.patience = every, last, patience

    @classmethod
    def of(cls, cfg: SCTConfig, steps: int) -> Cadence:
        return cls(cfg.eval.every_steps, steps, cfg.optim.early_stopping_patience)

    def due(self, step: int) -> bool:
        """Whether step ``step`` (1-based, just done) is followed by an evaluation."""
        return step % self.every == 0 or step >= self.last

    def exhausted(self, progress: Progress) -> bool:
        """Whether early stopping ends the run after the evaluation just recorded."""
        return self.patience is not None and progress.evals_since_best >= self.patience


class BestModel:
    """The best STS-B dev score of the run (in ``progress``) and its model in ``out/model``."""

    def __init__(self, out: Path, progress: Progress) -> None:
        self.out, self.progress = out, progress
        saved = read_best(out)  # a best model saved after the state we resumed from is kept, not lost
        if saved is not None and saved[0] > progress.best_score:
            progress.best_score, progress.best_step = saved

    def offer(self, score: float, export: Callable[[Path], Any]) -> None:
        """Record ``score``; when it is a new best, ``export(path)`` writes the model that replaces ``model/``."""
        if self.progress.record(score):
            save_best(self.out, export, score, self.progress.step)


class StateSchedule:
    """Whether the resumable state is written at all, and whether an evaluation should write it now."""

    def __init__(self, enabled: bool, every_s: float) -> None:
        self.enabled, self.every_s = enabled, every_s
        self.last = time.monotonic()

    @classmethod
    def of(cls, cfg: SCTConfig) -> StateSchedule:
        return cls(cfg.run.save_checkpoints, cfg.run.checkpoint_every_s)

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def written(self) -> None:
        self.last = time.monotonic()
