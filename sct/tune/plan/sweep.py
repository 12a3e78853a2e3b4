"""Planning a sweep before Ray starts: the search space, the base config, the experiment and its spec."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from sct import cli
from sct.config import SCTConfig
from sct.config_io import flatten
from sct.data import paper_data
from sct.data.paper_data import PAPER_DATA
from sct.errors import UserError
from sct.inputs import model_size, resolve_inputs
from sct.tune import vocabulary as V
from sct.tune.experiment import Experiment, fingerprint_config, locate
from sct.tune.plan import capacity, warm_starts
from sct.tune.plan.model_dirs import model_dirs, student_dir
from sct.tune.plan.options import (
    base_overrides,
    describe_keep,
    describe_resources,
    spec_options,
    trial_payload,
    trial_resources,
)
from sct.tune.plan.smoke import smoke_space
from sct.tune.plan.spaces import Estimate, SearchSpace, load_space
from sct.tune.plan.spec import ExperimentSpec, OptunaPlan


def experiment_name(args: argparse.Namespace, space: SearchSpace) -> str:
    return args.experiment or f"sweep-{space.size or space.path.stem}" + ("-smoke" if args.smoke else "")


def model_override(args: argparse.Namespace, space: SearchSpace, storage: Path) -> dict[str, str]:
    """``model.name`` from ``--model-dir SIZE=DIR`` for this space's size (nothing without the flag)."""
    size = space.size or space.path.stem
    dirs = model_dirs(getattr(args, "model_dir", None), [size])
    if size not in dirs:
        return {}
    if "model.name" in cli.config_overrides(args):
        raise UserError(f"--model-dir {size}=... and --set model.name=...: pass one of them")
    return {"model.name": str(student_dir(size, dirs[size], storage))}


def plan(args: argparse.Namespace) -> tuple[ExperimentSpec, SCTConfig]:
    """Everything checked and resolved before Ray starts (raises UserError)."""
    space = load_space(args.space)
    if args.smoke:
        space = smoke_space(space)
    storage, tracking_uri = locate(args.storage, args.address, args.tracking_uri)
    overrides = base_overrides(args, storage) | model_override(args, space, storage)
    searched = sorted(set(cli.config_overrides(args)) & {p.key for p in space.params})
    if searched:
        raise UserError(
            f"--set {searched[0]}: this key is searched by {space.path}; drop the --set, or copy the file, remove "
            "the key from its 'space' and pass the copy"
        )
    cfg = resolve_inputs(space.base_config(overrides))
    for point in space.points:  # every trial's config must be valid, not only the base
        space.base_config(overrides | point)
    num_samples = args.num_samples or space.budget["num_samples"]
    fingerprint = {
        "kind": V.SWEEP,
        "space": {p.key: p.describe() for p in space.params},
        "points": [dict(p) for p in space.points],
        "base": fingerprint_config(cfg),
        "num_samples": num_samples,
        "budget": space.budget,
    }
    exp = Experiment(experiment_name(args, space), storage, tracking_uri, fingerprint)
    others = warm_starts.other_sizes(space.size, args.smoke) + getattr(args, "study_experiments", [])
    others = others if getattr(args, "warm_start", False) else []
    found = warm_starts.gather(tracking_uri, list(getattr(args, "warm_start_from", None) or []), others)
    if not args.dry_run:
        exp.open(args.resume)
    space = warm_starts.seeded_space(space, exp.state, found)  # a resumed sweep: the points it started with
    if not args.dry_run:
        exp.save()
    resources = trial_resources(space.resources, args)
    size = model_size(cfg.model.name) or "custom"  # the shape trained, whatever the file's size says
    payload = trial_payload(exp, V.SWEEP, cfg, size, resources)
    keys = [p.key for p in space.params]
    spec = ExperimentSpec(
        experiment=exp,
        payload=payload,
        search=OptunaPlan(space, cfg.optim.seed),
        resources=resources,
        num_samples=num_samples,
        max_concurrent=args.max_concurrent or space.budget["max_concurrent"],
        tags={V.KIND: V.SWEEP, V.SIZE: str(size), V.SPACE_KEYS: ",".join(keys)},
        address=args.address,
        **spec_options(args),
    )
    return spec, cfg


def time_estimate(estimate: Estimate, trials: int, at_once: int, path: Path) -> str:
    """``time estimate: 24 trials x ~25 min (half an A100) = 10:00 of trial time, ~5:00 with 2 at once``; ASHA
    stops weak trials early, so the real time is usually shorter."""
    if estimate.minutes_per_trial is None:
        return f"time estimate: none ({path} has no estimate.minutes_per_trial)"
    total = trials * estimate.minutes_per_trial
    hardware = f" on {estimate.hardware}" if estimate.hardware else ""
    wall = math.ceil(trials / at_once) * estimate.minutes_per_trial
    return (
        f"time estimate: {trials} trials x ~{estimate.minutes_per_trial:g} min{hardware} = {hours(total)} of "
        f"trial time, ~{hours(wall)} with {at_once} at once (less when ASHA stops trials early)"
    )


def hours(minutes: float) -> str:
    """``10:05 h`` for 605 minutes."""
    whole = int(round(minutes))
    return f"{whole // 60}:{whole % 60:02d} h"


def print_plan(spec: ExperimentSpec, cfg: SCTConfig) -> None:
    exp, space = spec.experiment, spec.search.space  # type: ignore[union-attr]
    print(f"sweep {exp.name}: {spec.num_samples} trials, at most {spec.max_concurrent} at once")
    print(f"search space ({space.path}):")
    for p in space.params:
        print(f"  {p.key}: {p.describe()}")
    for point, source in zip(space.points, space.sources or ["points_to_evaluate"] * len(space.points), strict=True):
        print(f"  warm start ({source}): {point}")
    print(
        f"metric: {space.metric} (max); ASHA grace {space.budget['grace_evals']} evals, "
        f"reduction {space.budget['reduction_factor']}"
    )
    print(f"resources per trial: {describe_resources(spec.resources)} (CPU only when no GPU is present)")
    for line in capacity.describe_check(spec.resources, spec.address):
        print(line)
    print(time_estimate(space.estimate, spec.num_samples, spec.max_concurrent, space.path))
    print(describe_keep(spec.keep_models))
    print(f"experiment dir: {exp.path}")
    print(f"tracking uri: {exp.tracking_uri}")
    for key in ("model.name", "data.train", "data.cache_dir", "eval.sts_dir", "distill.teacher"):
        print(f"  {key}: {flatten(cfg)[key]}")
    if cfg.data.train == PAPER_DATA:
        print(f"  {paper_data.describe(cfg)}")
