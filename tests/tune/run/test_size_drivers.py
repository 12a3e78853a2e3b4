"""A study's size drivers as child processes (a stand-in driver, no Ray): their lines prefixed with the size,
their exit codes, and Ctrl-C forwarded to every running child once, after which no child starts."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from sct.tune.run import size_drivers
from sct.tune.run.size_drivers import SizeDriver, run_all


@pytest.fixture(autouse=True)
def idle_driver(monkeypatch):
    monkeypatch.setattr(size_drivers, "COMMAND", ("tests.tune.idle_driver",))


def interrupt_when(ready, timeout_s: float = 30.0) -> threading.Thread:
    """SIGINT to this process (what Ctrl-C does to the study driver) once ``ready()``."""

    def watch() -> None:
        deadline = time.time() + timeout_s
        while not ready() and time.time() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_side_by_side_children_all_get_the_interrupt_once(tmp_path, capsys) -> None:
    ready = [tmp_path / "tiny", tmp_path / "mini"]
    drivers = [SizeDriver("bert-tiny", ["--ready", str(ready[0])]), SizeDriver("bert-mini", ["--ready", str(ready[1])])]
    started, before = [], signal.getsignal(signal.SIGINT)
    watcher = interrupt_when(lambda: all(path.exists() for path in ready))
    assert run_all(drivers, side_by_side=True, on_start=started.append) == [130, 130, 130]
    watcher.join()
    assert started == drivers
    captured = capsys.readouterr()
    assert (
        f"[bert-tiny] args --ready {ready[0]}\n" in captured.out
        and f"[bert-mini] args --ready {ready[1]}" in captured.out
    )
    assert captured.err.count("interrupted: continue with --resume") == 2
    assert "[bert-mini] interrupted" in captured.err
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_one_after_another_stops_starting_children_after_an_interrupt(tmp_path, capsys) -> None:
    ready = tmp_path / "tiny"
    drivers = [SizeDriver("bert-tiny", ["--ready", str(ready)]), SizeDriver("bert-mini", [])]
    watcher = interrupt_when(ready.exists)
    assert run_all(drivers, side_by_side=False, on_start=lambda driver: None) == [130, 130]
    watcher.join()
    assert drivers[1].process is None  # never started
    assert "[bert-mini]" not in capsys.readouterr().out


def test_exit_codes_come_back_in_order() -> None:
    drivers = [SizeDriver("bert-tiny", ["--exit", "0"]), SizeDriver("bert-mini", ["--exit", "1"])]
    assert run_all(drivers, side_by_side=True, on_start=lambda driver: None) == [0, 1]
