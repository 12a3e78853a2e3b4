"""Search-space YAML files (``search_spaces/<size>.yaml``): schema, validation and name resolution.

A file holds, for one model size, the base config overrides, the Optuna space over flat config keys
(``optim.lr``, ``method.queue_size``, ``method.tau_ref``, ``method.tau_online``), the metric, the paper's
Table 1 point (evaluated first), the budget and the per-trial resources. Everything is checked on load: a
bad file raises ``ValueError`` naming the file, the key and the value before Ray starts (issue 3, §1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.config_io import apply_overrides, load_yaml, resolve_config
from sct.presets import SIZES

PACKAGE_DIR = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = ("loguniform", "uniform", "int", "logint", "categorical")
METRICS = ("best_stsb_dev_spearman",)
_TOP_KEYS = ("size", "base", "metric", "mode", "space", "points_to_evaluate", "budget", "resources")
_BUDGET_MIN = {"num_samples": 1, "max_concurrent": 1, "grace_evals": 2, "reduction_factor": 2}
_BUDGET_DEFAULT = {"num_samples": 16, "max_concurrent": 2, "grace_evals": 2, "reduction_factor": 3}
_RESOURCES = ("cpu", "gpu")


def find_spec_file(name: str, folder: str) -> Path:
    """``name`` as a path, else ``./<folder>/<name>.yaml``, else the copy installed under ``sct/<folder>``."""
    as_path = Path(name).expanduser()
    if as_path.is_file():
        return as_path.resolve()
    if as_path.suffix in (".yaml", ".yml") or "/" in name:
        raise ValueError(f"{folder} file not found: {as_path}")
    for root in (Path.cwd() / folder, PACKAGE_DIR / folder):
        candidate = root / f"{name}.yaml"
        if candidate.is_file():
            return candidate.resolve()
    known = sorted(p.stem for p in (PACKAGE_DIR / folder).glob("*.yaml"))
    raise ValueError(f"unknown {folder} name {name!r}: allowed {known} or a path to a YAML file")


def number(source: str, key: str, value: Any, *, integer: bool = False) -> float:
    """A finite number (YAML 1.1 reads ``1e-5`` as a string, so numeric strings are accepted)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{source}: key '{key}' has invalid value {value!r}: expected a number")
    if integer and not float(value).is_integer():
        raise ValueError(f"{source}: key '{key}' has invalid value {value!r}: expected an integer")
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class ParamSpec:
    """One searched config key: a distribution with bounds, or a list of categorical values."""

    key: str
    distribution: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] = ()

    def to_optuna(self) -> Any:
        import optuna.distributions as od

        if self.distribution == "categorical":
            return od.CategoricalDistribution(list(self.values))
        if self.distribution in ("int", "logint"):
            return od.IntDistribution(int(self.low), int(self.high), log=self.distribution == "logint")
        return od.FloatDistribution(self.low, self.high, log=self.distribution == "loguniform")

    def describe(self) -> str:
        if self.distribution == "categorical":
            return f"categorical{list(self.values)}"
        return f"{self.distribution}[{self.low:g}, {self.high:g}]"


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

    def base_config(self, overrides: dict[str, Any] | None = None) -> SCTConfig:
        """Size preset < the file's ``base`` < ``overrides`` (``--set`` and path options)."""
        cfg = resolve_config(self.size)
        cfg = apply_overrides(cfg, self.base, str(self.path))
        return apply_overrides(cfg, overrides or {}, "--set") if overrides else cfg

    def optuna_space(self) -> dict[str, Any]:
        return {p.key: p.to_optuna() for p in self.params}


def _parse_param(source: str, key: str, spec: Any) -> ParamSpec:
    where = f"space.{key}"
    if not isinstance(spec, dict):
        raise ValueError(f"{source}: key '{where}' has invalid value {spec!r}: expected a mapping")
    unknown = set(spec) - {"distribution", "low", "high", "values"}
    if unknown:
        raise ValueError(
            f"{source}: unknown key '{where}.{sorted(unknown)[0]}': allowed distribution, low, high, values"
        )
    dist = spec.get("distribution")
    if dist not in DISTRIBUTIONS:
        raise ValueError(
            f"{source}: key '{where}.distribution' has invalid value {dist!r}: allowed {list(DISTRIBUTIONS)}"
        )
    if dist == "categorical":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise ValueError(f"{source}: key '{where}.values' has invalid value {values!r}: expected a non-empty list")
        param = ParamSpec(key, dist, values=tuple(values))
        samples = list(values)
    else:
        integer = dist in ("int", "logint")
        low = number(source, f"{where}.low", spec.get("low"), integer=integer)
        high = number(source, f"{where}.high", spec.get("high"), integer=integer)
        if low >= high:
            raise ValueError(f"{source}: key '{where}' has an empty range: low {low:g} >= high {high:g}")
        if dist in ("loguniform", "logint") and low <= 0:
            raise ValueError(f"{source}: key '{where}.low' has invalid value {low:g}: log scale needs low > 0")
        param = ParamSpec(key, dist, low=low, high=high)
        samples = [low, high]
    for value in samples:  # key exists, value has the right type and range
        apply_overrides(SCTConfig(), {key: value}, f"{source}: {where}")
    return param


