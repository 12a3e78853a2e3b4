"""An ablation grid's results from its MLflow runs: per row mean ± sd over seeds, Δ paired by seed with a 95% CI.

Read from the child runs of one parent (tags ``sct.variant``, ``sct.seed``, ``sct.paper_delta``; finished runs
only) and the parent's tags (``sct.rows``, ``sct.baseline``, ``sct.skipped``). Which score is averaged is chosen
once for the whole table and named everywhere (:func:`choose_score`): the 7-STS test average only when all seven
STS test sets ran, never an STS-B-only score under that name. The arithmetic is :mod:`sct.tune.report.stats`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sct.config import STS_TASKS
from sct.errors import UserError
from sct.tune import vocabulary as V
from sct.tune.report.stats import PairedDelta, Summary, paired_delta, summarize

Table = list[dict[str, Any]]
_METRIC_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. :/]")
CE_NOTE = (
    "{row}: with stop-gradient targets CE − KL = H(target), a constant, so the gradients are identical to the "
    "KL baseline's and any difference can only be noise"
)


@dataclass(frozen=True)
class Score:
    """The metric a table averages and how to name it."""

    metric: str
    label: str


def metric_value(run: Any, metric: str) -> float | None:
    value = run.data.metrics.get(metric)
    ok = value is not None and math.isfinite(value) and abs(value) < 1e300  # MLflow stores -inf as -1.8e308
    return float(value) if ok else None


def finished(runs: list[Any]) -> list[Any]:
    """The runs that trained to their end (a FINISHED run stopped early by ASHA is not one)."""
    return [r for r in runs if V.run_end(r) == V.FINISHED]


def choose_score(runs: list[Any]) -> Score:
    """The score every finished run has: 7-STS avg, else the average of the test sets run, else STS-B dev."""
    done = finished(runs)
    tasks = [{t for t in STS_TASKS if metric_value(r, f"test_{t}") is not None} for r in done]
    common = set.intersection(*tasks) if tasks else set()
    same_tasks = bool(tasks) and all(t == tasks[0] for t in tasks)
    if same_tasks and all(metric_value(r, "test_avg") is not None for r in done):
        if common == set(STS_TASKS):
            return Score("test_avg", "7-STS test average (test_avg)")
        if common == {"stsb"}:
            return Score("test_stsb", "STS-B test only (test_stsb; no other STS test set ran — not a 7-STS score)")
        if common:
            names = ",".join(t for t in STS_TASKS if t in common)
            return Score("test_avg", f"average of the test sets {names} (test_avg; not the 7-STS average)")
    if done and all(metric_value(r, "test_stsb") is not None for r in done):
        return Score("test_stsb", "STS-B test only (test_stsb; not a 7-STS score)")
    return Score("best_stsb_dev", "best STS-B dev (best_stsb_dev; no test set ran — not a test score)")


def seed_scores(runs: list[Any], metric: str) -> dict[str, dict[str, float]]:
    """variant → seed → ``metric`` of the finished runs (a later run of the same variant and seed wins)."""
    out: dict[str, dict[str, float]] = {}
    for run in finished(runs):
        value = metric_value(run, metric)
        if value is not None:
            tags = run.data.tags
            out.setdefault(tags.get(V.VARIANT, "?"), {})[tags.get(V.SEED, run.info.run_id)] = value
    return out


@dataclass(frozen=True)
class RowResult:
    """One row of the table."""

    name: str
    summary: Summary
    paired: PairedDelta | None  # None for the baseline row itself
    paper_delta: float | None
    note: str = ""


@dataclass
class AblationResult:
    """Everything the table, the parent-run metrics, the plot and the report show."""

    score: Score
    baseline: str
    rows: list[RowResult]
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self) -> Table:
        m = self.score.metric
        out: Table = []
        for row in self.rows:
            p = row.paired
            out.append(
                {
                    "variant": row.name,
                    "n": row.summary.n,
                    f"{m}_mean": _fmt(row.summary.mean),
                    f"{m}_sd": _fmt(row.summary.sd),
                    "pairs": "baseline" if p is None else p.pairs,
                    "delta": "0 (baseline)" if p is None and row.summary.n else _fmt(p.delta if p else None),
                    "ci95_low": _fmt(p.ci_low if p else None),
                    "ci95_high": _fmt(p.ci_high if p else None),
                    "within_noise": "baseline" if p is None else _yes_no(p.within_noise),
                    "paper_delta": "n/a" if row.paper_delta is None else f"{row.paper_delta:g}",
                    "paper_in_ci": "n/a" if p is None else _yes_no(p.contains(row.paper_delta)),
                    "note": row.note,
                }
            )
        return out

    def parent_metrics(self, prefix: str = "") -> dict[str, float]:
        """``<row>.mean/.sd/.n/.delta/.ci_low/.ci_high/.paper_delta`` for the parent run (finite values only)."""
        out: dict[str, float] = {}
        for row in self.rows:
            p = row.paired
            values = {
                "n": float(row.summary.n),
                "mean": row.summary.mean,
                "sd": row.summary.sd,
                "delta": p.delta if p else (0.0 if row.summary.n else None),
                "ci_low": p.ci_low if p else None,
                "ci_high": p.ci_high if p else None,
                "paper_delta": row.paper_delta,
            }
            name = _METRIC_UNSAFE.sub("_", row.name)  # MLflow metric names: letters, digits, _ - . space : /
            out |= {f"{prefix}{name}.{k}": float(v) for k, v in values.items() if v is not None}
        return out


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.2f}" if round(value, 2) != 0 else "0.00"  # no "-0.00"


def _yes_no(flag: bool | None) -> str:
    return "n/a" if flag is None else "yes" if flag else "no"


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def skipped_rows(parent: Any) -> dict[str, str]:
    """Rows the driver did not run (``--skip-unavailable``), with their reasons: parent tag ``sct.skipped``."""
    text = parent.data.tags.get(V.SKIPPED, "")
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {"?": f"unreadable sct.skipped tag: {text[:80]}"}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _is_ce_row(name: str, runs: list[Any], baseline: str) -> bool:
    """A row trained with ``method.divergence: ce`` against a baseline trained with KL."""
    divergence = {
        r.data.tags.get(V.VARIANT): r.data.params.get("method.divergence")
        for r in runs
        if "method.divergence" in r.data.params
    }
    return name != baseline and divergence.get(name) == "ce" and divergence.get(baseline, "kl") == "kl"


def analyse_parent(parent: Any, children: list[Any], paper: dict[str, float | None] | None = None) -> AblationResult:
    """:func:`analyse` with the rows, baseline and skipped rows the parent run's tags record."""
    order = [r for r in parent.data.tags.get(V.ROWS, "").split(",") if r]
    baseline = parent.data.tags.get(V.BASELINE, order[0] if order else "")
    tags = parent.data.tags
    return analyse(
        children, order, baseline, paper, skipped_rows(parent), size=tags.get(V.SIZE, ""), grid=tags.get(V.GRID, "")
    )


