"""``python -m sct.ablate GRID --model SIZE``: an ablation grid (rows × seeds) on Ray Tune, tracked in MLflow.

GRID is ``table4``, ``table6``, ``table7``, ``queue_size`` or a YAML path. The base config is the size's
Table 1 point, or the best trial of a finished sweep (``--from-sweep EXPERIMENT``, read from MLflow). Rows run
as one ``Tuner`` with ``grid_search`` over rows × seeds, no early stopping. Exit code 0 only when no trial
errored; 2 for bad input found before Ray starts (issue 3, §3).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from sct.config_io import apply_overrides, config_to_dict, flatten, resolve_config
from sct.presets import size_of
from sct.tune import finish, preflight, results, runner, tracking
from sct.tune.driver import (
    SMOKE_OVERRIDES,
    Experiment,
    PreflightError,
    absolute_model,
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
from sct.tune.grids import AblationGrid, load_grid
from sct.tune.spaces import load_space


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sct.ablate", description=__doc__.splitlines()[0])
    parser.add_argument("grid", help="table4, table6, table7, queue_size or an ablation YAML file")
    parser.add_argument("--model", required=True, help="a size (bert-tiny …) or a model id/path")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per row (default 3)")
    parser.add_argument("--rows", help="comma-separated subset of rows to run")
    parser.add_argument("--from-sweep", metavar="EXPERIMENT", help="take the best config of a finished sweep")
    parser.add_argument(
        "--skip-unavailable",
        action="store_true",
        help="run the rows whose inputs exist here; skip (and record) rows missing a model, WordNet or data",
    )
    add_common_args(parser)
    return parser


def sweep_best(uri: str, experiment: str) -> dict[str, Any]:
    """The searched keys of the best trial of sweep ``experiment``, from MLflow."""
    experiment_id, parent = results.find_parent(uri, experiment)
    keys = [k for k in parent.data.tags.get("sct.space_keys", "").split(",") if k]
    runs = [r for r in tracking.child_runs(uri, experiment_id, parent.info.run_id) if "best_stsb_dev" in r.data.metrics]
    if not runs or not keys:
        raise PreflightError(f"--from-sweep {experiment}: no finished trial with a score in MLflow at {uri}")
    best = max(runs, key=lambda r: r.data.metrics["best_stsb_dev"])
    return {key: yaml.safe_load(best.data.params[key]) for key in keys if key in best.data.params}


def plan(args: argparse.Namespace) -> tuple[runner.TunerSpec, AblationGrid, list[Any]]:
    grid = resolve_config_or_fail(load_grid, args.grid)
    if args.rows:
        grid = resolve_config_or_fail(grid.select, [r.strip() for r in args.rows.split(",") if r.strip()])
    if args.seeds < 1:
        raise PreflightError(f"--seeds {args.seeds}: allowed >= 1")
    storage = check_storage(Path(args.storage))
    check_address(args.address)
    tracking_uri = args.tracking_uri or tracking.default_tracking_uri(storage)
    base = resolve_config_or_fail(resolve_config, args.model)
    if args.from_sweep:
        base = resolve_config_or_fail(apply_overrides, base, sweep_best(tracking_uri, args.from_sweep), "--from-sweep")
    overrides = (SMOKE_OVERRIDES if args.smoke else {}) | path_overrides(args, storage)
    base = absolute_paths(resolve_config_or_fail(apply_overrides, base, overrides, "--set"))
    teacher = absolute_model(args.teacher, "--teacher") if args.teacher else None
    grid, skipped = resolve_config_or_fail(preflight.select_available, grid, base, teacher, args.skip_unavailable)
    configs = [resolve_config_or_fail(grid.row_config, base, row.name, teacher) for row in grid.rows]
    check_sts(base)
    size = size_of(args.model) or size_of(base.model.name)
    seeds = [base.optim.seed + i for i in range(args.seeds)]
    name = args.experiment or f"{grid.name}-{size or Path(base.model.name).name}" + ("-smoke" if args.smoke else "")
    rows = {row.name: grid.row_overrides(row.name, teacher) for row in grid.rows}
    fingerprint = {"kind": "ablation", "rows": rows, "base": fingerprint_config(base), "seeds": seeds}
    exp = Experiment(name, storage, tracking_uri, fingerprint)
    exp.open(args.resume)
    resources = dict(load_space(size).resources) if size else {"cpu": 1.0, "gpu": 0.0}
    if args.smoke:
        resources["cpu"] = 1.0
    resources = trial_resources(resources, args)
    meta = trial_meta("ablation", size, tracking_uri, args, resources)
    meta["rows"] = rows
    meta["paper_delta"] = {row.name: grid.paper_delta(row.name, size) for row in grid.rows}
    meta["skipped"] = skipped
    spec = runner.TunerSpec(
        kind="ablation",
        experiment=exp,
        param_space={
            "sct_base": config_to_dict(base),
            "sct_meta": meta,
            "row": {"grid_search": list(rows)},  # what tune.grid_search builds, without importing Ray
            "seed": {"grid_search": seeds},
        },
        resources=resources,
        metric="best_stsb_dev_spearman",
        num_samples=len(rows) * len(seeds),
        max_concurrent=args.max_concurrent or 2,
    )
    return spec, grid, configs


def print_plan(spec: runner.TunerSpec, grid: AblationGrid, configs: list[Any]) -> None:
    exp, meta = spec.experiment, spec.param_space["sct_meta"]
    print(
        f"ablation {exp.name} ({grid.path}): {len(meta['rows'])} rows x "
        f"{len(spec.param_space['seed']['grid_search'])} seeds = {spec.num_samples} trials"
    )
    for name, overrides in meta["rows"].items():
        delta = meta["paper_delta"].get(name)
        print(f"  {name}: {overrides or '(baseline config)'}  paper Δ {'n/a' if delta is None else delta}")
    for name, reason in meta.get("skipped", {}).items():
        print(f"  {name}: SKIPPED (--skip-unavailable): {reason}")
    print(f"seeds: {spec.param_space['seed']['grid_search']}; at most {spec.max_concurrent} trials at once")
    print(f"resources per trial: cpu {spec.resources['cpu']:g}, gpu {spec.resources['gpu']:g}")
    print(f"experiment dir: {exp.path}")
    print(f"tracking uri: {exp.tracking_uri}")
    for key in ("model.name", "data.train", "data.cache_dir", "eval.sts_dir"):
        print(f"  {key}: {flatten(configs[0])[key]}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        spec, grid, configs = plan(args)
        if args.dry_run:
            print_plan(spec, grid, configs)
            return 0
        tags = {"sct.kind": "ablation", "sct.size": str(spec.param_space["sct_meta"]["size"]), "sct.grid": grid.name}
        tags |= {"sct.rows": ",".join(r.name for r in grid.rows), "sct.baseline": grid.baseline}
        skipped = spec.param_space["sct_meta"]["skipped"]
        tags |= {"sct.skipped": json.dumps(skipped)} if skipped else {}  # listed by sct.report
        runner.launch(spec, configs, tags, args.address)
    except PreflightError as err:
        print(f"sct.ablate: error: {err}", file=sys.stderr)
        return 2
    exp = spec.experiment
    result_grid = runner.fit(spec, args.resume)
    if runner.interrupted(result_grid, spec):
        return 130
    failed = runner.failures(result_grid)
    runner.close_runs(exp, failed)
    meta = spec.param_space["sct_meta"]
    queue_sizes = None
    if all(list(o) == ["method.queue_size"] for o in meta["rows"].values()):
        queue_sizes = {name: int(o["method.queue_size"]) for name, o in meta["rows"].items()}
    order = [r.name for r in grid.rows]
    finish.ablation_outputs(exp, order, grid.baseline, meta["paper_delta"], kind="ablation", queue_sizes=queue_sizes)
    return runner.end_parent(exp, failed)


if __name__ == "__main__":
    sys.exit(main())
