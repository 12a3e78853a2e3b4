"""One experiment lifecycle for sweeps, ablation grids and seed re-runs: ``run_experiment(spec, configs, ...)``.

Pre-flight (data prepared once, the MLflow parent run, Ray), then a ``Tuner`` built — the Optuna study
(TPE, multivariate, constant liar, persisted in ``optuna.db``) + ASHA for a sweep (:mod:`sct.tune.search`),
``grid_search`` over rows × seeds for a grid — or, with ``--resume``, restored when Ray's files allow it
(:func:`restorable`) and built afresh otherwise: the trials, MLflow runs and study carry on under their own
names either way. Then the outcome read from the ``ResultGrid``, the kind-specific summary, the footprint on
disk and the parent run's ending. Exit code: 0 when every trial ended (diverged ones are results), 1 when a
trial crashed, 130 when the run was interrupted (SIGINT, SIGTERM).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sct import cli
from sct.config import SCTConfig
from sct.errors import UserError
from sct.storage import DirLock, disk_usage
from sct.tune import tracking
from sct.tune.driver import Experiment
from sct.tune.keep import KeepModels, drop_state, prune_models
from sct.tune.outcome import Outcome, ended_trials
from sct.tune.spaces import SearchSpace
from sct.tune.trainable import TrialPayload, sct_trainable


@dataclass(frozen=True)
class OptunaPlan:
    space: SearchSpace
    seed: int


@dataclass(frozen=True)
class GridPlan:
    rows: list[str]
    seeds: list[int]


@dataclass
class ExperimentSpec:
    """Everything needed to build (or restore) one Tuner and to track it."""

    experiment: Experiment
    payload: TrialPayload
    search: OptunaPlan | GridPlan
    resources: dict[str, float]
    num_samples: int
    max_concurrent: int
    tags: dict[str, str] = field(default_factory=dict)
    address: str | None = None
    dashboard: bool = False
    verbose: bool = False
    register: str | None = None  # register the best model under this name
    keep_models: KeepModels = "all"  # trial models kept at the end (sct.tune.keep)


def prepare_data(configs: list[SCTConfig], start_ray: Callable[[], None] | None = None) -> None:
    """Tokenise (and teacher-embed) once per distinct data set, before any trial starts; the paper's views,
    if not cached yet, are back-translated first on Ray Data (Ray started by ``start_ray`` if needed)."""
    from sct.data.backtranslation.ray_runner import ray_executor
    from sct.data.run_data import prepare_run_data

    seen: set[str] = set()
    for cfg in configs:
        key = repr((cfg.model, cfg.data, cfg.distill.teacher, cfg.distill.batch_size))
        if key not in seen:
            seen.add(key)
            prepare_run_data(cfg, show_progress=False, translate=ray_executor(start=start_ray))


def open_parent(spec: ExperimentSpec) -> None:
    """Create (or, on resume, reopen) the MLflow experiment and parent run; serialised per storage root."""
    exp = spec.experiment
    uri = exp.tracking_uri
    local = uri.startswith(("sqlite:", "file:")) or "://" not in uri
    try:
        with DirLock(exp.storage / ".mlflow-init", "MLflow store", blocking=True):
            exp.state["experiment_id"] = tracking.ensure_experiment(uri, exp.name, exp.artifacts if local else None)
            if "parent_run_id" not in exp.state:  # new, or killed before its id was saved: found by instance
                instance = {tracking.INSTANCE_TAG: exp.state["instance"]}
                found = tracking.find_parent(uri, exp.state["experiment_id"], instance)
                tags = spec.tags | instance | {"git.commit": tracking.git_commit()} | tracking.library_versions()
                exp.state["parent_run_id"] = found or tracking.start_parent(
                    uri, exp.state["experiment_id"], exp.name, tags
                )
            else:
                tracking.client(uri).update_run(exp.state["parent_run_id"], status="RUNNING")
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 - any tracking failure is a set-up error
        raise UserError(f"--tracking-uri {uri}: {type(err).__name__}: {str(err).splitlines()[0]}") from None
    exp.save()


def init_ray(address: str | None, dashboard: bool, experiment: Experiment) -> None:
    """Start a local Ray (no ``address``) or join one; what this experiment's killed driver left of its own local
    Ray is stopped first, and a local Ray started here is recorded for the next start (:mod:`sct.tune.hygiene`)."""
    import ray

    from sct.tune import hygiene

    if ray.is_initialized():
        return
    hygiene.reap_session(experiment.state)
    try:
        ray.init(address=address or None, log_to_driver=True, include_dashboard=dashboard)
    except Exception as err:  # noqa: BLE001 - ConnectionError and friends
        raise UserError(f"--address {address}: cannot start or reach Ray: {err}") from None
    cli.forward_sigterm()  # ray.init replaced it with Ray's handler, which aborts the driver (exit code 134)
    if not address:
        hygiene.record_session(experiment.state)
    experiment.save()


def ray_starter(spec: ExperimentSpec) -> Callable[[], None]:
    """How this driver starts Ray (:func:`init_ray`), for work on Ray before the trials: the paper's views."""
    return partial(init_ray, spec.address, spec.dashboard, spec.experiment)


