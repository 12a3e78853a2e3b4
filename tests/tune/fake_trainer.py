"""A stand-in for :func:`sct.trainer.train` used by the Ray tests: instant, deterministic, scriptable.

Behaviour is chosen by config values no real run uses: ``method.tau_ref == 0.013`` raises, ``0.017``
diverges (FloatingPointError), and
``eval.batch_size == 7`` sleeps between evaluations and drops a marker file in ``data.cache_dir`` after the
first checkpoint, so a test can interrupt the driver while a trial is half-way (each attempt appends the step
it starts from to ``starts-<trial>`` there, and writes its process id to ``pid-<trial>``). ``eval.batch_size == 9``
SIGKILLs the trial's own worker process once per trial (like an OOM kill or a lost node), right after its
first checkpoint was reported, and records in ``data.cache_dir`` which attempt resumed from a checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from pathlib import Path

from sct.config import SCTConfig
from sct.storage import write_dir, write_json, write_text

FAIL_TAU = 0.013
DIVERGE_TAU = 0.017
SLOW_EVAL_BATCH = 7
KILL_EVAL_BATCH = 9


def train(
    cfg: SCTConfig, report=None, *, resume=False, overwrite=False, show_progress: bool = True
) -> dict[str, float]:
    if math.isclose(cfg.method.tau_ref, FAIL_TAU):
        raise RuntimeError("fake trainer failure: tau_ref 0.013 is poisoned")
    if math.isclose(cfg.method.tau_ref, DIVERGE_TAU):
        with open(Path(cfg.data.cache_dir, f"diverged-{Path(cfg.run.output_dir).name}"), "a") as attempts:
            attempts.write("attempt\n")
        raise FloatingPointError("loss is nan at step 2: training diverged (fake)")
    out = Path(cfg.run.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    step0, best, best_step, last = 0, float("-inf"), 0, None
    states = sorted((out / "state").glob("step-*"))
    resume_from = states[-1] if resume and states else None
    if resume_from is not None:
        state = json.loads((resume_from / "state.json").read_text())
        step0, best, best_step, last = state["step"], state["best"], state["step"], state.get("metrics")
    if report is not None and last is not None:  # as the real trainer: the last evaluation is sent again
        report(step0, last, None)
    total, every = cfg.optim.max_steps or 6, cfg.eval.every_steps
    slow = cfg.eval.batch_size == SLOW_EVAL_BATCH
    trial = out.name
    if slow:  # one line per attempt: the step it started from; and the attempt's process, to be killed
        with open(Path(cfg.data.cache_dir, f"starts-{trial}"), "a") as starts:
            starts.write(f"{step0}\n")
        write_text(Path(cfg.data.cache_dir, f"pid-{trial}"), str(os.getpid()))
    if cfg.eval.batch_size == KILL_EVAL_BATCH and resume_from is not None:
        Path(cfg.data.cache_dir, f"resumed-{trial}").write_text(str(step0))
    for step in range(step0 + every, total + 1, every):
        if slow:
            time.sleep(1.5)
        score = 40.0 + 1e4 * cfg.optim.lr + step + 0.1 * cfg.optim.seed + 10 * cfg.method.tau_ref
        improved = score > best
        if improved:
            best, best_step = score, step
        metrics = {
            "step": float(step),
            "epoch": 0.0,
            "loss": 1.0 / step,
            "lr": cfg.optim.lr,
            "stsb_dev": score,
            "best_stsb_dev": best,
            "examples_per_s": 100.0,
        }
        if improved:  # written whole or not at all, as sct.checkpoint does: a kill never leaves half of one
            write_dir(out / "model", lambda tmp, s=score: (tmp / "weights.txt").write_text(f"{s}\n"))
            state = {"step": step, "best": best, "metrics": metrics}
            state_dir = write_dir(
                out / "state" / f"step-{step:09d}", lambda tmp, s=state: write_json(tmp / "state.json", s)
            )
        if report is not None:
            report(step, metrics, state_dir if improved else None)
        killed = Path(cfg.data.cache_dir, f"killed-{trial}")
        if cfg.eval.batch_size == KILL_EVAL_BATCH and step > every and not killed.exists():
            killed.write_text(str(step))  # after report() returned: this step's checkpoint is Ray's
            os.kill(os.getpid(), signal.SIGKILL)
        if slow and improved:
            Path(cfg.data.cache_dir, f"marker-{trial}").write_text(str(step))
    write_json(out / "metrics.json", {"best_stsb_dev": best})
    return {
        "best_stsb_dev": best,
        "best_step": float(best_step),
        "steps": float(total),
        "train_seconds": 0.1,
        "test_stsb": best - 1.0,
        "test_avg": best - 1.0,
    }
