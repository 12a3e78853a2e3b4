"""``python -m sct.report`` on a real sqlite MLflow store built in the test: markdown, CSV, errors, paper columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from sct import report
from sct.paper import DISTILL, FINETUNE, paper_row
from sct.tune.report import from_mlflow, tables
from sct.tune.report.ablation import CE_NOTE
from tests.tune.report.test_tables import OFFSETS, SCORES, ablation_store, add_child, add_parent, store, task_metrics


def run_report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # drop what building the store printed (MLflow's schema messages)
    code = report.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_markdown_has_title_table_notes_skipped_rows_and_paper_columns(tmp_path: Path, capsys) -> None:
    uri = ablation_store(tmp_path)
    code, out, _ = run_report(capsys, "table4-bert-tiny", "--tracking-uri", uri)
    assert code == 0
    title = out.splitlines()[0]
    assert title.startswith("ablation table4-bert-tiny (grid table4, bert-tiny): 7-STS test average (test_avg)")
    assert "| sct | 3 |" in out and "| one_seed | 1 | 71.00 | n/a | 1 | 1.00 | n/a | n/a | n/a | 0.4 | n/a |" in out
    assert CE_NOTE.format(row="cross_entropy") in out
    assert "- skipped (not run here): aug_mlm: no masked LM: --set data.mlm_model=bert-base-uncased" in out
    base = sum(SCORES["sct"].values()) / 3
    tiny = FINETUNE["bert-tiny"]
    assert f"| sts12 | {base + OFFSETS['sts12']:.2f} | {tiny.tasks['sts12']:.2f} |" in out
    assert f"| 7-STS avg | {base:.2f} | {tiny.printed_avg:.2f} |" in out and "as printed †" not in out


def test_csv_goes_to_stdout_alone_and_parses(tmp_path: Path, capsys) -> None:
    uri = ablation_store(tmp_path)
    code, out, err = run_report(capsys, "table4-bert-tiny", "--tracking-uri", uri, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["variant"] for r in rows] == ["sct", "no_queue", "cross_entropy", "one_seed", "poisoned"]
    assert rows[1]["within_noise"] == "no" and rows[1]["paper_delta"] == "-1.5"
    assert set(rows[0]) >= {"test_avg_mean", "test_avg_sd", "delta", "ci95_low", "ci95_high", "paper_in_ci"}
    assert err.startswith("ablation table4-bert-tiny") and "skipped (not run here): aug_mlm" in err
    assert "ours vs paper (bert-tiny, fine-tuning)" in err and "ours vs paper" not in out


def test_sts_b_only_grid_is_labelled_as_such(tmp_path: Path, capsys) -> None:
    uri = ablation_store(tmp_path, "stsb-only", tasks=("stsb",))
    code, out, _ = run_report(capsys, "stsb-only", "--tracking-uri", uri)
    assert code == 0 and "STS-B test only (test_stsb" in out.splitlines()[0]
    assert "test_stsb_mean" in out and "7-STS test average" not in out
    assert "| 7-STS avg | n/a | 69.73 | n/a |" in out and "no 7-STS average of ours: only stsb ran" in out


def test_unknown_experiment_exits_2_listing_the_experiments_there(tmp_path: Path, capsys) -> None:
    uri = ablation_store(tmp_path)
    add_parent(uri, "sweep-bert-small", {"sct.kind": "sweep", "sct.size": "bert-small"})
    code, out, err = run_report(capsys, "table4-bert-small", "--tracking-uri", uri)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err == (
        f"python -m sct.report: error: no MLflow experiment 'table4-bert-small' at {uri}: "
        "experiments there: sweep-bert-small, table4-bert-tiny\n"
    )
    code, _, err = run_report(capsys, "x", "--storage", str(tmp_path / "nowhere"))
    assert code == 2 and err.startswith("python -m sct.report: error: no MLflow store at sqlite:///")


@pytest.mark.parametrize(
    ("size", "teacher", "avg_cell"),
    [
        ("bert-small", "None", f"{FINETUNE['bert-small'].printed_avg:.2f}"),
        ("bert-mini", "/models/all-MiniLM-L6-v2", f"{DISTILL['bert-mini'].printed_avg:.2f}"),
        ("None", "None", "n/a"),
    ],
)
def test_sweep_best_trial_beside_the_paper(tmp_path: Path, capsys, size: str, teacher: str, avg_cell: str) -> None:
    uri = store(tmp_path)
    tags = {"sct.kind": "sweep", "sct.size": size, "sct.space_keys": "optim.lr"}
    experiment_id, parent_id = add_parent(uri, "sweep", tags)
    for lr, avg in (("0.0003", 71.0), ("0.0005", 73.0)):
        child = {"sct.kind": "sweep", "sct.variant": "sweep", "sct.seed": "42"}
        model = "/hub/google/bert_uncased_L-4_H-512_A-8" if size == "bert-small" else f"/models/{size}"
        params = {"optim.lr": lr, "distill.teacher": teacher, "model.name": model}
        add_child(uri, experiment_id, parent_id, child, task_metrics(avg), params)
    code, out, err = run_report(capsys, "sweep", "--tracking-uri", uri)
    assert code == 0 and err == ""
    assert out.splitlines()[0] == f"sweep sweep ({size}): top 10 trials by best STS-B dev"
    assert f"| 7-STS avg | 73.00 | {avg_cell} |" in out and "best trial trial_sweep_42" in out
    row = paper_row(None if size == "None" else size, teacher != "None")
    paper_sts12 = None if row is None else row.tasks["sts12"]
    assert (
        f"| sts12 | {73.0 + OFFSETS['sts12']:.2f} | {'n/a' if paper_sts12 is None else f'{paper_sts12:.2f}'} |" in out
    )
    if teacher != "None":
        assert "the paper's teacher is BERT-Large-SimCSE (7-STS avg 78.41)" in out
    if size == "None":
        assert "the paper's numbers do not apply (n/a)" in out
    elif size == "bert-mini":  # /models/bert-mini is not the hub id google/bert_uncased_L-4_H-256_A-4
        assert "the paper's bert-mini numbers are a reference only" in out
    else:
        assert "reference only" not in out


def test_table_2_averages_that_are_not_the_mean_of_their_rows_are_flagged() -> None:
    """Transcribed from the paper's Table 2: every SCT row adds up except two (checked by hand from the PDF)."""
    inconsistent = {(kind, size) for kind, rows in (("finetune", FINETUNE), ("distill", DISTILL))
                    for size, row in rows.items() if not row.consistent}  # fmt: skip
    assert inconsistent == {("finetune", "bert-base"), ("distill", "bert-tiny")}
    assert round(FINETUNE["bert-base"].mean, 2) == 76.26 and FINETUNE["bert-base"].printed_avg == 75.55
    assert round(DISTILL["bert-tiny"].mean, 2) == 76.45 and DISTILL["bert-tiny"].printed_avg == 76.43
    assert paper_row("bert-large", distill=True) is None and paper_row(None, distill=False) is None


