"""Building an :class:`~sct.config.SCTConfig` from presets, YAML files and ``key=value`` overrides.

Precedence, lowest first: dataclass defaults < size preset (``--model bert-small``) < YAML file < ``--set``.
YAML files are nested (``method: {queue_size: 65536}``) or flat (``method.queue_size: 65536``). Unknown
sections and keys, wrong types and out-of-range values raise ``UserError`` naming the source, the key and
the value before any expensive work starts.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from sct.checks import check_choice
from sct.config import SECTIONS, SCTConfig
from sct.errors import UserError
from sct.presets import SIZES, size_overrides

T = TypeVar("T")


def config_to_dict(cfg: SCTConfig) -> dict[str, dict[str, Any]]:
    """Nested plain dict (tuples as lists), suitable for YAML/JSON."""
    out: dict[str, dict[str, Any]] = {}
    for section in SECTIONS:
        values = dataclasses.asdict(getattr(cfg, section))
        out[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    return out


def flatten(cfg: SCTConfig) -> dict[str, Any]:
    """``{"section.key": value}`` for every field (MLflow params, result tables)."""
    return {f"{s}.{k}": v for s, values in config_to_dict(cfg).items() for k, v in values.items()}


def flat_dict(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b.c": leaf}`` (a non-dict is one leaf under ``prefix``)."""
    if not isinstance(data, Mapping):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out |= flat_dict(value, f"{prefix}.{key}" if prefix else str(key))
    return out


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``key: old -> new`` for every flat key whose value differs between two (nested) dicts, sorted; a key
    on one side only shows ``None`` on the other. The one way a refused resume names what changed."""
    a, b = flat_dict(old), flat_dict(new)
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _field_types(section: str) -> dict[str, Any]:
    return typing.get_type_hints(SECTIONS[section])


def coerce_value(key: str, value: Any, annotation: Any) -> Any:
    """Convert ``value`` to ``annotation`` (scalars, Literal, Optional, tuples, dicts, dataclasses) or raise
    UserError naming the key. The one converter of config overrides and of the sweep/grid file schemas."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if dataclasses.is_dataclass(annotation):
        return value if isinstance(value, annotation) else _build(annotation, value or {}, key, {})
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return coerce_value(key, value, inner[0])
    if origin is Literal:
        check_choice(key, value, args)
        return value
    if origin is dict:
        if not isinstance(value or {}, Mapping):
            raise UserError(f"config key '{key}' has invalid value {value!r}: expected a mapping")
        return {
            coerce_value(f"{key}.{k}", k, args[0]): coerce_value(f"{key}.{k}", v, args[1])
            for k, v in (value or {}).items()
        }
    if origin is tuple and args == (str, ...):
        items = [s.strip() for s in value.split(",") if s.strip()] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise UserError(f"config key '{key}' has invalid value {value!r}: expected a list of strings")
        return tuple(items)
    if origin is tuple:
        if not isinstance(value or [], (list, tuple)):
            raise UserError(f"config key '{key}' has invalid value {value!r}: expected a list")
        return tuple(coerce_value(f"{key}[{i}]", item, args[0]) for i, item in enumerate(value or []))
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif annotation in (int, float):  # YAML 1.1 reads 1e-5 as a string: numeric strings are numbers
        number = float("nan")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        if annotation is float and math.isfinite(number):
            return number
        if annotation is int and number.is_integer():
            return int(number)
    elif annotation is str:
        if isinstance(value, str):
            return value
    name = getattr(annotation, "__name__", str(annotation))
    raise UserError(f"config key '{key}' has invalid value {value!r}: expected {name}")