def effective_resources(resources: dict[str, float]) -> dict[str, float]:
    """Per-trial resources; the GPU share is dropped (CPU-only trials) when the cluster has no GPU."""
    import ray

    out = dict(resources)
    if out.get("gpu") and not ray.cluster_resources().get("GPU"):
        print(f"no GPU in the Ray cluster: running trials on CPU only ({out['cpu']:g} CPUs each)")
        out["gpu"] = 0.0
    return out


def _trainable(spec: ExperimentSpec) -> Any:
    from ray import tune

    return tune.with_resources(sct_trainable, dict(spec.resources))  # cpu, gpu and any custom resources


def _callbacks(spec: ExperimentSpec, *extra: Any) -> list[Any]:
    from sct.tune.live import sweep_view
    from sct.tune.mlflow_trials import MlflowTrials
    from sct.tune.outcome import end_log

    state, exp = spec.experiment.state, spec.experiment
    mlflow = MlflowTrials(exp.tracking_uri, state["experiment_id"], state["parent_run_id"], spec.num_samples)
    keys = [p.key for p in spec.search.space.params] if isinstance(spec.search, OptunaPlan) else None
    return [*extra, mlflow, end_log(exp), sweep_view(spec.num_samples, keys=keys)]


def build_tuner(spec: ExperimentSpec) -> Any:
    """A new Tuner; a sweep's trials are the Optuna study's (:mod:`sct.tune.search`), a grid's rows x seeds."""
    from ray import tune

    exp = spec.experiment
    if isinstance(spec.search, GridPlan):
        tune_config = tune.TuneConfig(num_samples=1, max_concurrent_trials=spec.max_concurrent)
        callbacks = _callbacks(spec)
    else:
        from sct.tune.search import Asha, SweepSearch, SyncSearch

        plan, every = spec.search, int(spec.payload.base["eval"]["every_steps"])
        searcher = SweepSearch(
            plan.space, exp.path / "optuna.db", exp.name, plan.seed, spec.num_samples, spec.max_concurrent
        )
        # num_samples -1: the searcher says when the sweep is complete (it may hand a trial to Ray again)
        tune_config = tune.TuneConfig(search_alg=searcher, scheduler=Asha(plan.space, exp.path, every), num_samples=-1)
        callbacks = _callbacks(spec, SyncSearch(searcher))
    run_config = tune.RunConfig(
        storage_path=str(exp.storage),
        name=exp.name,
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        failure_config=tune.FailureConfig(max_failures=1),
        callbacks=callbacks,
        verbose=1 if spec.verbose else 0,  # the live view (sct.tune.live) replaces Ray's own table
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
    (:func:`sct.tune.trainable.trial_key`)."""
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

    path = spec.experiment.path
    if resume and restorable(path, grid=isinstance(spec.search, GridPlan)):
        tuner = tune.Tuner.restore(
            str(path), trainable=_trainable(spec), param_space=_param_space(spec), resume_errored=True
        )
    else:
        tuner = build_tuner(spec)
    return tuner.fit()


def print_footprint(spec: ExperimentSpec) -> None:
    """Bytes this experiment keeps under --storage (its directory, local MLflow artifacts) and in Ray's temp dir."""
    exp, mb = spec.experiment, 1 << 20
    temp = Path(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()) / "ray"
    kept = disk_usage(exp.path) + disk_usage(exp.artifacts)
    ray_mb = disk_usage(temp) / mb
    print(f"disk: {kept / mb:.1f} MB under {exp.storage} for {exp.name}, {ray_mb:.1f} MB in Ray's temp dir {temp}")


def print_next_steps(spec: ExperimentSpec) -> None:
    """The commands that show this experiment, with its real names and paths."""
    from sct.tune.naming import experiment_url

    exp = spec.experiment
    where = (
        f"--tracking-uri {exp.tracking_uri}" if exp.tracking_uri != tracking.default_tracking_uri(exp.storage) else ""
    )
    print("next:")
    print(f"  python -m sct.report {exp.name} --storage {exp.storage} {where}".rstrip())
    if exp.tracking_uri.startswith("sqlite:"):
        print(f"  mlflow ui --backend-store-uri {exp.tracking_uri}")
        print(f"  then open {experiment_url('http://127.0.0.1:5000', exp.state['experiment_id'])}")
    if isinstance(spec.search, OptunaPlan):
        print(f"  optuna-dashboard sqlite:///{exp.path / 'optuna.db'}   (pip install optuna-dashboard)")


def run_experiment(
    spec: ExperimentSpec, configs: list[SCTConfig], resume: bool, summarise: Callable[[ExperimentSpec, Outcome], Any]
) -> int:
    """The whole lifecycle after planning; returns the exit code (see the module docstring)."""
    try:
        return _run(spec, configs, resume, summarise)
    except UserError:
        spec.experiment.forget_if_unstarted()
        raise
    finally:
        spec.experiment.close()


def _run(
    spec: ExperimentSpec, configs: list[SCTConfig], resume: bool, summarise: Callable[[ExperimentSpec, Outcome], Any]
) -> int:
    from sct.tune.live import quiet_library_noise

    quiet_library_noise(spec.verbose)
    prepare_data(configs, ray_starter(spec))
    open_parent(spec)
    init_ray(spec.address, spec.dashboard, spec.experiment)
    spec.resources = effective_resources(spec.resources)
    exp = spec.experiment
    outcome = Outcome.of(fit(spec, resume), spec.num_samples, exp)
    from sct.tune.mlflow_trials import close_dangling

    close_dangling(exp.tracking_uri, exp.state["experiment_id"], exp.state["parent_run_id"])
    ended = ended_trials(exp)
    for trial in outcome.trials:  # stopped early while its worker still held the directory: drop it now
        if trial.status == "stopped" and trial.trial_id in ended:
            drop_state(exp.trials_root / trial.trial_id)
    mlflow = tracking.client(exp.tracking_uri)
    if outcome.interrupted:
        print(f"interrupted: {outcome.describe()}; continue with --resume", file=sys.stderr)
        mlflow.set_terminated(exp.state["parent_run_id"], "KILLED")
        return 130
    summarise(spec, outcome)
    outcome.print()
    deleted, freed = prune_models(exp.trials_root, outcome, spec.keep_models)
    if deleted:
        print(f"--keep-models best: deleted {deleted} trial models ({freed / (1 << 20):.1f} MB)")
    print_footprint(spec)
    print_next_steps(spec)
    mlflow.set_terminated(exp.state["parent_run_id"], "FAILED" if outcome.crashed else "FINISHED")
    return 1 if outcome.crashed else 0
