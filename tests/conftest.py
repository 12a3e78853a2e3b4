"""Shared fixtures: a tiny BERT built in code (no downloads), its tokenizer, fixture text, ../shared paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SCT_SHARED_DIR", REPO.parent / "shared"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_WORDS = (
    "a an the man woman child dog cat horse bird car bike train plane boat house street park beach field "
    "is are was were be plays play playing runs run running walks walk sits sit eats eat drinks reads "
    "sleeps rides swims jumps looks talks sings cooks on in at with by of to from and or but not no "
    "red blue green small big old young happy sad fast slow two three some many people group ball guitar "
    "food water book phone table chair road river tree grass snow rain sun night day very this that there"
).split()


def tiny_vocab() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted(set(_WORDS))
    pieces = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    chars = [c for c in "abcdefghijklmnopqrstuvwxyz.,!?'-0123456789" if c not in words]
    return specials + words + pieces + chars


def tiny_bert_config(vocab_size: int, layers: int = 2, hidden: int = 32) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
    )


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> BertTokenizerFast:
    vocab_file = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    vocab_file.write_text("\n".join(tiny_vocab()) + "\n", encoding="utf-8")
    # transformers 5 ignores ``vocab_file=``: pass the vocabulary as ``vocab=``.
    tokenizer = BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True)
    assert len(tokenizer) == len(tiny_vocab()) and tokenizer.unk_token_id not in tokenizer("a dog")["input_ids"]
    return tokenizer


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer: BertTokenizerFast) -> Path:
    """A saved random-init 2-layer, 32-d BERT with its tokenizer: a local 'hub model' for offline tests."""
    path = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    BertModel(tiny_bert_config(len(tiny_tokenizer))).save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (real data); tests using it skip cleanly when it is absent."""
    if not (SHARED / "README.md").exists():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    """40 short fixture sentences over the tiny vocabulary."""
    return (FIXTURES / "sentences.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def stsb_dir(tmp_path_factory: pytest.TempPathFactory, sentences: list[str]) -> Path:
    """A tiny STS-B in SentEval layout (dev + test, 7 tab-separated columns) over the fixture sentences.

    Gold scores are word-overlap (Jaccard × 5), so a sensible encoder gets a positive Spearman.
    """
    root = tmp_path_factory.mktemp("sts")
    folder = root / "STSBenchmark"
    folder.mkdir()
    for split, offset in (("dev", 1), ("test", 3)):
        rows = []
        for i, first in enumerate(sentences):
            second = sentences[(i * 7 + offset) % len(sentences)]
            a, b = set(first.split()), set(second.split())
            score = 5 * len(a & b) / len(a | b)
            rows.append(f"main-captions\tMSRvid\t2012test\t{i:04d}\t{score:.3f}\t{first}\t{second}")
        (folder / f"sts-{split}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root
