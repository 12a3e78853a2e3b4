"""``python -m sct.report`` on a real sqlite MLflow store built in the test: markdown, CSV, errors, paper columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from sct import report
from sct.presets import PAPER_DISTILL_AVG, PAPER_FINETUNE_AVG, PAPER_FINETUNE_TASKS, paper_scores
from sct.tune import ablation_results
from tests.tune.test_results import OFFSETS, SCORES, ablation_store, add_child, add_parent, store, task_metrics


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
    assert ablation_results.CE_NOTE.format(row="cross_entropy") in out
    assert "- skipped (not run here): aug_mlm: no masked LM: --set data.mlm_model=bert-base-uncased" in out
    base = sum(SCORES["sct"].values()) / 3
    tiny = PAPER_FINETUNE_TASKS["bert-tiny"]
    assert f"| sts12 | {base + OFFSETS['sts12']:.2f} | {tiny['sts12']:.2f} |" in out
    assert f"| 7-STS avg | {base:.2f} | {PAPER_FINETUNE_AVG['bert-tiny']:.2f} |" in out


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
        ("bert-small", "None", f"{PAPER_FINETUNE_AVG['bert-small']:.2f}"),
        ("bert-mini", "/models/all-MiniLM-L6-v2", f"{PAPER_DISTILL_AVG['bert-mini']:.2f}"),
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
    paper_sts12 = paper_scores(None if size == "None" else size, teacher != "None").get("sts12")
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


def test_paper_table_2_is_consistent() -> None:
    for size, tasks in PAPER_FINETUNE_TASKS.items():
        assert round(sum(tasks.values()) / len(tasks), 2) == PAPER_FINETUNE_AVG[size]
    assert paper_scores("bert-large", distill=True) == {} and paper_scores(None, distill=False) == {}
