"""Crash-safe files: atomic file and directory writes, and an exclusive lock on a directory.

Everything the project writes that a later run reads (checkpoints, exported models, caches, progress files,
experiment state) goes through :func:`write_file` or :func:`write_dir`: the content is written under a
temporary name in the same directory and renamed into place, so a reader sees the old version or the new
one, never half of one. Temporary names are removed on every path, failures included. What they write gets
the modes of any other file the user makes (``0666``/``0777`` less the umask), not the private ``0600``/
``0700`` of ``mkstemp`` or of libraries' own atomic writes: a team sharing a storage reads each other's
results when its umask allows it.

:class:`DirLock` is an ``fcntl`` lock on ``<dir>/.lock``: the kernel releases it when its process dies, so a
lock left by a killed process never blocks, and the file says who holds a live one (PID, host, start time).
A directory that holds nothing but ``.lock`` on release loses it, and is removed too (with the parents) if the
lock created it: a run refused or failed before writing anything leaves no trace, and a user's own empty
directory stays.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct.errors import UserError

if TYPE_CHECKING:
    from sct.config import SCTConfig

LOCK_FILE = ".lock"


def _make_temp(target: Path, make: Callable[[Path], Any]) -> tuple[Path, int]:
    """A new, unused temporary name beside ``target``, created by ``make`` (which raises FileExistsError when
    the name is taken), and its mode. Unlike ``mkstemp``/``mkdtemp`` (always 0600/0700), ``make`` creates with
    the default modes, so the mode is the one the user's umask gives (thread-safe: the umask is never set)."""
    while True:
        tmp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
        try:
            make(tmp)
        except FileExistsError:
            continue
        return tmp, stat.S_IMODE(tmp.stat().st_mode) & 0o777


def _chmod_tree(root: Path, dir_mode: int) -> None:
    """Give what a library wrote privately under ``root`` (safetensors writes its weights 0600) the modes of
    the umask: ``dir_mode`` for directories, less the execute bits for files that had none."""
    for path in (root, *root.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        wanted = dir_mode if stat.S_ISDIR(mode) or mode & 0o111 else dir_mode & 0o666
        if stat.S_IMODE(mode) & 0o777 != wanted:
            path.chmod(wanted)


def cache_root(cfg: SCTConfig, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Root of sct's on-disk caches: ``cache_dir`` > ``cfg.data.cache_dir`` > ``$SCT_CACHE_DIR`` > ~/.cache/sct."""
    root = cache_dir or cfg.data.cache_dir or os.environ.get("SCT_CACHE_DIR") or Path.home() / ".cache" / "sct"
    return Path(root).expanduser()


def write_file(target: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` then rename the file over ``target``; the temp file never outlives the call."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp, mode = _make_temp(target, lambda path: os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
    try:
        write(tmp)
        if stat.S_IMODE(tmp.stat().st_mode) & 0o777 != mode:  # ``write`` replaced the file
            tmp.chmod(mode)
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
    tmp, mode = _make_temp(target, os.mkdir)
    old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
    try:
        fill(tmp)
        _chmod_tree(tmp, mode)
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
        self._created: list[Path] = []  # directories acquire() made, deepest first

    @property
    def path(self) -> Path:
        return self.directory / LOCK_FILE

    def acquire(self) -> DirLock:
        while True:
            missing = [d for d in (self.directory, *self.directory.parents) if not d.exists()]
            self.directory.mkdir(parents=True, exist_ok=True)
            self._created = missing
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)  # a team member may lock it too
            except FileNotFoundError:  # its creator removed the directory in between: make it again
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
                os.close(fd)
                self._created = []
                raise UserError(
                    f"{self.what} {self.directory} is in use by {_describe(holder)}: wait for it to end"
                ) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # locked a .lock its holder removed on release (see release): lock the current one
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.write(fd, json.dumps(info).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            empty = [p.name for p in itertools.islice(self.directory.iterdir(), 2)] == [LOCK_FILE]
        except FileNotFoundError:  # its holder deleted the directory (a finished job's work space)
            empty = False
        if empty:  # unlinked while still locked: a process waiting on this file relocks the new one
            self.path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
        for directory in self._created if empty else ():
            try:
                directory.rmdir()
            except OSError:  # no longer empty (another process uses it now): it stays
                break
        self._created = []

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _describe(holder: str) -> str:
    try:
        info = json.loads(holder)
        return f"PID {info['pid']} on {info['host']} (since {info['since']})"
    except (json.JSONDecodeError, KeyError, TypeError):
        return "another process"


def disk_usage(*paths: str | os.PathLike[str]) -> int:
    """Bytes of all regular files under ``paths`` (0 when absent), as ``du`` counts them: links are not
    followed, and a file with several hard links under them (a model and its logged MLflow copy) counts once."""
    total, seen = 0, set()
    for path in paths:
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
