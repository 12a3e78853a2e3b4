"""The real trainer, whose process is SIGKILLed right after it wrote its first resumable state (once per trial),
as an OOM kill or a lost node would: Ray retries the trial, which resumes from that state. A marker
``killed-<trial>`` in ``data.cache_dir`` records the step."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from sct import trainer
from sct.config import SCTConfig


def train(cfg: SCTConfig, report=None, **kwargs) -> dict[str, float]:
    marker = Path(cfg.data.cache_dir, f"killed-{Path(cfg.run.output_dir).name}")
    save_state = trainer.save_state

    def saved(run_dir, modules, progress, config):
        path = save_state(run_dir, modules, progress, config)
        if not marker.exists():
            marker.write_text(str(progress.step))
            os.kill(os.getpid(), signal.SIGKILL)
        return path

    trainer.save_state = saved  # in this trial's worker process only
    return trainer.train(cfg, report, **kwargs)
