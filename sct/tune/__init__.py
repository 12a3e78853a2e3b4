"""Ray Tune + Optuna + MLflow adapter for SCT: search spaces, ablation grids, the trainable, tracking, tables.

Ray, Optuna, MLflow and matplotlib are imported lazily inside the functions that need them, so the YAML
validation (:mod:`sct.tune.plan.spaces`, :mod:`sct.tune.plan.grids`) and ``--dry-run`` work without them. The command
lines are :mod:`sct.sweep`, :mod:`sct.ablate` and :mod:`sct.report`.
"""

from sct.tune.plan.grids import AblationGrid, GridRow, load_grid
from sct.tune.plan.spaces import ParamSpec, SearchSpace, load_space

__all__ = ["AblationGrid", "GridRow", "ParamSpec", "SearchSpace", "load_grid", "load_space"]
