"""Which trial models an experiment keeps once it has ended (``--keep-models``), and the deletion of the rest.

By default every finished trial keeps its exported model (``<storage>/<exp>/trials/<id>/model``), so any row or
configuration can be re-evaluated later; at BERT-Base size an ablation grid of 22 rows x 2 seeds keeps ~19 GB.
``--keep-models best`` keeps one model per group once the experiment has ended: a sweep is one group (its
best trial, whose model is also ``<exp>/best_model``, a hard link that costs no extra disk), an ablation has one
group per row (the row's best seed). Every other trial's ``model/`` is deleted; metrics, configs, the
results tables and the MLflow runs stay. Nothing is deleted when the experiment was interrupted or a trial
crashed (a ``--resume`` may still need them).

A trial ASHA stopped early never trains again: like a finished one, it keeps its best model and drops its
resumable state (:func:`retire`), as soon as it ended, or at the end of the experiment if its worker still
held the directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sct.checkpoint import MODEL_DIR, drop_states
from sct.errors import UserError
from sct.metrics import EVAL_KEYS
from sct.storage import DirLock, disk_usage, write_json
from sct.tune.run.trial import STOPPED_FILE

if TYPE_CHECKING:  # the driver's flags import this module; the outcome module imports the driver
    from sct.tune.run.trial_ends import Outcome, TrialEnd

KeepModels = Literal["all", "best"]
KEEP_MODELS: tuple[str, ...] = ("all", "best")


def kept_trials(outcome: Outcome) -> set[str]:
    """Ids of the trials whose model ``best`` keeps: per group (ablation row, or the whole sweep) the trial
    :attr:`Outcome.best` picks, so the sweep keeps exactly the model logged as its best."""
    from sct.tune.run.trial_ends import Outcome  # here: the outcome module imports the driver, which imports this one

    groups: dict[object, list[TrialEnd]] = {}
    for trial in outcome.trials:
        groups.setdefault(trial.config.get("row"), []).append(trial)
    best = (Outcome(group).best for group in groups.values())
    return {trial.trial_id for trial in best if trial is not None}


def prune_models(trials_root: Path, outcome: Outcome, keep: KeepModels) -> tuple[int, int]:
    """Delete the models ``keep`` does not keep, of every trial directory under ``trials_root`` (seed re-runs
    included); returns (models deleted, bytes freed). A no-op for ``all``, after an interruption or a crash."""
    if keep == "all" or outcome.interrupted or outcome.crashed:
        return 0, 0
    kept = kept_trials(outcome)
    deleted, freed = 0, 0
    for model in sorted(trials_root.glob(f"*/{MODEL_DIR}")):
        if model.parent.name in kept or not model.is_dir():
            continue
        size = disk_usage(model)
        shutil.rmtree(model)
        deleted, freed = deleted + 1, freed + size
    return deleted, freed


def retire(run_dir: Path, last: dict[str, Any]) -> None:
    """A trial the scheduler stopped: it records its last evaluation (:data:`STOPPED_FILE`; handed to Ray
    again after Ray's state was lost, it reports that and trains no more), keeps its model and drops its
    resumable state (:func:`drop_state`)."""
    if run_dir.is_dir():
        write_json(run_dir / STOPPED_FILE, {k: last[k] for k in EVAL_KEYS if k in last})
    drop_state(run_dir)


def drop_state(run_dir: Path) -> bool:
    """Delete the resumable state of a trial that will not train again, once no process trains in ``run_dir``
    (its lock is free); its model and metrics stay. False when a process still holds the directory."""
    if not run_dir.is_dir():
        return True
    try:
        with DirLock(run_dir, "trial"):
            drop_states(run_dir)
    except UserError:
        return False
    return True
