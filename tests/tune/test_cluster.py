"""Cluster mode for real: a two-node Ray cluster and an MLflow tracking server, all on 127.0.0.1.

The head is ``ray start --head --block`` as a subprocess; the second node (:mod:`tests.tune.ray_node`) starts
the same Ray node class with its own temp dir, 1 CPU and a custom resource ``worker_node``; the MLflow server
is ``mlflow server`` on a sqlite file (fixtures in :mod:`tests.tune.servers`). Each runs as a
:class:`~tests.process_guard.Guarded` process group keyed on its own temp dir: stopped in teardown, and by its
watchdog when pytest is interrupted or killed. The driver runs ``python -m sct.sweep --address
127.0.0.1:PORT`` as a subprocess from its own working directory, with ``--resources-per-trial
'{"worker_node": 1}'`` so every trial runs on the second node.

Two things differ from a real cluster, both because everything here must stay on the loopback interface:
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps Ray from rewriting ``127.0.0.1`` to the machine's network IP
(on Linux it does so otherwise), and the second node is not started with ``ray start`` (which refuses to add a
node in that mode). Ray >= 2.5x also enables token authentication for ``ray start``: every process gets the
same ``RAY_AUTH_TOKEN`` here (a real cluster copies ``~/.ray/auth_token`` to every node).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sct.tune import tracking
from sct.tune import vocabulary as V
from tests.conftest import FIXTURES
from tests.process_guard import Guarded
from tests.tune.fake_trainer import SLOW_EVAL_BATCH
from tests.tune.servers import ON_WORKER, free_port, wait_for

pytest.importorskip("ray")

FAKE = "tests.tune.fake_trainer:train"
LOCAL_TRACKING_LEFTOVERS = ("mlruns", "mlflow.db", "mlartifacts", "sct_output", "sct_runs")


def sweep_args(tiny_model_dir: Path, storage: Path, experiment: str, *extra: str) -> list[str]:
    return [
        "sct.sweep", "bert-tiny", "--smoke", "--experiment", experiment, "--storage", str(storage),
        "--train-data", str(FIXTURES / "sentences.txt"), "--sts-dir", str(FIXTURES / "sts"),
        "--set", f"model.name={tiny_model_dir}", "--set", "data.augmentation=word_deletion",
        "--set", "eval.test_tasks=[stsb]", "--set", "optim.batch_size=8",
        "--resources-per-trial", ON_WORKER, *extra,
    ]  # fmt: skip


def start_driver(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> Guarded:
    """``python -m ARGS`` from ``cwd``, guarded on ``cwd`` (the driver's own: the trials run in the nodes')."""
    with open(log, "ab") as out:
        return Guarded([sys.executable, "-m", *args], cwd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def run_driver(args: list[str], env: dict[str, str], cwd: Path, log: Path, seconds: float = 300) -> int:
    proc = start_driver(args, env, cwd, log)
    try:
        return proc.wait(timeout=seconds)
    finally:
        proc.stop()


def leftovers(*roots: Path) -> list[Path]:
    """Local MLflow stores or default output dirs anywhere under ``roots``."""
    return [p for root in roots for name in LOCAL_TRACKING_LEFTOVERS for p in root.rglob(name)]


def trial_pids(storage: Path, experiment: str) -> dict[str, set[int]]:
    """Ray's per-trial ``result.json``: trial id -> the PIDs that reported its results."""
    out: dict[str, set[int]] = {}
    for file in (storage / experiment).glob("*/result.json"):
        for line in file.read_text().splitlines():
            result = json.loads(line)
            out.setdefault(result["trial_id"], set()).add(int(result["pid"]))
    return out


def node_worker_pids(temp: Path) -> set[int]:
    """PIDs of the Ray worker processes a node started (its ``logs/worker-<id>-<job>-<pid>.out`` files)."""
    return {int(p.stem.rsplit("-", 1)[-1]) for p in temp.glob("session_*/logs/worker-*.out")}


def sweep_runs(uri: str, experiment: str) -> tuple[object, list]:
    mlflow = tracking.client(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    runs = mlflow.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("sct.role") == "parent"]
    assert len(parents) == 1
    return parents[0], [r for r in runs if r.data.tags.get(tracking.PARENT_TAG) == parents[0].info.run_id]


