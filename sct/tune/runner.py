"""Ray side of a sweep or ablation: data preparation, the MLflow parent run, Tuner build/restore, failures.

A sweep is a ``Tuner`` with ``OptunaSearch`` (TPE, multivariate, constant liar; the study persisted as
``optuna.db`` in the experiment directory so optuna-dashboard can open it) and ASHA on the best-so-far dev
score. An ablation (and the seed re-runs of a sweep's best config) is a ``Tuner`` with ``grid_search`` over
rows × seeds and no early stopping. Both keep one checkpoint per trial (the best), retry a crashed worker
once from it, and resume with ``Tuner.restore`` (issue 3, §2, §3, §6).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.tune import tracking
from sct.tune.driver import Experiment, PreflightError
from sct.tune.spaces import SearchSpace
from sct.tune.trainable import sct_trainable

MAX_T = 100_000  # ASHA's ceiling on reports per trial; trials end on their own budget first


@dataclass
class TunerSpec:
    """Everything needed to build (or restore) one Tuner."""

    kind: str  # "sweep" | "ablation" | "seeds"
    experiment: Experiment
    param_space: dict[str, Any]
    resources: dict[str, float]
    metric: str
    num_samples: int
    max_concurrent: int
    space: SearchSpace | None = None
    sampler_seed: int = 0


def prepare_data(configs: list[SCTConfig]) -> None:
    """Tokenise (and teacher-embed) once per distinct data set, before any trial starts."""
    from sct.run_data import prepare_run_data

    seen: set[str] = set()
    for cfg in configs:
        key = repr((cfg.model, cfg.data, cfg.distill.teacher, cfg.distill.batch_size))
        if key in seen:
            continue
        seen.add(key)
        try:
            prepare_run_data(cfg, show_progress=False)
        except (FileNotFoundError, ValueError) as err:
            raise PreflightError(f"preparing data for {cfg.data.train}: {err}") from None


def open_parent(exp: Experiment, tags: dict[str, str]) -> None:
    """Create (or, on resume, reuse) the MLflow experiment and parent run; ids go into ``exp.state``."""
    uri = exp.tracking_uri
    local = uri.startswith(("sqlite:", "file:")) or "://" not in uri
    artifact_root = exp.storage / "mlartifacts" if local else None
    try:
        exp.state["experiment_id"] = tracking.ensure_experiment(uri, exp.name, artifact_root)
        if "parent_run_id" not in exp.state:
            all_tags = tags | {"git.commit": tracking.git_commit()} | tracking.library_versions()
            exp.state["parent_run_id"] = tracking.start_parent(uri, exp.state["experiment_id"], exp.name, all_tags)
        else:
            tracking.retry(tracking.client(uri).update_run, exp.state["parent_run_id"], status="RUNNING")
    except Exception as err:  # noqa: BLE001 - any tracking failure is a set-up error
        raise PreflightError(f"--tracking-uri {uri}: {type(err).__name__}: {str(err).splitlines()[0]}") from None
    exp.save()


def init_ray(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    try:
        ray.init(address=address or None, log_to_driver=True, include_dashboard=False)
    except Exception as err:  # noqa: BLE001 - ConnectionError and friends
        raise PreflightError(f"--address {address}: cannot start or reach Ray: {err}") from None


def effective_resources(resources: dict[str, float]) -> dict[str, float]:
    """Per-trial resources; the GPU share is dropped (CPU-only trials) when the cluster has no GPU."""
    import ray

    out = {"cpu": resources.get("cpu", 1.0), "gpu": resources.get("gpu", 0.0)}
    if out["gpu"] and not ray.cluster_resources().get("GPU"):
        print(f"no GPU in the Ray cluster: running trials on CPU only ({out['cpu']:g} CPUs each)")
        out["gpu"] = 0.0
    return out


def launch(spec: TunerSpec, configs: list[SCTConfig], tags: dict[str, str], address: str | None) -> None:
    """The last pre-flight steps of a sweep or ablation: data once, the MLflow parent run, Ray, resources."""
    prepare_data(configs)
    open_parent(spec.experiment, tags)
    spec.param_space["sct_meta"] |= {k: spec.experiment.state[k] for k in ("experiment_id", "parent_run_id")}
    init_ray(address)
    spec.resources = effective_resources(spec.resources)


COMPLETED_FILE = "completed_trials.txt"


def completion_log(path: Path) -> Any:
    """A Tune callback appending the id of every trial that ended (finished, stopped by ASHA or errored) to
    ``path``: trials missing from it after ``fit`` were interrupted, and ``--resume`` continues them."""
    from ray.tune import Callback

    class CompletionLog(Callback):
        def _log(self, trial: Any) -> None:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(trial.trial_id + "\n")

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._log(trial)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._log(trial)

    return CompletionLog()


def _trainable(spec: TunerSpec) -> Any:
    from ray import tune

    return tune.with_resources(sct_trainable, {"cpu": spec.resources["cpu"], "gpu": spec.resources["gpu"]})


def build_tuner(spec: TunerSpec) -> Any:
    from ray import tune

    run_config = tune.RunConfig(
        storage_path=str(spec.experiment.storage),
        name=spec.experiment.name,
        checkpoint_config=tune.CheckpointConfig(
            num_to_keep=1, checkpoint_score_attribute=spec.metric, checkpoint_score_order="max"
        ),
        failure_config=tune.FailureConfig(max_failures=1),
        callbacks=[completion_log(spec.experiment.path / COMPLETED_FILE)],
        verbose=1,
    )
    if spec.kind != "sweep":
        tune_config = tune.TuneConfig(num_samples=1, max_concurrent_trials=spec.max_concurrent)
        return tune.Tuner(
            _trainable(spec), param_space=spec.param_space, tune_config=tune_config, run_config=run_config
        )
    import optuna
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    assert spec.space is not None
    storage = optuna.storages.RDBStorage(f"sqlite:///{spec.experiment.path / 'optuna.db'}")
    search = OptunaSearch(
        spec.space.optuna_space(),
        metric=spec.metric,
        mode="max",
        points_to_evaluate=[dict(p) for p in spec.space.points],
        sampler=optuna.samplers.TPESampler(seed=spec.sampler_seed, multivariate=True, constant_liar=True),
        study_name=spec.experiment.name,
        storage=storage,
    )
    scheduler = ASHAScheduler(
        time_attr="training_iteration",
        metric=spec.metric,
        mode="max",
        max_t=MAX_T,
        grace_period=spec.space.budget["grace_evals"],
        reduction_factor=spec.space.budget["reduction_factor"],
    )
    tune_config = tune.TuneConfig(
        search_alg=search,
        scheduler=scheduler,
        num_samples=spec.num_samples,
        max_concurrent_trials=spec.max_concurrent,
    )
    return tune.Tuner(_trainable(spec), param_space=spec.param_space, tune_config=tune_config, run_config=run_config)


def fit(spec: TunerSpec, resume: bool) -> Any:
    """Build or restore the Tuner and run it to the end; returns the ResultGrid."""
    from ray import tune

    path = spec.experiment.path
    if resume and tune.Tuner.can_restore(str(path)):
        tuner = tune.Tuner.restore(str(path), trainable=_trainable(spec), resume_errored=True)
    else:
        tuner = build_tuner(spec)
    return tuner.fit()


def interrupted(grid: Any, spec: TunerSpec) -> bool:
    """True when the run stopped early (SIGINT/SIGUSR1): some trial never ended (see :func:`completion_log`)."""
    file = spec.experiment.path / COMPLETED_FILE
    ended = set(file.read_text(encoding="utf-8").split()) if file.is_file() else set()
    names = [Path(result.path).name for result in grid]
    open_trials = [n for n in names if not any(trial_id in n for trial_id in ended)]
    if open_trials or len(names) < spec.num_samples:
        print(f"interrupted: {len(ended)} of {spec.num_samples} trials ended; continue with --resume", file=sys.stderr)
        return True
    return False


def failures(grid: Any) -> list[tuple[str, str]]:
    """(trial directory name, last line of its error) for every errored trial."""
    out = []
    for result in grid:
        if result.error is not None:
            lines = [line for line in str(result.error).strip().splitlines() if line.strip()]
            out.append((Path(result.path).name, lines[-1] if lines else type(result.error).__name__))
    return out


def close_runs(exp: Experiment, failed: list[tuple[str, str]]) -> None:
    """Mark runs left RUNNING: FAILED for errored trials (matched by trial id in the dir name), else KILLED."""
    uri, exp_id, parent = exp.tracking_uri, exp.state["experiment_id"], exp.state["parent_run_id"]
    errors: dict[str, str] = {}
    for run in tracking.child_runs(uri, exp_id, parent):
        trial_id = run.data.tags.get(tracking.TRIAL_TAG, "")
        for name, error in failed:
            if trial_id and trial_id in name:
                errors[trial_id] = error
    tracking.close_dangling(uri, exp_id, parent, errors)


def print_failures(failed: list[tuple[str, str]]) -> None:
    for name, error in failed:
        print(f"trial {name} FAILED: {error}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} trial(s) failed", file=sys.stderr)


def end_parent(exp: Experiment, failed: list[tuple[str, str]]) -> int:
    """Report failed trials, close the parent run accordingly and return the exit code (0 only if none failed)."""
    print_failures(failed)
    tracking.end_run(exp.tracking_uri, exp.state["parent_run_id"], "FAILED" if failed else "FINISHED")
    return 1 if failed else 0
