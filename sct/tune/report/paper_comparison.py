"""Our STS test scores beside the paper's Table 2, per task: a sweep's best trial or a grid's baseline row.

The paper's numbers live in :mod:`sct.paper` (SCT's Table 2 rows, fine-tuning and distillation from a
BERT-Large-SimCSE teacher). Which row applies is decided by the model size (parent tag ``sct.size``; "n/a" for a
custom model) and by whether the runs distilled (param ``distill.teacher``). Our 7-STS average is shown only
when all seven test sets ran. The paper's 7-STS average and Δ are the mean of its seven rows, as ours is; where
the paper prints another average (an inconsistent row), that printed number is shown on its own line, marked.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sct.config import STS_TASKS
from sct.paper import TEACHER, paper_row
from sct.presets import SIZES, size_overrides
from sct.tune import vocabulary as V
from sct.tune.report.ablation import Table, finished, metric_value

AVG = "7-STS avg"
PRINTED = "7-STS avg as printed †"


@dataclass
class Comparison:
    """A titled per-task table (task, ours, paper, ours − paper) and its notes."""

    title: str
    table: Table
    notes: list[str] = field(default_factory=list)


def parent_size(parent: Any) -> str | None:
    size = parent.data.tags.get(V.SIZE, "")
    return size if size in SIZES else None


def distilled(run: Any) -> str | None:
    """The teacher a run distilled from (param ``distill.teacher``), else None."""
    teacher = run.data.params.get("distill.teacher", "")
    return None if teacher in ("", "None", "null") else teacher


def _ours(runs: list[Any]) -> dict[str, float]:
    """Mean over ``runs`` of each test task every run scored, and the 7-STS avg when all seven ran."""
    out: dict[str, float] = {}
    for task in STS_TASKS:
        values = [metric_value(r, f"test_{task}") for r in runs]
        if values and all(v is not None for v in values):
            out[task] = statistics.fmean(v for v in values if v is not None)
    if all(task in out for task in STS_TASKS):
        out[AVG] = statistics.fmean(out[t] for t in STS_TASKS)
    return out


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def compare(runs: list[Any], size: str | None, what: str) -> Comparison:
    """Per-task table of ``runs`` (averaged over them) against the paper's SCT row of Table 2 for ``size``."""
    teacher = next((distilled(r) for r in runs if distilled(r)), None)
    row = paper_row(size, distill=teacher is not None)
    paper = {} if row is None else {**row.tasks, AVG: row.mean}
    ours = _ours(runs)
    table: Table = []
    for task in (*STS_TASKS, AVG):
        mine, theirs = ours.get(task), paper.get(task)
        diff = None if mine is None or theirs is None else mine - theirs
        table.append({"task": task, "ours": _cell(mine), "paper": _cell(theirs), "ours_minus_paper": _cell(diff)})
    setting = f"distillation, teacher {teacher}" if teacher else "fine-tuning"
    kind = setting.split(",")[0]
    notes = [
        f"ours: {what}; paper: SCT, Table 2 of Limkonchotiwat et al. (2023), {kind}; the paper's 7-STS avg "
        "and its Δ are the mean of its seven rows, as ours is"
    ]
    if row is not None and not row.consistent:
        table.append({"task": PRINTED, "ours": "n/a", "paper": _cell(row.printed_avg), "ours_minus_paper": "n/a"})
        notes.append(
            f"† inconsistent paper row: Table 2 prints {row.printed_avg:.2f} as the 7-STS avg of SCT ({size}, {kind}), "
            f"but its seven rows average {row.mean:.2f}; Δ is taken against {row.mean:.2f} (the † line shows the "
            "printed number alone: n/a in ours and ours_minus_paper)"
        )
    model = runs[0].data.params.get("model.name", "") if runs else ""
    hub_id = size_overrides(size)["model.name"] if size else ""
    if size is None:
        notes.append("n/a in paper: model size unknown (a custom model): the paper's numbers do not apply (n/a)")
    elif row is None:
        notes.append(f"n/a in paper: Table 2 has no SCT {kind} row for {size}")
    if size and model and Path(model).name != hub_id.split("/")[-1]:
        notes.append(f"ours trained model.name={model}, not {hub_id}: the paper's {size} numbers are a reference only")
    if size and teacher:
        name, avg = TEACHER
        notes.append(f"the paper's teacher is {name} (7-STS avg {avg}); ours is {teacher}")
    if AVG not in ours:
        ran = [t for t in STS_TASKS if t in ours]
        missing = [t for t in STS_TASKS if t not in ours]
        notes.append(
            f"n/a in ours for {', '.join(missing)} and the 7-STS avg: those test sets did not run (eval.test_tasks); "
            f"no 7-STS average of ours: only {','.join(ran) or 'no test set'} ran"
        )
    if any(r["ours_minus_paper"] == "n/a" for r in table):
        notes.append("n/a in ours_minus_paper: where ours or the paper's number is n/a")
    return Comparison(f"ours vs paper ({size or 'custom model'}, {setting})", table, notes)


def best_trial_comparison(parent: Any, best: Any) -> Comparison:
    """A sweep's best trial against the paper."""
    return compare([best], parent_size(parent), f"best trial {best.info.run_name} (by best STS-B dev)")


def baseline_comparison(parent: Any, children: list[Any], baseline: str) -> Comparison | None:
    """The grid's baseline row (mean over its finished seeds) against the paper; None when it has no run."""
    runs = [r for r in finished(children) if r.data.tags.get(V.VARIANT) == baseline]
    if not runs:
        return None
    return compare(runs, parent_size(parent), f"baseline row '{baseline}', mean of {len(runs)} seed(s)")
