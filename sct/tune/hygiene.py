"""Ray processes a killed driver leaves behind, stopped before the next local Ray starts.

When a driver that started a local Ray is SIGKILLed, Ray's fate-sharing takes its GCS server and raylet down,
but the raylet's agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) can outlive it, re-parented to
init, holding ports and files of a session directory that is gone. An agent whose parent is no longer a
raylet belongs to no cluster: :func:`reap_orphaned_agents` stops those (and only those).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

AGENT_TITLES = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def orphaned_agents() -> list[int]:
    """PIDs of this user's Ray agent processes whose parent is not a raylet."""
    found = []
    uid = os.getuid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if entry.stat().st_uid != uid:
                continue
        except OSError:
            continue
        if not _cmdline(pid).startswith(AGENT_TITLES) or not _alive(pid):
            continue
        parent = _ppid(pid)
        if parent is not None and "raylet" not in _cmdline(parent):
            found.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        return not Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def reap_orphaned_agents(grace_s: float = 2.0) -> int:
    """SIGTERM every orphaned Ray agent, SIGKILL those still alive after ``grace_s`` (the agents ignore
    SIGTERM once their raylet is gone); returns how many were stopped."""
    found = orphaned_agents()
    for pid in found:
        _signal(pid, signal.SIGTERM)
    alive, deadline = list(found), time.monotonic() + grace_s
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _alive(pid)]
    for pid in alive:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while any(_alive(pid) for pid in alive) and time.monotonic() < deadline:
        time.sleep(0.05)
    if found:
        print(f"stopped {len(found)} Ray agent process(es) left behind by a killed driver")
    return len(found)
