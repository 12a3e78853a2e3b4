"""Training checkpoints: everything needed to resume a run exactly, written atomically.

A checkpoint directory holds ``state.pt`` (encoder, objective — MLP head, instance queues, EMA copy —
optimiser, scheduler, grad scaler, step, data position, best score, RNG states and the resolved config) and,
for the best checkpoint, ``model/``: the exported encoder that ``SentenceTransformer(path)`` and
``AutoModel.from_pretrained(path)`` load. Directories are written under a temporary name and swapped in with
``os.replace`` so a crash never leaves a half-written checkpoint where a resume would find it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_FILE = "state.pt"
PROGRESS_FILE = "progress.json"
MODEL_DIR = "model"


@dataclass
class Progress:
    """Where the loop is: counters that make a resumed run continue where it stopped."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_score: float = float("-inf")
    best_step: int = 0
    evals_since_best: int = 0


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def write_atomically(target: Path, fill: Any) -> Path:
    """Call ``fill(tmp_dir)`` then swap ``tmp_dir`` into ``target`` (replacing an older version)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    fill(tmp)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def save_checkpoint(
    target: Path,
    *,
    modules: dict[str, torch.nn.Module | Any],
    progress: Progress,
    config: dict[str, Any],
    export: Any = None,
) -> Path:
    """Write ``state.pt`` (state dicts of ``modules`` + progress + RNG + config) and, if ``export`` is given,
    call ``export(model_dir)`` to write the inference model next to it."""

    def fill(tmp: Path) -> None:
        state = {name: module.state_dict() for name, module in modules.items() if module is not None}
        state.update(progress=vars(progress).copy(), rng=rng_state(), config=config)
        torch.save(state, tmp / STATE_FILE)
        (tmp / PROGRESS_FILE).write_text(json.dumps(vars(progress)), encoding="utf-8")
        if export is not None:
            export(tmp / MODEL_DIR)

    return write_atomically(target, fill)


def load_checkpoint(source: str | Path) -> dict[str, Any]:
    """Read ``state.pt`` of a checkpoint directory; a clear error when it is not one."""
    path = Path(source)
    state_file = path / STATE_FILE if path.is_dir() else path
    if not state_file.is_file():
        raise FileNotFoundError(f"no training checkpoint at {path}: expected the file {state_file}")
    return torch.load(state_file, map_location="cpu", weights_only=False)


def read_progress(source: str | Path) -> Progress:
    """The counters of a checkpoint directory, read without loading its (possibly large) state file."""
    return Progress(**json.loads((Path(source) / PROGRESS_FILE).read_text(encoding="utf-8")))


def restore(state: dict[str, Any], modules: dict[str, torch.nn.Module | Any]) -> Progress:
    """Load the state dicts into ``modules``, restore RNG states and return the saved progress."""
    for name, module in modules.items():
        if module is None:
            continue
        if name not in state:
            raise ValueError(f"checkpoint has no state for '{name}': it was written by a different setup")
        module.load_state_dict(state[name])
    set_rng_state(state["rng"])
    return Progress(**state["progress"])


def config_mismatch(saved: dict[str, Any], current: dict[str, Any], sections: tuple[str, ...]) -> list[str]:
    """Keys of ``sections`` whose values differ between a checkpoint's config and the current one."""
    diffs = []
    for section in sections:
        for key, value in current.get(section, {}).items():
            old = saved.get(section, {}).get(key)
            if old != value:
                diffs.append(f"{section}.{key}: checkpoint {old!r} vs now {value!r}")
    return diffs
