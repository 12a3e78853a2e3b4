"""Chaos: one sweep driven as a user runs it, killed at seeded moments, resumed with ``--resume`` after each.

The driver is SIGKILLed in its first seconds (before and while Ray writes its first files), right after the
searcher asked for a trial, and at a random moment; it gets one SIGINT and one SIGTERM; two trials lose their
worker process (SIGKILL). Afterwards: exit code 0, one parent FINISHED, one child per trial (none RUNNING), no
metric step logged twice and none missing, the Optuna study holding exactly MLflow's trials (none RUNNING), the
same trials stopped early as in an undisturbed sweep with the same seed, and no process of the experiment
left. The kill moments come from a seed printed at the start (``SCT_CHAOS_SEED=<seed>`` replays a run).
Marker ``chaos``: minutes; ``.ci/run`` runs it after the default suite.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sct.storage import read_json
from sct.tune import vocabulary as V
from sct.tune.experiment import FINGERPRINT_FILE
from sct.tune.run.processes import cmdline, open_paths
from sct.tune.run.ray_hygiene import SESSION_KEY, ray_temp_root, tied
from tests.conftest import REPO
from tests.process_guard import Guarded
from tests.tune.checks import asked
from tests.tune.fake_trainer import SLOW_EVAL_BATCH
from tests.tune.test_crash_safety import common
from tests.tune.test_resume_windows import check_exactly_once

pytest.importorskip("ray")
pytestmark = pytest.mark.chaos
NUM_SAMPLES = 4
DRIVER_EVENTS = ("SIGINT", "SIGTERM", "SIGKILL")  # plus the two SIGKILLs that always come first


def sweep_args(tiny_model_dir: Path, storage: Path, name: str, seed: int, *extra: str) -> list[str]:
    return [
        "tests.tune.fake_sweep", "sweep", "bert-tiny", "--smoke", "--experiment", name, "--seed", str(seed),
        "--num-samples", str(NUM_SAMPLES), "--max-concurrent", "1", "--set", "optim.max_steps=16",
        *common(tiny_model_dir, storage), *extra,
    ]  # fmt: skip


class Driver:
    """One sweep driver (``python -m tests.tune.fake_sweep sweep``); every process it starts carries ``token``. It is
    guarded on the test's tmp dir (:class:`tests.process_guard.Guarded`): :meth:`stop_all` at the end, or pytest
    dying, stops whatever the drivers left, after the test has checked that they left nothing."""

    started_ones: list[Guarded] = []

    def __init__(self, args: list[str], log: Path, token: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "SCT_CHAOS_TOKEN": token}
        with open(log, "ab") as out:
            self.proc = Guarded(
                [sys.executable, "-m", *args], log.parent, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        Driver.started_ones.append(self.proc)
        self.started = time.monotonic()

    @classmethod
    def stop_all(cls) -> None:
        while cls.started_ones:
            cls.started_ones.pop().stop()

    def wait_for_worker(self, cache: Path, token: str) -> int:
        """The process of a trial attempt this driver started, of a trial whose worker was never killed."""
        killed = {p.name.removeprefix("killed-") for p in cache.glob("killed-*")}

        def candidates() -> list[Path]:
            since = time.time() - (time.monotonic() - self.started)
            pids = [p for p in cache.glob("pid-*") if p.name.removeprefix("pid-") not in killed]
            return [p for p in pids if p.stat().st_mtime >= since and token_of(int(p.read_text())) == token]

        self.wait_until(lambda: bool(candidates()), "a trial worker to kill")
        chosen = candidates()[0]
        (cache / f"killed-{chosen.name.removeprefix('pid-')}").touch()
        return int(chosen.read_text())

    def wait_until(self, condition: Callable[[], bool], what: str, seconds: float = 240) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert self.proc.poll() is None, f"the driver ended (rc {self.proc.returncode}) before {what}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.02)


def token_of(pid: int) -> str | None:
    """The ``SCT_CHAOS_TOKEN`` in a process's environment (None: not one of this test's processes, or gone)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    found = [v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"SCT_CHAOS_TOKEN=")]
    return found[0] if found else None


