"""The plan of one experiment, what the planners hand to the run: the Tuner's spec and the trials' payload."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sct.tune.experiment import Experiment
from sct.tune.plan.spaces import SearchSpace

KeepModels = Literal["all", "best"]
KEEP_MODELS: tuple[str, ...] = ("all", "best")


@dataclass(frozen=True)
class TrialPayload:
    """What every trial of an experiment reads (one typed object instead of a dict of magic keys)."""

    base: dict[str, Any]  # the resolved base config, nested, all paths absolute
    kind: str  # SWEEP | ABLATION | SEEDS (sct.tune.vocabulary)
    trials_root: str  # <storage>/<experiment>/trials
    size: str | None = None
    train_fn: str = "sct.trainer:train"
    cpus: float = 1.0
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # grid row -> flat overrides
    paper_delta: dict[str, float | None] = field(default_factory=dict)

    def to_config(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, config: dict[str, Any]) -> TrialPayload:
        return cls(**config["sct"])


@dataclass(frozen=True)
class OptunaPlan:
    space: SearchSpace
    seed: int


@dataclass(frozen=True)
class GridPlan:
    rows: list[str]
    seeds: list[int]


@dataclass
class ExperimentSpec:
    """Everything needed to build (or restore) one Tuner and to track it."""

    experiment: Experiment
    payload: TrialPayload
    search: OptunaPlan | GridPlan
    resources: dict[str, float]
    num_samples: int
    max_concurrent: int
    tags: dict[str, str] = field(default_factory=dict)
    address: str | None = None
    dashboard: bool = False
    verbose: bool = False
    register: str | None = None  # register the best model under this name
    keep_models: KeepModels = "all"  # trial models kept at the end (sct.tune.run.keep_models)
    live_view: bool = True  # the trial table in the terminal; off in a study's size drivers (one view: the study's)
