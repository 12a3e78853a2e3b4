"""Which trial models an experiment keeps once it has ended (``--keep-models``), and the deletion of the rest.

By default every finished trial keeps its exported model (``<storage>/<exp>/trials/<id>/model``), so any row or
configuration can be re-evaluated later; at BERT-Base size an ablation grid of 22 rows x 2 seeds keeps ~19 GB.
``--keep-models best`` keeps one model per group once the experiment has ended: a sweep is one group (its
best trial, whose model is also ``<exp>/best_model``, a hard link that costs no extra disk), an ablation has one
group per row (the row's best seed). Every other trial's ``model/`` is deleted; metrics, configs, the
results tables and the MLflow runs stay. Nothing is deleted when the experiment was interrupted or a trial
crashed (a ``--resume`` may still need them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sct.checkpoint import MODEL_DIR
from sct.storage import disk_usage
from sct.tune.plan.spec import KeepModels
from sct.tune.run.trial_ends import Outcome, TrialEnd


def kept_trials(outcome: Outcome) -> set[str]:
    """Ids of the trials whose model ``best`` keeps: per group (ablation row, or the whole sweep) the trial
    :attr:`Outcome.best` picks, so the sweep keeps exactly the model logged as its best."""
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