def processes_with(token: str) -> list[int]:
    """Live processes started by this test's drivers (Ray's own included: they inherit the environment)."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and int(p.name) != os.getpid()]
    return [pid for pid in pids if token_of(pid) == token and not _zombie(pid)]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture
def drivers():
    yield
    Driver.stop_all()


def test_chaos(tiny_model_dir, tmp_path, drivers) -> None:
    seed = int(os.environ.get("SCT_CHAOS_SEED") or random.randrange(1 << 30))
    print(f"chaos seed: SCT_CHAOS_SEED={seed}", flush=True)
    rng = random.Random(seed)
    sweep_seed = rng.randrange(1000)
    token, log = uuid.uuid4().hex, tmp_path / "drivers.log"
    assert Driver(sweep_args(tiny_model_dir, tmp_path, "calm", sweep_seed), log, token).proc.wait(600) == 0

    args = sweep_args(tiny_model_dir, tmp_path, "chaos", sweep_seed, "--set", f"eval.batch_size={SLOW_EVAL_BATCH}")
    exp, cache = tmp_path / "chaos", tmp_path / "cache"
    events = ["first seconds", "after an ask", *rng.sample(DRIVER_EVENTS, 3)]
    worker_kills = sorted(rng.randrange(2, len(events)) for _ in range(2))  # in which driver runs a worker dies
    story: list[str] = []
    driver, resume = Driver(args, log, token), False
    for index, event in enumerate(events):
        for _ in range(worker_kills.count(index)):
            pid = driver.wait_for_worker(cache, token)
            time.sleep(rng.uniform(0.2, 2.0))
            if token_of(pid) == token:  # still the worker this test chose (a PID is never reused unchecked)
                os.kill(pid, signal.SIGKILL)
                story.append(f"worker {pid} SIGKILLed")
        if event == "first seconds":  # from before Ray starts to after it wrote its first files
            driver.wait_until(exp.is_dir, "the experiment directory")
            time.sleep(rng.uniform(0.0, 8.0))
            sig = signal.SIGKILL
        elif event == "after an ask":  # the study holds a trial Ray has not saved yet
            before = asked(exp / "optuna.db")
            driver.wait_until(lambda before=before: asked(exp / "optuna.db") > before, "a searcher ask")
            sig = signal.SIGKILL
        else:
            time.sleep(rng.uniform(2.0, 10.0))
            sig = getattr(signal, event)
        if driver.proc.poll() is None:
            driver.proc.send_signal(sig)
        code = driver.proc.wait(timeout=180)
        story.append(f"driver {sig.name} after {time.monotonic() - driver.started:.1f}s: rc {code}")
        expected = -signal.SIGKILL if sig == signal.SIGKILL else 130
        assert code == expected, f"seed {seed}: {story}\n{log.read_text()[-4000:]}"
        driver, resume = Driver([*args, "--resume"], log, token), True
    code = driver.proc.wait(timeout=900)
    print("\n".join(story))
    assert code == 0 and resume, f"seed {seed}: {story}\n{log.read_text()[-4000:]}"

    children, trials = check_exactly_once(tmp_path, "chaos", NUM_SAMPLES)
    _, calm = check_exactly_once(tmp_path, "calm", NUM_SAMPLES)
    assert [t.params for t in trials] == [t.params for t in calm], f"seed {seed}"  # the same points ...
    assert [t.state for t in trials] == [t.state for t in calm], f"seed {seed}"  # ... stopped alike
    assert {r.data.tags[V.TRIAL] for r in children} == {f"t{n:02d}" for n in range(NUM_SAMPLES)}
    deadline = time.monotonic() + 30
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = processes_with(token)
    assert left == [], f"seed {seed}: processes of the experiment left: {describe(left)}\n{story}"


def describe(pids: list[int]) -> str:
    """Each process's title and the session or experiment paths it holds open (what a failure report needs)."""
    lines = []
    for pid in pids:
        opened = sorted({p for p in open_paths(pid) if "session_" in p or "/tmp/" in p})[:3]
        lines.append(f"{pid} {' '.join(cmdline(pid))[:160]!r} holding {opened}")
    return "\n".join(lines)


def test_a_driver_killed_while_its_ray_starts_leaves_nothing_after_its_resume(tiny_model_dir, tmp_path, drivers):
    """The window CI met (seed 801387312: a driver SIGKILLed 9 s after its start left 3 processes): killed once
    its Ray's agents run, inside ``ray.init``, the driver has saved only its claim on the session; the resumed
    driver stops what it left, finishes, and no process of the experiment is left."""
    token, log = uuid.uuid4().hex, tmp_path / "drivers.log"
    args = sweep_args(tiny_model_dir, tmp_path, "k", 7)
    first = Driver(args, log, token)
    temp = ray_temp_root()  # where the driver's Ray puts its session

    def agent_runs() -> bool:
        sessions = [str(p) for p in temp.glob(f"session_*_{first.proc.pid}")]
        return any(cmdline(p.pid)[:1] == ["ray::DashboardAgent"] for s in sessions for p in tied(s))

    first.wait_until(agent_runs, "an agent of the driver's Ray", seconds=180)
    first.proc.send_signal(signal.SIGKILL)
    assert first.proc.wait(timeout=60) == -signal.SIGKILL
    saved = read_json(tmp_path / "k" / FINGERPRINT_FILE)["state"].get(SESSION_KEY)
    print("saved after the kill:", "nothing" if not saved else "a claim" if "session_dir" not in saved else "a record")
    assert saved and saved["driver"][0] == first.proc.pid, "the killed driver's Ray is named nowhere"
    resumed = Driver([*args, "--resume"], log, token)
    assert resumed.proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    deadline = time.monotonic() + 30
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = processes_with(token)
    assert left == [], f"processes of the experiment left: {describe(left)}"
