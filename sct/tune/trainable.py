"""The Ray Tune function trainable: one SCT training run per trial (issue 3, §2 and §4).

A trial's config has three parts: ``sct_base`` (the resolved base config, nested, all paths absolute),
``sct_meta`` (tracking URI, parent run, variant rows, trainer entry point) and the trial's own choices —
flat config keys from Optuna (``"optim.lr": 3e-4``) or, for ablation grids, ``row`` and ``seed``. The trial
rebuilds an :class:`~sct.config.SCTConfig`, trains in its own directory with :func:`sct.trainer.train`,
reports every evaluation to Tune (a checkpoint only when the dev score improved) and mirrors it to its MLflow
child run. Nothing here assumes the driver's machine: paths are absolute, checkpoints travel through Ray's
storage and the run id travels inside the checkpoint.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.config_io import apply_overrides, config_from_dict, flatten
from sct.tune.tracking import RUN_ID_FILE, TrialRun, library_versions

DEFAULT_TRAIN_FN = "sct.trainer:train"


def trial_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """The flat config keys this trial changes: Optuna's choices, or the ablation row and seed."""
    meta = config["sct_meta"]
    out = {k: v for k, v in config.items() if "." in k}
    if "row" in config:
        out |= meta["rows"][config["row"]]
    if "seed" in config:
        out["optim.seed"] = int(config["seed"])
    return out


def trial_config(config: dict[str, Any], output_dir: str | Path) -> SCTConfig:
    """The resolved config of one trial, writing into ``output_dir``."""
    cfg = config_from_dict(config["sct_base"], "sct_base")
    cfg = apply_overrides(cfg, trial_overrides(config), "trial")
    return apply_overrides(cfg, {"run.output_dir": str(Path(output_dir).resolve())}, "trial")


def resolve_train_fn(spec: str) -> Callable[..., dict[str, float]]:
    """``"package.module:function"`` → the function (the real trainer, or a stand-in in tests)."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def trial_tags(config: dict[str, Any], cfg: SCTConfig) -> dict[str, str]:
    meta = config["sct_meta"]
    variant = str(config.get("row", "sweep"))
    delta = meta.get("paper_delta", {}).get(variant)
    tags = {
        "sct.kind": meta["kind"],
        "sct.variant": variant,
        "sct.seed": str(cfg.optim.seed),
        "sct.size": str(meta.get("size") or "custom"),
        "sct.paper_delta": "" if delta is None else f"{delta:g}",
        "git.commit": meta.get("git_commit", "unknown"),
    }
    return tags | library_versions()


def _restore(trial_dir: Path) -> tuple[Path | None, str | None]:
    """The checkpoint Tune hands back to a resumed/retried trial, copied locally, and its MLflow run id."""
    from ray import tune

    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None, None
    local = Path(checkpoint.to_directory(str(trial_dir / "resume_from")))
    run_file = local / RUN_ID_FILE
    return local, run_file.read_text(encoding="utf-8").strip() if run_file.is_file() else None


def sct_trainable(config: dict[str, Any]) -> None:
    """Tune entry point (function API): train one trial, report each evaluation, close its MLflow run."""
    import torch
    from ray import tune

    meta = config["sct_meta"]
    context = tune.get_context()
    trial_dir = Path(context.get_trial_dir()).resolve()
    trial_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, int(meta.get("cpus_per_trial", 1))))
    cfg = trial_config(config, trial_dir / "run")
    resume_from, run_id = _restore(trial_dir)
    run = TrialRun.open(
        meta,
        context.get_trial_id(),
        context.get_trial_name(),
        run_id=run_id,
        tags=trial_tags(config, cfg),
        params=flatten(cfg),
    )
    last_step = 0

    def report(step: int, metrics: dict[str, float], checkpoint_dir: Path | None) -> None:
        nonlocal last_step
        last_step = int(step)
        run.log_eval(metrics, step)
        if checkpoint_dir is None:
            tune.report(dict(metrics))
            return
        (Path(checkpoint_dir) / RUN_ID_FILE).write_text(run.run_id, encoding="utf-8")
        tune.report(dict(metrics), checkpoint=tune.Checkpoint.from_directory(str(checkpoint_dir)))

    train = resolve_train_fn(meta.get("train_fn", DEFAULT_TRAIN_FN))
    try:
        result = train(cfg, report, resume_from=resume_from, show_progress=False)  # Ray logs: no bars
    except SystemExit:  # Tune stopped the trial inside tune.report (ASHA): not a failure
        run.stopped()
        raise
    except Exception:
        run.fail(traceback.format_exc())
        raise
    run.finish(result, max(last_step, int(result.get("steps", last_step))))
    tune.report({**result, "mlflow_run_id": run.run_id, "done_training": 1.0})
