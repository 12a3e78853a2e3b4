"""``python -m sct.sweep bert-tiny bert-mini …``: several sizes as one study, planned before anything runs.

Each size is its own sweep — experiment ``sweep-<size>[-smoke]`` (or ``<--experiment>-<size>``), MLflow parent
and Optuna study — so ``sct.report EXPERIMENT``, ``--resume`` and the UI work per size as they do for one.
The driver checks every size first (a bad input in any size exits 2 before any trial runs), then runs each
size's sweep in a driver process of its own on the one Ray it started or joined
(:mod:`sct.tune.run.size_drivers`): side by side, so Ray interleaves the sizes' trials as their per-trial
resources allow; with ``--warm-start`` one after another, smallest model first, so that each size starts from
the best points of the smaller sizes just swept. ``--resume`` skips the sizes that finished, resumes those that
were started and starts the others. At the end the cross-size table and plot are logged to the study run
(:mod:`sct.tune.report.study_run`).
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from sct.tune.experiment import ENDED, FINGERPRINT_FILE, saved_state
from sct.tune.plan.model_dirs import SHAPES, model_dirs
from sct.tune.plan.spaces import load_space
from sct.tune.plan.spec import ExperimentSpec
from sct.tune.plan.sweep import experiment_name, hours


def size_of(name: str) -> str:
    """The size a positional argument sweeps: the space file's ``size``, else the file's stem."""
    space = load_space(name)
    return space.size or space.path.stem


def ordered(names: list[str]) -> list[str]:
    """The positional sizes/files, smallest model first (custom files last, in the given order)."""
    from sct.errors import UserError

    sizes = [size_of(n) for n in names]
    if len(set(sizes)) < len(sizes):
        raise UserError(f"a size given twice: {' '.join(names)} (sizes {', '.join(sizes)})")
    rank = {size: i for i, size in enumerate(SHAPES)}
    pairs = sorted(zip(names, sizes, strict=True), key=lambda p: rank.get(p[1], len(rank)))
    return [name for name, _ in pairs]


def size_args(args: argparse.Namespace, name: str, dry_run: bool) -> argparse.Namespace:
    """The single-size arguments of one size of the study (its own ``--model-dir``, experiment and resume)."""
    size = size_of(name)
    out = copy.copy(args)
    out.space = name
    out.dry_run = dry_run
    out.model_dir = [(s, d) for s, d in args.model_dir or [] if s == size]
    out.experiment = f"{args.experiment}-{size}" if args.experiment else None
    return out


def check_model_dirs(args: argparse.Namespace, names: list[str]) -> None:
    model_dirs(args.model_dir, [size_of(n) for n in names])  # every SIZE of --model-dir is swept here


def experiment_path(args: argparse.Namespace, name: str) -> Path:
    """Where the sweep of size/file ``name`` lives (the experiment name of :mod:`sct.tune.plan.sweep`)."""
    space = load_space(name)
    return Path(args.storage).expanduser().resolve() / experiment_name(size_args(args, name, True), space)


def resumable(args: argparse.Namespace, experiment_path: Path) -> bool:
    """``--resume`` for a size: only if the size was started (a size not reached yet starts afresh)."""
    return bool(args.resume) and (experiment_path / FINGERPRINT_FILE).is_file()


def finished(args: argparse.Namespace, experiment_path: Path) -> bool:
    """A size ``--resume`` leaves alone: its sweep ran to its end (trials, summary, best model) before."""
    return bool(args.resume) and saved_state(experiment_path).get(ENDED) == "FINISHED"


def print_total(specs: list[ExperimentSpec], side_by_side: bool) -> None:
    """The study's budget: each size's trials, resources per trial, trial time and GPU-hours (from each
    file's ``estimate.minutes_per_trial``: trials x minutes x the GPU share per trial)."""
    trials = sum(s.num_samples for s in specs)
    how = "side by side on one Ray" if side_by_side else "one size after another (smallest first, --warm-start)"
    print(f"study: {len(specs)} sizes, {trials} trials in all, {how}:")
    minutes = gpu_hours = 0.0
    missing = []
    for spec in specs:
        cpu, gpu = spec.resources["cpu"], spec.resources["gpu"]
        line = f"  {spec.experiment.name}: {spec.num_samples} trials x ({cpu:g} CPU, {gpu:g} GPU)"
        per_trial = spec.search.space.estimate.minutes_per_trial  # type: ignore[union-attr]
        if per_trial is None:
            missing.append(spec.experiment.name)
            print(f"{line}, no time estimate")
            continue
        size_minutes = spec.num_samples * per_trial
        minutes += size_minutes
        gpu_hours += size_minutes * gpu / 60
        time_and_gpu = f"{hours(size_minutes)} of trial time, {size_minutes * gpu / 60:.1f} GPU-hours"
        print(f"{line} x ~{per_trial:g} min = {time_and_gpu}")
    if len(missing) == len(specs):
        print("  total: no time estimate (a --smoke run, or files without estimate.minutes_per_trial)")
        return
    without = f" (without {', '.join(missing)}: no estimate)" if missing else ""
    print(
        f"  total: {hours(minutes)} of trial time, ~{gpu_hours:.1f} GPU-hours{without} (estimates; ASHA stops weak "
        "trials early; 0 GPU-hours on a cluster without GPUs)"
    )
