"""The Ray Tune function trainable: one SCT training run per trial, its state under ``--storage``.

A trial's config has the typed :class:`TrialPayload` under ``"sct"`` (the resolved base config, all paths
absolute, and where trials live) and the trial's own choices: flat config keys and the study's trial number
from the searcher (``"optim.lr": 3e-4``, ``"trial": 3``) or, for grids, ``row`` and ``seed``. Those choices
name the trial (:func:`trial_key`: ``t03``, ``contrastive-s43``), not Ray's trial id, which changes when Ray
starts the trial again in a new experiment session. The trial trains with :func:`sct.trainer.train` in
``<experiment>/trials/<key>/`` — the same path on every node, outside Ray's session directory — so a retried
worker, a restored driver or a new Ray session continues from the run's newest valid state. Ray receives
only a tiny checkpoint (the step and the state's path) when a state was written. MLflow is written by the
driver (:mod:`sct.tune.tracking`), never here.

Deterministic failures are results, not crashes: a diverged run (NaN/inf loss) or an invalid config ends the
trial normally with :data:`FAILURE` in its last result, so Ray does not retry it and the searcher is told the
trial failed. Anything else raises, and Ray retries the trial from its state (worker death, lost node).
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sct import metrics as M
from sct.config import SCTConfig
from sct.config_io import apply_overrides, config_from_dict
from sct.inputs import inputs_key, mark_resolved
from sct.tune.plan.spec import TrialPayload
from sct.tune.tracking.names import trial_label
from sct.tune.vocabulary import DIVERGED, DONE, FAILURE, FAILURE_REASON, INVALID, TRIAL_NUMBER

STOPPED_FILE = "stopped.json"  # in a trial's directory: its last evaluation, once the scheduler stopped it


def trial_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """The flat config keys this trial changes: Optuna's choices, or the grid row and seed."""
    payload = TrialPayload.of(config)
    out = {k: v for k, v in config.items() if "." in k}
    if "row" in config:
        out |= payload.rows[config["row"]]
    if "seed" in config:
        out["optim.seed"] = int(config["seed"])
    return out


def trial_key(config: dict[str, Any]) -> str:
    """The trial's name in its experiment, the same for every attempt, driver and Ray session: ``t03`` for the
    sweep's study trial 3, ``<row>-s<seed>`` for a grid cell. It names the trial's directory and MLflow run."""
    if TRIAL_NUMBER in config:
        return trial_label(int(config[TRIAL_NUMBER]))
    return f"{config['row']}-s{int(config['seed'])}"


def trial_dir(config: dict[str, Any]) -> Path:
    return Path(TrialPayload.of(config).trials_root) / trial_key(config)


def trial_config(config: dict[str, Any]) -> SCTConfig:
    """The resolved config of one trial, writing into its directory under the experiment.

    The base was resolved by the driver: a trial that changes none of its inputs is marked resolved, so
    ``train`` does not resolve and check them again; one that does (a grid row's teacher) is resolved there."""
    base = config_from_dict(TrialPayload.of(config).base, "sct_base")
    cfg = apply_overrides(base, trial_overrides(config), "trial")
    cfg = apply_overrides(cfg, {"run.output_dir": str(trial_dir(config))}, "trial")
    return mark_resolved(cfg) if inputs_key(cfg) == inputs_key(base) else cfg


def resolve_train_fn(spec: str) -> Callable[..., dict[str, float]]:
    """``"package.module:function"`` → the function (the real trainer, or a stand-in in tests)."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def sct_trainable(config: dict[str, Any]) -> None:
    """Tune entry point (function API): train one trial, reporting each evaluation to Tune."""
    import torch
    from ray import tune
    from transformers.utils import logging as hf_logging

    from sct.checkpoint import state_dirs
    from sct.errors import UserError
    from sct.run_dir import METRICS_FILE
    from sct.storage import read_json, write_json

    hf_logging.disable_progress_bar()  # trial output is forwarded to the driver's terminal: no bars
    payload = TrialPayload.of(config)
    torch.set_num_threads(max(1, int(payload.cpus)))
    run_dir = trial_dir(config)
    if (run_dir / STOPPED_FILE).is_file():  # stopped early before, handed out again: report it, train no more
        tune.report(read_json(run_dir / STOPPED_FILE))
        return
    resume = bool(state_dirs(run_dir)) or (run_dir / METRICS_FILE).is_file()

    def report(step: int, metrics: dict[str, float], state_dir: Path | None) -> None:
        if state_dir is None:
            tune.report(dict(metrics))
            return
        with tempfile.TemporaryDirectory(prefix="sct-ray-ckpt-") as tmp:
            write_json(Path(tmp) / "state.json", {M.STEP: step, "state": str(state_dir)})
            tune.report(dict(metrics), checkpoint=tune.Checkpoint.from_directory(tmp))

    train = resolve_train_fn(payload.train_fn)
    try:
        cfg = trial_config(config)
        result = train(cfg, report, resume=resume, overwrite=True, show_progress=False)  # Ray logs: no bars
    except FloatingPointError as err:
        tune.report({FAILURE: DIVERGED, FAILURE_REASON: str(err)})
        return
    except UserError as err:
        tune.report({FAILURE: INVALID, FAILURE_REASON: str(err)})
        return
    tune.report({**result, DONE: 1.0})
