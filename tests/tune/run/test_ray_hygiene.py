"""Only this experiment's own Ray session is reaped: its leftovers stop, every other process survives.

The rule is checked on processes dressed as Ray's (titles, open files and command lines as Ray 2.60 gives its
agents and its raylet; another session's agent, another session with a name that starts the same, a ``tail`` of
our logs), then on real local Rays: the recorded one, its driver SIGKILLed, and another one that runs on.
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
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sct.tune.run.processes import Proc, cmdline, stop
from sct.tune.run.ray_hygiene import SESSION_KEY, leftovers, reap_session, session_dirs, tied
from tests.process_guard import Guarded
from tests.tune.local_ray import short_temp, start_driver

HOLD = "import sys, time; f = open(sys.argv[1], 'a'); time.sleep(60)"  # a process with a file of the session open
HOLD_IGNORING_TERM = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + HOLD
SLEEP = "import time; time.sleep(60)"


SPAWN = """
import json, os, subprocess
child = subprocess.Popen(json.loads(os.environ["FAKE_ARGV"]), executable=os.environ["FAKE_PYTHON"])
print(child.pid, flush=True)
child.wait()
"""


@pytest.fixture
def fake():
    """``fake(title, code, *args)``: a Python titled ``title`` (its argv[0]) running ``code``. Its parent is titled
    ``raylet``: the rule under test looks at no parent, and the old rule — "every agent whose parent is not a
    raylet", still run by other checkouts of this project on a shared machine — leaves it alone."""
    parents, started = [], []

    def start(title: str, code: str, *args: str) -> Proc:
        env = os.environ | {"FAKE_ARGV": json.dumps([title, "-c", code, *args]), "FAKE_PYTHON": sys.executable}
        parent = subprocess.Popen(["raylet", "-c", SPAWN], executable=sys.executable, env=env, stdout=subprocess.PIPE)
        parents.append(parent)
        assert parent.stdout is not None
        proc = Proc.of(int(parent.stdout.readline()))
        assert proc is not None
        started.append(proc)
        return proc

    yield start
    kill(started)
    for parent in parents:
        parent.kill()
        parent.wait()
        parent.stdout.close()


def kill(procs: list[Proc]) -> None:
    """Stop at once what this test started and is still alive (by identity: a PID alone may name another process)."""
    stop(procs, grace_s=0)


def ended_process() -> Proc:
    """The identity of a process that has ended (a killed driver)."""
    child = subprocess.Popen(["sleep", "60"])
    proc = Proc.of(child.pid)
    child.kill()
    child.wait()
    assert proc is not None and not proc.alive()
    return proc


def fake_session(root: Path, name: str = "session_2026-01-01_00-00-00_000000_1") -> Path:
    (root / name / "logs").mkdir(parents=True)
    return root / name


def record_of(session: Path, driver: Proc) -> dict:
    return {"host": socket.gethostname(), "driver": [driver.pid, driver.start], "session_dir": str(session)}


def wait_started(*procs: Proc) -> None:
    """Until each Python has run far enough to open its file and install its SIGTERM handler."""
    time.sleep(1.0)
    assert all(p.alive() for p in procs)


def test_only_processes_of_the_recorded_session_are_stopped(tmp_path, capsys, fake) -> None:
    session, other = fake_session(tmp_path / "ray"), fake_session(tmp_path / "ray", "session_2")
    record = record_of(session, ended_process())
    ours = [
        fake("ray::DashboardAgent", HOLD, f"{session}/logs/dashboard_agent.log"),
        fake("ray::RuntimeEnvAgent", HOLD_IGNORING_TERM, f"{session}/logs/raylet.err"),  # SIGKILLed after the grace
        fake("raylet", SLEEP, f"--session_dir={session}"),
    ]
    foreign = [
        fake("ray::DashboardAgent", HOLD, f"{other}/logs/dashboard_agent.log"),  # another session's agent
        fake("ray::RuntimeEnvAgent", SLEEP),
        fake("raylet", SLEEP, f"--session_dir={session}0"),  # another session whose name starts the same
        fake("tail", HOLD, f"{session}/logs/raylet.out"),  # someone reading our logs: no Ray process
    ]
    wait_started(*ours, *foreign)
    assert set(leftovers(record)) == set(ours)
    state = {SESSION_KEY: record, "parent_run_id": "x"}
    assert set(reap_session(state, grace_s=0.5)) == set(ours)
    assert state == {"parent_run_id": "x"}  # the record is dropped, the rest of the state kept
    assert not any(p.alive() for p in ours) and all(p.alive() for p in foreign)
    where = f"Ray session {session} of this experiment's earlier driver (PID {record['driver'][0]})"
    assert capsys.readouterr().out == f"stopped 3 leftover process(es) of the {where}\n"
    assert reap_session(state) == [] and capsys.readouterr().out == ""  # no record: nothing done or said


