"""Ablation results from a real sqlite MLflow store built here: paired Δ, CI, notes, parent metrics, plots.

The store holds what ``sct.ablate`` writes (a parent run with ``sct.rows``/``sct.baseline``/``sct.skipped``,
child runs tagged ``sct.variant``/``sct.seed``/``sct.paper_delta`` with ``test_<task>`` metrics). Expected
numbers are computed here from the same fixed scores with scipy, never copied from an earlier output.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from sct.config import STS_TASKS
from sct.tune import tracking
from sct.tune.experiment import Experiment
from sct.tune.report import publish
from sct.tune.report.ablation import CE_NOTE, analyse_parent
from sct.tune.report.from_mlflow import find_parent

SEEDS = ("42", "43", "44")
# variant -> seed -> 7-STS average; per-task scores are the average + a fixed offset per task
SCORES = {
    "sct": {"42": 70.0, "43": 70.6, "44": 69.8},
    "no_queue": {"42": 68.1, "43": 68.9, "44": 67.9},  # clearly worse: the CI excludes 0
    "cross_entropy": {"42": 70.1, "43": 70.4, "44": 69.9},  # noise around the baseline
    "one_seed": {"42": 71.0},
}
OFFSETS = dict(zip(STS_TASKS, (1.0, -3.0, -2.0, 7.0, 1.0, 2.0, -6.0), strict=True))  # they sum to 0
PAPER = {"sct": "0", "no_queue": "-1.5", "cross_entropy": "", "one_seed": "0.4"}


def store(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"


def add_parent(uri: str, name: str, tags: dict[str, str]) -> tuple[str, str]:
    """(experiment id, parent run id) of a new experiment ``name``."""
    experiment_id = tracking.ensure_experiment(uri, name, Path(uri.removeprefix("sqlite:///")).parent / "artifacts")
    return experiment_id, tracking.start_parent(uri, experiment_id, name, tags)


def add_child(
    uri: str,
    experiment_id: str,
    parent_id: str,
    tags: dict[str, str],
    metrics: dict[str, float],
    params: dict[str, str] | None = None,
    status: str = "FINISHED",
) -> str:
    mlflow = tracking.client(uri)
    run = mlflow.create_run(experiment_id, run_name=f"trial_{tags.get('sct.variant')}_{tags.get('sct.seed')}",
                            tags={tracking.PARENT_TAG: parent_id, **tags})  # fmt: skip
    for key, value in metrics.items():
        mlflow.log_metric(run.info.run_id, key, value)
    for key, value in (params or {}).items():
        mlflow.log_param(run.info.run_id, key, value)
    mlflow.set_terminated(run.info.run_id, status)
    return run.info.run_id


def task_metrics(avg: float, tasks: tuple[str, ...] = STS_TASKS) -> dict[str, float]:
    out = {f"test_{t}": avg + OFFSETS[t] for t in tasks}
    out["test_avg"] = sum(out.values()) / len(tasks)
    out["best_stsb_dev"] = avg + 5.0
    return out


def ablation_store(tmp_path: Path, name: str = "table4-bert-tiny", tasks: tuple[str, ...] = STS_TASKS) -> str:
    """The ablation above, plus a FAILED run and a row skipped with a reason; returns the tracking URI."""
    uri = store(tmp_path)
    skipped = {"aug_mlm": "no masked LM: --set data.mlm_model=bert-base-uncased"}
    tags = {"sct.kind": "ablation", "sct.size": "bert-tiny", "sct.grid": "table4", "sct.baseline": "sct"}
    tags |= {"sct.rows": "sct,no_queue,cross_entropy,one_seed,poisoned", "sct.skipped": json.dumps(skipped)}
    experiment_id, parent_id = add_parent(uri, name, tags)
    for variant, by_seed in SCORES.items():
        for seed, avg in by_seed.items():
            child_tags = {"sct.kind": "ablation", "sct.variant": variant, "sct.seed": seed, "sct.size": "bert-tiny"}
            child_tags["sct.paper_delta"] = PAPER[variant]
            params = {"method.divergence": "ce" if variant == "cross_entropy" else "kl", "distill.teacher": "None"}
            add_child(uri, experiment_id, parent_id, child_tags, task_metrics(avg, tasks), params)
    poisoned = {"sct.kind": "ablation", "sct.variant": "poisoned", "sct.seed": "42", "sct.paper_delta": ""}
    add_child(uri, experiment_id, parent_id, poisoned, {}, status="FAILED")
    return uri


def expected_ci(row: str) -> tuple[float, float]:
    diffs = [SCORES[row][s] - SCORES["sct"][s] for s in SEEDS]
    ci = scipy_stats.ttest_1samp(diffs, 0.0).confidence_interval(0.95)
    return ci.low, ci.high


def load(uri: str, name: str) -> tuple[object, list]:
    experiment_id, parent = find_parent(uri, name)
    return parent, tracking.child_runs(uri, experiment_id, parent.info.run_id)


def test_ablation_rows_pair_by_seed_and_mark_noise(tmp_path: Path) -> None:
    uri = ablation_store(tmp_path)
    result = analyse_parent(*load(uri, "table4-bert-tiny"))
    assert result.score.metric == "test_avg" and result.score.label.startswith("7-STS test average")
    rows = {row["variant"]: row for row in result.table()}
    assert list(rows) == ["sct", "no_queue", "cross_entropy", "one_seed", "poisoned"]
    low, high = expected_ci("no_queue")
    assert rows["no_queue"]["ci95_low"] == f"{low:.2f}" and rows["no_queue"]["ci95_high"] == f"{high:.2f}"
    assert rows["no_queue"]["within_noise"] == "no" and rows["no_queue"]["paper_in_ci"] == "no"
    assert rows["no_queue"]["paper_delta"] == "-1.5" and rows["no_queue"]["pairs"] == 3
    assert rows["cross_entropy"]["within_noise"] == "yes" and rows["cross_entropy"]["paper_delta"] == "n/a"
    assert rows["cross_entropy"]["note"].startswith("CE = KL + const")
    assert rows["one_seed"]["pairs"] == 1 and rows["one_seed"]["ci95_low"] == "n/a"
    assert rows["one_seed"]["within_noise"] == "n/a" and rows["one_seed"]["delta"] == "1.00"
    assert (
        rows["sct"]["within_noise"] == "baseline"
        and rows["sct"]["test_avg_sd"] == f"{statistics.stdev(SCORES['sct'].values()):.2f}"
    )
    assert rows["poisoned"]["n"] == 0 and rows["poisoned"]["test_avg_mean"] == "n/a"
    assert CE_NOTE.format(row="cross_entropy") in result.notes
    assert any("no interval can be given" in note for note in result.notes)
    assert "skipped (not run here): aug_mlm: no masked LM: --set data.mlm_model=bert-base-uncased" in result.notes


def test_sts_b_only_runs_are_never_called_7_sts(tmp_path: Path) -> None:
    uri = ablation_store(tmp_path, "stsb-only", tasks=("stsb",))
    result = analyse_parent(*load(uri, "stsb-only"))
    assert result.score.metric == "test_stsb" and "not a 7-STS score" in result.score.label
    assert "7-STS test average" not in " ".join(result.notes)


def test_ablation_outputs_log_row_metrics_tables_and_plots(tmp_path: Path) -> None:
    uri = ablation_store(tmp_path)
    experiment_id, parent = find_parent(uri, "table4-bert-tiny")
    exp = Experiment("table4-bert-tiny", tmp_path / "runs", uri, {})
    exp.state = {"parent_run_id": parent.info.run_id, "experiment_id": experiment_id}
    paper = {"sct": 0.0, "no_queue": -1.5, "cross_entropy": None, "one_seed": 0.4, "poisoned": None}
    order = ["sct", "no_queue", "cross_entropy", "one_seed", "poisoned"]
    table = publish.ablation_outputs(exp, order, "sct", paper, kind="ablation")
    assert [row["variant"] for row in table] == order
    run = tracking.client(uri).get_run(parent.info.run_id)
    low, high = expected_ci("no_queue")
    metrics = run.data.metrics
    assert metrics["no_queue.ci_low"] == pytest.approx(low) and metrics["no_queue.ci_high"] == pytest.approx(high)
    base = statistics.fmean(SCORES["sct"].values())
    assert metrics["no_queue.delta"] == pytest.approx(statistics.fmean(SCORES["no_queue"].values()) - base)
    assert metrics["sct.mean"] == pytest.approx(base) and metrics["sct.n"] == 3
    assert metrics["no_queue.paper_delta"] == -1.5 and "one_seed.ci_low" not in metrics
    assert "one_seed.sd" not in metrics and metrics["one_seed.delta"] == pytest.approx(1.0)
    assert run.data.tags["sct.score"] == "test_avg"
    artifacts = {a.path for a in tracking.client(uri).list_artifacts(parent.info.run_id, "results")}
    assert artifacts == {"results/results.csv", "results/results.md"}
    markdown = (exp.path / "results.md").read_text()
    assert (
        markdown.startswith("ablation table4-bert-tiny: 7-STS test average")
        and CE_NOTE.format(row="cross_entropy") in markdown
    )
    assert (exp.path / "plots" / "ablation.png").stat().st_size > 1000


def test_queue_size_grid_draws_the_figure_4_curve(tmp_path: Path) -> None:
    uri = store(tmp_path)
    tags = {"sct.kind": "ablation", "sct.size": "bert-small", "sct.rows": "k128,k65536", "sct.baseline": "k65536"}
    experiment_id, parent_id = add_parent(uri, "queue", tags)
    for variant, base in (("k128", 60.0), ("k65536", 62.0)):
        for i, seed in enumerate(SEEDS):
            child = {"sct.kind": "ablation", "sct.variant": variant, "sct.seed": seed}
            add_child(uri, experiment_id, parent_id, child, {"best_stsb_dev": base + 0.1 * i})
    exp = Experiment("queue", tmp_path / "runs", uri, {})
    exp.state = {"parent_run_id": parent_id, "experiment_id": experiment_id}
    publish.ablation_outputs(
        exp, ["k128", "k65536"], "k65536", {}, kind="ablation", queue_sizes={"k128": 128, "k65536": 65536}
    )
    assert (exp.path / "plots" / "queue_size.png").is_file()
    assert tracking.client(uri).get_run(parent_id).data.tags["sct.score"] == "best_stsb_dev"
    assert (
        (exp.path / "results.md").read_text().startswith("ablation queue: best STS-B dev (best_stsb_dev; no test set")
    )


def test_seed_reruns_of_a_sweep_best_config(tmp_path: Path, capsys) -> None:
    uri = store(tmp_path)
    experiment_id, parent_id = add_parent(uri, "sweep", {"sct.kind": "sweep", "sct.size": "bert-tiny"})
    for seed, avg in (("42", 70.0), ("43", 71.0)):
        add_child(uri, experiment_id, parent_id, {"sct.kind": "seeds", "sct.variant": "best", "sct.seed": seed},
                  task_metrics(avg, ("stsb",)))  # fmt: skip
    add_child(uri, experiment_id, parent_id, {"sct.kind": "sweep", "sct.variant": "sweep"}, task_metrics(60.0))
    exp = Experiment("sweep", tmp_path / "runs", uri, {})
    exp.state = {"parent_run_id": parent_id, "experiment_id": experiment_id}
    table = publish.ablation_outputs(exp, ["best"], "best", {}, kind="seeds")
    assert [row["variant"] for row in table] == ["best"] and "| best | 2 |" in capsys.readouterr().out
    run = tracking.client(uri).get_run(parent_id)
    assert run.data.metrics["seeds.best.mean"] == pytest.approx(70.5 + OFFSETS["stsb"])
    assert run.data.metrics["seeds.best.sd"] == pytest.approx(statistics.stdev([70.0, 71.0]))
    assert run.data.tags["sct.seeds.score"] == "test_stsb" and (exp.path / "seeds.csv").is_file()
