"""The MLflow runs table a user sees first: a saved view of the experiment, opened by the printed link.

MLflow's UI keeps shared views as experiment tags ``mlflow.sharedViewState.<key>`` (JSON of the search
facets and the table's state; its "Share" button writes them) and applies one when the page's URL carries
``viewStateShareKey=<key>`` (read in MLflow 3.18's bundled UI). Ours shows the searched params and the scores
as the first columns, and sorts by the objective, best first: sorted by a metric, the UI lists child runs
flat instead of folding them under their parent's "+", so every trial is a visible row. The runs'
expanded/pinned state is not part of a shared view in MLflow, hence the sort.
"""

from __future__ import annotations

import json
from typing import Any

VIEW_KEY = "sct-results"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
URL_QUERY = f"viewStateShareKey={VIEW_KEY}"
SCORES = ("best_stsb_dev", "test_avg")  # the objective first: the column a user reads first


def column(kind: str, key: str) -> str:
    """The UI's column id: ``params.`optim.lr```, ``metrics.`best_stsb_dev```, ``tags.`sct.variant```."""
    return f"{kind}.`{key}`"


def results_view(params: list[str], tags: list[str] = (), metrics: tuple[str, ...] = SCORES) -> dict[str, Any]:
    """The view's state: the objective and scores, then ``tags`` and ``params`` as columns; sorted by the
    objective, best first; every lifecycle state shown."""
    columns = [column("metrics", m) for m in metrics] + [column("tags", t) for t in tags]
    columns += [column("params", p) for p in params]
    return {
        "orderByKey": column("metrics", metrics[0]),
        "orderByAsc": False,
        "searchFilter": "",
        "startTime": "ALL",
        "lifecycleFilter": "Active",
        "selectedColumns": columns,
        "columnOrder": [],
        "runsHiddenMode": "SHOW_ALL",
    }


def save_results_view(mlflow: Any, experiment_id: str, view: dict[str, Any]) -> None:
    """Write the view as the experiment's tag (again on resume: the same state)."""
    mlflow.set_experiment_tag(experiment_id, VIEW_TAG, json.dumps(view))
