"""Offline end-to-end distillation on the real ../shared data (issue 2 §10): a random-init BERT-Tiny-shaped
student distilled from all-MiniLM-L6-v2 on real sentences.

Measured (see the closing note of issue 2): a random-init mean-pooled BERT-Tiny already scores ~54.7 on STS-B
dev from lexical overlap alone, and distillation first *lowers* that (54.0, 49.5, 46.6 at steps 10/20/30 with
lr 1e-3) before raising it past the baseline (52.5, 57.5, 59.3, 59.9 at steps 60-150). So the default-suite
test runs 30 steps (batch 64, to keep the teacher's encoding short) and checks that the distillation loss falls
and the test score is computed; the ``slow`` test runs 150 steps of batch 128 and checks that STS-B dev rises
above the random-init score.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sct.config import SCTConfig
from sct.config_io import apply_overrides
from sct.encoder import SentenceEncoder
from sct.evaluate.evaluator import STSEvaluator
from sct.evaluate.sts_data import load_task
from sct.trainer import seed_everything, train

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def tiny_student_dir(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config-only BERT-Tiny directory (2 layers, 128 hidden, 2 heads) with the real uncased tokenizer."""
    source = shared_dir / "models" / "bert-mini-config"
    target = tmp_path_factory.mktemp("bert_tiny_config")
    for file in source.iterdir():
        shutil.copy(file, target / file.name)
    config = json.loads((source / "config.json").read_text())
    config.update(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
    (target / "config.json").write_text(json.dumps(config))
    return target


def distill_config(
    shared_dir: Path, student: Path, tmp_path: Path, steps: int, every: int, batch: int = 128, examples: int = 3840
) -> SCTConfig:
    """``examples`` real sentences (the teacher encodes both views of each: most of the run time)."""
    sts_dir = shared_dir / "data" / "sts"
    cfg = apply_overrides(
        SCTConfig(),
        {
            "model.name": str(student),
            "data.train": str(shared_dir / "data" / "unlabeled" / "wiki1m_head.txt"),
            "data.max_examples": examples,
            "optim.batch_size": batch,
            "data.augmentation": "word_deletion",
            "data.cache_dir": str(tmp_path / "cache"),
            "distill.teacher": str(shared_dir / "models" / "all-MiniLM-L6-v2"),
            "method.queue_size": 4096,
            "optim.lr": 1e-3,
            "optim.max_steps": steps,
            "eval.every_steps": every,
            "eval.sts_dir": str(sts_dir),
            "eval.test_tasks": ["stsb"],
            "run.output_dir": str(tmp_path / "run"),
            "run.device": "cpu",
        },
    )
    return cfg


@pytest.mark.heavy  # real MiniLM teacher, 30 steps: ~1-2 min
def test_thirty_steps_of_distillation_lower_the_loss(shared_dir: Path, tiny_student_dir: Path, tmp_path) -> None:
    cfg = distill_config(shared_dir, tiny_student_dir, tmp_path, steps=30, every=10, batch=64, examples=1920)
    reports: list[dict[str, float]] = []
    metrics = train(cfg, lambda step, m, ckpt: reports.append(m), show_progress=False)
    assert [m["step"] for m in reports] == [10, 20, 30]  # measured loss: 9.05, 7.58, 7.73
    assert reports[-1]["loss"] < reports[0]["loss"] - 0.05, [m["loss"] for m in reports]
    assert 0 < metrics["test_stsb"] < 100 and metrics["test_avg"] == metrics["test_stsb"]


@pytest.mark.slow
def test_distillation_raises_stsb_dev_above_random_init(shared_dir: Path, tiny_student_dir: Path, tmp_path) -> None:
    cfg = distill_config(shared_dir, tiny_student_dir, tmp_path, steps=150, every=30)
    sts_dir = shared_dir / "data" / "sts"
    with pytest.warns(UserWarning, match="no model weights in"):
        seed_everything(cfg.optim.seed)
        initial, tokenizer = SentenceEncoder.from_pretrained(str(tiny_student_dir), projection_dim=384)
    dev = STSEvaluator(load_task("stsb", sts_dir=str(sts_dir), split="dev"))
    before = dev(initial, tokenizer)

    scores: list[float] = []
    metrics = train(cfg, lambda step, m, ckpt: scores.append(m["stsb_dev"]), show_progress=False)
    assert len(scores) == 5
    assert metrics["best_stsb_dev"] > before + 3.0, (before, scores)
