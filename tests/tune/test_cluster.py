"""Cluster mode for real: a two-node Ray cluster and an MLflow tracking server, all on 127.0.0.1.

The head is ``ray start --head --block`` as a subprocess; the second node (:mod:`tests.tune.ray_node`) starts
the same Ray node class with its own temp dir, 1 CPU and a custom resource ``worker_node``; the MLflow server
is ``mlflow server`` on a sqlite file. Each runs in its own process group, stopped by PID in teardown. The
driver runs ``python -m sct.sweep --address 127.0.0.1:PORT`` as a subprocess from its own working directory,
with ``--resources-per-trial '{"worker_node": 1}'`` so every trial runs on the second node.

Two things differ from a real cluster, both because everything here must stay on the loopback interface:
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps Ray from rewriting ``127.0.0.1`` to the machine's network IP
(on Linux it does so otherwise), and the second node is not started with ``ray start`` (which refuses to add a
node in that mode). Ray >= 2.5x also enables token authentication for ``ray start``: every process gets the
same ``RAY_AUTH_TOKEN`` here (a real cluster copies ``~/.ray/auth_token`` to every node).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from sct.tune import tracking
from tests.conftest import FIXTURES, REPO
from tests.tune.fake_trainer import SLOW_EVAL_BATCH

pytest.importorskip("ray")

FAKE = "tests.tune.fake_trainer:train"
ON_WORKER = '{"worker_node": 1}'
LOCAL_TRACKING_LEFTOVERS = ("mlruns", "mlflow.db", "mlartifacts", "sct_output", "sct_runs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, what: str, seconds: float = 60, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process ended early with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def stop_group(proc: subprocess.Popen, grace: float = 5) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:  # the leader is gone: make sure its children are too
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return


class RayCluster:
    """A head (``ray start --head``) and worker nodes, each a process group with its own temp dir."""

    def __init__(self, root: Path, env: dict[str, str], cwd: Path) -> None:
        self.root, self.env, self.cwd = root, env, cwd
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.head: subprocess.Popen | None = None
        self.workers: list[tuple[subprocess.Popen, Path]] = []

    def start_head(self) -> None:
        log = self.root / "head.log"
        cmd = [
            sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", f"--port={self.port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=1", "--num-gpus=0", f"--temp-dir={self.root / 'head'}", "--include-dashboard=false",
            f"--dashboard-port={free_port()}",
            "--object-store-memory=100000000", "--disable-usage-stats",
        ]  # fmt: skip
        with open(log, "wb") as out:
            self.head = subprocess.Popen(
                cmd, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(lambda: b"Ray runtime started" in log.read_bytes(), "the Ray head", 90, self.head)

    def add_worker(self, name: str) -> tuple[subprocess.Popen, Path]:
        temp = self.root / name
        temp.mkdir()
        with open(self.root / f"{name}.log", "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.tune.ray_node", self.address, str(temp), ON_WORKER],
                env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for(lambda: (temp / "ready").is_file(), f"Ray node {name}", 90, proc)
        self.workers.append((proc, temp))
        return proc, temp

    def kill_worker(self, proc: subprocess.Popen) -> None:
        """The node dies at once (like a lost machine): SIGKILL its whole process group."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc, _ in self.workers:
            stop_group(proc)
        if self.head is not None:
            stop_group(self.head)


@pytest.fixture(scope="module")
def short_tmp():
    """Ray's unix sockets need short paths (~107 chars): a fresh /tmp/sct-rc-XXXX, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="sct-rc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return env | {
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # stay on 127.0.0.1 (see the module docstring)
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "RAY_USAGE_STATS_ENABLED": "0",
    }


@pytest.fixture(scope="module")
def ray_cluster(short_tmp, cluster_env, tmp_path_factory):
    """A head with 1 CPU and one worker node with 1 CPU and ``worker_node: 1``; stopped by PID afterwards."""
    cwd = tmp_path_factory.mktemp("nodes_cwd")
    cluster = RayCluster(short_tmp, cluster_env, cwd)
    try:
        cluster.start_head()
        cluster.add_worker("w1")
        yield cluster
    finally:
        cluster.stop()
        for log in short_tmp.glob("*.log"):  # keep the nodes' own logs for a failing test's report
            shutil.copy(log, cwd)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory, cluster_env):
    """``mlflow server`` on 127.0.0.1 (sqlite backend, served artifacts); its process group is killed afterwards."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    cmd = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    log = root / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=root, env=cluster_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, "the MLflow server's /health", 120, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc)


def sweep_args(tiny_model_dir: Path, storage: Path, experiment: str, *extra: str) -> list[str]:
    return [
        "sct.sweep", "bert-tiny", "--smoke", "--experiment", experiment, "--storage", str(storage),
        "--train-data", str(FIXTURES / "sentences.txt"), "--sts-dir", str(FIXTURES / "sts"),
        "--set", f"model.name={tiny_model_dir}", "--set", "data.augmentation=word_deletion",
        "--set", "eval.test_tasks=[stsb]", "--set", "optim.batch_size=8",
        "--resources-per-trial", ON_WORKER, *extra,
    ]  # fmt: skip


def start_driver(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def run_driver(args: list[str], env: dict[str, str], cwd: Path, log: Path, seconds: float = 300) -> int:
    proc = start_driver(args, env, cwd, log)
    try:
        return proc.wait(timeout=seconds)
    finally:
        stop_group(proc, grace=5)


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
        assert run.info.status in ("FINISHED", "KILLED")
        assert [m.step for m in mlflow.get_metric_history(run.info.run_id, "stsb_dev")]
    top = {a.path for a in mlflow.list_artifacts(parent.info.run_id)}
    assert {"results", "plots", "best_model"} <= top, top
    assert mlflow.list_artifacts(parent.info.run_id, "results") and mlflow.list_artifacts(parent.info.run_id, "plots")
    model_files = {Path(a.path).name for a in mlflow.list_artifacts(parent.info.run_id, "best_model")}
    assert {"modules.json", "config.json"} <= model_files, model_files  # the real trainer's sentence-transformers dir
    assert parent.info.artifact_uri.startswith("mlflow-artifacts:"), parent.info.artifact_uri

    # the trials' files are under --storage; no local tracking store or default output anywhere else
    trial_dirs = sorted(p.name for p in (storage / "two-node" / "trials").iterdir())
    assert trial_dirs == sorted(r.data.tags[tracking.KEY_TAG] for r in children) == ["t00", "t01"]
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
    driver = start_driver(args, cluster_env, cwd, log)
    try:
        wait_for(lambda: list((storage / "cache").glob("marker-*")), "the trial's first checkpoint", 180, driver)
        old, _ = ray_cluster.workers[0]
        ray_cluster.kill_worker(old)
        ray_cluster.add_worker("w2")
        assert driver.wait(timeout=300) == 0, log.read_text()[-4000:]
    finally:
        stop_group(driver, grace=5)

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
    from sct.tune.driver import trial_resources

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
