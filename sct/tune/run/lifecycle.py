"""One experiment lifecycle for sweeps, ablation grids and seed re-runs: ``run_experiment(spec, configs, ...)``.

Pre-flight (Ray, a trial's resources checked against its nodes, data prepared once, the MLflow parent run),
then the ``Tuner`` built or restored and run (:mod:`sct.tune.run.tuner`), then how its trials ended
(:mod:`sct.tune.run.trial_ends`), the kind-specific summary, the models kept, the footprint on disk and the
parent run's ending. Exit code: 0 when every trial
ended (diverged ones are results), 1 when a trial crashed, 130 when the run was interrupted (SIGINT, SIGTERM).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sct import cli
from sct.config import SCTConfig
from sct.errors import UserError
from sct.storage import DirLock, disk_usage
from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.experiment import ENDED, Experiment
from sct.tune.plan import capacity
from sct.tune.plan.spec import ExperimentSpec, OptunaPlan
from sct.tune.run import ray_hygiene
from sct.tune.run.keep_models import prune_models
from sct.tune.run.live_view import quiet_library_noise
from sct.tune.run.trial_ends import Outcome, drop_state, ended_trials
from sct.tune.run.tuner import fit
from sct.tune.tracking import views
from sct.tune.tracking.names import experiment_url


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


def open_store(spec: ExperimentSpec) -> None:
    """Create (or find) the experiment's MLflow experiment and its saved runs view: a store that cannot be
    opened is bad input (exit 2), found before Ray starts; serialised per storage root."""
    exp = spec.experiment
    uri = exp.tracking_uri
    local = uri.startswith(("sqlite:", "file:")) or "://" not in uri
    with _tracking_errors(uri), DirLock(exp.storage / ".mlflow-init", "MLflow store", blocking=True):
        exp.state["experiment_id"] = tracking.ensure_experiment(uri, exp.name, exp.artifacts if local else None)
        views.save_results_view(tracking.client(uri), exp.state["experiment_id"], results_view(spec))


def open_parent(spec: ExperimentSpec) -> None:
    """Open the MLflow parent run (the store first, unless :func:`open_store` did): a new one, the one a killed
    driver created before saving its id (found by the experiment's instance tag), or the resumed one."""
    if "experiment_id" not in spec.experiment.state:
        open_store(spec)
    exp = spec.experiment
    uri = exp.tracking_uri
    with _tracking_errors(uri), DirLock(exp.storage / ".mlflow-init", "MLflow store", blocking=True):
        if "parent_run_id" not in exp.state:  # new, or killed before its id was saved: found by instance
            instance = {V.INSTANCE: exp.state["instance"]}
            found = tracking.find_parent(uri, exp.experiment_id, instance)
            tags = spec.tags | instance | {"git.commit": tracking.git_commit()} | tracking.library_versions()
            exp.state["parent_run_id"] = found or tracking.start_parent(uri, exp.experiment_id, exp.name, tags)
        else:
            exp.mlflow.update_run(exp.parent_run_id, status="RUNNING")
    exp.save()


@contextmanager
def _tracking_errors(uri: str) -> Iterator[None]:
    """Any tracking failure is a set-up error, named by the ``--tracking-uri`` it came from."""
    try:
        yield
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 - sqlite, HTTP, permission errors alike
        raise UserError(f"--tracking-uri {uri}: {type(err).__name__}: {str(err).splitlines()[0]}") from None


def results_view(spec: ExperimentSpec) -> dict[str, Any]:
    """The runs table's first screen (:mod:`sct.tune.tracking.views`): a sweep's searched params, a grid's
    row and seed."""
    if isinstance(spec.search, OptunaPlan):
        return views.results_view([p.key for p in spec.search.space.params])
    return views.results_view([], tags=["sct.variant", "sct.seed"])


def init_ray(address: str | None, dashboard: bool, experiment: Experiment) -> None:
    """Start a local Ray (no ``address``) or join one; what this experiment's killed driver left of its own local
    Ray is stopped first, and a local Ray started here is recorded for the next start
    (:mod:`sct.tune.run.ray_hygiene`)."""
    import ray

    if ray.is_initialized():
        return
    ray_hygiene.reap_session(experiment.state)
    if not address:  # claimed and saved before Ray starts: a kill inside ray.init leaves a findable session
        ray_hygiene.claim_session(experiment.state)
    experiment.save()
    try:
        ray.init(address=address or None, log_to_driver=True, include_dashboard=dashboard)
    except Exception as err:  # noqa: BLE001 - ConnectionError and friends
        raise UserError(f"--address {address}: cannot start or reach Ray: {err}") from None
    cli.forward_sigterm()  # ray.init replaced it with Ray's handler, which aborts the driver (exit code 134)
    if not address:
        ray_hygiene.record_session(experiment.state)
    experiment.save()


def ray_nodes() -> list[dict[str, float]]:
    """The resources of each alive node of the connected Ray cluster."""
    import ray

    return [dict(node["Resources"]) for node in ray.nodes() if node.get("Alive")]


def ray_starter(spec: ExperimentSpec) -> Callable[[], None]:
    """How this driver starts Ray (:func:`init_ray`), for work on Ray before the trials: the paper's views."""
    return partial(init_ray, spec.address, spec.dashboard, spec.experiment)


def print_footprint(spec: ExperimentSpec) -> None:
    """Bytes this experiment keeps under --storage (its directory, local MLflow artifacts) and in Ray's temp dir."""
    exp, mb = spec.experiment, 1 << 20
    temp = ray_hygiene.ray_temp_root()
    kept = disk_usage(exp.path, exp.artifacts)  # the best model and its logged MLflow copy: one file
    ray_mb = disk_usage(temp) / mb
    print(f"disk: {kept / mb:.1f} MB under {exp.storage} for {exp.name}, {ray_mb:.1f} MB in Ray's temp dir {temp}")


def print_next_steps(spec: ExperimentSpec) -> None:
    """The commands that show this experiment, with its real names and paths."""
    exp = spec.experiment
    where = (
        f"--tracking-uri {exp.tracking_uri}" if exp.tracking_uri != tracking.default_tracking_uri(exp.storage) else ""
    )
    print("next:")
    print(f"  python -m sct.report {exp.name} --storage {exp.storage} {where}".rstrip())
    if exp.tracking_uri.startswith("sqlite:"):
        print(f"  mlflow ui --backend-store-uri {exp.tracking_uri}")
        print(f"  then open {experiment_url('http://127.0.0.1:5000', exp.experiment_id)}&{views.URL_QUERY}")
    if isinstance(spec.search, OptunaPlan):
        print(f"  optuna-dashboard sqlite:///{exp.path / 'optuna.db'}   (pip install optuna-dashboard)")


def run_experiment(
    spec: ExperimentSpec, configs: list[SCTConfig], resume: bool, summarise: Callable[[ExperimentSpec, Outcome], Any]
) -> int:
    """The whole lifecycle after planning; returns the exit code (see the module docstring). A Ray this call
    started is shut down when it returns (as it would be at the process's exit): a caller in the same process
    (a notebook, a test) finds none running, and one that was running before is left as it was."""
    ray_before = _ray_running()
    try:
        return _run(spec, configs, resume, summarise)
    except UserError:
        spec.experiment.forget_if_unstarted()
        raise
    finally:
        if not ray_before and _ray_running():
            sys.modules["ray"].shutdown()
        spec.experiment.close()


def _ray_running() -> bool:
    ray = sys.modules.get("ray")  # not imported: not running in this process
    return ray is not None and ray.is_initialized()


def _run(
    spec: ExperimentSpec, configs: list[SCTConfig], resume: bool, summarise: Callable[[ExperimentSpec, Outcome], Any]
) -> int:
    quiet_library_noise(spec.verbose)
    spec.experiment.state.pop(ENDED, None)  # a resumed experiment is not finished until it ends again
    open_store(spec)  # a store that cannot be opened: exit 2 before Ray starts
    init_ray(spec.address, spec.dashboard, spec.experiment)
    # A trial no node can hold is refused (exit 2) before the data is prepared and the MLflow parent opened:
    # a refused experiment leaves no run and no directory (Experiment.forget_if_unstarted).
    spec.resources = capacity.schedulable(spec.resources, not spec.address, ray_nodes())
    spec.payload = dataclasses.replace(spec.payload, cpus=spec.resources["cpu"])  # torch threads per trial
    prepare_data(configs, ray_starter(spec))
    open_parent(spec)
    exp = spec.experiment
    gpus = f"{spec.resources.get('gpu', 0.0):g}"  # what the trials held: the GPU-hours of sct.report's size table
    tracking.client(exp.tracking_uri).set_tag(exp.state["parent_run_id"], "sct.gpus_per_trial", gpus)
    outcome = Outcome.of(fit(spec, resume), spec.num_samples, exp)
    tracking.close_dangling(exp.tracking_uri, exp.experiment_id, exp.parent_run_id)
    ended = ended_trials(exp)
    for trial in outcome.trials:  # stopped early while its worker still held the directory: drop it now
        if trial.status == V.STOPPED and trial.trial_id in ended:
            drop_state(exp.trials_root / trial.trial_id)
    if outcome.interrupted:
        print(f"interrupted: {outcome.describe()}; continue with --resume", file=sys.stderr)
        exp.mlflow.set_terminated(exp.parent_run_id, "KILLED")
        return 130
    summarise(spec, outcome)
    outcome.print()
    deleted, freed = prune_models(exp.trials_root, outcome, spec.keep_models)
    if deleted:
        print(f"--keep-models best: deleted {deleted} trial models ({freed / (1 << 20):.1f} MB)")
    print_footprint(spec)
    print_next_steps(spec)
    exp.state[ENDED] = "FAILED" if outcome.crashed else "FINISHED"
    exp.mlflow.set_terminated(exp.parent_run_id, exp.state[ENDED])
    exp.save()
    return 1 if outcome.crashed else 0
