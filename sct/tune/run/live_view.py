"""A live sweep view for the terminal: one compact table of trials, redrawn at most every few seconds.

Ray Tune's own progress table shows truncated trial ids and every reported metric; this view shows what a
person compares: the trial (``t03``), its status, the searched values, the last step, the last STS-B dev
score and the best so far, under one header line ``done/running/pending, best, elapsed, ETA``. The state
(:class:`SweepBoard`) and the rendering (:func:`render`) are plain Python, tested without Ray;
:func:`sweep_view` wraps them in a ``ray.tune.Callback``. Use it with ``RunConfig(verbose=0)`` so Ray's own
reporter is silent, and call :func:`quiet_library_noise` once in the driver.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, TextIO

from sct import metrics as M
from sct.tune.tracking.names import experiment_tag, format_value, short_key, trial_index, trial_label
from sct.tune.vocabulary import FINISHED, TRIAL_NUMBER, trial_end

DEV_KEY = M.STSB_DEV
BEST_KEY = M.BEST_STSB_DEV
_STATUS = {"PENDING": "pending", "RUNNING": "running", "PAUSED": "paused", "TERMINATED": "done", "ERROR": "error"}
_RAY_NOISE = (
    "Experiment state snapshotting",
    "Wrote the latest version of all result files",
    "Resume experiment with",  # Ray's Tuner.restore(...) hint: ours is "continue with --resume"
    "Stop signal received",  # Ray's Ctrl-C notice: ours is the "interrupted: ..." line
)
_RAY_REPEATS = ("Trials did not complete",)  # an ERROR line of Ray's ids; the driver's summary names the trials
_NOISY_RAY_LOGGERS = ("ray.tune.execution.experiment_state", "ray.tune.tune", "ray.tune.execution.tune_controller")


@dataclass
class TrialRow:
    """What the table shows about one trial; ``status`` is pending/running/done/stopped/error."""

    name: str
    status: str = "pending"
    values: dict[str, Any] = field(default_factory=dict)
    step: int | None = None
    dev: float | None = None
    best: float | None = None


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def header(rows: list[TrialRow], total: int, started: float, now: float, estimate_s: float | None = None) -> str:
    """``3/32 done · 2 running · 27 pending · best 78.41 (t02) · elapsed 12:03 · ETA 1:58:41``. Until a trial
    ends, the ETA is the search-space file's estimate (``estimate_s``: the whole sweep's wall-clock seconds),
    shown as ``ETA ~1:58:41 (estimate)``; without one, ``?``."""
    ended = [r for r in rows if r.status in ("done", "stopped", "error")]
    running = sum(r.status == "running" for r in rows)
    pending = max(0, total - len(ended) - running)
    scored = [r for r in rows if r.best is not None]
    top = max(scored, key=lambda r: r.best) if scored else None
    elapsed = now - started
    eta = _clock(elapsed / len(ended) * (total - len(ended))) if ended and elapsed > 0 else "?"
    if not ended and estimate_s is not None:
        eta = f"~{_clock(estimate_s - elapsed)} (estimate)"
    parts = [
        f"{len(ended)}/{total} done",
        f"{running} running",
        f"{pending} pending",
        f"best {_score(top.best)} ({top.name})" if top else "best -",
        f"elapsed {_clock(elapsed)}",
        f"ETA {eta if len(ended) < total else '0:00'}",
    ]
    errors = sum(r.status == "error" for r in rows)
    return " · ".join(parts + ([f"{errors} failed"] if errors else []))


def render(
    rows: list[TrialRow], total: int, started: float, now: float, *, max_rows: int = 20, estimate_s: float | None = None
) -> str:
    """The header line and a table of at most ``max_rows`` trials: running ones first, then the best.

    Pure: the same arguments give the same text (``now`` is passed in, not read).
    """
    keys = list(dict.fromkeys(k for r in rows for k in r.values))
    running = [r for r in rows if r.status == "running"]
    others = sorted((r for r in rows if r.status != "running"), key=lambda r: -(r.best if r.best is not None else -1e9))
    shown = sorted((running + others)[:max_rows], key=lambda r: r.name)
    table = [["trial", "status", *[short_key(k) for k in keys], "step", "dev", "best"]]
    for r in shown:
        values = [format_value(k, r.values[k]) if k in r.values else "" for k in keys]
        step = "-" if r.step is None else str(r.step)
        table.append([r.name, r.status, *values, step, _score(r.dev), _score(r.best)])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [header(rows, total, started, now, estimate_s)]
    for line in table:
        left = 2 + len(keys)  # trial, status and values left-aligned; numbers right-aligned
        cells = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    if len(rows) > len(shown):
        lines.append(f"... {len(rows) - len(shown)} more trial(s) not shown")
    return "\n".join(lines)


def _without_clock(text: str) -> str:
    """``text`` without the header's elapsed/ETA parts: what tells whether anything happened."""
    head, _, table = text.partition("\n")
    parts = [p for p in head.split(" · ") if not p.startswith(("elapsed ", "ETA "))]
    return " · ".join(parts) + "\n" + table


