"""The parent run's description in the MLflow UI: the experiment's results tables, readable at first sight.

MLflow renders a run's ``mlflow.note.content`` tag as markdown on the run's page (its "Description"). Each
results table an experiment logs (``results``, ``seeds``) is one section of that note, between markers, so
the end of a resumed experiment replaces its sections instead of appending them again, and a description a
person wrote above them is kept. Numbers there are a presentation copy rounded to 2 decimals; the metrics
and the CSV files keep the exact values.
"""

from __future__ import annotations

import re
from typing import Any

NOTE_TAG = "mlflow.note.content"


def rounded(value: Any) -> Any:
    """A float to 2 decimals; anything else (the tables' own formatted strings: params keep their digits) as
    it is."""
    return f"{value:.2f}" if isinstance(value, float) else value


def section(key: str, title: str, markdown_table: str, notes: list[str] | None = None) -> str:
    """One marked section: ``### title``, the table and its notes."""
    body = f"### {title}\n\n{markdown_table.rstrip()}\n" + "".join(f"\n- {note}" for note in notes or [])
    return f"<!-- sct:{key} -->\n{body.rstrip()}\n<!-- /sct:{key} -->"


def merged(note: str, key: str, new_section: str) -> str:
    """``note`` with section ``key`` replaced by ``new_section`` (appended when it has none)."""
    pattern = re.compile(rf"<!-- sct:{re.escape(key)} -->.*?<!-- /sct:{re.escape(key)} -->", re.DOTALL)
    if pattern.search(note):
        return pattern.sub(lambda _: new_section, note, count=1)
    return f"{note.rstrip()}\n\n{new_section}".lstrip()


def describe_parent(mlflow: Any, run_id: str, key: str, title: str, table: list[dict], notes: list[str] | None) -> None:
    """Write (or replace) section ``key`` of run ``run_id``'s description with ``table`` rounded for reading."""
    from sct.tune.report.tables import to_markdown

    shown = [{column: rounded(value) for column, value in row.items()} for row in table]
    current = mlflow.get_run(run_id).data.tags.get(NOTE_TAG, "")
    mlflow.set_tag(run_id, NOTE_TAG, merged(current, key, section(key, title, to_markdown(shown), notes)))
