"""Search-space YAML files (``search_spaces/<size>.yaml``): schema, validation and name resolution.

A file holds, for one model size, the base config overrides, the Optuna space over flat config keys
(``optim.lr``, ``method.queue_size``, ``method.tau_ref``, ``method.tau_online``), the metric, the paper's
Table 1 point (evaluated first), the budget and the per-trial resources. The file's layout is the
:class:`SpaceFile` schema, read through :func:`sct.config_io.coerce_dataclass`: a bad file raises ``UserError``
naming the file, the key and the value before Ray starts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from sct.checks import check_choice, check_choices, check_ranges, fail
from sct.config import SCTConfig
from sct.config_io import apply_overrides, coerce_dataclass, coerce_value, load_yaml, resolve_config
from sct.errors import UserError
from sct.presets import SIZES

PACKAGE_DIR = Path(__file__).resolve().parents[2]
Size = Literal[SIZES]  # type: ignore[valid-type]  # the names of sct.presets.SIZES
Distribution = Literal["loguniform", "uniform", "int", "logint", "categorical"]
Metric = Literal["best_stsb_dev"]


def find_spec_file(name: str, folder: str) -> Path:
    """``name`` as a path, else ``./<folder>/<name>.yaml``, else the copy installed under ``sct/<folder>``."""
    as_path = Path(name).expanduser()
    if as_path.is_file():
        return as_path.resolve()
    if as_path.suffix in (".yaml", ".yml") or "/" in name:
        raise UserError(f"{folder} file not found: {as_path}")
    for root in (Path.cwd() / folder, PACKAGE_DIR / folder):
        candidate = root / f"{name}.yaml"
        if candidate.is_file():
            return candidate.resolve()
    known = sorted(p.stem for p in (PACKAGE_DIR / folder).glob("*.yaml"))
    raise UserError(f"unknown {folder} name {name!r}: allowed {known} or a path to a YAML file")


@dataclass(frozen=True)
class ParamSpec:
    """One searched config key (file: ``space.<key>``): a distribution with bounds, or categorical values."""

    key: str
    distribution: Distribution
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        where = f"space.{self.key}"
        check_choices(where, self)
        if self.distribution == "categorical":
            if not self.values:
                raise UserError(
                    f"key '{where}.values' has invalid value {list(self.values)}: expected a non-empty list"
                )
            samples = list(self.values)
        else:
            for name in ("low", "high"):
                value = getattr(self, name)
                if value is None or not math.isfinite(value) or (self.integer and not float(value).is_integer()):
                    fail(f"{where}.{name}", value, "an integer" if self.integer else "a finite number")
            if self.low >= self.high:
                raise UserError(f"key '{where}' has an empty range: low {self.low:g} >= high {self.high:g}")
            if self.distribution in ("loguniform", "logint") and self.low <= 0:
                fail(f"{where}.low", self.low, "> 0 on a log scale")
            samples = [self.low, self.high]
        for value in samples:  # the key exists, the value has the right type and range
            apply_overrides(SCTConfig(), {self.key: value}, where)

    @property
    def integer(self) -> bool:
        return self.distribution in ("int", "logint")

    def to_optuna(self) -> Any:
        import optuna.distributions as od

        if self.distribution == "categorical":
            return od.CategoricalDistribution(list(self.values))
        if self.integer:
            return od.IntDistribution(int(self.low), int(self.high), log=self.distribution == "logint")
        return od.FloatDistribution(self.low, self.high, log=self.distribution == "loguniform")

    def describe(self) -> str:
        if self.distribution == "categorical":
            return f"categorical{list(self.values)}"
        return f"{self.distribution}[{self.low:g}, {self.high:g}]"

    def point(self, where: str, value: Any) -> Any:
        """A start point's value for this key: one of the categorical values, else a number inside the range."""
        if self.distribution == "categorical":
            check_choice(where, value, self.values)
            return value
        number = coerce_value(where, value, int if self.integer else float)
        if not self.low <= number <= self.high:
            fail(where, number, f"inside {self.describe()}")
        return number


@dataclass(frozen=True)
class Budget:
    """Trials, concurrency and the ASHA schedule of a sweep."""

    num_samples: int = 16
    max_concurrent: int = 2
    grace_evals: int = 2
    reduction_factor: int = 3

    def __post_init__(self) -> None:
        rules = {"num_samples": 1, "max_concurrent": 1, "grace_evals": 2, "reduction_factor": 2}
        check_ranges("budget", self, {name: ("ge", low, None) for name, low in rules.items()})


