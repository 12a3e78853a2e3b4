"""The study's live view: one line per size, ``done/running/pending · best · elapsed · ETA``, redrawn while the
sizes' driver processes run (their own trial tables stay quiet).

Each size's progress is read from its Optuna study (``<storage>/<experiment>/optuna.db``), which its driver
keeps in step with Ray trial by trial (:mod:`sct.tune.run.search`): a trial asked and not told yet is running
(or waiting for resources), COMPLETE is done, PRUNED stopped by ASHA, FAIL an error; the best so far is the
highest STS-B dev score any trial reported. The line is :func:`sct.tune.run.live_view.header`'s, as a single
sweep's view shows it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct.tune.run.live_view import TrialRow, header
from sct.tune.run.size_drivers import say
from sct.tune.tracking.names import trial_label

_STATES = {"COMPLETE": "done", "PRUNED": "stopped", "FAIL": "error", "RUNNING": "running", "WAITING": "pending"}


@dataclass
class SizeProgress:
    """What the view knows of one size: its experiment, trial budget, estimate and when its driver started."""

    experiment: str
    path: Path
    total: int
    estimate_s: float | None = None
    started: float | None = None  # None: not started (yet, or skipped)
    note: str = "waiting"
    storage: Any = field(default=None, repr=False)

    def rows(self) -> list[TrialRow] | None:
        """The size's trials read from its Optuna study (None while there is none to read)."""
        import optuna

        db = self.path / "optuna.db"
        if not db.is_file():
            return None
        try:
            if self.storage is None:
                self.storage = optuna.storages.RDBStorage(f"sqlite:///{db}", skip_table_creation=True)
            study = optuna.load_study(study_name=self.experiment, storage=self.storage)
            trials = study.get_trials(deepcopy=False)
        except Exception:  # noqa: BLE001 - not created yet, or locked for a moment: next time
            return None
        return [self._row(t) for t in trials]

    def _row(self, trial: Any) -> TrialRow:
        scores = [*trial.intermediate_values.values(), *([trial.value] if trial.value is not None else [])]
        row = TrialRow(trial_label(trial.number, self.total), _STATES.get(trial.state.name, "pending"))
        row.best = max(scores) if scores else None
        return row

    def line(self, now: float) -> str:
        rows = self.rows() if self.started is not None else None
        if rows is None:
            return f"{self.experiment}: {self.note}"
        return f"{self.experiment}: {header(rows, self.total, self.started, now, self.estimate_s)}"


def render(sizes: list[SizeProgress], now: float) -> str:
    return "\n".join(["study:", *(f"  {size.line(now)}" for size in sizes)])


class StudyView:
    """Redraws :func:`render` in a thread, looking every ``every_s`` seconds: when a size's line changed, else
    every ``heartbeat_s`` (elapsed and ETA move on); at :meth:`stop` once more if anything changed since."""

    def __init__(self, sizes: list[SizeProgress], every_s: float = 5.0, heartbeat_s: float = 60.0) -> None:
        self.sizes, self.every_s, self.heartbeat_s = sizes, every_s, heartbeat_s
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="sct-study-view")
        self.drawn, self.last = "", 0.0

    def start(self) -> StudyView:
        self.thread.start()
        return self

    def draw(self) -> None:
        now = time.time()
        text = render(self.sizes, now)
        if _without_clock(text) != _without_clock(self.drawn) or now - self.last >= self.heartbeat_s:
            self.drawn, self.last = text, now
            say(text)

    def _loop(self) -> None:
        while not self.done.wait(self.every_s):
            self.draw()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()
        self.draw()


def _without_clock(text: str) -> str:
    return "\n".join(
        " · ".join(p for p in line.split(" · ") if not p.startswith(("elapsed ", "ETA "))) for line in text.splitlines()
    )
