"""Fixtures of the evaluation tests: a tiny saved encoder (16-d Dense on a 32-d random BERT)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sct.encoder import SentenceEncoder
from tests.conftest import tiny_bert_config


@pytest.fixture(scope="module")
def saved_model(tiny_tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(3)
    encoder = SentenceEncoder.from_config(tiny_bert_config(len(tiny_tokenizer)), projection_dim=16, max_seq_length=16)
    path = tmp_path_factory.mktemp("saved_encoder")
    encoder.save(path, tiny_tokenizer)
    return path
