"""Planning an ablation grid before Ray starts: rows × seeds over a base config, the experiment and its spec.

The base config is the size's Table 1 point, or the best trial of a finished sweep (``--from-sweep``, read
from MLflow). Every row's config is resolved here, so a row the config cannot express fails before Ray.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from sct.config import SCTConfig
from sct.config_io import apply_overrides, flatten, resolve_config
from sct.data import paper_data
from sct.data.paper_data import PAPER_DATA
from sct.errors import InputProblems, UserError
from sct.inputs import model_size, model_source, resolve_inputs
from sct.presets import size_of
from sct.tune import vocabulary as V
from sct.tune.experiment import Experiment, fingerprint_config, locate
from sct.tune.plan import preflight
from sct.tune.plan.grids import AblationGrid, load_grid
from sct.tune.plan.options import (
    base_overrides,
    describe_keep,
    describe_resources,
    spec_options,
    trial_payload,
    trial_resources,
)
from sct.tune.plan.row_views import row_views
from sct.tune.plan.spaces import load_space
from sct.tune.plan.spec import ExperimentSpec, GridPlan
from sct.tune.report import from_mlflow


def sweep_best(uri: str, experiment: str) -> dict[str, Any]:
    """The searched keys of the best trial of sweep ``experiment``, from MLflow."""
    found = from_mlflow.sweep_best(uri, experiment)
    if found is None:
        raise UserError(f"--from-sweep {experiment}: no finished trial with a score in MLflow at {uri}")
    return {key: yaml.safe_load(value) for key, value in found[0].items()}


def plan(args: argparse.Namespace) -> tuple[ExperimentSpec, AblationGrid, list[SCTConfig]]:
    grid = load_grid(args.grid)
    if args.rows:
        grid = grid.select([r.strip() for r in args.rows.split(",") if r.strip()])
    if args.seeds < 1:
        raise UserError(f"--seeds {args.seeds}: allowed >= 1")
    storage, tracking_uri = locate(args.storage, args.address, args.tracking_uri)
    base = resolve_config(args.model, args.config)
    if args.from_sweep:
        base = apply_overrides(base, sweep_best(tracking_uri, args.from_sweep), "--from-sweep")
    base = apply_overrides(base, base_overrides(args, storage), "--set")
    try:
        base, found = resolve_inputs(base), None
    except InputProblems as problems:  # the rows are checked too (on the base as given): all problems at once
        found = problems
    teacher = base.distill.teacher or (model_source(args.teacher) if args.teacher else None)
    grid, skipped = preflight.select_available(grid, base, teacher, args.skip_unavailable, found)
    configs = [grid.row_config(base, row.name, teacher) for row in grid.rows]
    size = model_size(base.model.name)  # the shape trained: the paper's numbers of that size
    seeds = [base.optim.seed + i for i in range(args.seeds)]
    label = size_of(args.model) or size or Path(base.model.name).name
    name = args.experiment or f"{grid.name}-{label}" + ("-smoke" if args.smoke else "")
    rows = {row.name: grid.row_overrides(row.name, teacher) for row in grid.rows}
    fingerprint = {"kind": V.ABLATION, "rows": rows, "base": fingerprint_config(base), "seeds": seeds}
    exp = Experiment(name, storage, tracking_uri, fingerprint)
    if not args.dry_run:
        exp.open(args.resume)
    resources = trial_resources(dict(load_space(size).resources) if size else {}, args)
    paper_delta = {row.name: grid.paper_delta(row.name, size) for row in grid.rows}
    payload = trial_payload(exp, V.ABLATION, base, size, resources, rows=rows, paper_delta=paper_delta)
    tags = {V.KIND: V.ABLATION, V.SIZE: str(size), V.GRID: grid.name, V.BASELINE: grid.baseline}
    if skipped:
        tags[V.SKIPPED] = json.dumps(skipped)  # listed by sct.report
    spec = ExperimentSpec(
        experiment=exp,
        payload=payload,
        search=GridPlan(list(rows), seeds),
        resources=resources,
        num_samples=len(rows) * len(seeds),
        max_concurrent=args.max_concurrent or 2,
        tags=tags | {V.ROWS: ",".join(rows)},
        address=args.address,
        **spec_options(args),
    )
    return spec, grid, configs


def print_plan(spec: ExperimentSpec, grid: AblationGrid, configs: list[SCTConfig]) -> None:
    exp, seeds = spec.experiment, spec.search.seeds  # type: ignore[union-attr]
    rows = len(spec.payload.rows)
    print(f"ablation {exp.name} ({grid.path}): {rows} rows x {len(seeds)} seeds = {spec.num_samples} trials")
    views, same = row_views(dict(zip(spec.payload.rows, configs, strict=True)))
    for name, overrides in spec.payload.rows.items():
        delta = spec.payload.paper_delta.get(name)
        shown = f"  views {views[name]}" if name in views else ""
        size = spec.payload.size
        paper = delta if delta is not None else f"n/a ({f'the paper gives none at {size}' if size else 'custom model'})"
        print(f"  {name}: {overrides or '(baseline config)'}  paper Δ {paper}{shown}")
    for name, reason in json.loads(spec.tags.get(V.SKIPPED, "{}")).items():
        print(f"  {name}: SKIPPED (--skip-unavailable): {reason}")
    for line in same:
        print(f"  WARNING: {line}")
    print(f"seeds: {seeds}; at most {spec.max_concurrent} trials at once")
    print(f"resources per trial: {describe_resources(spec.resources)}")
    print(describe_keep(spec.keep_models))
    print(f"experiment dir: {exp.path}")
    print(f"tracking uri: {exp.tracking_uri}")
    for key in ("model.name", "data.train", "data.cache_dir", "eval.sts_dir"):
        print(f"  {key}: {flatten(configs[0])[key]}")
    if configs[0].data.train == PAPER_DATA:
        print(f"  {paper_data.describe(configs[0])}")