@dataclass(frozen=True)
class Resources:
    """Per-trial resources: CPUs (> 0) and a GPU share (a fraction <= 1 or a whole number)."""

    cpu: float = 1.0
    gpu: float = 0.0

    def __post_init__(self) -> None:
        check_ranges("resources", self, {"cpu": ("gt", 0.0, None), "gpu": ("ge", 0.0, None)})
        if self.gpu > 1 and not self.gpu.is_integer():
            fail("resources.gpu", self.gpu, "a fraction <= 1 or a whole number")


@dataclass(frozen=True)
class Estimate:
    """The file's time estimate (``estimate.minutes_per_trial`` on ``estimate.hardware``): printed by the dry run
    and used by the live view's ETA until the first trial ends; it is no part of a resume's fingerprint."""

    minutes_per_trial: float | None = None
    hardware: str = ""

    def __post_init__(self) -> None:
        check_ranges("estimate", self, {"minutes_per_trial": ("gt", 0.0, None)})  # None: no estimate


@dataclass(frozen=True)
class SpaceFile:
    """The layout of a search-space YAML file; ``space`` maps config keys to :class:`ParamSpec` fields."""

    size: Size | None = None
    base: dict[str, Any] = field(default_factory=dict)
    metric: Metric = "best_stsb_dev"
    mode: Literal["max"] = "max"
    space: dict[str, Any] = field(default_factory=dict)
    points_to_evaluate: tuple[dict[str, Any], ...] = ()
    budget: Budget = field(default_factory=Budget)
    resources: Resources = field(default_factory=Resources)
    estimate: Estimate = field(default_factory=Estimate)

    def __post_init__(self) -> None:
        check_choices("", self)
        if not self.space:
            fail("space", self.space, "a non-empty mapping of config keys")


@dataclass(frozen=True)
class SearchSpace:
    """A validated search-space file."""

    path: Path
    size: str | None
    base: dict[str, Any]
    metric: str
    mode: str
    params: tuple[ParamSpec, ...]
    points: tuple[dict[str, Any], ...]
    budget: dict[str, int] = field(default_factory=dict)
    resources: dict[str, float] = field(default_factory=dict)
    estimate: Estimate = field(default_factory=Estimate)
    sources: tuple[str, ...] = ()  # where each point came from (sct.tune.plan.warm_starts); empty: the file

    def base_config(self, overrides: dict[str, Any] | None = None) -> SCTConfig:
        """Size preset < the file's ``base`` < ``overrides`` (``--set`` and path options)."""
        cfg = resolve_config(self.size)
        cfg = apply_overrides(cfg, self.base, str(self.path))
        return apply_overrides(cfg, overrides or {}, "--set") if overrides else cfg

    def optuna_space(self) -> dict[str, Any]:
        return {p.key: p.to_optuna() for p in self.params}


def parse_space(data: dict[str, Any], source: str) -> SearchSpace:
    """Validate a loaded mapping (the :class:`SpaceFile` schema) into a :class:`SearchSpace`."""
    spec = coerce_dataclass(SpaceFile, data, source)
    params = tuple(
        coerce_dataclass(ParamSpec, raw, source, f"space.{key}", {"key": key}) for key, raw in spec.space.items()
    )
    keys = [p.key for p in params]
    points = []
    for i, point in enumerate(spec.points_to_evaluate):
        where = f"points_to_evaluate[{i}]"
        if sorted(point) != sorted(keys):
            raise UserError(f"{source}: key '{where}' has invalid value {point!r}: expected exactly the keys {keys}")
        try:
            points.append({p.key: p.point(f"{where}.{p.key}", point[p.key]) for p in params})
        except UserError as err:
            raise UserError(f"{source}: {err}") from None
    budget, resources = asdict(spec.budget), asdict(spec.resources)
    result = SearchSpace(
        Path(source), spec.size, spec.base, spec.metric, spec.mode, params, tuple(points), budget, resources,
        spec.estimate,
    )  # fmt: skip
    result.base_config()  # base overrides valid for this size
    return result


def load_space(name_or_path: str) -> SearchSpace:
    """Load and validate a space by size name (``bert-tiny``) or path."""
    path = find_spec_file(name_or_path, "search_spaces")
    return parse_space(load_yaml(path), str(path))
