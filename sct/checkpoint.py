"""The one checkpoint writer: resumable training states and the best model of a run directory.

A run directory holds:

- ``state/step-<N>/``: a resumable state — ``state.pt`` (encoder, objective: MLP head, instance queues, EMA
  copy; optimiser, scheduler, grad scaler, RNG states, resolved config), ``progress.json`` and, written
  last, ``COMPLETE`` (the byte size of each file). A state without a matching ``COMPLETE`` is partial or
  corrupt: :func:`load_state` skips it with a warning naming the bad file and falls back to the previous
  one. The newest :data:`KEEP_STATES` states are kept; a finished run deletes them all. A state holds only
  tensors and plain values (RNG states included) and is loaded with ``weights_only=True``: a file planted on a
  shared storage cannot run code in the process that resumes from it (it is skipped as unreadable).
- ``model/``: the best model so far (weights only, loadable with ``SentenceTransformer(path)`` and
  ``AutoModel``), replaced on improvement, and ``best.json`` (its dev score and step), written after it.

Every write goes through :mod:`sct.storage` (temp name + rename), so a crash never leaves a half-written
state or model where a resume would read it.
"""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sct.errors import UserError
from sct.storage import read_json, write_dir, write_json

log = logging.getLogger(__name__)

STATE_DIR = "state"
STATE_FILE = "state.pt"
PROGRESS_FILE = "progress.json"
COMPLETE_FILE = "COMPLETE"
MODEL_DIR = "model"
BEST_FILE = "best.json"
KEEP_STATES = 2


@dataclass
class Progress:
    """Where the loop is: counters that make a resumed run continue where it stopped."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_score: float = float("-inf")
    best_step: int = 0
    evals_since_best: int = 0
    # The evaluation window under way: its mean loss and throughput are logged at the next evaluation, so a run
    # resumed mid-window logs what an uninterrupted one logs.
    window_loss: float = 0.0
    window_steps: int = 0
    window_examples: int = 0
    window_seconds: float = 0.0
    last_eval: dict[str, float] = field(default_factory=dict)  # the last evaluation's report, sent again on resume
    initial_score: float | None = None  # STS-B dev of the untrained model (step 0): the baseline to beat

    def record(self, score: float) -> bool:
        """Count one evaluation; True when ``score`` is a new best."""
        if score > self.best_score:
            self.best_score, self.best_step, self.evals_since_best = score, self.step, 0
            return True
        self.evals_since_best += 1
        return False

    def count_step(self, batch_in_epoch: int, examples: int, loss: Any, seconds: float) -> None:
        """One optimiser step done: ``loss`` is a float, or a device scalar on CUDA (summed without a sync)."""
        self.step, self.batch_in_epoch = self.step + 1, batch_in_epoch
        self.window_loss = self.window_loss + loss
        self.window_steps, self.window_examples = self.window_steps + 1, self.window_examples + examples
        self.window_seconds += seconds

    def window_means(self) -> tuple[float, float]:
        """(mean loss, examples per second) of the window under way: one host read of the summed loss."""
        return float(self.window_loss) / self.window_steps, self.window_examples / max(self.window_seconds, 1e-9)

    def close_window(self, report: dict[str, float]) -> None:
        """An evaluation reported ``report``: a new window starts, and a state written now resumes after it."""
        self.last_eval = report
        self.window_loss, self.window_steps, self.window_examples, self.window_seconds = 0.0, 0, 0, 0.0


def rng_state() -> dict[str, Any]:
    """Every RNG stream the loop draws from, as plain values and tensors (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),  # (version, tuple of ints, None)
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),  # (624,) MT19937 words
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    numpy = state["numpy"]
    keys = numpy["keys"].numpy().astype(np.uint32)
    np.random.set_state((numpy["kind"], keys, numpy["pos"], numpy["has_gauss"], numpy["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(run_dir: Path, modules: dict[str, Any], progress: Progress, config: dict[str, Any]) -> Path:
    """Write a resumable state for ``progress.step`` and drop all but the newest :data:`KEEP_STATES`."""

    def fill(tmp: Path) -> None:
        state = {name: module.state_dict() for name, module in modules.items() if module is not None}
        state.update(progress=vars(progress).copy(), rng=rng_state(), config=config)
        torch.save(state, tmp / STATE_FILE)
        write_json(tmp / PROGRESS_FILE, vars(progress))
        write_json(tmp / COMPLETE_FILE, {name: (tmp / name).stat().st_size for name in (STATE_FILE, PROGRESS_FILE)})

    target = write_dir(Path(run_dir) / STATE_DIR / f"step-{progress.step:09d}", fill)
    for old in state_dirs(run_dir)[:-KEEP_STATES]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def state_dirs(run_dir: Path) -> list[Path]:
    """State directories of a run, oldest first."""
    root = Path(run_dir) / STATE_DIR
    return sorted(root.glob("step-*")) if root.is_dir() else []


def _read_state(path: Path) -> dict[str, Any]:
    """Load one state directory, checking it is complete; UserError naming the bad file otherwise."""
    complete = read_json(path / COMPLETE_FILE)
    for name, size in complete.items():
        actual = (path / name).stat().st_size if (path / name).is_file() else None
        if actual != size:
            raise UserError(f"{path / name}: {actual} bytes, expected {size} (truncated or missing)")
    read_json(path / PROGRESS_FILE)
    try:  # weights_only: a state file planted on a shared storage cannot run code in the process resuming it
        return torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a corrupt archive
        raise UserError(f"{path / STATE_FILE}: unreadable ({type(err).__name__}: {err})") from None


def load_state(run_dir: Path) -> dict[str, Any] | None:
    """The newest valid state of ``run_dir`` (None when it has none); bad ones are skipped with a warning.

    Raises UserError when states exist but none is valid. Nothing is deleted here.
    """
    found = state_dirs(run_dir)
    problems = []
    for path in reversed(found):
        try:
            return _read_state(path)
        except (UserError, OSError) as err:
            log.warning("skipping a bad training state: %s; falling back to the previous one", err)
            problems.append(str(err))
    if found:
        raise UserError(f"no valid training state in {Path(run_dir) / STATE_DIR}: " + "; ".join(problems))
    return None


def drop_states(run_dir: Path) -> None:
    """Delete every resumable state of a finished run (its model and metrics stay)."""
    shutil.rmtree(Path(run_dir) / STATE_DIR, ignore_errors=True)


def restore(state: dict[str, Any], modules: dict[str, Any]) -> Progress:
    """Load the state dicts into ``modules``, restore RNG states and return the saved progress."""
    for name, module in modules.items():
        if module is None:
            continue
        if name not in state:
            raise UserError(f"checkpoint has no state for '{name}': it was written by a different setup")
        module.load_state_dict(state[name])
    set_rng_state(state["rng"])
    return Progress(**state["progress"])


def save_best(run_dir: Path, export: Callable[[Path], Any], score: float, step: int) -> Path:
    """Replace ``model/`` with ``export(dir)`` and record its score in ``best.json`` (written after it)."""
    target = write_dir(Path(run_dir) / MODEL_DIR, export)
    write_json(Path(run_dir) / BEST_FILE, {"score": score, "step": step})
    return target


def read_best(run_dir: Path) -> tuple[float, int] | None:
    """(score, step) of the saved best model, or None when there is none."""
    path = Path(run_dir) / BEST_FILE
    if not path.is_file() or not (Path(run_dir) / MODEL_DIR).is_dir():
        return None
    data = read_json(path)
    return float(data["score"]), int(data["step"])
