"""``python -m sct.sweep bert-tiny bert-mini …``: several sizes as one study, planned before anything runs.

Each size is its own sweep — experiment ``sweep-<size>[-smoke]`` (or ``<--experiment>-<size>``), MLflow parent
and Optuna study — so ``sct.report EXPERIMENT``, ``--resume`` and the UI work per size as they do for one.
The driver checks every size first (a bad input in any size exits 2 before any trial runs), then runs them
one after another, smallest model first, on the one Ray it started or joined: a size's ``--warm-start`` then
finds the best points of the smaller sizes this study already swept. ``--resume`` resumes the sizes that were
started and starts the others. At the end the cross-size table and plot are logged to the study run
(:mod:`sct.tune.report.study_run`).
"""

from __future__ import annotations

import argparse
import copy

from sct.tune.experiment import FINGERPRINT_FILE
from sct.tune.plan.model_dirs import SHAPES, model_dirs
from sct.tune.plan.spaces import load_space


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


def resumable(args: argparse.Namespace, experiment_path: object) -> bool:
    """``--resume`` for a size: only if the size was started (a size not reached yet starts afresh)."""
    from pathlib import Path

    return bool(args.resume) and (Path(str(experiment_path)) / FINGERPRINT_FILE).is_file()


def print_total(plans: list[tuple[str, int, float, float]]) -> None:
    """The study's budget: ``(experiment, trials, cpus per trial, gpu per trial)`` per size."""
    trials = sum(n for _, n, _, _ in plans)
    print(f"study: {len(plans)} sizes, {trials} trials in all, run one size after another (smallest first):")
    for name, n, cpu, gpu in plans:
        print(f"  {name}: {n} trials x ({cpu:g} CPU, {gpu:g} GPU)")
