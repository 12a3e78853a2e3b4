"""Orphaned Ray agents (parent no longer a raylet) are found and stopped; other processes are left alone."""

from __future__ import annotations

import subprocess
import time

from sct.tune.hygiene import orphaned_agents, reap_orphaned_agents


def test_an_orphaned_agent_is_stopped_and_a_plain_process_is_not(tmp_path) -> None:
    pid_file = tmp_path / "pids"
    # Two grandchildren re-parented when their shell exits: one titled like Ray's agent, one plain.
    script = (
        f"(exec -a ray::DashboardAgent sleep 60) & echo $! > {pid_file}; "
        f"(exec -a plain-sleeper sleep 60) & echo $! >> {pid_file}"
    )
    subprocess.run(["bash", "-c", script], check=True)
    agent, plain = (int(p) for p in pid_file.read_text().split())
    try:
        assert agent in orphaned_agents() and plain not in orphaned_agents()
        assert reap_orphaned_agents() >= 1
        deadline = time.monotonic() + 10
        while agent in orphaned_agents() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert agent not in orphaned_agents()
        assert subprocess.run(["kill", "-0", str(plain)]).returncode == 0  # untouched
    finally:
        subprocess.run(["kill", "-9", str(agent), str(plain)], capture_output=True)


def test_an_agent_ignoring_sigterm_is_killed_after_the_grace(tmp_path) -> None:
    import sys

    pid_file = tmp_path / "pid"
    ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    subprocess.run(
        ["bash", "-c", f"(exec -a ray::RuntimeEnvAgent {sys.executable} -c '{ignore}') & echo $! > {pid_file}"]
    )
    agent = int(pid_file.read_text())
    try:
        deadline = time.monotonic() + 10
        while agent not in orphaned_agents() and time.monotonic() < deadline:
            time.sleep(0.1)  # the interpreter installs its SIGTERM handler first
        time.sleep(0.5)
        assert reap_orphaned_agents(grace_s=0.5) == 1
        assert agent not in orphaned_agents()
    finally:
        subprocess.run(["kill", "-9", str(agent)], capture_output=True)
