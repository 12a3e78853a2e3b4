"""``sct.run_policy`` and the evaluation window of ``Progress``: the decisions the training loop acts on."""

from __future__ import annotations

from pathlib import Path

import pytest

from sct.checkpoint import Progress, read_best
from sct.run_policy import BestModel, Cadence, StateSchedule


def test_evaluations_fall_every_n_steps_and_on_the_last() -> None:
    cadence = Cadence(every=3, last=7, patience=None)
    assert [step for step in range(1, 8) if cadence.due(step)] == [3, 6, 7]


@pytest.mark.parametrize(("patience", "scores", "stops_after"), [(None, [5, 4, 3, 2], None), (2, [5, 6, 4, 3, 2], 4)])
def test_early_stopping_counts_evaluations_without_a_new_best(patience, scores, stops_after) -> None:
    cadence, progress = Cadence(every=1, last=10, patience=patience), Progress()
    stopped = None
    for n, score in enumerate(scores, start=1):
        progress.record(score)
        if cadence.exhausted(progress):
            stopped = n
            break
    assert stopped == stops_after


def test_the_best_model_is_replaced_only_by_a_better_score(tmp_path: Path) -> None:
    progress, written = Progress(), []

    def export(path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        written.append(progress.step)

    best = BestModel(tmp_path, progress)
    for step, score in [(2, 50.0), (4, 40.0), (6, 55.0)]:
        progress.step = step
        best.offer(score, export)
    assert written == [2, 6] and read_best(tmp_path) == (55.0, 6)


def test_a_resumed_run_keeps_a_best_model_newer_than_its_state(tmp_path: Path) -> None:
    BestModel(tmp_path, Progress(step=4)).offer(60.0, lambda path: path.mkdir(parents=True, exist_ok=True))
    older = Progress(step=2, best_score=50.0, best_step=2)  # the state written before that model
    BestModel(tmp_path, older)
    assert (older.best_score, older.best_step) == (60.0, 4)


def test_a_state_is_due_after_its_interval_and_never_without_checkpoints() -> None:
    schedule = StateSchedule(enabled=True, every_s=3600.0)
    assert not schedule.due()
    schedule.last -= 3601.0
    assert schedule.due()
    schedule.written()
    assert not schedule.due() and StateSchedule(enabled=True, every_s=0.0).due()
    assert not StateSchedule(enabled=False, every_s=0.0).enabled


def test_the_window_counts_steps_until_an_evaluation_closes_it() -> None:
    progress = Progress()
    for b, loss in enumerate([1.0, 2.0, 3.0], start=1):
        progress.count_step(b, 8, loss, 0.5)
    assert (progress.step, progress.batch_in_epoch) == (3, 3)
    assert progress.window_means() == (2.0, 24 / 1.5)
    progress.close_window({"loss": 2.0})
    assert progress.last_eval == {"loss": 2.0} and progress.window_steps == 0 and progress.window_loss == 0.0
