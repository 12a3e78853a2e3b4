"""The servers the cluster tests run against, each a guarded process group (:mod:`tests.process_guard`).

A two-node Ray cluster on 127.0.0.1 (``ray start --head --block`` and :mod:`tests.tune.ray_node`, each with its
own temp dir) and an ``mlflow server`` on a sqlite file; :mod:`tests.tune.test_cluster` says why they are started
the way they are. Their fixtures reach the tests of this folder through ``tests/tune/conftest.py``. Nothing here
imports torch: a pytest run that only needs a server (tests/test_process_guard.py) starts quickly.
"""

from __future__ import annotations

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

from tests.process_guard import Guarded

REPO = Path(__file__).resolve().parents[2]
ON_WORKER = '{"worker_node": 1}'


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


class RayCluster:
    """A head (``ray start --head``) and worker nodes, each a process group with its own temp dir."""

    def __init__(self, root: Path, env: dict[str, str], cwd: Path) -> None:
        self.root, self.env, self.cwd = root, env, cwd
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.head: Guarded | None = None
        self.workers: list[tuple[Guarded, Path]] = []

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
            self.head = Guarded(
                cmd, self.root / "head", env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )
        wait_for(lambda: b"Ray runtime started" in log.read_bytes(), "the Ray head", 90, self.head)

    def add_worker(self, name: str) -> tuple[Guarded, Path]:
        temp = self.root / name
        temp.mkdir()
        with open(self.root / f"{name}.log", "wb") as out:
            proc = Guarded(
                [sys.executable, "-m", "tests.tune.ray_node", self.address, str(temp), ON_WORKER], temp,
                env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(lambda: (temp / "ready").is_file(), f"Ray node {name}", 90, proc)
        self.workers.append((proc, temp))
        return proc, temp

    def kill_worker(self, proc: Guarded) -> None:
        """The node dies at once (like a lost machine): SIGKILL its whole process group."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc, _ in self.workers:
            proc.stop()
        if self.head is not None:
            self.head.stop()


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
        proc = Guarded(cmd, root, cwd=root, env=cluster_env, stdout=out, stderr=subprocess.STDOUT)

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
        proc.stop()
