"""The parent run's description: results tables as marked markdown sections, rounded, replaced on resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from sct.tune import tracking
from sct.tune.experiment import Experiment
from sct.tune.report.description import NOTE_TAG, merged, rounded, section
from sct.tune.report.publish import log_table

pytest.importorskip("mlflow")


@pytest.mark.parametrize(
    ("value", "shown"),
    [(53.98716354, "53.99"), (-0.005, "-0.01"), ("0.00031", "0.00031"), ("t03", "t03"), (3, 3)],
)
def test_rounded(value: object, shown: object) -> None:
    assert rounded(value) == shown


def test_merged_replaces_its_own_section_and_keeps_the_rest() -> None:
    first = section("results", "sweep x", "| a |\n|---|\n| 1 |\n")
    note = merged("Written by a person.", "results", first)
    assert note.startswith("Written by a person.\n\n<!-- sct:results -->\n### sweep x\n\n| a |")
    note = merged(note, "seeds", section("seeds", "seeds x", "| b |\n", ["a note"]))
    again = merged(note, "results", section("results", "sweep x", "| a |\n|---|\n| 2 |\n"))
    assert again.count("<!-- sct:results -->") == 1 and "| 2 |" in again and "| 1 |" not in again
    assert again.index("sweep x") < again.index("seeds x") and "- a note" in again


def test_log_table_writes_the_parent_description_in_a_real_store(tmp_path: Path) -> None:
    uri = tracking.default_tracking_uri(tmp_path)
    experiment_id = tracking.ensure_experiment(uri, "described", tmp_path / "artifacts")
    parent = tracking.start_parent(uri, experiment_id, "described", {})
    exp = Experiment("described", tmp_path, uri, {}, {"experiment_id": experiment_id, "parent_run_id": parent})
    rows = [{"rank": 1, "trial": "t03", "best_stsb_dev": 53.9871635, "optim.lr": "0.0003"}]
    log_table(exp, rows, title="sweep described: top trials")
    log_table(exp, [{"row": "best", "mean": 54.123456}], "seeds", title="seeds", notes=["2 seeds"])
    rows[0]["best_stsb_dev"] = 55.0049  # a resumed experiment ends again: its section is replaced
    log_table(exp, rows, title="sweep described: top trials")
    note = tracking.client(uri).get_run(parent).data.tags[NOTE_TAG]
    assert note.count("### sweep described: top trials") == 1 and "| 1 | t03 | 55.00 | 0.0003 |" in note
    assert "53.99" not in note and "| best | 54.12 |" in note and "- 2 seeds" in note