def _parse_point(source: str, index: int, point: Any, params: tuple[ParamSpec, ...]) -> dict[str, Any]:
    keys = [p.key for p in params]
    where = f"points_to_evaluate[{index}]"
    if not isinstance(point, dict) or sorted(point) != sorted(keys):
        raise ValueError(f"{source}: key '{where}' has invalid value {point!r}: expected exactly the keys {keys}")
    out: dict[str, Any] = {}
    for p in params:
        value = point[p.key]
        if p.distribution == "categorical":
            if value not in p.values:
                raise ValueError(
                    f"{source}: key '{where}.{p.key}' has invalid value {value!r}: allowed {list(p.values)}"
                )
        else:
            value = number(source, f"{where}.{p.key}", value, integer=p.distribution in ("int", "logint"))
            if not p.low <= value <= p.high:
                raise ValueError(f"{source}: key '{where}.{p.key}' has invalid value {value!r}: outside {p.describe()}")
        out[p.key] = value
    return out


def parse_space(data: dict[str, Any], source: str) -> SearchSpace:
    """Validate a loaded mapping (see the module docstring) into a :class:`SearchSpace`."""
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise ValueError(f"{source}: unknown key '{unknown[0]}': allowed {list(_TOP_KEYS)}")
    size = data.get("size")
    if size is not None and size not in SIZES:
        raise ValueError(f"{source}: key 'size' has invalid value {size!r}: allowed {list(SIZES)}")
    base = data.get("base") or {}
    if not isinstance(base, dict):
        raise ValueError(f"{source}: key 'base' has invalid value {base!r}: expected a mapping of config keys")
    metric, mode = data.get("metric", METRICS[0]), data.get("mode", "max")
    if metric not in METRICS:
        raise ValueError(f"{source}: key 'metric' has invalid value {metric!r}: allowed {list(METRICS)}")
    if mode != "max":
        raise ValueError(f"{source}: key 'mode' has invalid value {mode!r}: allowed ['max']")
    space = data.get("space")
    if not isinstance(space, dict) or not space:
        raise ValueError(f"{source}: key 'space' has invalid value {space!r}: expected a non-empty mapping")
    params = tuple(_parse_param(source, str(k), v) for k, v in space.items())
    points = data.get("points_to_evaluate") or []
    if not isinstance(points, list):
        raise ValueError(f"{source}: key 'points_to_evaluate' has invalid value {points!r}: expected a list")
    parsed_points = tuple(_parse_point(source, i, p, params) for i, p in enumerate(points))
    budget = dict(_BUDGET_DEFAULT)
    for key, value in (data.get("budget") or {}).items():
        if key not in _BUDGET_MIN:
            raise ValueError(f"{source}: unknown key 'budget.{key}': allowed {list(_BUDGET_MIN)}")
        value = number(source, f"budget.{key}", value, integer=True)
        if value < _BUDGET_MIN[key]:
            raise ValueError(f"{source}: key 'budget.{key}' has invalid value {value}: allowed >= {_BUDGET_MIN[key]}")
        budget[key] = value
    resources: dict[str, float] = {"cpu": 1.0, "gpu": 0.0}
    for key, value in (data.get("resources") or {}).items():
        if key not in _RESOURCES:
            raise ValueError(f"{source}: unknown key 'resources.{key}': allowed {list(_RESOURCES)}")
        value = number(source, f"resources.{key}", value)
        if value < 0 or (key == "cpu" and value == 0) or (key == "gpu" and 1 < value != int(value)):
            raise ValueError(
                f"{source}: key 'resources.{key}' has invalid value {value:g}: "
                "allowed > 0 (gpu: a fraction <= 1 or a whole number)"
            )
        resources[key] = value
    result = SearchSpace(Path(source), size, dict(base), metric, mode, params, parsed_points, budget, resources)
    result.base_config()  # base overrides valid for this size
    return result


def load_space(name_or_path: str) -> SearchSpace:
    """Load and validate a space by size name (``bert-tiny``) or path."""
    path = find_spec_file(name_or_path, "search_spaces")
    return parse_space(load_yaml(path), str(path))
