"""Assertions the Ray/MLflow tests share."""

from __future__ import annotations


def assert_each_step_once(mlflow, run_id: str) -> None:
    """No metric of the run has a step logged twice."""
    for key in mlflow.get_run(run_id).data.metrics:
        steps = [m.step for m in mlflow.get_metric_history(run_id, key)]
        assert len(steps) == len(set(steps)), (key, sorted(steps))
