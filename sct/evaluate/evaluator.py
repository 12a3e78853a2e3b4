"""STS scoring: Spearman correlation x 100 between cosine similarities and gold scores (paper §4).

``evaluate_encoder`` encodes the sentences of all requested tasks in one pass (sentences shared across
tasks are encoded once) and reports one score per task plus their plain average, as in the paper's tables.
``STSEvaluator`` holds one already-loaded task (STS-B dev during training) and scores an encoder on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from transformers import PreTrainedTokenizerBase

from sct.encoder import SentenceEncoder
from sct.evaluate.embedding import encode_sentences
from sct.evaluate.sts_data import STSPairs, load_task

COSINE_DECIMALS = 9  # float32 embeddings carry ~7 digits; ties closer than 1e-9 are the same similarity


def spearman_cosine(emb1: torch.Tensor, emb2: torch.Tensor, scores: Sequence[float] | torch.Tensor) -> float:
    """Spearman x 100 of row-wise cosine(emb1 (n, d), emb2 (n, d)) against gold ``scores`` (n,)."""
    if emb1.shape != emb2.shape or emb1.dim() != 2:
        raise ValueError(f"embeddings must both be (n, d): got {tuple(emb1.shape)} and {tuple(emb2.shape)}")
    gold = np.asarray(scores.cpu() if isinstance(scores, torch.Tensor) else scores, dtype=np.float64)
    if gold.shape != (emb1.shape[0],):
        raise ValueError(f"scores must have {emb1.shape[0]} entries, got shape {gold.shape}")
    if gold.shape[0] < 2:
        raise ValueError("at least 2 pairs are needed for a Spearman correlation")
    a = emb1.detach().double().cpu()
    b = emb2.detach().double().cpu()
    cosine = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp(min=1e-12)  # (n,)
    # Round away float noise so exact ties (identical pairs: cosine 1) stay ties whatever the arithmetic.
    rho = spearmanr(np.round(cosine.numpy(), COSINE_DECIMALS), gold).statistic
    return float(rho) * 100.0


def _score_task(task: STSPairs, embeddings: torch.Tensor, offset: int) -> float:
    n = len(task)
    emb1 = embeddings[offset : offset + n]  # (n, d)
    emb2 = embeddings[offset + n : offset + 2 * n]  # (n, d)
    return spearman_cosine(emb1, emb2, task.scores)


def score_tasks(
    encoder: SentenceEncoder,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[STSPairs],
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    show_progress: bool = False,
) -> dict[str, float]:
    """Scores of already-loaded ``tasks`` from one encoding pass over all their sentences."""
    sentences: list[str] = []
    for task in tasks:
        sentences += task.sentences1 + task.sentences2
    embeddings = encode_sentences(
        encoder, tokenizer, sentences, batch_size=batch_size, device=device, show_progress=show_progress
    )  # (sum 2 n_t, d)
    results: dict[str, float] = {}
    offset = 0
    for task in tasks:
        results[task.name] = _score_task(task, embeddings, offset)
        offset += 2 * len(task)
    return results


def evaluate_encoder(
    encoder: SentenceEncoder,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[str],
    *,
    sts_dir: str | Path | None,
    split: str = "test",
    batch_size: int = 256,
    device: str | torch.device | None = None,
    show_progress: bool = False,
) -> dict[str, float]:
    """Load ``tasks`` (names from sct.config.STS_TASKS) and return {task: Spearman x 100, ..., "avg": mean}."""
    if not tasks:
        raise ValueError("tasks must name at least one STS task")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks contain duplicates: {list(tasks)}")
    loaded = [load_task(name, sts_dir=sts_dir, split=split) for name in tasks]
    results = score_tasks(encoder, tokenizer, loaded, batch_size=batch_size, device=device, show_progress=show_progress)
    results["avg"] = float(np.mean([results[name] for name in tasks]))
    return results


class STSEvaluator:
    """Scores an encoder on one pre-loaded task; the trainer builds one for STS-B dev and calls it each eval."""

    def __init__(self, task: STSPairs, *, batch_size: int = 256) -> None:
        if len(task) < 2:
            raise ValueError(f"task {task.name!r} has {len(task)} pairs: at least 2 are needed")
        self.task = task
        self.batch_size = batch_size

    def __call__(
        self,
        encoder: SentenceEncoder,
        tokenizer: PreTrainedTokenizerBase,
        device: str | torch.device | None = None,
    ) -> float:
        """Spearman x 100 on the task; the encoder's train/eval mode is left as it was."""
        return score_tasks(encoder, tokenizer, [self.task], batch_size=self.batch_size, device=device)[self.task.name]
