"""``python -m sct.train`` with real signals at chosen moments, for the resume-equals-one-run test.

Environment (all optional): ``SIGTERM_AFTER_STEP=N`` sends SIGTERM to this process at the end of optimiser step
N (the handler then saves the state and exits 130, as a scheduler's stop would); ``SIGKILL_AFTER_STATE_AT=N``
SIGKILLs it right after the first state written at step >= N (nothing else reaches the disk);
``EVAL_LOG=FILE`` appends every evaluation's metrics, unrounded, as one JSON line. Torch uses one thread.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import torch

from sct import checkpoint, trainer
from sct import train as train_cli


def main() -> int:
    torch.set_num_threads(1)
    term_at = int(os.environ.get("SIGTERM_AFTER_STEP", "0"))
    kill_at = int(os.environ.get("SIGKILL_AFTER_STATE_AT", "0"))
    eval_log = os.environ.get("EVAL_LOG")
    step, save_state, train = trainer._Run.step, trainer.save_state, trainer.train

    def stepped(self, index, batch):
        loss = step(self, index, batch)
        if term_at and self.progress.step + 1 == term_at:  # the loop counts this step after it returns
            os.kill(os.getpid(), signal.SIGTERM)
        return loss

    def saved(run_dir, modules, progress, config):
        path = save_state(run_dir, modules, progress, config)
        if kill_at and progress.step >= kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return path

    def logged(cfg, report=None, **kwargs):
        def report_and_log(step_: int, metrics: dict, state_dir) -> None:
            with open(eval_log, "a", encoding="utf-8") as out:
                out.write(json.dumps(metrics) + "\n")

        return train(cfg, report_and_log if eval_log else report, **kwargs)

    trainer._Run.step, trainer.save_state, trainer.train = stepped, saved, logged
    assert checkpoint.save_state is save_state  # the trainer writes states through the one checkpoint writer
    return train_cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
