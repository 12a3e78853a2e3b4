"""Evaluation length apart from training length: test sentences are scored whole, as sentence-transformers does.

A run trains at ``model.max_length`` = 8 tokens on a flat STS layout whose sentences are ~30 tokens long. Its
reported test score must be what ``SentenceTransformer(model_dir).encode`` gives for the same directory, and
that score must not be the one of sentences cut at 8 tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sct.errors import UserError
from sct.evaluate.evaluator import spearman_cosine
from sct.evaluate.sts_data import load_task
from sct.trainer import train
from tests.test_trainer import tiny_config

TRAIN_LENGTH = 8
MODEL_LIMIT = 64  # tiny_bert_config's max_position_embeddings


@pytest.fixture(scope="module")
def long_sts_dir(tmp_path_factory: pytest.TempPathFactory, sentences: list[str]) -> Path:
    """A flat STS layout (STSBenchmark/sts-{dev,test}.csv) of three fixture sentences joined: ~30 tokens each."""
    root = tmp_path_factory.mktemp("long_sts")
    (root / "STSBenchmark").mkdir()
    n = len(sentences)
    longs = [" ".join(sentences[(i + j) % n] for j in range(3)) for i in range(n)]
    for split, offset in (("dev", 1), ("test", 5)):
        rows = []
        for i, first in enumerate(longs):
            second = longs[(i * 7 + offset) % n]
            a, b = set(first.split()), set(second.split())
            score = 5 * len(a & b) / len(a | b)
            rows.append(f"main-captions\tMSRvid\t2012test\t{i:04d}\t{score:.3f}\t{first}\t{second}")
        (root / "STSBenchmark" / f"sts-{split}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def st_score(model_dir: Path, sts_dir: Path, max_seq_length: int | None = None) -> float:
    """STS-B test Spearman x 100 from sentence-transformers' own encode of the saved directory."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    task = load_task("stsb", sts_dir=sts_dir)
    e1, e2 = (torch.from_numpy(np.asarray(model.encode(s, batch_size=16))) for s in (task.sentences1, task.sentences2))
    return spearman_cosine(e1, e2, task.scores)


def test_sentences_are_scored_whole_and_sentence_transformers_reproduces_the_score(
    tiny_model_dir, long_sts_dir, tiny_tokenizer, tmp_path
) -> None:
    task = load_task("stsb", sts_dir=long_sts_dir)
    lengths = [len(tiny_tokenizer(s)["input_ids"]) for s in task.sentences1]
    assert min(lengths) > 2 * TRAIN_LENGTH and max(lengths) <= MODEL_LIMIT  # long, but within the model's limit

    cfg = tiny_config(tiny_model_dir, long_sts_dir, tmp_path / "run", tmp_path / "cache", **{"model.max_length": 8})
    metrics = train(cfg, show_progress=False)
    model_dir = tmp_path / "run" / "model"
    saved = json.loads((model_dir / "sentence_bert_config.json").read_text())
    assert saved["max_seq_length"] == MODEL_LIMIT  # the evaluation length travels with the model, not the training one

    assert metrics["test_stsb"] == pytest.approx(st_score(model_dir, long_sts_dir), abs=1e-4)
    cut = st_score(model_dir, long_sts_dir, max_seq_length=TRAIN_LENGTH)
    assert abs(metrics["test_stsb"] - cut) > 1.0, (metrics["test_stsb"], cut)  # cutting at 8 tokens is another score


def test_eval_max_length_is_saved_with_the_model(tiny_model_dir, long_sts_dir, tmp_path) -> None:
    overrides = {"model.max_length": 8, "eval.max_length": 16, "optim.max_steps": 2, "eval.test_tasks": []}
    cfg = tiny_config(tiny_model_dir, long_sts_dir, tmp_path / "run", tmp_path / "cache", **overrides)
    train(cfg, show_progress=False)
    saved = json.loads((tmp_path / "run" / "model" / "sentence_bert_config.json").read_text())
    assert saved["max_seq_length"] == 16


@pytest.mark.parametrize(
    ("key", "value"),
    [("eval.max_length", MODEL_LIMIT + 1), ("model.max_length", 100)],
)
def test_a_length_beyond_the_model_limit_is_refused_before_training(
    tiny_model_dir, long_sts_dir, tmp_path, key, value
) -> None:
    cfg = tiny_config(tiny_model_dir, long_sts_dir, tmp_path / "run", tmp_path / "cache", **{key: value})
    with pytest.raises(UserError, match=rf"config key '{key}' = {value} exceeds the {MODEL_LIMIT} tokens .* <= 64"):
        train(cfg, show_progress=False)
    assert not (tmp_path / "cache").exists()  # refused before tokenising anything
