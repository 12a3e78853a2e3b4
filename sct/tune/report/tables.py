"""Paper-style results tables from MLflow runs, and their markdown and CSV forms.

Sweeps: the top trials by best STS-B dev (:func:`sct.tune.vocabulary.ranked`) with their searched
hyperparameters and test average. Ablations: one row per variant — mean ± sd over seeds of the score actually
averaged, Δ against the baseline row paired by seed with a 95% CI, and the paper's Δ beside it
(:mod:`sct.tune.report.ablation`, arithmetic in :mod:`sct.tune.report.stats`).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from sct.metrics import PRIMARY, TEST_AVG
from sct.tune.report import ablation
from sct.tune.vocabulary import FINISHED, ranked, run_end

Table = list[dict[str, Any]]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _short(param: str) -> str:
    """A searched float param to 4 significant digits for tables (MLflow keeps the full value)."""
    try:
        number = float(param)
    except ValueError:
        return param
    return param if number.is_integer() else f"{number:.4g}"


def sweep_table(keys: list[str], children: list[Any], top: int = 10) -> Table:
    """Top ``top`` trials (any end) by best dev score, with the searched ``keys``; ``status`` says how each
    ended in the words of :func:`~sct.tune.vocabulary.run_end` (``stopped`` for an early stop, never KILLED)."""
    table: Table = []
    for rank, run in enumerate(ranked(children, lambda r: r.data.metrics)[:top], start=1):
        row: dict[str, Any] = {"rank": rank, "trial": run.info.run_name, "status": run_end(run)}
        row |= {key: _short(run.data.params.get(key, "")) for key in keys}
        row[PRIMARY] = _fmt(run.data.metrics.get(PRIMARY))
        row[TEST_AVG] = _fmt(run.data.metrics.get(TEST_AVG))
        table.append(row)
    return table


def sweep_notes(table: Table) -> list[str]:
    """Why a trial of :func:`sweep_table` shows test_avg n/a: a trial scores the test sets when it finishes."""
    ended = [f"{row['trial']} ({row['status']})" for row in table if row[TEST_AVG] == "n/a"]
    unfinished = [name for name in ended if not name.endswith(f"({FINISHED})")]
    notes = []
    if unfinished:
        notes.append(
            f"n/a in {TEST_AVG} of {', '.join(unfinished)}: a trial scores the test sets when it finishes "
            "training; these did not (stopped early by ASHA, failed, or still running)"
        )
    if len(unfinished) < len(ended):
        notes.append(f"n/a in {TEST_AVG} of a finished trial: it ran no test set (eval.test_tasks is empty)")
    return notes


def variant_scores(children: list[Any], metric: str | None = None) -> dict[str, list[float]]:
    """Scores of finished runs per ``sct.variant``: ``metric``, or the one :func:`choose_score` picks."""
    metric = metric or ablation.choose_score(children).metric
    return {name: list(seeds.values()) for name, seeds in ablation.seed_scores(children, metric).items()}


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


def write_tables(
    table: Table, directory: Path, stem: str = "results", *, title: str = "", notes: list[str] | None = None
) -> list[Path]:
    """``<stem>.csv`` (the table only) and ``<stem>.md`` (title, table, notes) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{stem}.csv", directory / f"{stem}.md"]
    paths[0].write_text(to_csv(table), encoding="utf-8")
    head = f"{title}\n\n" if title else ""
    tail = "".join(f"\n- {note}" for note in notes or []) + ("\n" if notes else "")
    paths[1].write_text(head + to_markdown(table) + tail, encoding="utf-8")
    return paths
