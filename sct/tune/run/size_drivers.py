"""The drivers of a study's sizes: one ``python -m sct.sweep … --study-size SIZE`` process per size, all joined
to the study's one Ray, so that Ray's scheduler runs trials of different sizes side by side.

Why processes: ``Tuner.fit`` installs signal handlers and keeps process-wide state (its session, its
callbacks' environment switches), so several Tuners cannot share one process safely; a size's driver process
is exactly the single-size sweep (its own experiment, lock, MLflow parent and Optuna study), so what works for
one size works here. Each child prints its lines prefixed ``[SIZE]``; it runs in a session of its own, so a
Ctrl-C in the terminal reaches the study driver only, which forwards it (SIGINT) to every child once: each
saves and stops as a single sweep does (exit 130). A child also gets SIGTERM when the study driver dies
(:func:`sct.signals.stop_with_parent`), so no size runs on unattended.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

COMMAND: tuple[str, ...] = ("sct.sweep",)  # python -m COMMAND ...; tests/tune/fake_sweep.py swaps it
_PRINT = threading.Lock()  # whole lines from several threads


def say(text: str, stream: TextIO | None = None) -> None:
    """Print ``text`` as one block, never cut by a child's line."""
    with _PRINT:
        print(text, file=stream or sys.stdout, flush=True)


@dataclass
class SizeDriver:
    """One size's driver process (``argv``: its command-line arguments after ``python -m COMMAND``)."""

    size: str
    argv: list[str]
    process: subprocess.Popen | None = None
    pumps: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        cmd = [sys.executable, "-m", *COMMAND, *self.argv]
        pipe = subprocess.PIPE
        self.process = subprocess.Popen(cmd, stdout=pipe, stderr=pipe, text=True, bufsize=1, start_new_session=True)
        for source, sink in ((self.process.stdout, "stdout"), (self.process.stderr, "stderr")):
            pump = threading.Thread(target=self._pump, args=(source, sink), daemon=True, name=f"sct-{self.size}")
            pump.start()
            self.pumps.append(pump)

    def _pump(self, source: Any, sink: str) -> None:
        for line in source:
            say(f"[{self.size}] {line.rstrip()}", getattr(sys, sink))  # sys.stdout read now: pytest's capture

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def interrupt(self) -> None:
        if self.running():
            self.process.send_signal(signal.SIGINT)  # type: ignore[union-attr]

    def wait(self) -> int:
        code = self.process.wait()  # type: ignore[union-attr]
        for pump in self.pumps:
            pump.join()
        if code in (-signal.SIGINT, -signal.SIGTERM):
            return 130
        return 1 if code < 0 else code  # killed by another signal: a crash


def run_all(drivers: list[SizeDriver], side_by_side: bool, on_start: Callable[[SizeDriver], None]) -> list[int]:
    """Run every size's driver (all at once, or one after another) and return their exit codes; SIGINT (and
    SIGTERM, which the CLI boundary turns into SIGINT) is forwarded to the running children, after which no
    child starts. ``on_start``: called as each child starts (the study's view)."""
    interrupted = threading.Event()
    started: list[SizeDriver] = []

    def forward(signum: int, frame: Any) -> None:
        interrupted.set()
        for driver in started:
            driver.interrupt()

    previous = signal.signal(signal.SIGINT, forward)
    try:
        codes = []
        for driver in drivers:
            if interrupted.is_set():
                break
            driver.start()
            started.append(driver)
            on_start(driver)
            if not side_by_side:
                codes.append(_wait(driver))
        if side_by_side:
            codes = [_wait(driver) for driver in started]
        return [*codes, *([130] if interrupted.is_set() else [])]
    finally:
        for driver in started:  # none is left running unless this driver failed: they save and stop
            driver.interrupt()
        signal.signal(signal.SIGINT, previous)


def _wait(driver: SizeDriver) -> int:
    """The child's exit code; the wait wakes up for signals (the handler runs in the main thread)."""
    while driver.running():
        time.sleep(0.2)
    return driver.wait()
