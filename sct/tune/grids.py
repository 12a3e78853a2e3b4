"""Ablation grid YAML files (``ablations/*.yaml``): rows of config switches with the paper's numbers.

A grid has a ``baseline`` row (Δ is measured against it), ``common`` overrides applied to every row (e.g. the
teacher for the distillation tables, written ``${teacher}`` and filled from ``--teacher``), and ``rows``: a
name, the flat config keys the row changes against the default SCT, and the paper's published Δ (or absolute
score) per model size, ``null`` with a ``note`` when the number is not known. A row whose variant the config
does not offer (a ``Literal`` value it lacks) is refused with a message naming the row, not skipped
(issue 3, §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.config_io import apply_overrides, load_yaml
from sct.presets import SIZES
from sct.tune.spaces import find_spec_file, number

TEACHER = "${teacher}"
_TOP_KEYS = ("name", "description", "baseline", "common", "rows")
_ROW_KEYS = ("name", "overrides", "paper_delta", "paper_score", "note")


@dataclass(frozen=True)
class GridRow:
    """One ablation variant."""

    name: str
    overrides: dict[str, Any]
    paper_delta: dict[str, float | None] = field(default_factory=dict)
    paper_score: dict[str, float | None] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class AblationGrid:
    """A validated grid file."""

    path: Path
    name: str
    description: str
    baseline: str
    common: dict[str, Any]
    rows: tuple[GridRow, ...]

    @property
    def needs_teacher(self) -> bool:
        return any(v == TEACHER for v in self.common.values()) or any(
            v == TEACHER for row in self.rows for v in row.overrides.values()
        )

    def row(self, name: str) -> GridRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise ValueError(f"{self.path}: unknown row {name!r}: allowed {[r.name for r in self.rows]}")

    def select(self, names: list[str]) -> AblationGrid:
        """Only the named rows (in file order); the baseline need not be among them."""
        chosen = {self.row(n).name for n in names}
        return replace(self, rows=tuple(r for r in self.rows if r.name in chosen))

    def _fill(self, values: dict[str, Any], teacher: str | None) -> dict[str, Any]:
        if any(v == TEACHER for v in values.values()) and not teacher:
            raise ValueError(f"{self.path}: grid '{self.name}' needs a teacher: pass --teacher PATH_OR_ID")
        return {k: teacher if v == TEACHER else v for k, v in values.items()}

    def common_config(self, base: SCTConfig, teacher: str | None = None) -> SCTConfig:
        """``base`` with the grid's common overrides: what every row is compared against."""
        return apply_overrides(base, self._fill(self.common, teacher), f"{self.path}: common")

    def row_overrides(self, name: str, teacher: str | None = None) -> dict[str, Any]:
        """Common + row overrides as flat config keys (what a trial applies over the base config)."""
        return self._fill(self.common, teacher) | self._fill(self.row(name).overrides, teacher)

    def row_config(self, base: SCTConfig, name: str, teacher: str | None = None) -> SCTConfig:
        """The resolved config of one row; a variant the config lacks raises ValueError naming the row."""
        common = self.common_config(base, teacher)
        try:
            return apply_overrides(common, self._fill(self.row(name).overrides, teacher), "overrides")
        except ValueError as err:
            raise ValueError(f"{self.path}: row '{name}' is not available (variant not implemented): {err}") from None

    def paper_delta(self, name: str, size: str | None) -> float | None:
        """The paper's Δ of a row against the baseline for ``size``: given, or from absolute scores."""
        row = self.row(name)
        if size is None:
            return None
        if row.paper_delta.get(size) is not None:
            return row.paper_delta[size]
        base_score = self.row(self.baseline).paper_score.get(size) if self._has(self.baseline) else None
        score = row.paper_score.get(size)
        return None if score is None or base_score is None else round(score - base_score, 2)

    def _has(self, name: str) -> bool:
        return any(r.name == name for r in self.rows)


def _per_size(source: str, key: str, value: Any) -> dict[str, float | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{source}: key '{key}' has invalid value {value!r}: expected a mapping size -> number")
    out: dict[str, float | None] = {}
    for size, number_ in value.items():
        if size not in SIZES:
            raise ValueError(f"{source}: key '{key}.{size}' is not a model size: allowed {list(SIZES)}")
        out[size] = None if number_ is None else number(source, f"{key}.{size}", number_)
    return out


def _parse_row(source: str, index: int, data: Any) -> GridRow:
    where = f"rows[{index}]"
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise ValueError(f"{source}: key '{where}' has invalid value {data!r}: expected a mapping with a name")
    unknown = [k for k in data if k not in _ROW_KEYS]
    if unknown:
        raise ValueError(f"{source}: unknown key '{where}.{unknown[0]}': allowed {list(_ROW_KEYS)}")
    overrides = data.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise ValueError(f"{source}: key '{where}.overrides' has invalid value {overrides!r}: expected a mapping")
    delta = _per_size(source, f"{where}.paper_delta", data.get("paper_delta"))
    score = _per_size(source, f"{where}.paper_score", data.get("paper_score"))
    note = str(data.get("note") or "")
    if (not delta or any(v is None for v in delta.values())) and not score and not note:
        raise ValueError(f"{source}: row '{data['name']}' has no paper number: give paper_delta/paper_score or a note")
    return GridRow(data["name"], dict(overrides), delta, score, note)


def parse_grid(data: dict[str, Any], source: str) -> AblationGrid:
    """Validate a loaded mapping; every row is resolved against the default SCT config."""
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise ValueError(f"{source}: unknown key '{unknown[0]}': allowed {list(_TOP_KEYS)}")
    rows_data = data.get("rows")
    if not isinstance(rows_data, list) or not rows_data:
        raise ValueError(f"{source}: key 'rows' has invalid value {rows_data!r}: expected a non-empty list")
    rows = tuple(_parse_row(source, i, r) for i, r in enumerate(rows_data))
    names = [r.name for r in rows]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{source}: duplicate row name {duplicates[0]!r}")
    baseline = data.get("baseline", names[0])
    if baseline not in names:
        raise ValueError(f"{source}: key 'baseline' has invalid value {baseline!r}: allowed {names}")
    common = data.get("common") or {}
    if not isinstance(common, dict):
        raise ValueError(f"{source}: key 'common' has invalid value {common!r}: expected a mapping")
    name = str(data.get("name") or Path(source).stem)
    grid = AblationGrid(Path(source), name, str(data.get("description") or ""), baseline, dict(common), rows)
    for row in rows:  # refuse rows whose variant is not offered, before anything runs
        grid.row_config(SCTConfig(), row.name, teacher="teacher-placeholder")
    return grid


def load_grid(name_or_path: str) -> AblationGrid:
    """Load and validate a grid by name (``table4``) or path."""
    path = find_spec_file(name_or_path, "ablations")
    return parse_grid(load_yaml(path), str(path))
