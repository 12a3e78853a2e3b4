"""Tests of sct.data: sources, views, augmentations (MLM, WordNet), the tokenised cache, back-translation."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import BertTokenizerFast

from tests.conftest import tiny_vocab


def word_tokenizer(directory: Path) -> BertTokenizerFast:
    """The tiny word-level vocabulary as a saved tokenizer dir (loaded with from_pretrained, which reads
    vocab.txt; transformers 5 ignores the ``vocab_file=`` constructor argument)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(tiny_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast.from_pretrained(str(directory), do_lower_case=True)
    tokenizer.save_pretrained(str(directory))
    return tokenizer


def tiny_marian(directory: Path, seed: int) -> Path:
    """A saved random MarianMTModel (1+1 layers, 32-d) over the tiny word vocabulary: a local 'opus-mt' model.

    ``init_std=1.0`` makes its output depend on the input (the default 0.02 maps every input to one string),
    so tests can tell sentences, pivots and their order apart; greedy decoding is deterministic and does not
    depend on the batch a sentence is in."""
    from transformers import MarianConfig, MarianMTModel

    tokenizer = word_tokenizer(directory)
    config = MarianConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        init_std=1.0,
        scale_embedding=False,
    )
    torch.manual_seed(seed)
    MarianMTModel(config).save_pretrained(directory)
    return directory
