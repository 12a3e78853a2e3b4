"""Processes the tests start never outlive the test session, however it ends (teardown, Ctrl-C, SIGTERM, SIGKILL).

:class:`Guarded` is ``subprocess.Popen`` for long-lived processes (servers, Ray nodes, drivers): the command
starts as the leader of a new session — its own process group, out of reach of the terminal's Ctrl-C — through
this file run as a trampoline that forks a *watchdog* into that group, then ``exec``\\ s the command (same
PID). The watchdog holds the read end of a pipe whose write end only the pytest process holds, so the kernel
closes it when pytest ends for any reason, SIGKILL included, and :meth:`Guarded.stop` closes it on purpose. At
end-of-file the watchdog stops (SIGTERM, SIGKILL after a grace) every other member of its group and every
process of this user tied to the guard's key directory — the fixture's own temp dir, named by an argument, its
working directory or an open file: Ray's workers leave the group and its agents' command lines are titles —
then exits. Being a member, it keeps the group's ID from being reused while it works. It also exits when its
group has no other live member (the command ended by itself).

:func:`guard_dir` is the same watchdog without a command, keyed on a directory only: for processes started
in-process, like the local Ray of ``ray.init(_temp_dir=...)``; it removes that directory when it is done.

With ``SCT_TEST_GUARD_LOG`` set, each guard appends one JSON line (PID, start time, key) to that file: how
tests/test_process_guard.py finds what an interrupted pytest run started.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sct.tune.run.processes import Proc, cmdline, names_path, open_paths, running, stop

GUARD_LOG = "SCT_TEST_GUARD_LOG"


def tied_to(key: str, owner: Proc | None = None) -> list[Proc]:
    """This user's live processes naming ``key`` in an argument, with their working directory or an open file
    under it; ``owner`` (the pytest process) and the guards' watchdogs excluded."""
    found = []
    for proc in running():
        args = cmdline(proc.pid)
        if proc == owner or __file__ in args[:3]:
            continue
        if any(names_path(a, key) for a in args) or any(names_path(p, key) for p in open_paths(proc.pid)):
            found.append(proc)
    return found


def members(group: int) -> list[Proc]:
    """The live processes of a process group (the caller excluded)."""
    return [p for p in running() if p.group() == group]


def _log(proc: Proc, key: Path, kind: str) -> None:
    if os.environ.get(GUARD_LOG):
        with open(os.environ[GUARD_LOG], "a", encoding="utf-8") as out:
            out.write(json.dumps({"kind": kind, "pid": proc.pid, "start": proc.start, "key": str(key)}) + "\n")


def _watchdog_argv(read: int, key: Path, grace_s: float, remove: bool = False) -> list[str]:
    owner = Proc.of(os.getpid())
    assert owner is not None
    flags = [str(read), str(key), str(grace_s), str(owner.pid), str(owner.start), "remove" if remove else "keep"]
    return [sys.executable, "-I", __file__, *flags]


class Guarded(subprocess.Popen):
    """``Popen(cmd, ...)`` in its own session, stopped with everything it started when pytest ends or on
    :meth:`stop`; ``key`` is the fixture's own temp dir (see the module docstring)."""

    def __init__(self, cmd: list[str], key: Path, grace_s: float = 5.0, **kwargs) -> None:
        read, self._write = os.pipe()
        try:
            argv = [*_watchdog_argv(read, key, grace_s), "--", *cmd]
            super().__init__(argv, start_new_session=True, pass_fds=(read,), **kwargs)
        finally:
            os.close(read)
        self.key = key
        leader = Proc.of(self.pid)
        if leader is not None:
            _log(leader, key, "group")

    def stop(self, timeout: float = 60) -> None:
        """Stop the command, its group and the key dir's processes; returns when they are gone."""
        if self._write is not None:
            os.close(self._write)
            self._write = None
        deadline = time.monotonic() + timeout
        while (self.poll() is None or members(self.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        if members(self.pid):  # the watchdog did not finish: the group is still there, so its ID is still ours
            os.killpg(self.pid, signal.SIGKILL)
            raise AssertionError(f"process group {self.pid} ({self.args[-1]}) was still alive after {timeout:g} s")


@contextmanager
def guard_dir(key: Path, grace_s: float = 5.0) -> Iterator[None]:
    """Stop this user's processes tied to ``key`` when the block ends or pytest dies (see the module docstring),
    then remove ``key``: a temp dir of the caller's own that a killed pytest could not remove."""
    read, write = os.pipe()
    try:
        argv = _watchdog_argv(read, key, grace_s, remove=True)
        watchdog = subprocess.Popen(argv, start_new_session=True, pass_fds=(read,))
    finally:
        os.close(read)
    proc = Proc.of(watchdog.pid)
    if proc is not None:
        _log(proc, key, "dir")
    try:
        yield
    finally:
        os.close(write)
        watchdog.wait(timeout=60)


def _watch(read: int, key: str, grace_s: float, owner: Proc, group: int | None, remove: bool = False) -> None:
    """The watchdog: wait for end-of-file on ``read``, then stop the group and the key dir's processes (and remove
    the key dir when told to)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # the group's SIGTERM is for the others: this process outlives them
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)  # a pipe the test reads from must reach EOF when the command ends
    leader = Proc.of(group) if group is not None else None  # the command: the group's ID is its PID
    while not (select.select([read], [], [], 1.0)[0] and os.read(read, 1) == b""):
        if leader is not None and not leader.alive() and not members(leader.pid):
            return  # the command and everything in its group ended by themselves
    for _ in range(5):  # what is stopped may have started more in the meantime
        procs = (members(group) if group is not None else []) + tied_to(key, owner)
        if not procs:
            break
        stop(procs, grace_s)
    if remove:
        shutil.rmtree(key, ignore_errors=True)


def main(argv: list[str]) -> None:
    read, key, grace_s, owner = int(argv[0]), argv[1], float(argv[2]), Proc(int(argv[3]), int(argv[4]))
    cmd = argv[7:] if argv[6:7] == ["--"] else []
    if not cmd:
        _watch(read, key, grace_s, owner, None, remove=argv[5] == "remove")
        return
    child = os.fork()
    if child == 0:
        if os.fork() == 0:  # the grandchild: re-parented to init, still a member of this group
            try:
                _watch(read, key, grace_s, owner, os.getpgrp())
            finally:
                os._exit(0)
        os._exit(0)
    os.waitpid(child, 0)
    os.close(read)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
