"""The local Ray a killed driver of *this experiment* left behind, stopped when its next driver starts Ray.

When a driver that started a local Ray is SIGKILLed, Ray's fate-sharing takes its GCS server and raylet down,
but the raylet's agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) outlive it — 8 to 63 s in our
measurements (they wait on the dead GCS), re-parented to init, holding ports and files. They are stopped by
the experiment's next driver, and nothing else ever is: other users' sweeps, other Ray clusters and other tools
on the machine look just the same (same titles, parents that are not raylets), so a process is stopped only
when it is tied to the Ray session *this experiment* recorded.

:func:`record_session` runs right after the driver started a local Ray. It keeps, in the experiment's state
(``sct_experiment.json`` under ``--storage``; Ray's session dir does not survive a restart), the host, the
driver's identity (PID + start time) and the session directory — and nothing when ``ray.init`` joined a Ray
someone else started. :func:`reap_session` runs before the next ``ray.init``: when the recorded driver is gone
and the record was made on this host, it stops this user's processes tied to that session, read from
``/proc``: a ``--flag=PATH`` argument names the session directory (GCS server, raylet, dashboard, monitors), or
the process is titled ``ray::…`` and holds a file open under it (the agents and workers: Ray 2.60 overwrites
their command lines, and often their environment, with the title, and points their output at the session's
``logs/``). A shell reading those logs is no Ray process; another Ray's agents hold other files.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from sct.tune.run.processes import Proc, cmdline, names_path, open_paths, running, stop

SESSION_KEY = "local_ray"  # the record's key in the experiment's state


def record_session(state: dict[str, Any]) -> bool:
    """Record the local Ray this process has just started in ``state``; False (and no record) when the Ray
    this process uses was started by another process."""
    import ray

    state.pop(SESSION_KEY, None)
    node = ray._private.worker._global_node  # the session directory has no public accessor in Ray 2.60
    session_dir = node.get_session_dir_path() if node is not None else None
    me = Proc.of(os.getpid())
    if not session_dir or me is None or not any(p.parent() == me.pid for p in tied(session_dir)):
        return False  # no GCS server / raylet of that session is our child: not ours to stop, ever
    state[SESSION_KEY] = {
        "host": socket.gethostname(),
        "driver": [me.pid, me.start],
        "session_dir": session_dir,
    }
    return True


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
    return tied(record["session_dir"])


def reap_session(state: dict[str, Any], grace_s: float = 2.0) -> list[Proc]:
    """Stop what the recorded session left behind (SIGTERM, SIGKILL after ``grace_s``: the agents ignore SIGTERM
    once their raylet is gone) and drop the record; returns the processes stopped and says so in one line."""
    record = state.pop(SESSION_KEY, None)
    if not record:
        return []
    stopped, alive = stop(leftovers(record), grace_s)
    where = f"Ray session {record['session_dir']} of this experiment's earlier driver (PID {record['driver'][0]})"
    if stopped:
        print(f"stopped {len(stopped)} leftover process(es) of the {where}")
    if alive:
        print(f"could not stop process(es) {' '.join(str(p.pid) for p in alive)} of the {where}", file=sys.stderr)
    return stopped
