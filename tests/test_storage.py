"""Atomic writes and the directory lock: no partial files, temp names cleaned on failure, clear refusals."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from sct.errors import UserError
from sct.storage import DirLock, copy_tree, disk_usage, read_json, write_dir, write_json, write_text


def test_write_dir_cleans_up_when_fill_fails(tmp_path) -> None:
    write_dir(tmp_path / "d", lambda tmp: (tmp / "a").write_text("old"))

    def broken(tmp):
        (tmp / "a").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_dir(tmp_path / "d", broken)
    assert (tmp_path / "d" / "a").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_read_json_names_a_cut_file(tmp_path) -> None:
    write_json(tmp_path / "p.json", {"step": 3})
    assert read_json(tmp_path / "p.json") == {"step": 3}
    (tmp_path / "p.json").write_text('{"st')
    with pytest.raises(UserError, match=r"p\.json: not valid JSON \(cut or corrupted file\?\)"):
        read_json(tmp_path / "p.json")


def test_lock_refuses_a_second_holder_and_names_it(tmp_path) -> None:
    with DirLock(tmp_path, "--output"):
        code = f"from sct.storage import DirLock; DirLock({str(tmp_path)!r}, '--output').acquire()"
        child = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
        )
        assert child.returncode != 0
        assert "is in use by PID" in child.stderr and "--output" in child.stderr


def test_lock_of_a_killed_process_does_not_block(tmp_path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal
        from sct.storage import DirLock
        DirLock({str(tmp_path)!r}).acquire()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    assert subprocess.run([sys.executable, "-c", script]).returncode == -9
    assert (tmp_path / ".lock").read_text()  # the holder's note is still there ...
    with DirLock(tmp_path):  # ... but the kernel released the lock with the process
        pass


def test_copy_tree_hard_links_and_the_footprint_counts_a_file_once(tmp_path) -> None:
    source = tmp_path / "trial" / "model"
    source.mkdir(parents=True)
    (source / "weights.bin").write_bytes(b"x" * 1000)
    copy_tree(source, tmp_path / "best_model")
    assert (tmp_path / "best_model" / "weights.bin").stat().st_ino == (source / "weights.bin").stat().st_ino
    assert disk_usage(tmp_path) == 1000  # one inode, two names
    write_dir(source, lambda tmp: (tmp / "weights.bin").write_bytes(b"y" * 10))  # the trial's model replaced
    assert (tmp_path / "best_model" / "weights.bin").read_bytes() == b"x" * 1000  # the other name is intact


def test_copy_tree_copies_where_links_fail(tmp_path, monkeypatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("data")

    def no_links(src, dst):  # type: ignore[no-untyped-def]
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr("os.link", no_links)
    copy_tree(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b" / "f").read_text() == "data"
    assert (tmp_path / "b" / "f").stat().st_ino != (tmp_path / "a" / "f").stat().st_ino
    assert disk_usage(tmp_path) == 8


@pytest.fixture
def umask():
    """Run a test under a chosen umask (process-wide), restored afterwards."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize(
    ("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)]
)
def test_writes_follow_the_users_umask(tmp_path, umask, mask, file_mode, dir_mode) -> None:
    """A team sharing a storage reads each other's results when its umask says so (not always 0600/0700)."""
    umask(mask)
    write_json(tmp_path / "metrics.json", {"a": 1})
    write_text(tmp_path / "best.json", "{}")

    def fill(tmp):  # as safetensors writes its weights: privately, renamed into place
        (tmp / "sub").mkdir(mode=0o700)
        (tmp / "sub" / "w.bin").write_bytes(b"1")
        (tmp / "sub" / "w.bin").chmod(0o600)

    write_dir(tmp_path / "model", fill)
    assert stat.S_IMODE((tmp_path / "metrics.json").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "best.json").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == dir_mode
    assert stat.S_IMODE((tmp_path / "model" / "sub").stat().st_mode) == dir_mode
    assert stat.S_IMODE((tmp_path / "model" / "sub" / "w.bin").stat().st_mode) == file_mode


def test_a_lock_removes_the_directories_it_created_when_they_hold_nothing_else(tmp_path) -> None:
    with DirLock(tmp_path / "a" / "b" / "run"):
        pass  # a run that failed before writing anything
    assert list(tmp_path.iterdir()) == []
    with DirLock(tmp_path / "a" / "run") as lock:
        (lock.directory / "metrics.json").write_text("{}")
    assert sorted(p.name for p in (tmp_path / "a" / "run").iterdir()) == [".lock", "metrics.json"]
    with DirLock(tmp_path / "parts"):  # a job deletes its own work space while it holds it
        shutil.rmtree(tmp_path / "parts")
    (tmp_path / "mine").mkdir()  # the user's own (empty) directory is theirs: only the lock file goes
    with DirLock(tmp_path / "mine"):
        pass
    assert (tmp_path / "mine").is_dir() and list((tmp_path / "mine").iterdir()) == []


def test_a_waiting_lock_holder_never_shares_the_lock_after_the_directory_is_removed(tmp_path) -> None:
    """A process blocked on ``.lock`` while its creator removes it must not end up holding a deleted file's lock
    beside a newer holder of a new ``.lock``: it locks the file that is there."""
    target = tmp_path / "shared-init"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from sct.storage import DirLock
        with DirLock({str(target)!r}, blocking=True) as lock:
            print("locked", flush=True)
            (Path(lock.directory) / "work").write_text("x")
            time.sleep(0.5)
            (Path(lock.directory) / "work").unlink()
        """
    )
    lock = DirLock(target, blocking=True).acquire()
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    time.sleep(1.5)  # the child opened .lock and waits on it
    lock.release()  # removes .lock and the directory it created
    assert child.stdout.readline().strip() == "locked"
    with pytest.raises(UserError, match="in use by PID"):
        DirLock(target).acquire()  # the child holds the lock of the file that is there
    assert child.wait(timeout=30) == 0
