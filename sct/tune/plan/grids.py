"""Ablation grid YAML files (``ablations/*.yaml``): rows of config switches with the paper's numbers.

A grid has a ``baseline`` row (Δ is measured against it), ``common`` overrides applied to every row (e.g. the
teacher for the distillation tables, written ``${teacher}`` and filled from ``--teacher``), and ``rows``: a
name, the flat config keys the row changes against the default SCT, and the paper's published Δ (or absolute
score) per model size, ``null`` with a ``note`` when the number is not known. A row whose variant the config
does not offer (a ``Literal`` value it lacks) is refused with a message naming the row, not skipped.
The file's layout is :class:`AblationGrid` itself (rows: :class:`GridRow`), read through
:func:`sct.config_io.coerce_dataclass`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sct.config import SCTConfig
from sct.config_io import apply_overrides, coerce_dataclass, load_yaml
from sct.errors import UserError
from sct.tune.plan.spaces import Size, find_spec_file

TEACHER = "${teacher}"


@dataclass(frozen=True)
class GridRow:
    """One ablation variant: the paper's Δ or absolute score per size, or a note saying why there is none."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    paper_delta: dict[Size, float | None] = field(default_factory=dict)
    paper_score: dict[Size, float | None] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        if (not self.paper_delta or None in self.paper_delta.values()) and not self.paper_score and not self.note:
            raise UserError(f"row '{self.name}' has no paper number: give paper_delta/paper_score or a note")


@dataclass(frozen=True)
class AblationGrid:
    """A validated grid file."""

    path: Path
    rows: tuple[GridRow, ...]
    name: str = ""
    description: str = ""
    baseline: str = ""  # default: the first row
    common: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_teacher(self) -> bool:
        """Whether a row (or the common overrides) uses ``${teacher}``: preflight asks for ``--teacher``."""
        values = [*self.common.values(), *(v for row in self.rows for v in row.overrides.values())]
        return TEACHER in values

    def row(self, name: str) -> GridRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise UserError(f"{self.path}: unknown row {name!r}: allowed {[r.name for r in self.rows]}")

    def select(self, names: list[str]) -> AblationGrid:
        """Only the named rows (in file order); the baseline need not be among them."""
        chosen = {self.row(n).name for n in names}
        return replace(self, rows=tuple(r for r in self.rows if r.name in chosen))

    def _fill(self, values: dict[str, Any], teacher: str | None) -> dict[str, Any]:
        if any(v == TEACHER for v in values.values()) and not teacher:
            raise UserError(f"{self.path}: grid '{self.name}' needs a teacher: pass --teacher PATH_OR_ID")
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
            raise UserError(f"{self.path}: row '{name}' is not available (variant not implemented): {err}") from None

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


def parse_grid(data: dict[str, Any], source: str) -> AblationGrid:
    """Validate a loaded mapping; every row is resolved against the default SCT config."""
    grid = coerce_dataclass(AblationGrid, data, source, given={"path": Path(source)})
    names = [r.name for r in grid.rows]
    if not names:
        raise UserError(f"{source}: key 'rows' has invalid value {list(grid.rows)}: expected a non-empty list")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"{source}: duplicate row name {duplicates[0]!r}")
    if grid.baseline and grid.baseline not in names:
        raise UserError(f"{source}: key 'baseline' has invalid value {grid.baseline!r}: allowed {names}")
    grid = replace(grid, name=grid.name or Path(source).stem, baseline=grid.baseline or names[0])
    for row in grid.rows:  # refuse rows whose variant is not offered, before anything runs
        grid.row_config(SCTConfig(), row.name, teacher="teacher-placeholder")
    return grid


def load_grid(name_or_path: str) -> AblationGrid:
    """Load and validate a grid by name (``table4``) or path."""
    path = find_spec_file(name_or_path, "ablations")
    return parse_grid(load_yaml(path), str(path))
