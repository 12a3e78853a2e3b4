"""Fixtures shared by the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertForMaskedLM

from tests.conftest import tiny_bert_config
from tests.data import word_tokenizer


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BertForMaskedLM with a word-level tokenizer, saved once per module (the MLM views' model)."""
    path = tmp_path_factory.mktemp("mlm")
    tokenizer = word_tokenizer(path)
    torch.manual_seed(0)
    BertForMaskedLM(tiny_bert_config(len(tokenizer))).save_pretrained(str(path))
    return path
