"""The shared words' two rules: how a trial ended (one table over every kind of last result) and which run is
the best (finished, highest finite primary metric, ties to the first)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sct.metrics import PRIMARY
from sct.tune import vocabulary as V


@pytest.mark.parametrize(
    ("result", "error", "status"),
    [
        ({PRIMARY: 70.0, V.DONE: 1.0}, False, V.FINISHED),
        ({V.DONE: 1.0}, False, V.FINISHED),  # finished without a score: still finished, never the best
        ({PRIMARY: 60.0, "step": 4}, False, V.STOPPED),  # its last result is an evaluation: ASHA stopped it
        ({}, False, V.STOPPED),
        (None, False, V.STOPPED),
        ({V.FAILURE: V.DIVERGED, V.FAILURE_REASON: "loss is nan"}, False, V.DIVERGED),
        ({V.FAILURE: V.INVALID, V.FAILURE_REASON: "bad"}, False, V.INVALID),
        ({PRIMARY: 70.0, V.DONE: 1.0}, True, V.CRASHED),  # Ray's error wins over what was reported
        (None, True, V.CRASHED),
    ],
)
def test_trial_end(result, error: bool, status: str) -> None:
    assert V.trial_end(result, error) == status


def run(name: str, status: str, score: float | None):
    metrics = {} if score is None else {PRIMARY: score}
    return SimpleNamespace(name=name, status=status, metrics=metrics)


def best_name(runs) -> str | None:
    found = V.best(runs, lambda r: r.metrics, lambda r: r.status == V.FINISHED)
    return None if found is None else found.name


def test_best_is_the_highest_finished_score_and_the_first_of_a_tie() -> None:
    runs = [run("a", V.FINISHED, 70.0), run("b", V.STOPPED, 90.0), run("c", V.FINISHED, 75.0)]
    assert best_name(runs) == "c"
    assert best_name([run("a", V.FINISHED, 70.0), run("b", V.FINISHED, 70.0)]) == "a"


@pytest.mark.parametrize("score", [None, float("nan"), float("inf"), -1.7976931348623157e308])
def test_a_run_without_a_finite_score_is_never_the_best(score) -> None:
    assert best_name([run("a", V.FINISHED, score)]) is None
    assert best_name([run("a", V.FINISHED, score), run("b", V.FINISHED, 1.0)]) == "b"


def test_ranked_keeps_every_scored_run_best_first() -> None:
    runs = [run("a", V.FINISHED, 70.0), run("b", V.STOPPED, 90.0), run("c", V.FINISHED, None)]
    assert [r.name for r in V.ranked(runs, lambda r: r.metrics)] == ["b", "a"]


@pytest.mark.parametrize(
    ("status", "tags", "end"),
    [
        ("FINISHED", {}, V.FINISHED),  # a run closed before sct.trial_end existed
        ("FINISHED", {V.TRIAL_END: V.FINISHED}, V.FINISHED),
        ("FINISHED", {V.TRIAL_END: V.STOPPED}, V.STOPPED),  # stopped early: FINISHED in MLflow, not the best
        ("KILLED", {V.EARLY_STOPPED: "true"}, V.STOPPED),  # how older stores closed an early stop
        ("KILLED", {}, V.INTERRUPTED),  # the sweep was interrupted before the trial ended
        ("FAILED", {V.FAILURE_TAG: "diverged"}, V.DIVERGED),
        ("FAILED", {V.FAILURE_TAG: "crash"}, V.CRASHED),
        ("FAILED", {V.TRIAL_END: V.INVALID, V.FAILURE_TAG: "invalid"}, V.INVALID),
        ("RUNNING", {V.TRIAL_END: V.CRASHED}, V.RUNNING),  # retried after a crash: running again
    ],
)
def test_run_end_reads_how_an_mlflow_run_ended(status: str, tags: dict, end: str) -> None:
    run = SimpleNamespace(info=SimpleNamespace(status=status), data=SimpleNamespace(tags=tags))
    assert V.run_end(run) == end
