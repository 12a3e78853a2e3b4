"""Assertions the Ray/MLflow tests share."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def assert_each_step_once(mlflow, run_id: str) -> None:
    """No metric of the run has a step logged twice."""
    for key in mlflow.get_run(run_id).data.metrics:
        steps = [m.step for m in mlflow.get_metric_history(run_id, key)]
        assert len(steps) == len(set(steps)), (key, sorted(steps))


def asked(db: Path) -> int:
    """Trials the searcher has asked the Optuna study in ``db`` for so far; read-only (0 before it exists)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM trials WHERE state != 'WAITING'").fetchone()[0]
    except sqlite3.Error:
        return 0
