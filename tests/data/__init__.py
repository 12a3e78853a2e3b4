"""Tests of sct.data: sources, augmentations (incl. MLM and WordNet views) and the tokenised cache."""

from __future__ import annotations

from pathlib import Path

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
