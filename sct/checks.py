"""Value checks shared by every frozen dataclass that reads user input (the config tree, the sweep/grid files).

Each bad value raises :class:`~sct.errors.UserError` with one line naming the key, the value and the allowed
range. ``Literal`` fields are checked from their annotation (:func:`check_choices`), so a dataclass declares
its allowed values once, in its type.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from dataclasses import fields
from typing import Any, Literal

from sct.errors import UserError


def fail(key: str, value: object, allowed: str) -> None:
    """Raise the one-line message of a bad value: its key, the value and the allowed range."""
    raise UserError(f"config key '{key}' has invalid value {value!r}: allowed {allowed}")


def choices(annotation: Any) -> tuple[Any, ...] | None:
    """The allowed values of a ``Literal`` annotation (``None`` kept when optional), else None."""
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [choices(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(inner) == 1 and inner[0] is not None:
            return (*inner[0], None) if type(None) in typing.get_args(annotation) else inner[0]
    return None


@functools.cache
def _literal_fields(cls: type) -> dict[str, tuple[Any, ...]]:
    hints = typing.get_type_hints(cls)
    return {f.name: allowed for f in fields(cls) if (allowed := choices(hints[f.name])) is not None}


def check_choices(section: str, obj: object) -> None:
    """Every ``Literal`` field of the dataclass ``obj`` holds one of its allowed values (``section.key`` named)."""
    for name, allowed in _literal_fields(type(obj)).items():
        check_choice(f"{section}.{name}" if section else name, getattr(obj, name), allowed)


def check_choice(key: str, value: object, allowed: tuple[Any, ...]) -> None:
    """``value`` is one of ``allowed`` (of the same type: ``True`` is not ``1``)."""
    if not any(value == a and type(value) is type(a) for a in allowed):
        fail(key, value, f"one of {list(allowed)}")


def check_ranges(section: str, obj: object, rules: dict[str, tuple[str, float | None, float | None]]) -> None:
    """Check numeric fields: rule = (kind, low, high); kind 'gt'/'ge' sets how ``low`` binds, high is < ."""
    for name, (kind, low, high) in rules.items():
        value = getattr(obj, name)
        if value is None:
            continue
        key = f"{section}.{name}"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(key, value, "a finite number")
        too_low = low is not None and (value <= low if kind == "gt" else value < low)
        too_high = high is not None and value >= high
        if too_low or too_high:
            lo = "" if low is None else f"{'>' if kind == 'gt' else '>='} {low}"
            hi = "" if high is None else f"< {high}"
            fail(key, value, " and ".join(part for part in (lo, hi) if part))
