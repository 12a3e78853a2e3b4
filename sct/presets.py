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


def paper_best_queue_size(size: str | None) -> int | None:
    """The queue size k of Table 1 for ``size`` (the paper's best k in Figure 4), None for a custom model."""
    return _TABLE1[size][2] if size in _TABLE1 else None