def test_a_bare_claim_finds_the_session_its_driver_started_after_claiming(tmp_path, fake) -> None:
    """A driver killed inside ``ray.init`` left only its claim: the session is the one Ray named after that
    driver's PID, made after the claim; an older session of an earlier process with the same PID, and another
    PID's, are left alone."""
    driver, now = ended_process(), datetime.now()
    claim = {"host": socket.gethostname(), "driver": [driver.pid, driver.start], "temp_dir": str(tmp_path)}
    claim["since"] = now.timestamp()

    def named(when: datetime, pid: int) -> Path:
        return fake_session(tmp_path, f"session_{when.strftime('%Y-%m-%d_%H-%M-%S_%f')}_{pid}")

    ours = named(now + timedelta(seconds=2), driver.pid)
    older, others = named(now - timedelta(days=3), driver.pid), named(now + timedelta(seconds=2), driver.pid + 1)
    assert session_dirs(claim) == [str(ours)]
    agent = fake("ray::DashboardAgent", HOLD, f"{ours}/logs/dashboard_agent.log")
    spared = [fake("ray::DashboardAgent", HOLD, f"{path}/logs/dashboard_agent.log") for path in (older, others)]
    wait_started(agent, *spared)
    assert leftovers(claim) == [agent]
    assert reap_session({SESSION_KEY: claim}, grace_s=0.5) == [agent]
    assert not agent.alive() and all(p.alive() for p in spared)


@pytest.mark.parametrize("why", ["its driver still runs", "it ran on another host"])
def test_a_session_whose_driver_runs_or_that_ran_elsewhere_is_left_alone(tmp_path, capsys, fake, why) -> None:
    session, driver = fake_session(tmp_path), subprocess.Popen(["sleep", "60"])
    try:
        record = record_of(session, Proc.of(driver.pid) if why == "its driver still runs" else ended_process())
        if why == "it ran on another host":
            record["host"] = socket.gethostname() + "-elsewhere"
        agent = fake("ray::DashboardAgent", HOLD, f"{session}/logs/dashboard_agent.log")
        wait_started(agent)
        assert reap_session({SESSION_KEY: record}) == [] and agent.alive()
        assert capsys.readouterr().out == ""
    finally:
        driver.kill()
        driver.wait()


def read_started(path: Path, driver: Guarded) -> dict:
    """What a :func:`start_driver` driver wrote once its Ray was up."""
    deadline = time.monotonic() + 120
    while not path.is_file():
        assert driver.poll() is None, (driver.key / "driver.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the Ray driver did not start"
        time.sleep(0.2)
    return json.loads(path.read_text())


def agents(procs: list[Proc]) -> list[Proc]:
    return [p for p in procs if cmdline(p.pid)[:1] in (["ray::DashboardAgent"], ["ray::RuntimeEnvAgent"])]


def with_agents(record: dict) -> list[Proc]:
    """The processes of a recorded session once both of its agents run."""
    deadline = time.monotonic() + 60
    while len(agents(procs := tied(record["session_dir"]))) < 2:
        assert time.monotonic() < deadline, [cmdline(p.pid)[:1] for p in procs]
        time.sleep(0.2)
    return procs


def test_a_real_killed_driver_s_session_is_stopped_and_another_ray_is_untouched(tmp_path, capsys) -> None:
    """Two real local Rays: ours, whose driver is SIGKILLed, is reaped right away (its agents would linger
    8-63 s), from the bare claim a driver killed inside ``ray.init`` leaves (its record is not saved yet; the
    chaos test met that: a sweep killed 9 s after its start left 3 processes no later driver stopped); the
    other one, running, loses nothing; a driver that joined ours claims and records nothing."""
    temps, token = [short_temp(), short_temp(), short_temp()], secrets.token_hex(16)
    ours = start_driver(temps[0], tmp_path / "ours.json", token)
    foreign = start_driver(temps[1], tmp_path / "foreign.json", token)
    drivers = [ours, foreign]
    try:
        mine, theirs = read_started(tmp_path / "ours.json", ours), read_started(tmp_path / "foreign.json", foreign)
        record, claim, other = mine["record"], mine["claim"], theirs["record"]
        assert record["driver"][0] == ours.pid and record["session_dir"].startswith(str(temps[0]))
        assert "session_dir" not in claim and session_dirs(claim) == [record["session_dir"]]
        drivers.append(joined := start_driver(temps[2], tmp_path / "joined.json", token, mine["gcs"]))
        joined_one = read_started(tmp_path / "joined.json", joined)
        assert joined_one["record"] is None and joined_one["claim"] is None  # not its Ray: nothing to reap later

        session, foreign_session = with_agents(record), with_agents(other)
        ours.send_signal(signal.SIGKILL)
        ours.wait(timeout=30)
        left = leftovers(record)
        assert len(agents(left)) == 2 and leftovers(other) == []  # the other one's driver runs: not leftovers
        assert set(agents(left)) <= set(leftovers(claim))  # the claim finds them too (GCS, raylet may be dying)

        stopped = reap_session({SESSION_KEY: claim}, grace_s=0.5)
        assert len(stopped) >= 2 and set(stopped) <= set(session) | set(left)
        assert not any(p.alive() for p in session + left)
        assert all(p.alive() for p in foreign_session)  # another Ray, agents included: untouched
        assert f"stopped {len(stopped)} leftover process(es) of the Ray session {record['session_dir']}" in (
            capsys.readouterr().out
        )
    finally:
        for driver in drivers:
            driver.stop()
        for temp in temps:
            shutil.rmtree(temp, ignore_errors=True)
