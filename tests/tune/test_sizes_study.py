"""Two sizes swept offline (``--model-dir`` from a config-only directory, the fake trainer, a local Ray), the
second warm-started from the first; then the cross-size table and plot from the recorded MLflow runs."""

from __future__ import annotations

import csv
import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from sct import report
from sct.tune import tracking
from tests.conftest import FIXTURES
from tests.tune import fake_sweep
from tests.tune.fake_trainer import SLOW_EVAL_BATCH
from tests.tune.local_ray import local_ray_session

ray = pytest.importorskip("ray")
optuna = pytest.importorskip("optuna")
FAKE = "tests.tune.fake_trainer:train"
TINY, MINI = "sweep-bert-tiny-smoke", "sweep-bert-mini-smoke"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    with local_ray_session():
        yield


def offline(size: str, storage: Path, model_dir: Path, *extra: str) -> list[str]:
    return [
        size, "--smoke", "--trainer", FAKE, "--storage", str(storage),
        "--model-dir", f"{size}={model_dir}",
        "--train-data", str(FIXTURES / "sentences.txt"), "--sts-dir", str(FIXTURES / "sts"),
        "--set", "eval.test_tasks=[stsb]", "--set", "data.augmentation=word_deletion", *extra,
    ]  # fmt: skip


def children(storage: Path, experiment: str) -> list:
    mlflow = tracking.client(tracking.default_tracking_uri(storage))
    exp = mlflow.get_experiment_by_name(experiment)
    runs = mlflow.search_runs([exp.experiment_id], max_results=100)
    return [r for r in runs if r.data.tags.get("sct.role") != "parent"]


def parent_run(storage: Path, experiment: str):
    mlflow = tracking.client(tracking.default_tracking_uri(storage))
    exp = mlflow.get_experiment_by_name(experiment)
    (run,) = mlflow.search_runs([exp.experiment_id], filter_string="tags.`sct.role` = 'parent'")
    return run


def best(runs: list) -> dict[str, float]:
    top = max(runs, key=lambda r: r.data.metrics.get("best_stsb_dev", float("-inf")))
    keys = ("optim.lr", "method.queue_size", "method.tau_ref", "method.tau_online")
    return {k: float(top.data.params[k]) for k in keys}


def test_two_sizes_warm_start_and_the_cross_size_table(shared_dir, tmp_path, capsys) -> None:
    mini_config = shared_dir / "models" / "bert-mini-config"
    assert fake_sweep.sweep(offline("bert-tiny", tmp_path, mini_config)) == 0
    tiny_runs = children(tmp_path, TINY)
    assert {r.data.tags["sct.size"] for r in tiny_runs} == {"bert-tiny"}  # the built student's shape
    assert [r.data.tags.get("sct.warm_start") for r in tiny_runs].count("points_to_evaluate") == 1
    capsys.readouterr()
    assert fake_sweep.sweep(offline("bert-mini", tmp_path, mini_config, "--warm-start", "--dry-run")) == 0
    assert f"warm start (best of {TINY}): " in capsys.readouterr().out
    assert fake_sweep.sweep(offline("bert-mini", tmp_path, mini_config, "--warm-start")) == 0
    mini_runs = children(tmp_path, MINI)
    sources = {r.data.tags.get("sct.warm_start"): r for r in mini_runs}
    assert set(sources) == {"points_to_evaluate", f"best of {TINY}"}  # 2 smoke trials, both warm starts
    warm = sources[f"best of {TINY}"]
    assert {k: float(warm.data.params[k]) for k in best(tiny_runs)} == best(tiny_runs)  # same space: unchanged
    study = optuna.load_study(study_name=MINI, storage=f"sqlite:///{tmp_path / MINI / 'optuna.db'}")
    assert sorted(t.user_attrs["sct.warm_start"] for t in study.trials) == ["best of " + TINY, "points_to_evaluate"]

    parents = {name: parent_run(tmp_path, name) for name in (TINY, MINI)}
    both = offline("bert-mini", tmp_path, mini_config, "--model-dir", f"bert-tiny={mini_config}", "--warm-start")
    capsys.readouterr()
    assert fake_sweep.sweep(["bert-tiny", *both, "--resume"]) == 0  # both finished: neither runs nor summarises again
    out = capsys.readouterr().out
    assert f"== {TINY} (finished before: not run again) ==" in out and f"== {MINI} (finished before" in out
    assert "best hyperparameters by model size (2 sweeps)" in out
    for name, before in parents.items():
        after = parent_run(tmp_path, name)
        assert (after.info.end_time, after.info.status) == (before.info.end_time, "FINISHED")
        assert after.data.tags.keys() - before.data.tags.keys() <= {"sct.study", "sct.study_run_id"}  # the study links
    assert len(children(tmp_path, TINY)) == len(tiny_runs) and len(children(tmp_path, MINI)) == len(mini_runs)

    capsys.readouterr()
    argv = [TINY, MINI, "--storage", str(tmp_path), "--format", "csv"]
    assert report.main(argv) == 0
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert [r["size"] for r in rows] == ["bert-tiny", "bert-mini"] and [r["experiment"] for r in rows] == [TINY, MINI]
    tiny, mini = rows
    assert float(tiny["lr"]) == pytest.approx(best(tiny_runs)["optim.lr"], rel=1e-2)
    assert (tiny["paper_lr"], mini["paper_lr"], tiny["paper_k"], mini["paper_tau_ref"]) == (
        "0.0005",
        "0.0003",
        "131072",
        "0.01",
    )
    assert (tiny["paper_stsb"], mini["paper_avg7"]) == ("71.79", "69.59")  # Table 2, mean of the mini row
    assert (tiny["trials"], mini["trials"], tiny["warm_starts"], mini["warm_starts"]) == ("2", "2", "1", "2")
    assert tiny["gpu_hours"] == "0" and tiny["avg7"] == "n/a"  # a CPU-only cluster; only STS-B tested
    assert float(tiny["trial_hours"]) > 0 and tiny["params_M"] == "4.4" and mini["params_M"] == "11.2"
    assert "avg7 n/a: fewer than the 7 STS test sets" in captured.err

    mlflow = tracking.client(tracking.default_tracking_uri(tmp_path))
    study_exp = mlflow.get_experiment_by_name(f"study-{TINY}+{MINI}")
    (run,) = mlflow.search_runs([study_exp.experiment_id])
    assert run.data.tags["sct.role"] == "study" and run.data.tags["sct.experiments"] == f"{TINY},{MINI}"
    files = {a.path for folder in ("results", "plots") for a in mlflow.list_artifacts(run.info.run_id, folder)}
    assert files == {"results/sizes.csv", "results/sizes.md", "plots/sizes.png"}
    assert "bert-mini.best_stsb_dev" in run.data.metrics
    for name in (TINY, MINI):
        exp = mlflow.get_experiment_by_name(name)
        (parent,) = mlflow.search_runs([exp.experiment_id], filter_string="tags.`sct.role` = 'parent'")
        assert parent.data.tags["sct.study_run_id"] == run.info.run_id and parent.data.tags["sct.gpus_per_trial"] == "0"
    assert report.main([TINY, MINI, "--storage", str(tmp_path)]) == 0  # again: the same study run, updated
    assert len(mlflow.search_runs([study_exp.experiment_id])) == 1
    assert report.main([TINY, "nope", "--storage", str(tmp_path)]) == 2
    assert "no MLflow experiment 'nope'" in capsys.readouterr().err