def test_grids_baselines_are_the_printed_table_2_averages() -> None:
    """The ablation grids' paper scores of SCT rows are Table 2's printed averages (their Δs are the paper's)."""
    from sct.tune.plan.grids import load_grid

    for name, baseline, rows in (("table4", "sct", FINETUNE), ("table6", "sct_distill", DISTILL),
                                 ("table7", "cd_sct", DISTILL)):  # fmt: skip
        grid = load_grid(name)
        for size, score in grid.row(baseline).paper_score.items():
            assert score == rows[size].printed_avg, (name, size)


def test_an_inconsistent_paper_row_shows_both_averages_and_delta_against_the_mean(tmp_path: Path, capsys) -> None:
    uri = store(tmp_path)
    experiment_id, parent_id = add_parent(uri, "sweep", {"sct.kind": "sweep", "sct.size": "bert-base"})
    child = {"sct.kind": "sweep", "sct.variant": "sweep", "sct.seed": "42"}
    params = {"optim.lr": "0.0005", "distill.teacher": "None", "model.name": "/hub/bert-base-uncased"}
    add_child(uri, experiment_id, parent_id, child, task_metrics(75.0), params)
    code, out, _ = run_report(capsys, "sweep", "--tracking-uri", uri)
    assert code == 0
    assert "| 7-STS avg | 75.00 | 76.26 | -1.26 |" in out  # Δ against the mean of the paper's rows
    assert "| 7-STS avg as printed † | n/a | 75.55 | n/a |" in out
    assert (
        "† inconsistent paper row: Table 2 prints 75.55 as the 7-STS avg of SCT (bert-base, fine-tuning), "
        "but its seven rows average 76.26; Δ is taken against 76.26" in out
    )


def unexplained_na(table: list[dict], notes: list[str]) -> list[str]:
    """Columns of ``table`` holding an n/a that no note explains (a note ``n/a in ...`` naming the column)."""
    columns = {key for row in table for key, value in row.items() if value == "n/a"}
    return sorted(c for c in columns if not any(n.startswith("n/a in") and c in n.split(":")[0] for n in notes))


def test_every_n_a_of_an_ablation_report_says_why(tmp_path: Path) -> None:
    uri = ablation_store(tmp_path)
    report = from_mlflow.experiment_report(uri, "table4-bert-tiny")
    assert unexplained_na(report.table, report.notes) == []
    assert "n/a in test_avg_mean/test_avg_sd/delta of poisoned: no finished run with this score" in report.notes
    assert "n/a in test_avg_sd of one_seed: one seed (a standard deviation needs two)" in report.notes
    assert "n/a in ci95_low/ci95_high/paper_in_ci of 'sct': Δ is taken against it, it has none" in report.notes
    comparison = report.comparison
    assert comparison is not None and unexplained_na(comparison.table, comparison.notes) == []


