"""The paper's model sizes and their Table 1 hyperparameters.

A preset is a set of flat overrides applied over the dataclass defaults of :mod:`sct.config`, before any
YAML file or ``--set`` override. The hub ids are the defaults users get; offline, pass a local directory as
``model.name`` (a config-only directory builds a randomly initialised student of that shape).
"""

from __future__ import annotations

from typing import Any

from sct.errors import UserError

# size: (hub id, lr, k, tau_ref, tau_online) — Table 1 of Limkonchotiwat et al. (2023).
_TABLE1: dict[str, tuple[str, float, int, float, float]] = {
    "bert-tiny": ("google/bert_uncased_L-2_H-128_A-2", 5e-4, 131072, 0.03, 0.04),
    "bert-mini": ("google/bert_uncased_L-4_H-256_A-4", 3e-4, 131072, 0.01, 0.03),
    "bert-small": ("google/bert_uncased_L-4_H-512_A-8", 3e-4, 65536, 0.02, 0.03),
    "bert-base": ("bert-base-uncased", 5e-4, 65536, 0.04, 0.05),
    "bert-large": ("bert-large-uncased", 5e-4, 16384, 0.04, 0.05),
}

SIZES: tuple[str, ...] = tuple(_TABLE1)


def size_overrides(size: str) -> dict[str, Any]:
    """Flat config overrides (``section.key`` → value) for one of :data:`SIZES`."""
    if size not in _TABLE1:
        raise UserError(f"unknown model size {size!r}: allowed {list(SIZES)}")
    hub_id, lr, k, tau_ref, tau_online = _TABLE1[size]
    return {
        "model.name": hub_id,
        "optim.lr": lr,
        "method.queue_size": k,
        "method.tau_ref": tau_ref,
        "method.tau_online": tau_online,
    }


def size_of(model_name: str) -> str | None:
    """The size name whose hub id is ``model_name`` (or which ``model_name`` is), else None."""
    if model_name in _TABLE1:
        return model_name
    for size, row in _TABLE1.items():
        if row[0] == model_name:
            return size
    return None


# Table 2 of Limkonchotiwat et al. (2023): SCT's Spearman x 100, verbatim. 7-STS averages per size, for
# fine-tuning (SCT alone) and for distillation from BERT-Large-SimCSE (the teacher's own average: 78.41);
# per task only where the paper's numbers were transcribed (fine-tuning, BERT-Tiny and BERT-Small).
PAPER_FINETUNE_AVG: dict[str, float] = {
    "bert-tiny": 69.73,
    "bert-mini": 69.59,
    "bert-small": 72.56,
    "bert-base": 75.55,
    "bert-large": 78.16,
}
PAPER_DISTILL_AVG: dict[str, float] = {"bert-tiny": 76.43, "bert-mini": 77.58, "bert-small": 78.16, "bert-base": 79.58}
PAPER_TEACHER = ("BERT-Large-SimCSE", 78.41)
_TASKS = ("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")  # sct.config.STS_TASKS, in order
PAPER_FINETUNE_TASKS: dict[str, dict[str, float]] = {
    "bert-tiny": dict(zip(_TASKS, (70.67, 66.68, 66.76, 77.66, 70.62, 71.79, 63.95), strict=True)),
    "bert-small": dict(zip(_TASKS, (70.98, 69.89, 69.50, 81.43, 75.26, 75.33, 65.52), strict=True)),
}


def paper_scores(size: str | None, distill: bool) -> dict[str, float]:
    """The paper's Table 2 scores of SCT for ``size``: ``{task: score}`` where known, plus ``"avg"``.

    Empty for an unknown size (a custom model): callers print "n/a" beside ours."""
    if size is None:
        return {}
    if distill:
        return {"avg": PAPER_DISTILL_AVG[size]} if size in PAPER_DISTILL_AVG else {}
    out = dict(PAPER_FINETUNE_TASKS.get(size, {}))
    if size in PAPER_FINETUNE_AVG:
        out["avg"] = PAPER_FINETUNE_AVG[size]
    return out


def paper_best_queue_size(size: str | None) -> int | None:
    """The queue size k of Table 1 for ``size`` (the paper's best k in Figure 4), None for a custom model."""
    return _TABLE1[size][2] if size in _TABLE1 else None
