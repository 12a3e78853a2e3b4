"""``python -m sct.sweep SIZE_OR_FILE``: Ray Tune + Optuna (TPE) + ASHA sweep of SCT, tracked in MLflow.

Example: ``python -m sct.sweep bert-tiny --num-samples 32 --storage /shared/sct_runs``; ``--smoke`` for a few
steps and trials on a laptop, ``--dry-run`` to see the plan, ``--resume`` after an interruption. Exit code 0
only when no trial errored; 2 for bad input found before Ray starts (issue 3, §2).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from sct.config_io import config_to_dict, flatten
from sct.tune import runner, sweep_summary, tracking
from sct.tune.driver import (
    SMOKE_OVERRIDES,
    Experiment,
    PreflightError,
    absolute_paths,
    add_common_args,
    check_address,
    check_storage,
    check_sts,
    fingerprint_config,
    path_overrides,
    resolve_config_or_fail,
    trial_meta,
    trial_resources,
)
from sct.tune.spaces import ParamSpec, SearchSpace, load_space

SMOKE_QUEUE_SIZES = (64, 128, 256)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("space", help="a size (bert-tiny … bert-large) or a search-space YAML file")
    parser.add_argument("--num-samples", type=int, help="number of trials (default from the YAML file)")
    parser.add_argument("--seeds", type=int, default=0, help="re-run the best config over N seeds at the end")
    add_common_args(parser)
    return parser


def smoke_space(space: SearchSpace) -> SearchSpace:
    """A tiny k range and 2 trials: the set-up checked in minutes on 2 CPU cores."""
    params = tuple(
        ParamSpec(p.key, "categorical", values=SMOKE_QUEUE_SIZES) if p.key == "method.queue_size" else p
        for p in space.params
    )
    points = tuple({**p, "method.queue_size": 128} if "method.queue_size" in p else p for p in space.points)
    budget = space.budget | {"num_samples": 2, "max_concurrent": 2, "grace_evals": 2}
    return dataclasses.replace(
        space, params=params, points=points, budget=budget, resources={**space.resources, "cpu": 1.0}
    )


def plan(args: argparse.Namespace) -> tuple[runner.TunerSpec, Any]:
    """Everything checked and resolved before Ray starts (raises PreflightError)."""
    space = resolve_config_or_fail(load_space, args.space)
    if args.smoke:
        space = smoke_space(space)
    storage = check_storage(Path(args.storage))
    check_address(args.address)
    overrides = (SMOKE_OVERRIDES if args.smoke else {}) | path_overrides(args, storage)
    if args.teacher:
        overrides["distill.teacher"] = args.teacher
    cfg = absolute_paths(resolve_config_or_fail(space.base_config, overrides))
    for point in space.points:  # every trial's config must be valid, not only the base
        resolve_config_or_fail(space.base_config, overrides | point)
    check_sts(cfg)
    resources = trial_resources(space.resources, args)
    num_samples = args.num_samples or space.budget["num_samples"]
    seed = cfg.optim.seed
    name = args.experiment or f"sweep-{space.size or space.path.stem}" + ("-smoke" if args.smoke else "")
    fingerprint = {
        "kind": "sweep",
        "space": {p.key: p.describe() for p in space.params},
        "points": [dict(p) for p in space.points],
        "base": fingerprint_config(cfg),
        "num_samples": num_samples,
        "budget": space.budget,
    }
    tracking_uri = args.tracking_uri or tracking.default_tracking_uri(storage)
    exp = Experiment(name, storage, tracking_uri, fingerprint)
    exp.open(args.resume)
    meta = trial_meta("sweep", space.size, tracking_uri, args, resources)
    spec = runner.TunerSpec(
        kind="sweep",
        experiment=exp,
        param_space={"sct_base": config_to_dict(cfg), "sct_meta": meta},
        resources=resources,
        metric=space.metric,
        num_samples=num_samples,
        max_concurrent=args.max_concurrent or space.budget["max_concurrent"],
        space=space,
        sampler_seed=seed,
    )
    return spec, cfg


def print_plan(spec: runner.TunerSpec, cfg: Any) -> None:
    exp, space = spec.experiment, spec.space
    assert space is not None
    print(f"sweep {exp.name}: {spec.num_samples} trials, at most {spec.max_concurrent} at once")
    print(f"search space ({space.path}):")
    for p in space.params:
        print(f"  {p.key}: {p.describe()}")
    for point in space.points:
        print(f"  first trial (points_to_evaluate): {point}")
    print(
        f"metric: {spec.metric} (max); ASHA grace {space.budget['grace_evals']} evals, "
        f"reduction {space.budget['reduction_factor']}"
    )
    print(
        f"resources per trial: cpu {spec.resources['cpu']:g}, gpu {spec.resources['gpu']:g} "
        "(CPU only when no GPU is present)"
    )
    print(f"experiment dir: {exp.path}")
    print(f"tracking uri: {exp.tracking_uri}")
    for key in ("model.name", "data.train", "data.cache_dir", "eval.sts_dir", "distill.teacher"):
        print(f"  {key}: {flatten(cfg)[key]}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        spec, cfg = plan(args)
        if args.dry_run:
            print_plan(spec, cfg)
            return 0
        assert spec.space is not None
        tags = {
            "sct.kind": "sweep",
            "sct.size": str(spec.space.size),
            "sct.space_keys": ",".join(p.key for p in spec.space.params),
        }
        runner.launch(spec, [cfg], tags, args.address)
    except PreflightError as err:
        print(f"sct.sweep: error: {err}", file=sys.stderr)
        return 2
    exp = spec.experiment
    grid = runner.fit(spec, args.resume)
    if runner.interrupted(grid, spec):
        return 130
    failed = runner.failures(grid)
    runner.close_runs(exp, failed)
    failed += sweep_summary.summarise(spec, grid, args.seeds)
    return runner.end_parent(exp, failed)


if __name__ == "__main__":
    sys.exit(main())