def test_study_dry_run_shows_every_size_and_the_total(shared_dir, tmp_path, capsys) -> None:
    mini_config = shared_dir / "models" / "bert-mini-config"
    argv = offline("bert-mini", tmp_path, mini_config, "--dry-run", "--model-dir", f"bert-tiny={mini_config}")
    assert fake_sweep.sweep(["bert-tiny", *argv]) == 0  # given largest first: run smallest first
    out = capsys.readouterr().out
    assert out.index(f"sweep {TINY}: 2 trials") < out.index(f"sweep {MINI}: 2 trials")
    assert "study: 2 sizes, 4 trials in all, side by side on one Ray:" in out
    assert f"  {MINI}: 2 trials x (1 CPU, 0.25 GPU), no time estimate" in out  # --smoke: the files' are for full runs
    sizes = ("bert-tiny", "bert-small")
    full = [*sizes, "--dry-run", "--warm-start", "--storage", str(tmp_path), "--set", "eval.test_tasks=[stsb]"]
    full += ["--train-data", str(FIXTURES / "sentences.txt"), "--sts-dir", str(FIXTURES / "sts")]
    assert fake_sweep.sweep([*full, *(f"--model-dir={size}={mini_config}" for size in sizes)]) == 0
    out = capsys.readouterr().out  # the budget: trials x the file's minutes per trial x the GPU share per trial
    assert "study: 2 sizes, 56 trials in all, one size after another (smallest first, --warm-start):" in out
    assert "  sweep-bert-tiny: 32 trials x (2 CPU, 0.25 GPU) x ~10 min = 5:20 h of trial time, 1.3 GPU-hours" in out
    assert "  sweep-bert-small: 24 trials x (4 CPU, 0.5 GPU) x ~25 min = 10:00 h of trial time, 5.0 GPU-hours" in out
    assert "  total: 15:20 h of trial time, ~6.3 GPU-hours (estimates;" in out
    assert not (tmp_path / TINY).exists() and not (tmp_path / MINI).exists()  # a dry run starts nothing
    assert fake_sweep.sweep(["bert-tiny", *argv[:-2], "--model-dir", f"bert-small={mini_config}"]) == 2
    assert "bert-small is not swept here" in capsys.readouterr().err


