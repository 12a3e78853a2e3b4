"""Paper-style results tables built from MLflow alone (issue 3, §5): sweeps and ablations.

Sweeps: the top trials by best STS-B dev with their searched hyperparameters and 7-STS test average.
Ablations: one row per variant — mean ± sd over seeds of the 7-STS test average, Δ against the baseline row,
and the paper's Δ beside it (stored as the child runs' ``sct.paper_delta`` tag by the driver).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any

from sct.tune import tracking

Table = list[dict[str, Any]]


def find_parent(uri: str, experiment: str) -> tuple[str, Any]:
    """(experiment id, latest parent run) of experiment ``experiment``; ValueError naming it when absent."""
    mlflow = tracking.client(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        raise ValueError(f"no MLflow experiment {experiment!r} at {uri}")
    runs = mlflow.search_runs(
        [exp.experiment_id],
        filter_string="tags.`sct.role` = 'parent'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise ValueError(f"MLflow experiment {experiment!r} at {uri} has no sct parent run")
    return exp.experiment_id, runs[0]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _short(param: str) -> str:
    """A searched float param to 4 significant digits for tables (MLflow keeps the full value)."""
    try:
        number = float(param)
    except ValueError:
        return param
    return param if number.is_integer() else f"{number:.4g}"


def sweep_table(parent: Any, children: list[Any], top: int = 10) -> Table:
    """Top ``top`` trials by best dev score, with the searched keys (parent tag ``sct.space_keys``)."""
    keys = [k for k in parent.data.tags.get("sct.space_keys", "").split(",") if k]
    scored = [r for r in children if "best_stsb_dev" in r.data.metrics]
    scored.sort(key=lambda r: r.data.metrics["best_stsb_dev"], reverse=True)
    table: Table = []
    for rank, run in enumerate(scored[:top], start=1):
        row: dict[str, Any] = {"rank": rank, "trial": run.info.run_name, "status": run.info.status}
        row |= {key: _short(run.data.params.get(key, "")) for key in keys}
        row["best_stsb_dev"] = _fmt(run.data.metrics.get("best_stsb_dev"))
        row["test_avg"] = _fmt(run.data.metrics.get("test_avg"))
        table.append(row)
    return table


def variant_scores(children: list[Any]) -> dict[str, list[float]]:
    """7-STS test averages of finished runs per ``sct.variant`` (best dev when no test sets were scored)."""
    out: dict[str, list[float]] = {}
    for run in children:
        if run.info.status != "FINISHED":
            continue
        metrics = run.data.metrics
        score = metrics.get("test_avg", metrics.get("best_stsb_dev"))
        if score is not None and math.isfinite(score) and abs(score) < 1e300:  # MLflow stores -inf as -1.8e308
            out.setdefault(run.data.tags.get("sct.variant", "?"), []).append(float(score))
    return out


def ablation_table(parent: Any, children: list[Any]) -> Table:
    """One row per variant in grid order: n, mean ± sd, Δ vs the baseline row, the paper's Δ."""
    order = [r for r in parent.data.tags.get("sct.rows", "").split(",") if r]
    baseline = parent.data.tags.get("sct.baseline", order[0] if order else "")
    scores = variant_scores(children)
    paper = {r.data.tags.get("sct.variant"): r.data.tags.get("sct.paper_delta", "") for r in children}
    names = order + sorted(set(scores) - set(order))
    base = statistics.fmean(scores[baseline]) if scores.get(baseline) else None
    table: Table = []
    for name in names:
        values = scores.get(name, [])
        mean = statistics.fmean(values) if values else None
        sd = statistics.stdev(values) if len(values) > 1 else 0.0 if values else None
        delta = None if mean is None or base is None else mean - base
        table.append(
            {
                "variant": name,
                "n": len(values),
                "mean": _fmt(mean),
                "sd": _fmt(sd),
                "delta": _fmt(delta),
                "paper_delta": paper.get(name) or "n/a",
            }
        )
    return table


def to_markdown(table: Table) -> str:
    if not table:
        return "(no finished trials)\n"
    header = list(table[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in header) + " |" for row in table]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    if not table:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def experiment_table(uri: str, experiment: str, top: int = 10) -> tuple[str, Table]:
    """(kind, table) of the latest parent run of ``experiment``: what ``sct.report`` prints."""
    experiment_id, parent = find_parent(uri, experiment)
    children = tracking.child_runs(uri, experiment_id, parent.info.run_id)
    kind = parent.data.tags.get("sct.kind", "sweep")
    table = sweep_table(parent, children, top) if kind == "sweep" else ablation_table(parent, children)
    return kind, table


def write_tables(table: Table, directory: Path, stem: str = "results") -> list[Path]:
    """``<stem>.csv`` and ``<stem>.md`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{stem}.csv", directory / f"{stem}.md"]
    paths[0].write_text(to_csv(table), encoding="utf-8")
    paths[1].write_text(to_markdown(table), encoding="utf-8")
    return paths
