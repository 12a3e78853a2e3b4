"""Crash-safe files: atomic file and directory writes, and an exclusive lock on a directory.

Everything the project writes that a later run reads (checkpoints, exported models, caches, progress files,
experiment state) goes through :func:`write_file` or :func:`write_dir`: the content is written under a
temporary name in the same directory and renamed into place, so a reader sees the old version or the new
one, never half of one. Temporary names are removed on every path, failures included.

:class:`DirLock` is an ``fcntl`` lock on ``<dir>/.lock``: the kernel releases it when its process dies, so a
lock left by a killed process never blocks, and the file says who holds a live one (PID, host, start time).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct.errors import UserError

if TYPE_CHECKING:
    from sct.config import SCTConfig

LOCK_FILE = ".lock"


def cache_root(cfg: SCTConfig, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Root of sct's on-disk caches: ``cache_dir`` > ``cfg.data.cache_dir`` > ``$SCT_CACHE_DIR`` > ~/.cache/sct."""
    root = cache_dir or cfg.data.cache_dir or os.environ.get("SCT_CACHE_DIR") or Path.home() / ".cache" / "sct"
    return Path(root).expanduser()


def write_file(target: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` then rename the file over ``target``; the temp file never outlives the call."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Atomically replace ``target`` with ``text`` (UTF-8)."""
    return write_file(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(target: str | os.PathLike[str], data: Any) -> Path:
    """Atomically replace ``target`` with ``data`` as indented JSON."""
    return write_text(target, json.dumps(data, indent=2, default=str) + "\n")


def write_dir(target: str | os.PathLike[str], fill: Callable[[Path], Any], *, keep_existing: bool = False) -> Path:
    """Call ``fill(tmp_dir)`` then swap ``tmp_dir`` in as ``target``.

    An older ``target`` is replaced, or kept when ``keep_existing`` (a cache another process filled first).
    The temporary directory and the displaced old version are removed on every path, failures included.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
    try:
        fill(tmp)
        if target.exists():
            if keep_existing:
                return target
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return target


def copy_tree(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> Path:
    """Copy the directory ``source`` into ``destination`` (created or merged), hard-linking each file where the
    filesystem allows: a model kept in two places (a trial's ``model/`` and the experiment's ``best_model``)
    then takes its bytes once. Safe because nothing here rewrites a file in place: every writer replaces
    whole files or directories (:func:`write_file`, :func:`write_dir`), which leaves the other name intact."""

    def link_or_copy(src: str, dst: str) -> str:
        try:
            os.link(src, dst)
        except OSError:  # another filesystem, or links not supported
            shutil.copy2(src, dst)
        return dst

    shutil.copytree(source, destination, dirs_exist_ok=True, copy_function=link_or_copy)
    return Path(destination)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; a missing, cut or invalid file raises UserError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON (cut or corrupted file?): {err}") from None


class DirLock:
    """An exclusive lock on a directory, held while the ``with`` block (or the process) runs.

    Non-blocking by default (a second holder is refused at once); ``blocking`` waits instead (short critical
    sections such as creating a shared store).
    ``what`` names the directory's role in the refusal message, e.g. ``"--output"`` or ``"experiment"``.
    """

    def __init__(self, directory: str | os.PathLike[str], what: str = "directory", *, blocking: bool = False) -> None:
        self.directory, self.what, self.blocking = Path(directory), what, blocking
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.directory / LOCK_FILE

    def acquire(self) -> DirLock:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            os.close(fd)
            raise UserError(
                f"{self.what} {self.directory} is in use by {_describe(holder)}: wait for it to end"
            ) from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.write(fd, json.dumps(info).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _describe(holder: str) -> str:
    try:
        info = json.loads(holder)
        return f"PID {info['pid']} on {info['host']} (since {info['since']})"
    except (json.JSONDecodeError, KeyError, TypeError):
        return "another process"


def disk_usage(path: str | os.PathLike[str]) -> int:
    """Bytes of all regular files under ``path`` (0 when absent); links are not followed, and a file with
    several hard links under ``path`` counts once."""
    total, seen = 0, set()
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                stat = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total
