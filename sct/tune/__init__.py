"""Ray Tune + Optuna + MLflow adapter for SCT, by phase: :mod:`~sct.tune.plan` (before Ray starts),
:mod:`~sct.tune.experiment` (where an experiment lives), :mod:`~sct.tune.run` (the Tuner and its trials, the only
part that imports Ray), :mod:`~sct.tune.report` (tables, statistics, plots) and :mod:`~sct.tune.tracking` (MLflow);
:mod:`~sct.tune.vocabulary` holds the words they share.

Ray, Optuna, MLflow and matplotlib are imported lazily inside the functions that need them, so the YAML
validation (:mod:`sct.tune.plan.spaces`, :mod:`sct.tune.plan.grids`) and ``--dry-run`` work without them. The
command lines are :mod:`sct.sweep`, :mod:`sct.ablate` and :mod:`sct.report`.
"""

from sct.tune.plan.grids import AblationGrid, GridRow, load_grid
from sct.tune.plan.spaces import ParamSpec, SearchSpace, load_space

__all__ = ["AblationGrid", "GridRow", "ParamSpec", "SearchSpace", "load_grid", "load_space"]
