"""How SIGINT and SIGTERM stop a run, for the training core and every CLI alike.

- :class:`Interrupted`: raised once a run stopped on a signal; its message says what was saved and how to
  continue. A ``KeyboardInterrupt``, so the CLI boundary (:func:`sct.cli.run`) prints it and exits 130.
- :func:`stop_on_signals`: while active, SIGINT/SIGTERM set an event that the training loop polls between
  steps (save the state, then raise :class:`Interrupted`); a second signal stops at once.
- :func:`sigterm_as_sigint` / :func:`forward_sigterm`: SIGTERM (what Slurm, Kubernetes and systemd send) does
  whatever SIGINT does at that moment: Tune's graceful stop, the trainer's save-and-stop, or Ctrl-C's
  ``KeyboardInterrupt``.
- :func:`stop_with_parent`: a child process (a study's size driver) gets SIGTERM when its parent dies.

Only the main thread can install handlers; elsewhere (a Ray worker thread) these are no-ops.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM arrived; the message says what was saved and how to continue."""


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _sigterm(signum: int, frame: Any) -> None:
    """SIGTERM runs whatever SIGINT runs now (a callable handler), else raises ``KeyboardInterrupt``."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    elif handler != signal.SIG_IGN:
        raise KeyboardInterrupt


def forward_sigterm() -> None:
    """Make SIGTERM stop the process as Ctrl-C does. Called again after ``ray.init``, which installs Ray's own
    SIGTERM handler (an abort, exit code 134)."""
    if _main_thread():
        signal.signal(signal.SIGTERM, _sigterm)


@contextmanager
def sigterm_as_sigint() -> Iterator[None]:
    """While active, SIGTERM does what SIGINT does (:func:`forward_sigterm`); the previous handler comes back."""
    if not _main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    forward_sigterm()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """While active, SIGINT/SIGTERM set the yielded event instead of killing the process at once."""
    requested = threading.Event()
    if not _main_thread():
        yield requested
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        if requested.is_set():  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        requested.set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield requested
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def stop_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (``PR_SET_PDEATHSIG``): a study's size driver
    then saves and stops as on Ctrl-C instead of running on unattended. Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
