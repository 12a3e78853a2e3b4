"""Warm starts: the points a size's sweep evaluates first, each with where it came from.

Always: the space file's ``points_to_evaluate`` and the paper's Table 1 point of the size, mapped into the
space (the files of the paper's sizes already hold it; a custom file without points gets it). With
``--warm-start`` or ``--warm-start-from EXPERIMENT …``: the best trial of each named sweep experiment (and,
for ``--warm-start``, of every other size's sweep in the same store, ``sweep-<size>[-smoke]``), mapped into
this space: a number clipped into the range (rounded for an integer), a categorical value replaced by the
nearest allowed one (on a log scale for positive numbers). Identical points are evaluated once.

``--warm-start`` is off by default: with it a sweep's first trials depend on what else the store holds, not
on its own command and files alone, and each extra point is a trial TPE does not choose. A sweep's warm
points are chosen when it starts and kept in its ``sct_experiment.json``: ``--resume`` evaluates the same.

The source is an Optuna user attribute of the enqueued trial (:data:`WARM_ATTR`), handed to the trial's
config by the searcher and tagged on its MLflow run as ``sct.warm_start`` (:mod:`sct.tune.report.sizes`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from sct.errors import UserError
from sct.presets import SIZES, size_overrides
from sct.tune.plan.spaces import ParamSpec, SearchSpace
from sct.tune.vocabulary import WARM_KEY as WARM_KEY
from sct.tune.vocabulary import WARM_START

WARM_ATTR = WARM_START  # Optuna user attribute and MLflow tag: where a warm start's point came from

PAPER = "paper Table 1"
SPACE_FILE = "points_to_evaluate"


def _nearest(value: Any, values: tuple[Any, ...]) -> Any:
    if value in values:
        return value
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not numbers or not isinstance(value, (int, float)):
        return values[0]
    if value > 0 and all(v > 0 for v in numbers):
        return min(numbers, key=lambda v: abs(math.log(v) - math.log(value)))
    return min(numbers, key=lambda v: abs(v - value))


def map_value(param: ParamSpec, value: Any) -> Any:
    """``value`` moved into ``param``'s space: the nearest categorical value, or clipped into the range."""
    if param.distribution == "categorical":
        return _nearest(value, param.values)
    clipped = min(max(float(value), float(param.low)), float(param.high))  # type: ignore[arg-type]
    return int(round(clipped)) if param.integer else clipped


def map_point(point: dict[str, Any], space: SearchSpace) -> dict[str, Any]:
    """The searched keys of ``point`` mapped into ``space`` (keys it does not search are dropped)."""
    return {p.key: map_value(p, point[p.key]) for p in space.params if p.key in point}


def paper_point(space: SearchSpace) -> dict[str, Any] | None:
    """Table 1's point of the space's size, mapped into the space; None for a custom size."""
    if space.size not in SIZES:
        return None
    point = map_point(size_overrides(space.size), space)
    return point if len(point) == len(space.params) else None


def other_sizes(size: str | None, smoke: bool) -> list[str]:
    """The default experiment names of the other paper sizes' sweeps (what ``--warm-start`` looks for)."""
    return [f"sweep-{s}" + ("-smoke" if smoke else "") for s in SIZES if s != size]


def warm_points(space: SearchSpace, found: dict[str, dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """(point, source) in evaluation order: the file's points (or Table 1's when it has none), then ``found``
    (source -> point), each once."""
    paper = paper_point(space)
    out: list[tuple[dict[str, Any], str]] = [(dict(p), PAPER if p == paper else SPACE_FILE) for p in space.points]
    if not out and paper is not None:
        out.append((paper, PAPER))
    for source, point in found.items():
        out.append((map_point(point, space), f"best of {source}"))
    unique: list[tuple[dict[str, Any], str]] = []
    for point, source in out:
        if all(point != seen for seen, _ in unique):
            unique.append((point, source))
    return unique


def best_points(uri: str, experiments: list[str], required: bool) -> dict[str, dict[str, Any]]:
    """The best trial's searched params of each sweep in ``experiments``; one missing or without a score is a
    UserError when ``required`` (named by the user), else left out."""
    from sct.tune.report.sizes import size_result

    out: dict[str, dict[str, Any]] = {}
    for name in experiments:
        try:
            out[name] = size_result(uri, name).best
        except UserError as err:
            if required:
                raise UserError(f"--warm-start-from {name}: {err}") from None
    return out


def gather(uri: str, named: list[str], others: list[str]) -> dict[str, dict[str, Any]]:
    """The best points of the ``named`` sweeps (each must exist, with a score) and of those of ``others`` that
    exist: read before the experiment is opened, so a bad name leaves nothing behind."""
    if named and not _store_exists(uri):
        raise UserError(f"--warm-start-from {named[0]}: no MLflow store at {uri}")
    found = best_points(uri, named, required=True)
    if others and _store_exists(uri):
        found |= best_points(uri, [n for n in others if n not in found], required=False)
    return found


def seeded_space(space: SearchSpace, state: dict[str, Any], found: dict[str, dict[str, Any]]) -> SearchSpace:
    """``space`` with its warm points and their sources: those saved in ``state`` (a resumed sweep keeps the
    points it started with), else those of :func:`warm_points`, saved in ``state``."""
    if "warm_starts" not in state:
        state["warm_starts"] = [[point, source] for point, source in warm_points(space, found)]
    pairs = state["warm_starts"]
    return replace(space, points=tuple(p for p, _ in pairs), sources=tuple(s for _, s in pairs))


def _store_exists(uri: str) -> bool:
    """A local sqlite store that was never written holds no experiment (and is not created by looking)."""
    return not uri.startswith("sqlite:///") or Path(uri.removeprefix("sqlite:///")).is_file()
