"""Atomic writes and the directory lock: no partial files, temp names cleaned on failure, clear refusals."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sct.errors import UserError
from sct.storage import DirLock, copy_tree, disk_usage, read_json, write_dir, write_json


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