def analyse(
    children: list[Any],
    order: list[str],
    baseline: str,
    paper: dict[str, float | None] | None = None,
    skipped: dict[str, str] | None = None,
    *,
    size: str = "",
    grid: str = "",
) -> AblationResult:
    """Rows in grid ``order`` (then any other variant found); Δ against the ``baseline`` row. ``size`` and
    ``grid`` (the model's paper size and the grid's name) say why a row has no paper Δ."""
    score = choose_score(children)
    scores = seed_scores(children, score.metric)
    tag_delta = {r.data.tags.get(V.VARIANT): _number(r.data.tags.get(V.PAPER_DELTA)) for r in children}
    base = scores.get(baseline, {})
    rows: list[RowResult] = []
    ce_rows: list[str] = []
    for name in order + sorted(set(scores) - set(order)):
        values = scores.get(name, {})
        paired = None if name == baseline else paired_delta(values, base)
        delta = (paper or {}).get(name)
        note = ""
        if _is_ce_row(name, children, baseline):
            ce_rows.append(name)
            note = "CE = KL + const: noise only (see notes)"
        delta = tag_delta.get(name) if delta is None else delta
        rows.append(RowResult(name, summarize(list(values.values())), paired, delta, note))
    notes = [
        f"score: {score.label}, Spearman x 100; mean ± sd over seeds (finished runs only)",
        f"delta: mean over the seeds run by both the row and '{baseline}' of (row − {baseline}); 95% CI: Student t "
        "over those paired differences; within_noise = yes when the CI contains 0",
    ]
    if any(r.paired is not None and not r.paired.has_interval for r in rows):
        notes.append(
            "n/a in ci95_low/ci95_high/within_noise/paper_in_ci: fewer than 2 seeds paired with the baseline, so no "
            "interval can be given (run --seeds 2 or more)"
        )
    notes += missing_notes(rows, baseline, score.metric, size, grid)
    notes += [CE_NOTE.format(row=name) for name in ce_rows]
    skipped = dict(skipped or {})
    notes += [f"skipped (not run here): {name}: {reason}" for name, reason in skipped.items()]
    return AblationResult(score, baseline, rows, skipped, notes)


