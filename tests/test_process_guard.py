"""An interrupted or killed pytest run leaves none of the processes its fixtures started.

A pytest run in a subprocess holds fixtures that start real processes and is stopped with SIGINT (Ctrl-C:
fixture teardown runs), SIGTERM or SIGKILL (nothing in pytest runs: the guards' watchdogs do the work). Every
process the fixtures' guards cover, read from ``/proc`` while the run was up, must be gone within a bounded time.
The fixture in every run is a small process tree with the awkward cases (a child that ignores SIGTERM, one that
left the process group with its working directory in the fixture's temp dir); the SIGKILL run adds the cluster
tests' ``mlflow server`` and an in-process local Ray (:func:`tests.tune.local_ray.local_ray_session`) — the
real servers, where they cost the least time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sct.tune.run.processes import Proc, stop
from tests.conftest import REPO
from tests.process_guard import GUARD_LOG, members, tied_to

INNER = '''
import os, subprocess, sys, time
from pathlib import Path

import pytest

from tests.process_guard import Guarded
from tests.tune.servers import cluster_env, mlflow_server  # noqa: F401 - fixtures

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
TREE = """
import subprocess, sys, time
from pathlib import Path
sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
subprocess.Popen(sleep)
subprocess.Popen([sys.executable, "-c", sys.argv[2]])
subprocess.Popen(sleep, cwd=sys.argv[1], start_new_session=True)  # leaves the group, as Ray's workers do
Path(sys.argv[1], "ready").touch()
time.sleep(600)
"""


@pytest.fixture
def tree(tmp_path):
    proc = Guarded([sys.executable, "-c", TREE, str(tmp_path), STUBBORN], tmp_path, grace_s=1.0)
    try:
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None
            time.sleep(0.05)
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def local_ray():
    from tests.tune.local_ray import local_ray_session

    with local_ray_session(num_cpus=1) as temp:
        # in no group of ours, like the raylet's agents once it died (they leave by themselves, 5-60 s later)
        subprocess.Popen([sys.executable, "-c", STUBBORN], cwd=temp, start_new_session=True)
        yield


def test_holds_its_fixtures(request):
    for name in os.environ["SCT_INNER_FIXTURES"].split(","):
        request.getfixturevalue(name)
    Path(os.environ["SCT_INNER_READY"]).touch()
    time.sleep(600)
'''


def guarded_processes(log: Path) -> list[Proc]:
    """What the inner run's guards cover now: each group's members (its watchdog included), each watchdog, and
    this user's processes tied to each guard's key dir."""
    found: set[Proc] = set()
    for line in log.read_text().splitlines():
        guard = json.loads(line)
        found.add(Proc(guard["pid"], guard["start"]))
        found.update(members(guard["pid"]) if guard["kind"] == "group" else [])
        found.update(tied_to(guard["key"]))
    return [p for p in found if p.alive()]


def _default_signals() -> None:
    """The inner run receives SIGINT as from a shell: default disposition, nothing blocked. An exec keeps both
    from its parent, and this pytest process may carry what an earlier in-process test (Ray, Tune) changed: the
    full suite's inner run ignored SIGINT and hung, while the same test alone passed."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def run_inner(tmp_path: Path, fixtures: str) -> tuple[subprocess.Popen, Path, Path]:
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "test_inner.py").write_text(INNER, encoding="utf-8")
    log, ready = tmp_path / "guards.jsonl", tmp_path / "ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env |= {"PYTHONPATH": str(REPO), GUARD_LOG: str(log), "SCT_INNER_FIXTURES": fixtures, "SCT_INNER_READY": str(ready)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'base'}"]
    with open(tmp_path / "inner.log", "wb") as out:
        inner = subprocess.Popen(
            [*cmd, "test_inner.py"], cwd=tmp_path / "inner", env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # the signal is sent to pytest alone, as `kill PID` does
            preexec_fn=_default_signals,
        )  # fmt: skip
    return inner, log, ready


@pytest.mark.parametrize(
    ("sig", "fixtures"),
    [
        (signal.SIGINT, "tree"),
        (signal.SIGTERM, "tree"),
        pytest.param(  # the real servers where nothing in pytest helps: ~35 s
            signal.SIGKILL, "tree,mlflow_server,local_ray", marks=pytest.mark.heavy
        ),
    ],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
def test_a_stopped_pytest_run_leaves_none_of_its_fixtures_processes(tmp_path, sig, fixtures) -> None:
    inner, log, ready = run_inner(tmp_path, fixtures)
    started: list[Proc] = []
    try:
        deadline = time.monotonic() + 180
        while not ready.exists():
            assert inner.poll() is None, (tmp_path / "inner.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the inner run's fixtures did not start"
            time.sleep(0.2)
        time.sleep(1.0)  # the Ray agents start after ray.init returns
        started = guarded_processes(log)
        minimum = {"tree": 5, "mlflow_server": 3, "local_ray": 6}  # leader, children, watchdog / server, worker, ...
        assert len(started) >= sum(minimum[name] for name in fixtures.split(",")), started

        inner.send_signal(sig)
        try:
            inner.wait(timeout=120)
        except subprocess.TimeoutExpired:  # say where the stopped run hung (once seen in CI under load)
            raise AssertionError((tmp_path / "inner.log").read_text()[-3000:]) from None
        # within the guards' SIGTERM grace (at most 5 s) and a SIGKILL, with room for a loaded machine; Ray's
        # agents left alone outlive their raylet by 15-60 s here, so they are gone in time only if reaped
        deadline = time.monotonic() + 12
        while any(p.alive() for p in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {p.pid: Path(f"/proc/{p.pid}/cmdline").read_bytes()[:80] for p in started if p.alive()}
        assert not left, left
        dirs = [json.loads(line)["key"] for line in log.read_text().splitlines() if '"kind": "dir"' in line]
        assert not [d for d in dirs if Path(d).exists()]  # the local Ray's temp dir is removed too
    finally:
        if inner.poll() is None:
            inner.kill()
            inner.wait()
        stop(started, grace_s=0)  # this test's own cleanup, whatever it asserted