def _build(cls: type[T], data: Any, key: str, given: dict[str, Any]) -> T:
    """``cls`` from the mapping ``data`` found at ``key`` (``""``: the top level of a file)."""
    if not isinstance(data, Mapping):
        what = f"config key '{key}'" if key else "the top level"
        raise UserError(f"{what} has invalid value {data!r}: expected a mapping")
    where = f"{key}." if key else ""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in given}  # type: ignore[arg-type]
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise UserError(f"unknown key '{where}{unknown[0]}': allowed {list(fields)}")
    missing = [n for n, f in fields.items() if n not in data and f.default is f.default_factory is dataclasses.MISSING]
    if missing:
        raise UserError(f"config key '{where}{missing[0]}' is missing in {dict(data)!r}")
    hints = typing.get_type_hints(cls)
    return cls(**given, **{k: coerce_value(f"{where}{k}", v, hints[k]) for k, v in data.items()})


def coerce_dataclass(
    cls: type[T], data: Any, source: str, under: str = "", given: Mapping[str, Any] | None = None
) -> T:
    """``cls(**given, **data)`` with every value of ``data`` converted to its field's type (nested dataclasses
    too); ``given`` are fields the caller supplies, not the file. Unknown and missing keys, wrong types, Literal
    values and the class's own checks raise UserError naming ``source``, the dotted key (below ``under``) and
    the value."""
    try:
        return _build(cls, data, under, dict(given or {}))
    except ValueError as err:
        raise UserError(f"{source}: {err}") from None


def _split_flat(flat: Mapping[str, Any], source: str) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, _, name = str(key).partition(".")
        if section not in SECTIONS:
            raise UserError(f"{source}: unknown config section in key '{key}': allowed {list(SECTIONS)}")
        if not name or name not in _field_types(section):
            allowed = ", ".join(_field_types(section))
            raise UserError(f"{source}: unknown config key '{key}': allowed {section}.{{{allowed}}}")
        nested.setdefault(section, {})[name] = value
    return nested


def _normalise(data: Mapping[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """Accept nested and flat (dotted) mappings; return ``{section: {key: value}}``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and "." not in str(key):
            if key not in SECTIONS:
                raise UserError(f"{source}: unknown config section '{key}': allowed {list(SECTIONS)}")
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[str(key)] = value
    return _split_flat(flat, source)


def apply_overrides(cfg: SCTConfig, overrides: Mapping[str, Any], source: str = "overrides") -> SCTConfig:
    """A new config with ``overrides`` (nested or ``section.key`` → value) applied and validated."""
    nested = _normalise(overrides, source)
    replaced: dict[str, Any] = {}
    for section, values in nested.items():
        types_ = _field_types(section)
        try:
            coerced = {k: coerce_value(f"{section}.{k}", v, types_[k]) for k, v in values.items()}
            replaced[section] = dataclasses.replace(getattr(cfg, section), **coerced)
        except ValueError as err:
            raise UserError(f"{source}: {err}") from None
    try:
        return dataclasses.replace(cfg, **replaced)
    except ValueError as err:
        raise UserError(f"{source}: {err}") from None


def config_from_dict(data: Mapping[str, Any], source: str = "config") -> SCTConfig:
    """A validated config from a nested/flat mapping over the defaults."""
    return apply_overrides(SCTConfig(), data, source)


def parse_set_args(items: Iterable[str]) -> dict[str, Any]:
    """``["method.queue_size=65536", ...]`` → ``{"method.queue_size": 65536}`` (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise UserError(f"{path}: invalid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def resolve_config(
    model: str | None = None,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SCTConfig:
    """Defaults < size preset or model id/path (``model``) < YAML file < overrides."""
    cfg = SCTConfig()
    if model is not None:
        preset = size_overrides(model) if model in SIZES else {"model.name": model}
        cfg = apply_overrides(cfg, preset, f"--model {model}")
    if config_file is not None:
        cfg = apply_overrides(cfg, load_yaml(config_file), str(config_file))
    if overrides:
        cfg = apply_overrides(cfg, overrides, "--set")
    return cfg


def save_config(cfg: SCTConfig, path: str | Path) -> None:
    """Write the resolved config as YAML (round-trips through :func:`config_from_dict`)."""
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False), encoding="utf-8")
