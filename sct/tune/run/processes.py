"""Processes named by identity, read from ``/proc`` and stopped without hitting a stranger (Linux).

A PID alone names no process for long: this machine's PID space is small (``kernel.pid_max`` can be 32768)
and a busy host reuses PIDs within minutes. A :class:`Proc` is a PID *and* its start time (``/proc/PID/stat``
field 22, clock ticks since boot), which together name one process for the machine's whole uptime.
:func:`stop` signals through pidfds opened after the identity was checked, so a signal never reaches a
process that took over a PID in between. Used by :mod:`sct.tune.run.ray_hygiene` and by the tests' process guard.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` fields after the command name: [0] state, [1] ppid, [2] pgrp, [3] session, [19] start."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


@dataclass(frozen=True)
class Proc:
    """One process: its PID and its start time in clock ticks since boot."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> Proc | None:
        """The process that has ``pid`` now (None when there is none)."""
        fields = _stat(pid)
        return cls(pid, int(fields[19])) if fields else None

    def alive(self) -> bool:
        """Still running (not a zombie) and still this process, not a later one with the same PID."""
        fields = _stat(self.pid)
        return fields is not None and int(fields[19]) == self.start and fields[0] != "Z"

    def parent(self) -> int | None:
        """The parent's PID while this process is alive."""
        return self._field(1)

    def group(self) -> int | None:
        """The process group's ID while this process is alive."""
        return self._field(2)

    def _field(self, index: int) -> int | None:
        fields = _stat(self.pid)
        return int(fields[index]) if fields and int(fields[19]) == self.start and fields[0] != "Z" else None


def running(uid: int | None = None) -> Iterator[Proc]:
    """This user's live processes (``uid`` defaults to ours), the caller excluded."""
    uid = os.getuid() if uid is None else uid
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
        except OSError:
            continue
        proc = Proc.of(int(entry.name))
        if proc is not None and proc.alive():
            yield proc


def cmdline(pid: int) -> list[str]:
    """The argument vector (empty when unreadable). Ray's agents and workers overwrite theirs with a title."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode("utf-8", "replace") for arg in raw.split(b"\0") if arg]


def environ(pid: int) -> dict[str, str]:
    """The environment the process started with (empty when unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode("utf-8", "replace").partition("=") for item in raw.split(b"\0") if b"=" in item)
    return {key: value for key, _, value in pairs}


def open_paths(pid: int) -> list[str]:
    """The working directory and the targets of the open file descriptors (empty when unreadable)."""
    paths = []
    for link in (Path(f"/proc/{pid}/cwd"), *_fds(pid)):
        try:
            paths.append(os.readlink(link))
        except OSError:
            continue
    return paths


def _fds(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return []


def names_path(text: str, path: str) -> bool:
    """``text`` mentions ``path`` or something under it (``/tmp/x1`` is not ``/tmp/x10``)."""
    return re.search(re.escape(path.rstrip("/")) + r"(?![\w.-])", text) is not None


def _open_checked(proc: Proc) -> int | None:
    """A pidfd for ``proc``, or None when it is gone; the identity is checked after the pidfd is open."""
    try:
        fd = os.pidfd_open(proc.pid)
    except OSError:
        return None
    if proc.alive():
        return fd
    os.close(fd)
    return None


def _wait_gone(procs: Iterable[Proc], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(p.alive() for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop(procs: Iterable[Proc], grace_s: float = 2.0) -> tuple[list[Proc], list[Proc]]:
    """SIGTERM each process, SIGKILL those still alive after ``grace_s``; returns (stopped, still alive).

    A process counts as stopped only when it is gone afterwards (one that had already ended is neither).
    """
    fds = {p: fd for p in dict.fromkeys(procs) if (fd := _open_checked(p)) is not None}
    try:
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            for proc, fd in fds.items():
                if proc.alive():
                    try:
                        signal.pidfd_send_signal(fd, sig)
                    except ProcessLookupError:
                        pass
            _wait_gone(fds, wait)
        return [p for p in fds if not p.alive()], [p for p in fds if p.alive()]
    finally:
        for fd in fds.values():
            os.close(fd)
