"""sct.data.teacher: one encoding per (teacher, dataset), each pass named, duplicates encoded once, then cached."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from sct.data.teacher import teacher_vectors
from sct.encoder import SentenceEncoder
from sct.evaluate.embedding import encode_sentences


def test_each_view_is_one_named_pass_and_the_second_call_reads_the_cache(
    tiny_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts1 = ["a man plays", "a man plays", "the dog runs"]
    texts2 = ["man plays", "man plays", "dog runs"]
    calls: list[int] = []

    def counting(encoder, tokenizer, sentences, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(set(sentences)))
        return encode_sentences(encoder, tokenizer, sentences, **kw)

    monkeypatch.setattr("sct.evaluate.embedding.encode_sentences", counting)
    with caplog.at_level(logging.INFO, logger="sct.data.teacher"):
        view1, view2 = teacher_vectors(str(tiny_model_dir), texts1, texts2, "fp", max_length=32, cache_root=tmp_path)
    assert calls == [2, 2]  # one pass per view
    assert "teacher pass view 1/2: 3 sentences (2 distinct)" in caplog.text
    assert "teacher pass view 2/2: 3 sentences (2 distinct)" in caplog.text
    encoder, tokenizer = SentenceEncoder.from_pretrained(str(tiny_model_dir))
    torch.testing.assert_close(view1, encode_sentences(encoder, tokenizer, texts1), rtol=0, atol=1e-6)
    torch.testing.assert_close(view2, encode_sentences(encoder, tokenizer, texts2), rtol=0, atol=1e-6)
    assert torch.equal(view1[0], view1[1])  # the duplicate shares its row
    caplog.clear()
    calls.clear()
    again = teacher_vectors(str(tiny_model_dir), texts1, texts2, "fp", max_length=32, cache_root=tmp_path)
    assert calls == [] and "teacher pass" not in caplog.text
    assert torch.equal(again[0], view1) and torch.equal(again[1], view2)


def test_identical_views_are_encoded_once(tiny_model_dir: Path, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    texts = ["a man plays", "the dog runs"]
    with caplog.at_level(logging.INFO, logger="sct.data.teacher"):
        view1, view2 = teacher_vectors(
            str(tiny_model_dir), texts, list(texts), "fp", max_length=32, cache_root=tmp_path
        )
    assert "teacher pass view 1 = view 2: 2 sentences" in caplog.text and "2/2" not in caplog.text
    assert view1 is view2


def test_the_teacher_reads_what_the_student_reads_and_the_cache_key_includes_the_length(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    texts = ["a man plays a guitar in the park with a dog and a cat by the river", "a dog"]  # 17 and 4 tokens
    short = teacher_vectors(str(tiny_model_dir), texts, list(texts), "fp", max_length=4, cache_root=tmp_path)[0]
    full = teacher_vectors(str(tiny_model_dir), texts, list(texts), "fp", max_length=32, cache_root=tmp_path)[0]
    assert len(list((tmp_path / "teacher").glob("*.pt"))) == 2  # one cache entry per length, none reused
    encoder, tokenizer = SentenceEncoder.from_pretrained(str(tiny_model_dir), max_seq_length=4)
    torch.testing.assert_close(short, encode_sentences(encoder, tokenizer, texts), rtol=0, atol=1e-6)
    assert not torch.allclose(short[0], full[0], atol=1e-3)  # the long sentence is cut at 4 tokens
    torch.testing.assert_close(short[1], full[1], rtol=0, atol=1e-6)  # the short one fits either way


def test_the_teacher_length_defaults_to_the_student_training_length(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sct.config import SCTConfig
    from sct.config_io import apply_overrides
    from sct.data.run_data import prepare_run_data
    from tests.conftest import FIXTURES

    base = {"model.name": str(tiny_model_dir), "data.train": str(FIXTURES / "sentences.txt"),
            "distill.teacher": str(tiny_model_dir), "data.cache_dir": str(tmp_path),
            "model.max_length": 12}  # fmt: skip
    seen: list[int] = []

    def spy(*args, max_length: int, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(max_length)
        return torch.zeros(40, 32), torch.zeros(40, 32)

    monkeypatch.setattr("sct.data.teacher.teacher_vectors", spy)
    prepare_run_data(apply_overrides(SCTConfig(), base), show_progress=False)
    prepare_run_data(apply_overrides(SCTConfig(), base | {"distill.teacher_max_length": 20}), show_progress=False)
    assert seen == [12, 20]