@pytest.mark.cluster
def test_two_node_sweep_on_the_worker_node_tracked_by_a_server(
    ray_cluster, mlflow_server, cluster_env, tiny_model_dir, tmp_path
) -> None:
    """The real trainer on the second node; MLflow only on the server; nothing written outside --storage."""
    storage, cwd, log = tmp_path / "shared", tmp_path / "driver_cwd", tmp_path / "driver.log"
    cwd.mkdir()
    args = sweep_args(tiny_model_dir, storage, "two-node", "--address", ray_cluster.address)
    code = run_driver([*args, "--tracking-uri", mlflow_server], cluster_env, cwd, log)
    assert code == 0, log.read_text()[-4000:]

    # every trial ran in a worker process of the second node, none on the head
    pids = trial_pids(storage, "two-node")
    (_, w1_temp), head_temp = ray_cluster.workers[0], ray_cluster.root / "head"
    assert len(pids) == 2 and all(p <= node_worker_pids(w1_temp) for p in pids.values()), pids
    assert not any(p & node_worker_pids(head_temp) for p in pids.values())

    # MLflow: the parent, one child per trial with its metrics, the parent's artifacts — all on the server
    parent, children = sweep_runs(mlflow_server, "two-node")
    assert parent.info.status == "FINISHED" and len(children) == 2
    assert {r.data.tags[tracking.TRIAL_TAG] for r in children} == set(pids)
    mlflow = tracking.client(mlflow_server)
    for run in children:
        assert run.info.status == "FINISHED" and V.run_end(run) in (V.FINISHED, V.STOPPED)
        assert [m.step for m in mlflow.get_metric_history(run.info.run_id, "stsb_dev")]
    top = {a.path for a in mlflow.list_artifacts(parent.info.run_id)}
    assert top == {"results", "plots"}, top  # the model is the logged MLflow model, not a second artifact copy
    assert mlflow.list_artifacts(parent.info.run_id, "results") and mlflow.list_artifacts(parent.info.run_id, "plots")
    (output,) = parent.outputs.model_outputs
    logged = mlflow.get_logged_model(output.model_id)
    assert logged.artifact_location.startswith("mlflow-artifacts:"), logged.artifact_location  # the server's copy
    listed = mlflow.list_logged_model_artifacts(output.model_id, "artifacts/best_model")
    model_files = {Path(a.path).name for a in listed}
    assert {"modules.json", "config.json"} <= model_files, model_files  # the real trainer's sentence-transformers dir
    assert parent.info.artifact_uri.startswith("mlflow-artifacts:"), parent.info.artifact_uri

    # the trials' files are under --storage; no local tracking store or default output anywhere else
    trial_dirs = sorted(p.name for p in (storage / "two-node" / "trials").iterdir())
    assert trial_dirs == sorted(r.data.tags[V.TRIAL] for r in children) == ["t00", "t01"]
    assert not list(cwd.iterdir()), list(cwd.iterdir())
    assert not list(ray_cluster.cwd.glob("*/")), list(ray_cluster.cwd.iterdir())
    assert not leftovers(storage, cwd, ray_cluster.cwd, ray_cluster.root)


@pytest.mark.cluster
def test_unreachable_tracking_server_exits_2_before_ray_starts(cluster_env, tiny_model_dir, tmp_path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    args = sweep_args(tiny_model_dir, tmp_path / "shared", "nowhere", "--tracking-uri", uri)
    env = cluster_env | {"RAY_ADDRESS": ""}  # no --address: a local Ray would start if the check let it
    proc = subprocess.run(
        [sys.executable, "-m", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and uri in lines[0] and "unreachable" in lines[0], proc.stderr
    assert "Ray" not in proc.stdout and not (tmp_path / "shared" / "nowhere").exists()  # Ray never started
    assert not leftovers(tmp_path)


@pytest.mark.cluster
def test_a_killed_worker_node_s_trial_resumes_on_a_new_node_into_the_same_run(
    ray_cluster, mlflow_server, cluster_env, tiny_model_dir, tmp_path
) -> None:
    storage, cwd, log = tmp_path / "shared", tmp_path / "driver_cwd", tmp_path / "driver.log"
    cwd.mkdir()
    args = sweep_args(tiny_model_dir, storage, "lost-node", "--address", ray_cluster.address, "--num-samples", "1")
    args += ["--tracking-uri", mlflow_server, "--trainer", FAKE, "--set", f"eval.batch_size={SLOW_EVAL_BATCH}"]
    args = ["tests.tune.fake_sweep", "sweep", *args[1:]]  # sct.sweep with the stand-in trainer
    driver = start_driver(args, cluster_env, cwd, log)
    try:
        wait_for(lambda: list((storage / "cache").glob("marker-*")), "the trial's first checkpoint", 180, driver)
        old, _ = ray_cluster.workers[0]
        ray_cluster.kill_worker(old)
        ray_cluster.add_worker("w2")
        assert driver.wait(timeout=300) == 0, log.read_text()[-4000:]
    finally:
        driver.stop()

    (trial,) = [p.name.removeprefix("marker-") for p in (storage / "cache").glob("marker-*")]
    starts = (storage / "cache" / f"starts-{trial}").read_text().split()
    assert starts[0] == "0" and len(starts) == 2 and int(starts[1]) >= 2, starts  # retried from its state
    _, w2_temp = ray_cluster.workers[-1]
    (worker_pids,) = trial_pids(storage, "lost-node").values()  # by Ray's trial id; the one trial
    assert worker_pids & node_worker_pids(w2_temp)  # finished on the new node

    parent, children = sweep_runs(mlflow_server, "lost-node")
    assert parent.info.status == "FINISHED"
    assert len(children) == 1 and children[0].info.status == "FINISHED"
    steps = [m.step for m in tracking.client(mlflow_server).get_metric_history(children[0].info.run_id, "stsb_dev")]
    assert steps == [2, 4, 6], steps  # each step once, in the one child run
    assert not leftovers(cwd, ray_cluster.cwd)


def test_resources_per_trial_adds_custom_ray_resources_and_refuses_cpu_gpu(capsys, tiny_model_dir, tmp_path) -> None:
    from sct import sweep
    from sct.tune.plan.options import trial_resources

    parser = sweep.build_parser()
    args = parser.parse_args(["bert-tiny", "--smoke", "--resources-per-trial", ON_WORKER])
    assert trial_resources({"cpu": 4, "gpu": 0.25}, args) == {"cpu": 1.0, "gpu": 0.25, "worker_node": 1.0}
    assert trial_resources({}, parser.parse_args(["bert-tiny"])) == {"cpu": 1.0, "gpu": 0.0}
    for bad in ('{"CPU": 1}', '{"worker_node": 0}', "[1]", "worker_node"):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["bert-tiny", "--resources-per-trial", bad])
        assert exit_.value.code == 2
        assert "--resources-per-trial" in capsys.readouterr().err

    args = sweep_args(tiny_model_dir, tmp_path / "shared", "plan", "--dry-run")
    assert sweep.main(args[1:]) == 0
    assert "resources per trial: cpu 1, gpu 0.25, worker_node 1 " in capsys.readouterr().out
