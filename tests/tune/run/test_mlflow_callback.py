"""The driver's MLflow writer on a real sqlite store, fed Ray's callbacks: exactly once per key and step."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from sct import metrics as M
from sct.config import SCTConfig
from sct.config_io import config_to_dict
from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.plan.spec import TrialPayload
from sct.tune.vocabulary import DONE
from tests.tune.checks import assert_each_step_once

pytest.importorskip("ray")


def _trial(tmp_path: Path, trial_id: str = "abc00001") -> SimpleNamespace:
    payload = TrialPayload(base=config_to_dict(SCTConfig()), kind="sweep", trials_root=str(tmp_path / "trials"))
    config = {"sct": payload.to_config(), "optim.lr": 3e-4, "trial": 0}
    return SimpleNamespace(trial_id=trial_id, config=config, experiment_tag="1_optim.lr=0.0003", last_result={})


def _evaluation(step: int) -> dict[str, float]:
    score = 50.0 + step
    return {M.STEP: step, M.EPOCH: 0.1, M.LOSS: 1.0 / step, M.LR: 1e-4, M.STSB_DEV: score, M.BEST_STSB_DEV: score}


def test_a_finished_trial_logs_every_key_once_per_step(tmp_path) -> None:
    from sct.tune.run.mlflow_callback import MlflowTrials

    uri = tracking.default_tracking_uri(tmp_path)
    experiment_id = tracking.ensure_experiment(uri, "exp", tmp_path / "artifacts")
    parent = tracking.start_parent(uri, experiment_id, "exp", {})
    writer, trial = MlflowTrials(uri, experiment_id, parent, 1), _trial(tmp_path)
    for step in (2, 4, 6):
        writer.on_trial_result(0, [], trial, _evaluation(step))
    final = {M.BEST_STSB_DEV: 56.0, M.BEST_STEP: 6.0, M.STEPS: 6.0, M.TRAIN_SECONDS: 1.0, "test_stsb": 40.0, DONE: 1.0}
    writer.on_trial_result(0, [], trial, final)
    trial.last_result = final
    writer.on_trial_complete(0, [], trial)

    again = MlflowTrials(uri, experiment_id, parent, 1)  # a restarted driver, the trial resumed from step 4 ...
    trial = _trial(tmp_path, "def00002")  # ... in a new Ray session: another Ray trial id, the same trial
    for step in (4, 6):
        again.on_trial_result(0, [], trial, _evaluation(step))
    again.on_trial_result(0, [], trial, final)

    mlflow = tracking.client(uri)
    (run,) = tracking.child_runs(uri, experiment_id, parent)
    assert_each_step_once(mlflow, run.info.run_id)
    assert [m.step for m in mlflow.get_metric_history(run.info.run_id, M.BEST_STSB_DEV)] == [2, 4, 6]
    assert run.data.metrics["test_stsb"] == 40.0 and run.data.metrics[M.BEST_STEP] == 6.0
    assert run.info.run_name.startswith("t00 lr=3e-4") and run.data.tags[V.TRIAL] == "t00"


@pytest.mark.parametrize(
    ("last", "status", "end"),
    [
        ({M.STEP: 4, M.BEST_STSB_DEV: 54.0}, "FINISHED", V.STOPPED),  # ASHA's decision: no crash, no KILLED
        ({V.FAILURE: V.DIVERGED, V.FAILURE_REASON: "loss is nan"}, "FAILED", V.DIVERGED),
    ],
)
def test_a_trial_ends_with_one_word_for_how_it_ended(tmp_path, last: dict, status: str, end: str) -> None:
    from sct.tune.run.mlflow_callback import MlflowTrials

    uri = tracking.default_tracking_uri(tmp_path)
    experiment_id = tracking.ensure_experiment(uri, "exp", tmp_path / "artifacts")
    parent = tracking.start_parent(uri, experiment_id, "exp", {})
    writer, trial = MlflowTrials(uri, experiment_id, parent, 1), _trial(tmp_path)
    writer.on_trial_result(0, [], trial, _evaluation(2))
    trial.last_result = last
    writer.on_trial_complete(0, [], trial)
    (run,) = tracking.child_runs(uri, experiment_id, parent)
    assert (run.info.status, run.data.tags[V.TRIAL_END], V.run_end(run)) == (status, end, end)
