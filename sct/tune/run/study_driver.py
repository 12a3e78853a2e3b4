"""A study's driver after planning: one Ray for every size, the data prepared once, then each size's sweep in a
driver process of its own (:mod:`sct.tune.run.size_drivers`) under one live view (:mod:`sct.tune.run.study_view`).

The study holds an experiment directory of its own, ``<storage>/study-<exp>+<exp>…/`` (the study run's name,
:func:`sct.tune.report.study_run.study_name`): its lock keeps a second driver of the same study out, and its
state records the local Ray the driver started, stopped by the next driver if this one was killed
(:mod:`sct.tune.run.ray_hygiene`). Each size's trial resources are fitted to the Ray here, once
(:mod:`sct.tune.plan.capacity`), and handed to its driver, which joins this Ray with ``--address``. A size that
finished before is not run again on ``--resume``: its trials, summary and best model stand.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

from sct.config import SCTConfig
from sct.tune.experiment import Experiment
from sct.tune.plan import capacity, study
from sct.tune.plan.spec import ExperimentSpec
from sct.tune.report.study_run import study_name
from sct.tune.run.lifecycle import init_ray, prepare_data, ray_nodes
from sct.tune.run.live_view import quiet_library_noise
from sct.tune.run.size_drivers import SizeDriver, run_all, say
from sct.tune.run.study_view import SizeProgress, StudyView
from sct.tune.run.tuner import estimate_s


def run_study(
    args: argparse.Namespace, names: list[str], planned: list[tuple[ExperimentSpec, SCTConfig]], side_by_side: bool
) -> list[int]:
    """Run the study's sizes (``names``, smallest first, and their checked plans); their exit codes (0 for a
    size that finished before, 130 appended when the study was interrupted)."""
    experiments = [spec.experiment.name for spec, _ in planned]
    first = planned[0][0].experiment
    holder = Experiment(
        study_name(experiments), first.storage, first.tracking_uri, {"kind": "study", "sizes": experiments}
    )
    holder.open(resume=holder.path.is_dir())  # only a lock and the Ray record: the sizes refuse what is wrong
    try:
        return _run(args, names, planned, side_by_side, holder)
    finally:
        holder.close()


def _run(
    args: argparse.Namespace,
    names: list[str],
    planned: list[tuple[ExperimentSpec, SCTConfig]],
    side_by_side: bool,
    holder: Experiment,
) -> list[int]:
    import ray

    quiet_library_noise(args.verbose)
    start_ray = partial(init_ray, args.address, args.dashboard, holder)
    prepare_data([cfg for _, cfg in planned], start_ray)  # once, before any size's driver needs it
    start_ray()
    address = args.address or ray.get_runtime_context().gcs_address
    nodes = ray_nodes()
    sizes, drivers, codes = [], [], []
    labels: dict[int, tuple[SizeProgress, str]] = {}
    for name, (spec, _) in zip(names, planned, strict=True):
        exp = spec.experiment
        progress = SizeProgress(exp.name, exp.path, spec.num_samples, estimate_s(spec))
        sizes.append(progress)
        if study.finished(args, exp.path):
            progress.note = "finished before: not run again"
            say(f"== {exp.name} (finished before: not run again) ==")
            codes.append(0)
            continue
        fitted = capacity.schedulable(spec.resources, not args.address, nodes)
        argv = [*args.argv, "--study-size", name, "--address", address]
        argv += ["--cpus-per-trial", repr(fitted["cpu"]), "--gpus-per-trial", repr(fitted["gpu"])]
        driver = SizeDriver(study.size_of(name), argv)
        labels[id(driver)] = (progress, "resumed" if study.resumable(args, exp.path) else "new")
        drivers.append(driver)

    def started(driver: SizeDriver) -> None:
        progress, how = labels[id(driver)]
        progress.started, progress.note = time.time(), "starting"
        say(f"== {progress.experiment} ({how}) ==")

    view = StudyView(sizes).start()
    try:
        codes += run_all(drivers, side_by_side, started)
    finally:
        view.stop()
    return codes