def missing_notes(rows: list[RowResult], baseline: str, metric: str, size: str, grid: str) -> list[str]:
    """Why each other ``n/a`` of the table is one (the interval's is given beside the table's other notes)."""
    notes = []
    groups = {
        f"{metric}_mean/{metric}_sd/delta": (
            [r.name for r in rows if not r.summary.n],
            "no finished run with this score",
        ),
        f"{metric}_sd": ([r.name for r in rows if r.summary.n == 1], "one seed (a standard deviation needs two)"),
        "delta": (
            [r.name for r in rows if r.summary.n and r.paired is not None and r.paired.delta is None],
            f"no seed finished both in the row and in '{baseline}'",
        ),
    }
    for columns, (names, why) in groups.items():
        if names:
            notes.append(f"n/a in {columns} of {', '.join(names)}: {why}")
    if any(r.paired is None for r in rows):
        notes.append(f"n/a in ci95_low/ci95_high/paper_in_ci of '{baseline}': Δ is taken against it, it has none")
    no_paper = [r.name for r in rows if r.paper_delta is None]
    if no_paper:
        notes.append(
            f"n/a in paper_delta (and paper_in_ci) of {', '.join(no_paper)}: {_no_paper_why(size, grid, no_paper)}"
        )
    return notes


def _no_paper_why(size: str, grid_name: str, names: list[str]) -> str:
    """Why the paper has no Δ for ``names``: the model has no paper size, or the grid gives none for it."""
    from sct.presets import SIZES
    from sct.tune.plan.grids import load_grid

    if size not in SIZES:
        return f"the model trained has none of the paper's BERT shapes (size {size or 'unknown'}): no paper Δ applies"
    why = f"the paper gives no Δ for them at {size}"
    try:
        grid = load_grid(grid_name)
        known = [name for name in names if name in {row.name for row in grid.rows}]
        sizes = [s for s in SIZES if any(grid.paper_delta(name, s) is not None for name in known)]
    except UserError:  # a grid file that is not one of ours: its sizes are not known here
        return why
    if size in sizes:  # the grid has one now: these runs were made without it
        return f"no paper Δ was recorded with these runs at {size}"
    if sizes:
        return why + f" (grid {grid_name} has the paper's Δ for {', '.join(sizes)})"
    reasons = {row.note for row in grid.rows if row.name in known}
    return why + " nor at any size" + (f" ({reasons.pop()})" if len(reasons) == 1 else "")
