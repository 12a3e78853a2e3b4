"""The local Ray a killed driver of *this experiment* left behind, stopped when its next driver starts Ray.

When a driver that started a local Ray is SIGKILLed, Ray's fate-sharing takes its GCS server and raylet down,
but the raylet's agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) outlive it — 8 to 63 s in our
measurements (they wait on the dead GCS), re-parented to init, holding ports and files. They are stopped by
the experiment's next driver, and nothing else ever is: other users' sweeps, other Ray clusters and other tools
on the machine look just the same (same titles, parents that are not raylets), so a process is stopped only
when it is tied to the Ray session *this experiment* recorded.

:func:`claim_session` runs right before the driver starts a local Ray, :func:`record_session` right after. The
claim keeps, in the experiment's state (``sct_experiment.json`` under ``--storage``; Ray's session dir does not
survive a restart), the host, the driver's identity (PID + start time), Ray's temp root and the wall time; the
record adds the session directory — or drops the claim when ``ray.init`` joined a Ray someone else started. A
driver killed inside ``ray.init``, before its record, still leaves its claim: Ray names a head's session directory
``session_<local date>_<PID of the process that started it>``, so the claim finds it under the temp root (a
``session_…_<PID>`` made after the claim). :func:`reap_session` runs before the next ``ray.init``: when the
recorded driver is gone and the record was made on this host, it stops this user's processes tied to that
session, read from ``/proc``: a ``--flag=PATH`` argument names the session directory (GCS server, raylet,
dashboard, monitors), or the process is titled ``ray::…`` and holds a file open under it (the agents and workers:
Ray 2.60 overwrites their command lines, and often their environment, with the title, and points their output at
the session's ``logs/``). A shell reading those logs is no Ray process; another Ray's agents hold other files.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sct.tune.run.processes import Proc, cmdline, names_path, open_paths, running, stop

SESSION_KEY = "local_ray"  # the record's key in the experiment's state


def ray_temp_root() -> Path:
    """Where a local Ray started without ``_temp_dir`` keeps its sessions (Ray's own rule: RAY_TMPDIR, TMPDIR,
    /tmp, then ``ray/``)."""
    from ray._common.utils import get_default_ray_temp_dir

    return Path(get_default_ray_temp_dir())


def claim_session(state: dict[str, Any], temp_dir: str | None = None) -> None:
    """Before this process starts a local Ray (in ``temp_dir``, default :func:`ray_temp_root`): note who starts
    it, where and when, so that its session can be found even if this process dies before :func:`record_session`."""
    me = Proc.of(os.getpid())
    assert me is not None  # this process is alive
    state[SESSION_KEY] = {
        "host": socket.gethostname(),
        "driver": [me.pid, me.start],
        "temp_dir": temp_dir or str(ray_temp_root()),
        "since": time.time(),
    }


def record_session(state: dict[str, Any]) -> bool:
    """Complete the claim with the session directory of the local Ray this process has just started; False (and
    no record) when the Ray this process uses was started by another process."""
    import ray

    claim = state.pop(SESSION_KEY, None) or {}
    node = ray._private.worker._global_node  # the session directory has no public accessor in Ray 2.60
    session_dir = node.get_session_dir_path() if node is not None else None
    me = Proc.of(os.getpid())
    if not session_dir or me is None or not any(p.parent() == me.pid for p in tied(session_dir)):
        return False  # no GCS server / raylet of that session is our child: not ours to stop, ever
    mine = {"host": socket.gethostname(), "driver": [me.pid, me.start], "session_dir": session_dir}
    state[SESSION_KEY] = claim | mine
    return True


def session_dirs(record: dict[str, Any]) -> list[str]:
    """The recorded session directory, or for a bare claim the ones its driver started after claiming."""
    if record.get("session_dir"):
        return [record["session_dir"]]
    found = []
    for path in Path(record["temp_dir"]).glob(f"session_*_{record['driver'][0]}"):
        stamp = path.name.removeprefix("session_").rsplit("_", 1)[0]  # Ray's local time, to the microsecond
        try:
            made = datetime.strptime(stamp, "%Y-%m-%d_%H-%M-%S_%f").timestamp()
        except ValueError:
            continue
        if made >= record["since"] - 1.0 and not path.is_symlink():  # a slack for clock rounding
            found.append(str(path))
    return found


def tied(session_dir: str) -> list[Proc]:
    """This user's processes of one Ray session (see the module docstring for the rule)."""
    found = []
    for proc in running():
        args = cmdline(proc.pid)
        flags = [arg.partition("=")[2] for arg in args[1:] if arg.startswith("--") and "=" in arg]
        if any(names_path(value, session_dir) for value in flags) or (
            args[:1] and args[0].startswith("ray::") and any(names_path(p, session_dir) for p in open_paths(proc.pid))
        ):
            found.append(proc)
    return found


def leftovers(record: dict[str, Any]) -> list[Proc]:
    """The live processes of a recorded session, or none while its driver runs or when it ran on another host."""
    if record.get("host") != socket.gethostname() or Proc(*record["driver"]).alive():
        return []
    return list(dict.fromkeys(p for session in session_dirs(record) for p in tied(session)))


def reap_session(state: dict[str, Any], grace_s: float = 2.0) -> list[Proc]:
    """Stop what the recorded session left behind (SIGTERM, SIGKILL after ``grace_s``: the agents ignore SIGTERM
    once their raylet is gone) and drop the record; returns the processes stopped and says so in one line."""
    record = state.pop(SESSION_KEY, None)
    if not record:
        return []
    stopped, alive = stop(leftovers(record), grace_s)
    sessions = " ".join(session_dirs(record)) or f"under {record.get('temp_dir')}"
    where = f"Ray session {sessions} of this experiment's earlier driver (PID {record['driver'][0]})"
    if stopped:
        print(f"stopped {len(stopped)} leftover process(es) of the {where}")
    if alive:
        print(f"could not stop process(es) {' '.join(str(p.pid) for p in alive)} of the {where}", file=sys.stderr)
    return stopped
