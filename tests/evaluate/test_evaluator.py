"""encode_sentences / spearman_cosine / evaluate_encoder / STSEvaluator against independent computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch

from sct.config import STS_TASKS
from sct.encoder import SentenceEncoder
from sct.evaluate import STSEvaluator, STSPairs, encode_sentences, evaluate_encoder, load_task, spearman_cosine
from tests.conftest import tiny_bert_config

STS_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sts"


@pytest.fixture(scope="module")
def encoder(tiny_tokenizer) -> SentenceEncoder:
    torch.manual_seed(1)
    return SentenceEncoder.from_config(tiny_bert_config(len(tiny_tokenizer)), projection_dim=24, max_seq_length=16)


def _independent_score(emb1: np.ndarray, emb2: np.ndarray, gold: list[float]) -> float:
    cosine = (emb1 * emb2).sum(1) / (np.linalg.norm(emb1, axis=1) * np.linalg.norm(emb2, axis=1))
    return 100.0 * scipy.stats.spearmanr(np.round(cosine, 9), gold)[0]


def test_spearman_cosine_equals_scipy_on_random_vectors() -> None:
    gen = torch.Generator().manual_seed(0)
    emb1, emb2 = torch.randn(50, 8, generator=gen), torch.randn(50, 8, generator=gen)
    gold = torch.rand(50, generator=gen).tolist()
    cosine = torch.nn.functional.cosine_similarity(emb1, emb2).numpy()
    expected = 100.0 * scipy.stats.spearmanr(cosine, gold)[0]
    assert spearman_cosine(emb1, emb2, gold) == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match=r"scores must have 50 entries, got shape \(49,\)"):
        spearman_cosine(emb1, emb2, gold[:-1])
    with pytest.raises(ValueError, match=r"embeddings must both be \(n, d\)"):
        spearman_cosine(emb1, emb2[:, :4], gold)


def test_encode_sentences_dedups_sorts_and_restores_order(encoder, tiny_tokenizer, sentences) -> None:
    inputs = sentences[:12] + sentences[:5] + ["a dog runs"] * 3  # duplicates inside the list
    rows_seen: list[int] = []
    widths: list[int] = []
    original = encoder.forward

    def counting_forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        rows_seen.append(input_ids.shape[0])
        widths.append(input_ids.shape[1])
        return original(input_ids, attention_mask)

    encoder.forward = counting_forward
    encoder.train()
    try:
        out = encode_sentences(encoder, tiny_tokenizer, inputs, batch_size=4)
    finally:
        del encoder.forward
    assert encoder.training  # mode restored
    assert sum(rows_seen) == len(set(inputs)) == 13 and max(rows_seen) == 4
    assert widths == sorted(widths, reverse=True)  # length-sorted batches, no wasted padding
    assert out.shape == (len(inputs), 24) and out.dtype == torch.float32
    torch.testing.assert_close(out.norm(dim=1), torch.ones(len(inputs)))
    encoder.eval()
    for i in (0, 7, 13, 19):  # each row equals that sentence encoded alone
        batch = tiny_tokenizer([inputs[i]], truncation=True, max_length=16, return_tensors="pt")
        with torch.no_grad():
            alone = torch.nn.functional.normalize(encoder(batch["input_ids"], batch["attention_mask"]), dim=-1)
        torch.testing.assert_close(out[i], alone[0], atol=1e-5, rtol=0)
    assert encode_sentences(encoder, tiny_tokenizer, []).shape == (0, 24)


def test_evaluate_encoder_equals_independent_scipy_on_fixture(encoder, tiny_tokenizer) -> None:
    results = evaluate_encoder(encoder, tiny_tokenizer, STS_TASKS, sts_dir=STS_FIXTURE, batch_size=7)
    assert list(results) == [*STS_TASKS, "avg"]
    tasks = [load_task(name, sts_dir=STS_FIXTURE) for name in STS_TASKS]
    everything = [s for task in tasks for s in task.sentences1 + task.sentences2]
    # The same embeddings (same sentences, same batching: fp32 padding noise can flip near-tied cosines).
    emb = encode_sentences(encoder, tiny_tokenizer, everything, batch_size=7).double().numpy()
    offset = 0
    for task in tasks:
        n = len(task)
        emb1, emb2 = emb[offset : offset + n], emb[offset + n : offset + 2 * n]
        offset += 2 * n
        expected = _independent_score(emb1, emb2, task.scores)
        assert results[task.name] == pytest.approx(expected, abs=1e-6), task.name
    assert results["avg"] == pytest.approx(np.mean([results[n] for n in STS_TASKS]), abs=1e-9)


def test_sts_evaluator_matches_evaluate_encoder(encoder, tiny_tokenizer) -> None:
    dev = load_task("stsb", sts_dir=STS_FIXTURE, split="dev")
    score = STSEvaluator(dev, batch_size=3)(encoder, tiny_tokenizer)
    expected = evaluate_encoder(encoder, tiny_tokenizer, ["stsb"], sts_dir=STS_FIXTURE, split="dev")["stsb"]
    assert score == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="tasks contain duplicates"):
        evaluate_encoder(encoder, tiny_tokenizer, ["stsb", "stsb"], sts_dir=STS_FIXTURE)


@pytest.fixture(scope="module")
def minilm(shared_dir: Path) -> tuple[SentenceEncoder, object]:
    # STS-B sentences are short: truncation at 128 never binds and keeps the CPU run small.
    return SentenceEncoder.from_pretrained(str(shared_dir / "models" / "all-MiniLM-L6-v2"), max_seq_length=128)


@pytest.mark.shared
def test_minilm_on_a_real_stsb_test_sample(minilm, shared_dir: Path) -> None:
    task = load_task("stsb", sts_dir=shared_dir / "data" / "sts")
    sample = STSPairs("stsb", task.sentences1[::7], task.sentences2[::7], task.scores[::7])  # 197 pairs, all genres
    assert 72.0 < STSEvaluator(sample, batch_size=64)(*minilm) < 90.0  # ~80.6; broken pooling/order gives ~0


@pytest.mark.shared
@pytest.mark.slow
def test_minilm_on_real_stsb_dev_and_test(minilm, shared_dir: Path) -> None:
    sts_dir = shared_dir / "data" / "sts"
    test = evaluate_encoder(*minilm, ["stsb"], sts_dir=sts_dir, batch_size=128)
    dev = evaluate_encoder(*minilm, ["stsb"], sts_dir=sts_dir, split="dev", batch_size=128)
    assert 75.0 < test["stsb"] < 90.0  # MiniLM-L6-v2 scores ~82.0 on STS-B test
    assert 80.0 < dev["stsb"] < 95.0
