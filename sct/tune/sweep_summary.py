"""After a sweep: the best trial's config, dev score and 7-STS test scores, its model, the top-trials table,
the Optuna plots, and (``--seeds N``) the best config re-run over N seeds as a grid Tuner (mean ± sd)."""

from __future__ import annotations

from typing import Any

from sct.tune import finish, plots, results, runner, tracking
from sct.tune.driver import Experiment


def _seed_spec(spec: runner.TunerSpec, best_params: dict[str, Any], seeds: int) -> runner.TunerSpec:
    from ray import tune

    base_seed = int(spec.param_space["sct_base"]["optim"]["seed"])
    exp = spec.experiment
    seeds_exp = Experiment(f"{exp.name}-seeds", exp.storage, exp.tracking_uri, {}, dict(exp.state))
    meta = spec.param_space["sct_meta"] | {"kind": "seeds", "rows": {"best": best_params}, "paper_delta": {}}
    param_space = {
        "sct_base": spec.param_space["sct_base"],
        "sct_meta": meta,
        "row": tune.grid_search(["best"]),
        "seed": tune.grid_search([base_seed + i for i in range(seeds)]),
    }
    return runner.TunerSpec("seeds", seeds_exp, param_space, spec.resources, spec.metric, seeds, spec.max_concurrent)


def summarise(spec: runner.TunerSpec, grid: Any, seeds: int) -> list[tuple[str, str]]:
    """Print and log everything; returns the failures of the seed re-runs (if any)."""
    exp, space = spec.experiment, spec.space
    assert space is not None
    keys = [p.key for p in space.params]
    best = finish.best_result(grid, spec.metric)
    mlflow = tracking.client(exp.tracking_uri)
    parent_id = exp.state["parent_run_id"]
    if best is None:
        print("no trial reported a score")
    else:
        best_params = {k: best.config[k] for k in keys}
        print(f"best trial: {spec.metric} = {best.metrics[spec.metric]:.2f} with {best_params}")
        tests = {k: v for k, v in best.metrics.items() if k.startswith("test_")}
        if tests:
            print("best trial on the STS test sets: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(tests.items())))
        for key, value in best_params.items():
            tracking.retry(mlflow.log_param, parent_id, f"best.{key}", value)
        tracking.retry(mlflow.log_metric, parent_id, "best_stsb_dev", float(best.metrics[spec.metric]))
        finish.log_best_model(exp, finish.best_checkpoint_dir(best, spec.metric))
    children = tracking.child_runs(exp.tracking_uri, exp.state["experiment_id"], parent_id)
    parent = tracking.retry(mlflow.get_run, parent_id)
    sweep_runs = [r for r in children if r.data.tags.get("sct.kind") == "sweep"]
    finish.log_table(exp, results.sweep_table(parent, sweep_runs, top=10))
    finish.log_plots(exp, plots.sweep_plots(exp.path / "optuna.db", exp.name, exp.path / "plots"))
    if seeds <= 0 or best is None:
        return []
    seed_spec = _seed_spec(spec, best_params, seeds)
    print(f"re-running the best config over {seeds} seeds")
    seed_grid = runner.fit(seed_spec, resume=True)
    failed = runner.failures(seed_grid)
    runner.close_runs(seed_spec.experiment, failed)
    finish.ablation_outputs(exp, ["best"], "best", {}, kind="seeds")
    return failed
