"""After a sweep: the best finished trial's config, dev and test scores, its model, the top-trials table, the
Optuna plots, and (``--seeds N``) the best config re-run over N seeds as a grid (mean ± sd)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sct import metrics as M
from sct.tune import finish, plots, results, tracking
from sct.tune.driver import Experiment
from sct.tune.outcome import Outcome
from sct.tune.runner import ExperimentSpec, GridPlan, fit


def _seed_spec(spec: ExperimentSpec, best_params: dict[str, Any], seeds: int) -> ExperimentSpec:
    exp = spec.experiment
    base_seed = int(spec.payload.base["optim"]["seed"])
    seeds_exp = Experiment(f"{exp.name}-seeds", exp.storage, exp.tracking_uri, {}, dict(exp.state))
    payload = dataclasses.replace(
        spec.payload, kind="seeds", rows={"best": best_params}, trials_root=str(seeds_exp.trials_root)
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
    mlflow, parent_id = tracking.client(exp.tracking_uri), exp.state["parent_run_id"]
    tracking.log_params(mlflow, parent_id, {f"best.{k}": v for k, v in best_params.items()})
    tracking.log_metrics(mlflow, parent_id, {M.PRIMARY: best.metrics[M.PRIMARY], **tests}, 0)
    finish.log_best_model(exp, best.model_dir, spec.register)
    return best_params


def summarise(spec: ExperimentSpec, outcome: Outcome, seeds: int) -> None:
    """Print and log everything; the seed re-runs' crashes are added to ``outcome``."""
    exp = spec.experiment
    best_params = _log_best(spec, outcome)
    mlflow, parent_id = tracking.client(exp.tracking_uri), exp.state["parent_run_id"]
    counts = {f"trials_{s}": outcome.count(s) for s in ("finished", "stopped", "diverged", "crashed")}
    tracking.log_metrics(mlflow, parent_id, counts, 0)
    children = tracking.child_runs(exp.tracking_uri, exp.state["experiment_id"], parent_id)
    sweep_runs = [r for r in children if r.data.tags.get("sct.kind") == "sweep"]
    table = results.sweep_table(mlflow.get_run(parent_id), sweep_runs, top=10)
    finish.log_table(exp, table, notes=results.sweep_notes(table))
    finish.log_plots(exp, plots.sweep_plots(exp.path / "optuna.db", exp.name, exp.path / "plots"))
    if seeds <= 0 or best_params is None:
        return
    seed_spec = _seed_spec(spec, best_params, seeds)
    print(f"re-running the best config over {seeds} seeds")
    seed_outcome = Outcome.of(fit(seed_spec, resume=True), seeds, seed_spec.experiment)
    outcome.trials += [t for t in seed_outcome.trials if t.status == "crashed"]
    finish.ablation_outputs(exp, ["best"], "best", {}, kind="seeds")


def summariser(seeds: int) -> Callable[[ExperimentSpec, Outcome], None]:
    return lambda spec, outcome: summarise(spec, outcome, seeds)
