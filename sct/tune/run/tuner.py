"""The Ray Tune ``Tuner`` of one experiment, built new or restored: a sweep's trials are the Optuna study's
(TPE, multivariate, constant liar, persisted in ``optuna.db``; :mod:`sct.tune.run.search`) under ASHA, a grid's
are ``grid_search`` over rows x seeds. With ``--resume`` it is restored when Ray's files allow it
(:func:`restorable`) and built afresh otherwise: the trials, MLflow runs and study carry on under their own
names either way.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

from sct.tune.plan.spec import ExperimentSpec, GridPlan, OptunaPlan
from sct.tune.run.live_view import sweep_view
from sct.tune.run.trial import sct_trainable
from sct.tune.run.trial_ends import end_log


def _trainable(spec: ExperimentSpec) -> Any:
    from ray import tune

    return tune.with_resources(sct_trainable, dict(spec.resources))  # cpu, gpu and any custom resources


def _callbacks(spec: ExperimentSpec, searcher: Any = None) -> list[Any]:
    """Ours, and Ray's CSV/JSON result files; not its TensorBoard files (TensorBoard is not a dependency, and
    Ray prints a hint to run it when they are written)."""
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    from sct.tune.run.mlflow_callback import MlflowTrials

    exp = spec.experiment
    mlflow = MlflowTrials(exp.tracking_uri, exp.experiment_id, exp.parent_run_id, spec.num_samples)
    extra = []
    if searcher is not None:  # first: Ray's trials told to the study before anything asks it
        from sct.tune.run.search import SyncSearch

        extra.append(SyncSearch(searcher, runs=mlflow))
    keys = [p.key for p in spec.search.space.params] if isinstance(spec.search, OptunaPlan) else None
    view = [sweep_view(spec.num_samples, keys=keys, estimate_s=estimate_s(spec))] if spec.live_view else []
    return [*extra, CSVLoggerCallback(), JsonLoggerCallback(), mlflow, end_log(exp), *view]


def estimate_s(spec: ExperimentSpec) -> float | None:
    """A sweep's estimated wall clock from its file's ``estimate.minutes_per_trial``: rounds of
    ``max_concurrent`` trials (None without an estimate, or for a grid)."""
    if not isinstance(spec.search, OptunaPlan) or spec.search.space.estimate.minutes_per_trial is None:
        return None
    return -(-spec.num_samples // spec.max_concurrent) * spec.search.space.estimate.minutes_per_trial * 60


def build_tuner(spec: ExperimentSpec) -> Any:
    """A new Tuner; a sweep's trials are the Optuna study's (:mod:`sct.tune.run.search`), a grid's rows x seeds."""
    from ray import tune

    exp = spec.experiment
    if isinstance(spec.search, GridPlan):
        tune_config = tune.TuneConfig(num_samples=1, max_concurrent_trials=spec.max_concurrent)
        callbacks = _callbacks(spec)
    else:
        from sct.tune.run.search import Asha, SweepSearch

        plan, every = spec.search, int(spec.payload.base["eval"]["every_steps"])
        searcher = SweepSearch(
            plan.space, exp.path / "optuna.db", exp.name, plan.seed, spec.num_samples, spec.max_concurrent
        )
        # num_samples -1: the searcher says when the sweep is complete (it may hand a trial to Ray again)
        tune_config = tune.TuneConfig(search_alg=searcher, scheduler=Asha(plan.space, exp.path, every), num_samples=-1)
        callbacks = _callbacks(spec, searcher)
    run_config = tune.RunConfig(
        storage_path=str(exp.storage),
        name=exp.name,
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        failure_config=tune.FailureConfig(max_failures=1),
        callbacks=callbacks,
        verbose=1 if spec.verbose else 0,  # the live view (sct.tune.run.live_view) replaces Ray's own table
    )
    return tune.Tuner(_trainable(spec), param_space=_param_space(spec), tune_config=tune_config, run_config=run_config)


def _param_space(spec: ExperimentSpec) -> dict[str, Any]:
    """What every trial's config holds (Ray does not keep it: a restored Tuner is given it again)."""
    from ray import tune

    space: dict[str, Any] = {"sct": spec.payload.to_config()}
    if isinstance(spec.search, GridPlan):
        space |= {"row": tune.grid_search(spec.search.rows), "seed": tune.grid_search(spec.search.seeds)}
    return space


RAY_SAVES = ("experiment_state-{}.json", "search_gen_state-{}.json", "searcher-state-{}.pkl")  # a sweep's
RAY_GRID_SAVES = ("experiment_state-{}.json", "basic-variant-state-{}.json")  # a grid's


def restorable(path: Path, grid: bool) -> bool:
    """Whether Ray can restore the experiment at ``path`` as it left it: a whole ``tuner.pkl`` (Ray creates it
    empty, then writes it) and the files of Ray's newest save, all of the same session and whole (Ray's first
    save comes seconds after ``tuner.pkl``; its files are copied one by one). Otherwise a new Tuner starts the
    experiment afresh in Ray, and its trials, MLflow runs and Optuna study carry on under their own names
    (:func:`sct.tune.run.trial.trial_key`)."""
    patterns = RAY_GRID_SAVES if grid else RAY_SAVES
    try:
        with open(path / "tuner.pkl", "rb") as handle:
            pickle.load(handle)
        newest = max(path.glob(patterns[0].format("*")))  # Ray reads the newest of each kind: the same session?
        session = newest.name[len("experiment_state-") : -len(".json")]
        json.loads(newest.read_text(encoding="utf-8"))
        for pattern in patterns[1:]:
            file = max(path.glob(pattern.format("*")))
            with open(file, "rb") as handle:
                pickle.load(handle)
            if file.name != pattern.format(session):
                return False
    except Exception:  # noqa: BLE001 - missing (max of nothing), or cut by a kill: EOFError, JSONDecodeError...
        return False
    return True


def fit(spec: ExperimentSpec, resume: bool) -> Any:
    """Build or restore the Tuner and run it to the end; returns the ResultGrid."""
    from ray import tune

    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"  # read by fit: only the loggers of _callbacks
    path = spec.experiment.path
    if resume and restorable(path, grid=isinstance(spec.search, GridPlan)):
        tuner = tune.Tuner.restore(
            str(path), trainable=_trainable(spec), param_space=_param_space(spec), resume_errored=True
        )
    else:
        tuner = build_tuner(spec)
    return tuner.fit()
