"""A run directory: what a run keeps in it, and opening it for a new or a resumed run without mixing the two.

``config.yaml`` (the resolved config), ``state/`` (resumable states), ``model/`` + ``best.json`` (the best model
so far) and ``metrics.json`` (written at the end). :func:`open_run_dir` returns the state to resume from, or
refuses: a new run never lands in a directory holding another (``--overwrite`` deletes its files first), and
a resume with another model, data, method or optimiser setting names each changed key.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sct.checkpoint import BEST_FILE, MODEL_DIR, STATE_DIR, load_state
from sct.config import SCTConfig
from sct.config_io import changed_keys, config_to_dict
from sct.errors import UserError

METRICS_FILE = "metrics.json"
RUN_FILES = ("config.yaml", METRICS_FILE, BEST_FILE, MODEL_DIR, STATE_DIR)
_RESUME_KEYS: dict[str, tuple[str, ...] | None] = {
    "model": None,
    "data": None,
    "method": None,
    "distill": None,
    "optim": ("lr", "batch_size", "warmup_ratio", "weight_decay", "adam_eps", "seed", "precision"),
}


def check_resume(saved: dict, cfg: SCTConfig) -> None:
    """Refuse to resume a state trained with a different model, data, method or optimiser setting."""

    current = {  # per section, the keys a resume must not change (a key the checkpoint lacks reads None)
        s: {k: v for k, v in section.items() if _RESUME_KEYS[s] is None or k in _RESUME_KEYS[s]}
        for s, section in config_to_dict(cfg).items()
        if s in _RESUME_KEYS
    }
    before = {s: {k: saved.get(s, {}).get(k) for k in section} for s, section in current.items()}
    diffs = changed_keys(before, current)
    if diffs:
        raise UserError("cannot resume: the checkpoint was trained with another config: " + "; ".join(diffs))


def open_run_dir(out: Path, cfg: SCTConfig, resume: bool, overwrite: bool) -> dict | None:
    """The state to resume from (None: a fresh start); refuses to mix a new run into an old directory."""
    state = load_state(out) if resume else None
    if resume and state is None and not overwrite:
        raise UserError(f"--resume: no training state in {out} (nothing to continue; run without --resume)")
    if state is None and any((out / name).exists() for name in RUN_FILES):
        if not overwrite:
            raise UserError(
                f"--output {out} already holds a run: pass --resume to continue it, --overwrite to delete its "
                "files and start again, or choose another directory"
            )
        for name in RUN_FILES:
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    if state is not None:
        check_resume(state["config"], cfg)
    return state
