"""One metric vocabulary: the names the trainer reports, Ray Tune optimises and MLflow logs, unchanged.

The primary metric of every sweep and ablation is :data:`BEST_STSB_DEV` (the best STS-B dev Spearman × 100
so far), as sentence-transformers names one ``primary_metric`` per evaluator.
"""

from __future__ import annotations

STEP = "step"
EPOCH = "epoch"
LOSS = "loss"
LR = "lr"
STSB_DEV = "stsb_dev"
BEST_STSB_DEV = "best_stsb_dev"
INITIAL_STSB_DEV = "initial_stsb_dev"  # STS-B dev before the first step: what training has to beat
EXAMPLES_PER_S = "examples_per_s"
BEST_STEP = "best_step"
STEPS = "steps"
TRAIN_SECONDS = "train_seconds"
TEST_AVG = "test_avg"
PRIMARY = BEST_STSB_DEV

EVAL_KEYS = (STEP, EPOCH, LOSS, LR, STSB_DEV, BEST_STSB_DEV, EXAMPLES_PER_S)


def test_key(task: str) -> str:
    """``test_<task>`` (``test_stsb``, ``test_avg``): a final score on an STS test set."""
    return f"test_{task}"
