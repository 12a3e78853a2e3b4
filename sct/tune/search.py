"""The sweep's searcher and scheduler: Optuna TPE persisted in ``optuna.db``, and ASHA on the best-so-far score.

:class:`ResumableOptunaSearch` fixes two things Ray's OptunaSearch gets wrong for this project: after a
driver kill, Ray may resume a trial the persisted study already closed (``UpdateFinishedTrialError`` crashed
the driver) — such results are now ignored; and a trial that ends with ``sct_failure`` in its last result
(diverged, invalid config) is told to Optuna as FAILED, and one ASHA stopped early as PRUNED, so
optuna-dashboard shows each trial's real state.
"""

from __future__ import annotations

from typing import Any

import optuna
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from sct.metrics import PRIMARY
from sct.tune.driver import Experiment
from sct.tune.spaces import SearchSpace
from sct.tune.trainable import DONE, FAILURE

MAX_T = 100_000  # ASHA's ceiling on reports per trial; trials end on their own budget first


class ResumableOptunaSearch(OptunaSearch):
    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if FAILURE in result or PRIMARY not in result:
            return
        try:
            super().on_trial_result(trial_id, result)
        except optuna.exceptions.UpdateFinishedTrialError:
            self._completed_trials.add(trial_id)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if result and FAILURE in result:
            result, error = {}, True
        elif result and DONE not in result and not error:
            result = {}  # stopped by ASHA before the end of its budget: PRUNED in the study
        try:
            super().on_trial_complete(trial_id, result, error)
        except optuna.exceptions.UpdateFinishedTrialError:
            self._completed_trials.add(trial_id)


def optuna_search(space: SearchSpace, exp: Experiment, seed: int) -> Any:
    storage = optuna.storages.RDBStorage(f"sqlite:///{exp.path / 'optuna.db'}")
    return ResumableOptunaSearch(
        space.optuna_space(),
        metric=PRIMARY,
        mode="max",
        points_to_evaluate=[dict(p) for p in space.points],
        sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True),
        study_name=exp.name,
        storage=storage,
    )


def asha(space: SearchSpace) -> Any:
    return ASHAScheduler(
        time_attr="training_iteration",
        metric=PRIMARY,
        mode="max",
        max_t=MAX_T,
        grace_period=space.budget["grace_evals"],
        reduction_factor=space.budget["reduction_factor"],
    )
