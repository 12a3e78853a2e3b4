"""After a sweep: the best finished trial's config, dev and test scores, its model, the top-trials table, the
Optuna plots, and (``--seeds N``) the best config re-run over N seeds as a grid (mean ± sd)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sct import metrics as M
from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.experiment import Experiment
from sct.tune.plan.spec import ExperimentSpec, GridPlan
from sct.tune.report import plots, publish, tables
from sct.tune.run.trial_ends import Outcome
from sct.tune.run.tuner import fit


def _seed_spec(spec: ExperimentSpec, best_params: dict[str, Any], seeds: int) -> ExperimentSpec:
    exp = spec.experiment
    base_seed = int(spec.payload.base["optim"]["seed"])
    seeds_exp = Experiment(f"{exp.name}-seeds", exp.storage, exp.tracking_uri, {}, dict(exp.state))
    payload = dataclasses.replace(
        spec.payload, kind=V.SEEDS, rows={"best": best_params}, trials_root=str(seeds_exp.trials_root)
    )
    grid = GridPlan(["best"], [base_seed + i for i in range(seeds)])
    return dataclasses.replace(spec, experiment=seeds_exp, payload=payload, search=grid, num_samples=seeds)


def _log_best(spec: ExperimentSpec, outcome: Outcome) -> dict[str, Any] | None:
    exp, best = spec.experiment, outcome.best
    if best is None:
        print("no trial finished: no best trial")
        return None
    keys = [p.key for p in spec.search.space.params]  # type: ignore[union-attr]
    best_params = {k: best.config[k] for k in keys}
    print(f"best trial: {M.PRIMARY} = {best.metrics[M.PRIMARY]:.2f} with {best_params}")
    tests = {k: v for k, v in best.metrics.items() if k.startswith("test_")}
    if tests:
        print("best trial on the STS test sets: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(tests.items())))
    tracking.log_params(exp.mlflow, exp.parent_run_id, {f"best.{k}": v for k, v in best_params.items()})
    tracking.log_metrics(exp.mlflow, exp.parent_run_id, {M.PRIMARY: best.metrics[M.PRIMARY], **tests}, 0)
    publish.log_best_model(exp, best.model_dir, spec.register)
    return best_params


def summarise(spec: ExperimentSpec, outcome: Outcome, seeds: int) -> None:
    """Print and log everything; the seed re-runs' crashes are added to ``outcome``."""
    exp = spec.experiment
    best_params = _log_best(spec, outcome)
    counts = {f"trials_{s}": outcome.count(s) for s in (V.FINISHED, V.STOPPED, V.DIVERGED, V.CRASHED)}
    tracking.log_metrics(exp.mlflow, exp.parent_run_id, counts, 0)
    children = tracking.child_runs(exp.tracking_uri, exp.experiment_id, exp.parent_run_id)
    sweep_runs = [r for r in children if r.data.tags.get(V.KIND) == V.SWEEP]
    keys = [p.key for p in spec.search.space.params]  # type: ignore[union-attr]
    table = tables.sweep_table(keys, sweep_runs, top=10)
    title = f"sweep {exp.name}: the top trials by best STS-B dev (Spearman x 100)"
    publish.log_table(exp, table, title=title, notes=tables.sweep_notes(table))
    tasks = spec.payload.base["eval"]["test_tasks"]  # what ran, for the figures' footer
    publish.log_plots(exp, plots.sweep_plots(exp.path / "optuna.db", exp.name, exp.path / "plots", test_tasks=tasks))
    if seeds <= 0 or best_params is None:
        return
    seed_spec = _seed_spec(spec, best_params, seeds)
    print(f"re-running the best config over {seeds} seeds")
    seed_outcome = Outcome.of(fit(seed_spec, resume=True), seeds, seed_spec.experiment)
    outcome.trials += [t for t in seed_outcome.trials if t.status == V.CRASHED]
    publish.ablation_outputs(exp, ["best"], "best", {}, kind=V.SEEDS)


def summariser(seeds: int) -> Callable[[ExperimentSpec, Outcome], None]:
    return lambda spec, outcome: summarise(spec, outcome, seeds)