class SweepBoard:
    """Per-trial rows updated from Tune events (plain values: trial id, config, result dict)."""

    def __init__(
        self, total: int, started: float, keys: list[str] | None = None, estimate_s: float | None = None
    ) -> None:
        self.total, self.started, self.keys, self.estimate_s = total, started, keys, estimate_s
        self.rows: dict[str, TrialRow] = {}

    def row(self, trial_id: str, config: dict[str, Any], tag: str = "") -> TrialRow:
        """The row of ``trial_id``, created on first sight with the trial's searched values (``tag``: Ray's
        ``experiment_tag``, which numbers a searcher's trials)."""
        if trial_id not in self.rows:
            number = config.get(TRIAL_NUMBER)  # a sweep trial's number in the study, set by the searcher
            index = int(number) if number is not None else trial_index(trial_id, tag)
            name = trial_label(index, self.total) if index is not None else trial_id
            self.rows[trial_id] = TrialRow(name, values=self._values(config))
        return self.rows[trial_id]

    def _values(self, config: dict[str, Any]) -> dict[str, Any]:
        if self.keys is not None:
            return {k: config[k] for k in self.keys if k in config}
        values = {k: v for k, v in config.items() if "." in k and not isinstance(v, dict)}
        values |= {k: config[k] for k in ("row", "seed") if k in config}
        return values

    def update(
        self, trial_id: str, config: dict[str, Any], status: str, result: dict[str, Any] | None = None, tag: str = ""
    ) -> None:
        """Record a status (Ray's PENDING/RUNNING/TERMINATED/ERROR or ours) and the metrics of ``result``."""
        row = self.row(trial_id, config, tag)
        row.status = _STATUS.get(status, status)
        if result:
            if "step" in result:
                row.step = int(result["step"])
            if DEV_KEY in result:
                row.dev = float(result[DEV_KEY])
            if BEST_KEY in result:
                row.best = float(result[BEST_KEY])

    def complete(self, trial_id: str, config: dict[str, Any], last: dict[str, Any] | None, tag: str = "") -> None:
        """A trial ended without error: ``done`` if it trained to the end, ``stopped`` if ASHA cut it short."""
        self.update(trial_id, config, "done" if trial_end(last) == FINISHED else "stopped", tag=tag)

    def render(self, now: float, max_rows: int = 20) -> str:
        rows = list(self.rows.values())
        return render(rows, self.total, self.started, now, max_rows=max_rows, estimate_s=self.estimate_s)


def sweep_view(
    total: int,
    *,
    keys: list[str] | None = None,
    estimate_s: float | None = None,
    every_s: float = 5.0,
    heartbeat_s: float = 60.0,
    stream: TextIO | None = None,
) -> Any:
    """A ``ray.tune.Callback`` printing :func:`render` to ``stream`` (stdout): when something changed, at most
    every ``every_s`` seconds; otherwise every ``heartbeat_s`` (elapsed/ETA move on); once more at the end.
    ``keys``: the searched flat keys (default: every dotted key of a trial's config, or its row and seed);
    ``estimate_s``: the whole sweep's estimated seconds, the ETA until a trial ends (:func:`header`)."""
    from ray.tune import Callback

    class SweepView(Callback):
        def __init__(self) -> None:
            self.board = SweepBoard(total, time.time(), keys, estimate_s)
            self.last_draw, self.drawn = 0.0, ""

        def draw(self, force: bool = False) -> None:
            now = time.time()
            text = self.board.render(now)
            changed = _without_clock(text) != _without_clock(self.drawn)
            if force or (changed and now - self.last_draw >= every_s) or now - self.last_draw >= heartbeat_s:
                self.last_draw, self.drawn = now, text
                print(text + "\n", file=stream or sys.stdout, flush=True)

        def update(self, trial: Any, status: str, result: dict | None = None) -> None:
            self.board.update(trial.trial_id, trial.config, status, result, tag=experiment_tag(trial))

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.update(trial, "RUNNING")

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            self.update(trial, "RUNNING", result)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.board.complete(
                trial.trial_id, trial.config, getattr(trial, "last_result", None), tag=experiment_tag(trial)
            )

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.update(trial, "ERROR")

        def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
            for trial in trials:  # new (pending) trials, and Ray's status of those not ended by our hooks
                row = self.board.rows.get(trial.trial_id)
                if row is None or row.status not in ("done", "stopped", "error"):
                    self.update(trial, str(trial.status))
            self.draw()

        def on_experiment_end(self, trials: list, **info: Any) -> None:
            self.draw(force=True)

    return SweepView()


class _DropMessages(logging.Filter):
    """Drops records whose message contains one of ``needles`` below ERROR, or one of ``repeats`` (an error
    the driver reports in its own words) at any level."""

    def __init__(self, needles: tuple[str, ...], repeats: tuple[str, ...] = ()) -> None:
        super().__init__("sct.quiet")
        self.needles, self.repeats = needles, repeats

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(n in message for n in self.repeats):
            return False
        return record.levelno >= logging.ERROR or not any(n in message for n in self.needles)


def quiet_library_noise(verbose: bool) -> None:
    """Unless ``verbose``: hide Ray's "Experiment state snapshotting" warnings, its experiment box and results
    path at the start, and its Ctrl-C lines (its ``Tuner.restore`` hint contradicts ``--resume``; the driver
    prints its own), MLflow's transfer progress bars, Optuna's ExperimentalWarnings (its matplotlib plots;
    TPE's multivariate/constant liar before Optuna 5) and its per-trial INFO lines, MLflow's lines on creating a
    new store's tables. Call once in the driver, before Ray starts (its workers inherit the environment).
    A trial's error is still reported: by the driver's own summary."""
    if verbose:
        return
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")  # Ray's own switch
    # Ray's legacy output engine: at RunConfig(verbose=0) it prints nothing, where the new one prints its
    # "Configuration for experiment" box, "View detailed results here" and a TensorBoard hint at any verbosity.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # MLflow's, read at each transfer
    for name in _NOISY_RAY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessages) for f in logger.filters):
            logger.addFilter(_DropMessages(_RAY_NOISE, _RAY_REPEATS))
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)  # "Creating initial … tables" on a new store
    try:
        import optuna
    except ImportError:
        return
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
