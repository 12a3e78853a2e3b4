"""What ``--smoke`` changes, in one place: the set-up of a sweep or ablation checked in minutes on 2 CPU cores.

A smoke run trains a few steps on a little data with a small queue (:data:`SMOKE_OVERRIDES`, under every
config flag), runs its trials on one CPU each (:data:`SMOKE_TRIAL_CPUS`, under the resource flags), and a
sweep searches a tiny queue range with two trials (:func:`smoke_space`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sct.tune.plan.spaces import Estimate, ParamSpec, SearchSpace

SMOKE_QUEUE_SIZE = 128
SMOKE_QUEUE_SIZES = (64, SMOKE_QUEUE_SIZE, 256)
SMOKE_OVERRIDES: dict[str, Any] = {
    "optim.max_steps": 6,
    "optim.batch_size": 16,
    "eval.every_steps": 2,
    "data.max_examples": 256,
    "method.queue_size": SMOKE_QUEUE_SIZE,
}
SMOKE_TRIAL_CPUS = 1.0
SMOKE_BUDGET = {"num_samples": 2, "max_concurrent": 2, "grace_evals": 2}


def smoke_space(space: SearchSpace) -> SearchSpace:
    """``space`` with the smoke queue range and budget; its fixed points use the smoke queue size."""
    params = tuple(
        ParamSpec(p.key, "categorical", values=SMOKE_QUEUE_SIZES) if p.key == "method.queue_size" else p
        for p in space.params
    )
    points = tuple(
        {**p, "method.queue_size": SMOKE_QUEUE_SIZE} if "method.queue_size" in p else p for p in space.points
    )
    return dataclasses.replace(
        space, params=params, points=points, budget=space.budget | SMOKE_BUDGET, estimate=Estimate()
    )