def interrupt_once(cache: Path, started: int, then_s: float) -> threading.Thread:
    """Ctrl-C to the study driver (this process) ``then_s`` after some trial name's ``started``-th attempt
    started (the fake trainer logs each attempt per trial name; the sizes' trials share names, t00…)."""

    def watch() -> None:
        deadline = time.time() + 180
        while time.time() < deadline and not any(len(f.read_text().split()) >= started for f in cache.glob("starts-*")):
            time.sleep(0.2)
        time.sleep(then_s)
        os.kill(os.getpid(), signal.SIGINT)  # forwarded to the sizes' drivers: each saves and stops

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def overlap(a: list, b: list) -> bool:
    """Whether a run of ``a`` and a run of ``b`` were open at the same time (MLflow start/end, ms)."""
    return any(x.info.start_time < y.info.end_time and y.info.start_time < x.info.end_time for x in a for y in b)


@pytest.mark.chaos  # interrupted and resumed: run by .ci/run with the other kill-and-resume tests
def test_two_sizes_side_by_side_interrupted_resumed_then_left_alone(shared_dir, tmp_path, capsys) -> None:
    """Both sizes' first trials run at once (one trial per size at a time, 2 CPUs); Ctrl-C stops both, --resume
    finishes both, a second --resume runs nothing again."""
    mini_config = shared_dir / "models" / "bert-mini-config"
    argv = offline("bert-mini", tmp_path, mini_config, "--model-dir", f"bert-tiny={mini_config}")
    argv = ["bert-tiny", *argv, "--max-concurrent", "1", "--set", f"eval.batch_size={SLOW_EVAL_BATCH}"]
    watcher = interrupt_once(tmp_path / "cache", started=2, then_s=1.0)  # t00 of both sizes started
    assert fake_sweep.sweep(argv) == 130
    watcher.join()
    out = capsys.readouterr().out
    assert f"== {TINY} (new) ==" in out and f"== {MINI} (new) ==" in out
    assert f"  {TINY}: 0/2 done · 1 running" in out or f"  {MINI}: 0/2 done · 1 running" in out  # the study's view
    assert fake_sweep.sweep([*argv, "--resume"]) == 0
    out = capsys.readouterr().out
    assert f"== {TINY} (resumed) ==" in out and f"== {MINI} (resumed) ==" in out
    assert "[bert-tiny] 2 trials: " in out and "[bert-mini] 2 trials: " in out  # each size's own summary
    assert "best hyperparameters by model size (2 sweeps)" in out
    tiny, mini = children(tmp_path, TINY), children(tmp_path, MINI)
    assert len(tiny) == len(mini) == 2 and overlap(tiny, mini)
    for name in (TINY, MINI):
        study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / name / 'optuna.db'}")
        assert sorted(t.state.name for t in study.trials) in (["COMPLETE", "COMPLETE"], ["COMPLETE", "PRUNED"])
        assert parent_run(tmp_path, name).info.status == "FINISHED"
    ends = {name: parent_run(tmp_path, name).info.end_time for name in (TINY, MINI)}
    assert fake_sweep.sweep([*argv, "--resume"]) == 0  # all finished: nothing runs again
    out = capsys.readouterr().out
    assert f"== {TINY} (finished before: not run again) ==" in out and "[bert-" not in out
    assert {name: parent_run(tmp_path, name).info.end_time for name in (TINY, MINI)} == ends


@pytest.mark.chaos  # interrupted and resumed: run by .ci/run with the other kill-and-resume tests
def test_study_interrupted_in_its_second_size_resumes_both(shared_dir, tmp_path, capsys) -> None:
    """--warm-start: one size after another. Interrupted while the second size runs; without --resume refused;
    --resume leaves the finished first size alone and finishes the second, then the table."""
    mini_config = shared_dir / "models" / "bert-mini-config"
    argv = offline("bert-mini", tmp_path, mini_config, "--model-dir", f"bert-tiny={mini_config}")
    argv = ["bert-tiny", *argv, "--warm-start", "--set", f"eval.batch_size={SLOW_EVAL_BATCH}"]
    watcher = interrupt_once(tmp_path / "cache", started=2, then_s=2.0)  # a first evaluation of the second size
    assert fake_sweep.sweep(argv) == 130
    watcher.join()
    out = capsys.readouterr().out
    assert f"== {TINY} (new) ==" in out and f"== {MINI} (new) ==" in out
    assert out.index("[bert-tiny] 2 trials: ") < out.index(f"== {MINI} (new) ==")  # the first size ended first
    tiny_end = parent_run(tmp_path, TINY).info.end_time
    assert fake_sweep.sweep(argv) == 2  # without --resume: refused before anything runs
    assert f"experiment {TINY!r} already exists" in capsys.readouterr().err
    assert fake_sweep.sweep([*argv, "--resume"]) == 0
    out = capsys.readouterr().out
    assert f"== {TINY} (finished before: not run again) ==" in out and f"== {MINI} (resumed) ==" in out
    assert "[bert-tiny]" not in out and parent_run(tmp_path, TINY).info.end_time == tiny_end
    assert "best hyperparameters by model size (2 sweeps)" in out and "| bert-mini |" in out