@pytest.mark.parametrize(
    ("size", "why"),
    [
        (
            "bert-mini",
            "the paper gives no Δ for them at bert-mini (grid table4 has the paper's Δ for bert-tiny, bert-small)",
        ),
        ("None", "the model trained has none of the paper's BERT shapes (size None): no paper Δ applies"),
    ],
)
def test_a_paper_delta_missing_for_the_size_trained_is_explained(tmp_path: Path, size: str, why: str) -> None:
    """The README's offline grid trains a BERT-Mini shape: Table 4 has no BERT-Mini column, and the note says so."""
    uri = store(tmp_path)
    tags = {"sct.kind": "ablation", "sct.size": size, "sct.grid": "table4", "sct.baseline": "sct"}
    experiment_id, parent_id = add_parent(uri, "table4-x", tags | {"sct.rows": "sct,contrastive"})
    for variant in ("sct", "contrastive"):
        for seed in ("42", "43"):
            child = {"sct.kind": "ablation", "sct.variant": variant, "sct.seed": seed, "sct.paper_delta": ""}
            add_child(uri, experiment_id, parent_id, child, task_metrics(70.0 + int(seed) / 10, ("stsb",)))
    report = from_mlflow.experiment_report(uri, "table4-x")
    assert [row["paper_delta"] for row in report.table] == ["n/a", "n/a"]
    assert f"n/a in paper_delta (and paper_in_ci) of sct, contrastive: {why}" in report.notes
    assert unexplained_na(report.table, report.notes) == []
    comparison = report.comparison
    assert comparison is not None and unexplained_na(comparison.table, comparison.notes) == []
    assert any(n.startswith("n/a in ours for sts12, sts13") for n in comparison.notes)


def test_every_n_a_of_a_sweep_report_says_why(tmp_path: Path) -> None:
    uri = store(tmp_path)
    tags = {"sct.kind": "sweep", "sct.size": "bert-large", "sct.space_keys": "optim.lr"}
    experiment_id, parent_id = add_parent(uri, "sweep", tags)
    child = {"sct.kind": "sweep", "sct.variant": "sweep", "sct.seed": "42"}
    params = {"optim.lr": "0.0003", "distill.teacher": "/models/teacher", "model.name": "/models/bert-large"}
    add_child(uri, experiment_id, parent_id, child, task_metrics(71.0), params)
    stopped = {**child, "sct.trial_end": "stopped"}  # stopped early by ASHA: FINISHED in MLflow, not a crash
    add_child(uri, experiment_id, parent_id, stopped, {"best_stsb_dev": 60.0}, params)
    report = from_mlflow.experiment_report(uri, "sweep")
    assert [row["test_avg"] for row in report.table] == ["71.00", "n/a"]
    assert [row["status"] for row in report.table] == ["finished", "stopped"]
    assert unexplained_na(report.table, report.notes) == []
    assert report.notes[0].startswith("n/a in test_avg of trial_sweep_42 (stopped): a trial scores the test sets when")
    comparison = report.comparison
    assert comparison is not None and unexplained_na(comparison.table, comparison.notes) == []
    assert "n/a in paper: Table 2 has no SCT distillation row for bert-large" in comparison.notes


def test_an_early_stop_reads_stopped_in_old_and_new_stores_and_is_never_the_best(tmp_path: Path) -> None:
    """Older stores closed an ASHA-stopped run as KILLED with ``sct.early_stopped``; now it is FINISHED with
    ``sct.trial_end = stopped``. Both read ``stopped`` in the table, and neither is the best run, whatever its
    score; a KILLED run without the tag was an interrupted sweep."""
    uri = store(tmp_path)
    tags = {"sct.kind": "sweep", "sct.size": "bert-tiny", "sct.space_keys": "optim.lr"}
    experiment_id, parent_id = add_parent(uri, "sweep", tags)
    child = {"sct.kind": "sweep", "sct.variant": "sweep", "sct.seed": "42"}
    add_child(uri, experiment_id, parent_id, child, task_metrics(60.0), {"optim.lr": "0.0001"})
    add_child(uri, experiment_id, parent_id, {**child, "sct.trial_end": "stopped"}, {"best_stsb_dev": 90.0})
    old = {**child, "sct.early_stopped": "true"}
    add_child(uri, experiment_id, parent_id, old, {"best_stsb_dev": 80.0}, status="KILLED")
    add_child(uri, experiment_id, parent_id, child, {"best_stsb_dev": 70.0}, status="KILLED")
    report = from_mlflow.experiment_report(uri, "sweep")
    assert [row["status"] for row in report.table] == ["stopped", "stopped", "interrupted", "finished"]
    assert "KILLED" not in tables.to_markdown(report.table)
    params, best = from_mlflow.sweep_best(uri, "sweep")
    assert params == {"optim.lr": "0.0001"} and best.data.metrics["test_avg"] == task_metrics(60.0)["test_avg"]
