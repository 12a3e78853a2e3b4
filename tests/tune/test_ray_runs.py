"""Sweeps and ablations on a local Ray (2 CPUs): MLflow structure, failures, grids, resume, report.

The smoke sweep runs the real trainer on the tiny BERT; the other runs use :mod:`tests.tune.fake_trainer`
(instant, scriptable) so that the Ray/MLflow plumbing is tested without paying for training.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml

from sct import report, sweep
from sct.storage import disk_usage
from sct.tune import tracking
from sct.tune import vocabulary as V
from sct.tune.tracking.views import VIEW_TAG
from tests.conftest import FIXTURES
from tests.tune import fake_sweep
from tests.tune.checks import assert_each_step_once
from tests.tune.fake_trainer import FAIL_TAU, KILL_EVAL_BATCH, SLOW_EVAL_BATCH
from tests.tune.local_ray import local_ray_session

ray = pytest.importorskip("ray")
optuna = pytest.importorskip("optuna")
FAKE = "tests.tune.fake_trainer:train"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    with local_ray_session():
        yield


def common(tiny_model_dir: Path, storage: Path, *extra: str) -> list[str]:
    return [
        "--storage", str(storage),
        "--train-data", str(FIXTURES / "sentences.txt"),
        "--sts-dir", str(FIXTURES / "sts"),
        "--set", f"model.name={tiny_model_dir}",
        "--set", "data.augmentation=word_deletion",
        "--set", "eval.test_tasks=[stsb]",
        "--set", "optim.batch_size=8",
        *extra,
    ]  # fmt: skip


def runs(storage: Path, experiment: str) -> tuple[object, list]:
    uri = tracking.default_tracking_uri(storage)
    mlflow = tracking.client(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    all_runs = mlflow.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in all_runs if r.data.tags.get("sct.role") == "parent"]
    assert len(parents) == 1
    children = [r for r in all_runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    return parents[0], children


def test_smoke_sweep_real_trainer_tracks_parent_and_children(tiny_model_dir, tmp_path, capsys) -> None:
    code = sweep.main(["bert-tiny", "--smoke", "--keep-models", "best", *common(tiny_model_dir, tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "--keep-models best: deleted 1 trial models" in out
    printed = float(re.search(r"disk: ([0-9.]+) MB under", out).group(1))  # the summary's footprint line
    exp_dir, artifacts = tmp_path / "sweep-bert-tiny-smoke", tmp_path / "mlartifacts"  # this one experiment
    assert abs(printed - disk_usage(exp_dir, artifacts) / (1 << 20)) <= 0.05  # .1f; a hard link counts once
    parent, children = runs(tmp_path, "sweep-bert-tiny-smoke")
    assert len(children) == 2 and parent.info.status == "FINISHED"
    assert sorted(r.info.run_name.split()[0] for r in children) == ["t00", "t01"]  # numbered as Optuna's trials
    mlflow = tracking.client(tracking.default_tracking_uri(tmp_path))
    table1 = {"optim.lr": "0.0005", "method.queue_size": "128", "method.tau_ref": "0.03", "method.tau_online": "0.04"}
    assert any(all(r.data.params[k] == v for k, v in table1.items()) for r in children)  # points_to_evaluate
    for run in children:
        assert run.data.params["model.name"] == str(tiny_model_dir) and len(run.data.params) > 40
        assert run.data.tags["sct.size"] == "custom" and run.data.tags["sct.seed"] == "42"  # a 32-d test model
        assert "version.torch" in run.data.tags and "git.commit" in run.data.tags
        assert run.info.status == "FINISHED" and V.run_end(run) in (V.FINISHED, V.STOPPED)  # never KILLED
        history = mlflow.get_metric_history(run.info.run_id, "best_stsb_dev")
        assert [m.step for m in history][:2] == [2, 4]
        assert_each_step_once(mlflow, run.info.run_id)
        assert {"loss", "lr", "stsb_dev", "examples_per_s"} <= set(run.data.metrics)
    finished = [r for r in children if V.run_end(r) == V.FINISHED]
    assert finished and all({"test_stsb", "test_avg"} <= set(r.data.metrics) for r in finished)
    assert {a.path for a in mlflow.list_artifacts(parent.info.run_id)} == {"results", "plots"}  # no model copy
    assert (exp_dir / "optuna.db").is_file() and (exp_dir / "best_model" / "modules.json").is_file()
    (kept,) = (exp_dir / "trials").glob("*/model")  # --keep-models best: the best trial's, as a hard link
    from mlflow import artifacts as mlflow_artifacts

    (output,) = parent.outputs.model_outputs  # the logged MLflow model, its files hard links too: one copy
    location = mlflow.get_logged_model(output.model_id).artifact_location
    logged = Path(mlflow_artifacts.download_artifacts(artifact_uri=f"{location}/artifacts/best_model"))
    assert logged.is_relative_to(artifacts / "sweep-bert-tiny-smoke" / "models" / output.model_id)  # in place
    weights = sorted(p.relative_to(kept) for p in kept.rglob("*.safetensors"))
    assert weights and all((kept / p).samefile(exp_dir / "best_model" / p) for p in weights)
    assert all((kept / p).samefile(logged / p) for p in weights)
    import optuna  # the study optuna-dashboard shows: every trial, its value and intermediate values, its state

    study = optuna.load_study(study_name="sweep-bert-tiny-smoke", storage=f"sqlite:///{exp_dir / 'optuna.db'}")
    states = {t.state for t in study.trials}
    assert len(study.trials) == 2 and states <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    assert all(t.intermediate_values for t in study.trials)
    assert all(t.value is not None for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)
    assert sum(len(list(p.glob("state"))) for p in (exp_dir / "trials").iterdir()) == 0  # finished: no state kept
    assert disk_usage(tmp_path) < 400 << 20  # the smoke-sweep budget (a 32-d test model: a few MB in fact)
    capsys.readouterr()
    assert report.main(["sweep-bert-tiny-smoke", "--storage", str(tmp_path), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rank,trial,status,optim.lr") and out.count("\n") == 3  # plain CSV, title on stderr


@pytest.mark.heavy  # several real Ray sweeps in subprocesses: 30-50 s
def test_ablation_two_rows_two_seeds_and_a_failing_row(tiny_model_dir, tmp_path, capsys) -> None:
    grid = tmp_path / "mini.yaml"
    rows = [
        {"name": "sct", "overrides": {}, "paper_delta": {"bert-tiny": 0.0}},
        {"name": "no_queue", "overrides": {"method.queues": "none"}, "paper_delta": {"bert-tiny": -1.5}},
        {"name": "poisoned", "overrides": {"method.tau_ref": FAIL_TAU}, "note": "raises in the fake trainer"},
    ]
    grid.write_text(yaml.safe_dump({"name": "mini", "baseline": "sct", "rows": rows}), encoding="utf-8")
    argv = [str(grid), "--model", "bert-tiny", "--seeds", "2", "--smoke", "--trainer", FAKE, "--experiment", "mini"]
    code = fake_sweep.ablate([*argv, "--max-concurrent", "2", *common(tiny_model_dir, tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("CRASHED: RuntimeError: fake trainer failure") == 2 and "2 trial(s) crashed" in err
    parent, children = runs(tmp_path, "mini")
    by_variant: dict[str, list] = {}
    for run in children:
        by_variant.setdefault(run.data.tags["sct.variant"], []).append(run)
    assert {k: len(v) for k, v in by_variant.items()} == {"sct": 2, "no_queue": 2, "poisoned": 2}
    assert {r.data.tags["sct.seed"] for r in by_variant["sct"]} == {"42", "43"}
    assert all(r.info.status == "FAILED" for r in by_variant["poisoned"])
    mlflow = tracking.client(tracking.default_tracking_uri(tmp_path))
    error = mlflow.download_artifacts(by_variant["poisoned"][0].info.run_id, "error.txt", str(tmp_path))
    assert "tau_ref 0.013 is poisoned" in Path(error).read_text()
    assert by_variant["no_queue"][0].data.params["method.queues"] == "none"
    assert report.main(["mini", "--storage", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "| sct | 2 |" in table and "| poisoned | 0 | n/a |" in table
    assert "| no_queue | 2 |" in table and "| -1.5 |" not in table  # a 32-d test model: no paper size, no paper Δ
    assert (tmp_path / "mini" / "plots" / "ablation.png").is_file()


@pytest.mark.heavy  # several real Ray sweeps in subprocesses: 30-50 s
def test_interrupted_sweep_resumes_without_duplicate_runs(tiny_model_dir, tmp_path, capsys) -> None:
    argv = ["bert-tiny", "--smoke", "--trainer", FAKE, "--experiment", "resumable", "--max-concurrent", "2"]
    argv += common(tiny_model_dir, tmp_path, "--set", f"eval.batch_size={SLOW_EVAL_BATCH}")
    cache = tmp_path / "cache"

    def interrupt_after_first_checkpoint() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not list(cache.glob("marker-*")):
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGUSR1)  # what Ctrl+C does to Tune: stop, save state

    watcher = threading.Thread(target=interrupt_after_first_checkpoint, daemon=True)
    watcher.start()
    assert fake_sweep.sweep(argv) == 130
    watcher.join()
    assert "interrupted" in capsys.readouterr().err
    _, before = runs(tmp_path, "resumable")
    assert before and all(V.run_end(r) in (V.RUNNING, V.INTERRUPTED, V.STOPPED) for r in before)

    changed = [*argv, "--resume", "--set", "optim.weight_decay=0.5"]
    assert fake_sweep.sweep(changed) == 2
    err = capsys.readouterr().err
    assert "refusing to resume 'resumable': the space/config changed: base.optim.weight_decay: 0.01 -> 0.5" in err

    assert fake_sweep.sweep([*argv, "--resume"]) == 0
    parent, after = runs(tmp_path, "resumable")
    assert len(after) == 2 and {r.info.run_id for r in before} <= {r.info.run_id for r in after}
    assert parent.info.status == "FINISHED" and "FINISHED" in {r.info.status for r in after}
    assert {r.info.status for r in after} == {"FINISHED"}  # stopped early by ASHA too: not KILLED
    assert {V.run_end(r) for r in after} <= {V.FINISHED, V.STOPPED}
    for run in after:  # the objective is each run's first metric: MLflow's compare page plots it first
        assert next(iter(run.data.metrics)) == "best_stsb_dev", list(run.data.metrics)
    note = parent.data.tags["mlflow.note.content"]  # the description: written when the resumed sweep ended
    assert note.count("### sweep resumable: the top trials by best STS-B dev") == 1
    best = max(r.data.metrics["best_stsb_dev"] for r in after)
    assert f"| {best:.2f} |" in note and "| t0" in note
    view = json.loads(
        tracking.client(tracking.default_tracking_uri(tmp_path)).get_experiment_by_name("resumable").tags[VIEW_TAG]
    )
    assert view["orderByKey"] == "metrics.`best_stsb_dev`" and "params.`optim.lr`" in view["selectedColumns"]
    study = optuna.load_study(study_name="resumable", storage=f"sqlite:///{tmp_path / 'resumable' / 'optuna.db'}")
    assert study.metric_names == ["best_stsb_dev"]  # optuna-dashboard names the axis, not "Objective 0"
    by_name = {r.info.run_name.split()[0]: r.info.run_id for r in after}
    for trial in study.trials:  # each study trial links to its MLflow run and its directory
        assert trial.user_attrs["mlflow_run_id"] == by_name[f"t{trial.number:02d}"]
        assert trial.user_attrs["trial_dir"] == str(tmp_path / "resumable" / "trials" / f"t{trial.number:02d}")


@pytest.mark.heavy  # several real Ray sweeps in subprocesses: 30-50 s
def test_killed_worker_retries_from_its_checkpoint_and_seeds_rerun_the_best(tiny_model_dir, tmp_path, capsys) -> None:
    argv = ["bert-tiny", "--smoke", "--trainer", FAKE, "--experiment", "crashy", "--seeds", "2"]
    argv += common(tiny_model_dir, tmp_path, "--set", f"eval.batch_size={KILL_EVAL_BATCH}")
    assert fake_sweep.sweep(argv) == 0
    out = capsys.readouterr().out
    cache = tmp_path / "cache"
    killed = sorted(p.name.removeprefix("killed-") for p in cache.glob("killed-*"))
    resumed = {p.name.removeprefix("resumed-"): int(p.read_text()) for p in cache.glob("resumed-*")}
    assert len(killed) >= 2  # every trial of the sweep (and of the seed re-runs) lost its worker once
    assert set(resumed) == set(killed) and all(step >= 2 for step in resumed.values())  # from a checkpoint
    parent, children = runs(tmp_path, "crashy")
    by_kind: dict[str, list] = {}
    for run in children:
        by_kind.setdefault(run.data.tags["sct.kind"], []).append(run)
    assert {k: len(v) for k, v in by_kind.items()} == {"sweep": 2, "seeds": 2}  # a retry reuses its run
    assert parent.info.status == "FINISHED" and {V.run_end(r) for r in children} <= {V.FINISHED, V.STOPPED}
    mlflow = tracking.client(tracking.default_tracking_uri(tmp_path))
    finished = [r for r in children if V.run_end(r) == V.FINISHED]
    assert len(finished) >= 3  # both seed re-runs and at least the sweep trial ASHA kept
    for run in finished:
        steps = [m.step for m in mlflow.get_metric_history(run.info.run_id, "best_stsb_dev")]
        assert steps[0] == 2 and steps[-1] == 6 and "test_stsb" in run.data.metrics
        assert_each_step_once(mlflow, run.info.run_id)
    assert "re-running the best config over 2 seeds" in out and "| best | 2 |" in out
    assert "Configuration for experiment" not in out and "View detailed results" not in out  # Ray's: --verbose
    assert {r.data.tags["sct.seed"] for r in by_kind["seeds"]} == {"42", "43"}


def test_a_trial_larger_than_any_node_is_fitted_locally_and_refused_on_a_cluster(capsys) -> None:
    from sct.errors import UserError
    from sct.tune.plan import capacity
    from sct.tune.run.lifecycle import ray_nodes

    cpus = ray.cluster_resources()["CPU"]  # the test's local Ray
    assert capacity.schedulable({"cpu": 64.0, "gpu": 0.5}, True, ray_nodes()) == {"cpu": cpus, "gpu": 0.0}
    out = capsys.readouterr().out
    assert f"warning: a trial asks CPU 64 but this machine has {cpus:g}: running each trial with {cpus:g}" in out
    with pytest.raises(UserError, match=r"no node of the Ray cluster \(1 node: CPU \d+, GPU 0\) can run a trial"):
        capacity.schedulable({"cpu": 64.0, "gpu": 0.0}, False, ray_nodes())


def test_a_sweep_the_cluster_cannot_schedule_is_refused_before_its_mlflow_run(tiny_model_dir, tmp_path, capsys) -> None:
    """On a cluster (``--address``; here the test's 2-CPU Ray, joined) a trial asking more CPUs than any node has
    is refused (exit 2) before the MLflow parent run is opened: no run, no experiment directory is left."""
    argv = ["bert-tiny", "--smoke", "--trainer", FAKE, "--experiment", "too-big", "--address", "auto"]
    assert fake_sweep.sweep([*argv, "--cpus-per-trial", "64", *common(tiny_model_dir, tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "no node of the Ray cluster (1 node: CPU 2, GPU 0) can run a trial asking CPU 64" in err, err
    assert not (tmp_path / "too-big").exists()
    db = tmp_path / "mlflow.db"
    if db.exists():  # the store may exist; it holds no run
        mlflow = tracking.client(tracking.default_tracking_uri(tmp_path))
        assert not mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
