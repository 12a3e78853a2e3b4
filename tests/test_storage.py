"""Atomic writes and the directory lock: no partial files, temp names cleaned on failure, clear refusals."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sct.errors import UserError
from sct.storage import DirLock, read_json, write_dir, write_json


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
