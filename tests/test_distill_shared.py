"""Offline end-to-end distillation on the real ../shared data (issue 2 §10): a random-init BERT-Tiny-shaped
student distilled from all-MiniLM-L6-v2 for 30 steps on real sentences must raise its STS-B dev Spearman."""

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


def test_thirty_steps_of_distillation_raise_stsb_dev(shared_dir: Path, tiny_student_dir: Path, tmp_path) -> None:
    sts_dir = shared_dir / "data" / "sts"
    cfg = apply_overrides(
        SCTConfig(),
        {
            "model.name": str(tiny_student_dir),
            "data.train": str(shared_dir / "data" / "unlabeled" / "wiki1m_head.txt"),
            "data.max_examples": 3840,
            "data.augmentation": "word_deletion",
            "data.cache_dir": str(tmp_path / "cache"),
            "distill.teacher": str(shared_dir / "models" / "all-MiniLM-L6-v2"),
            "method.queue_size": 4096,
            "optim.lr": 1e-3,
            "optim.max_steps": 30,
            "eval.every_steps": 10,
            "eval.sts_dir": str(sts_dir),
            "eval.test_tasks": ["stsb"],
            "run.output_dir": str(tmp_path / "run"),
            "run.device": "cpu",
        },
    )
    with pytest.warns(UserWarning, match="no model weights in"):
        seed_everything(cfg.optim.seed)
        initial, tokenizer = SentenceEncoder.from_pretrained(str(tiny_student_dir), projection_dim=384)
    dev = STSEvaluator(load_task("stsb", sts_dir=str(sts_dir), split="dev"))
    before = dev(initial, tokenizer)

    scores: list[float] = []
    metrics = train(cfg, lambda step, m, ckpt: scores.append(m["stsb_dev_spearman"]), show_progress=False)
    assert len(scores) == 3
    assert metrics["best_stsb_dev_spearman"] > before + 5.0, (before, scores)
    assert metrics["test_stsb"] > before
