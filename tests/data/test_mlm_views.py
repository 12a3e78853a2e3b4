"""MLM views with a tiny BertForMaskedLM saved in tmp: fill count, determinism, special tokens, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import BertForMaskedLM, BertModel, BertTokenizerFast

from sct.config import DataConfig, ModelConfig, OptimConfig, SCTConfig
from sct.data.augment import make_views
from sct.data.mlm_views import fill_masks, load_masked_lm, mlm_views
from sct.data.sources import TextPairs
from tests.conftest import tiny_bert_config
from tests.data import word_tokenizer

TEXTS = [
    "a man plays the guitar on the red chair",
    "the dog runs in the park with a big ball",
    "two people sit by the river",
    "rain",
    "a small cat sleeps in the sun and a bird sings in the tree",
]


@pytest.fixture(scope="module")
def guitar_model(mlm_dir: Path) -> tuple[BertForMaskedLM, BertTokenizerFast]:
    """The tiny MLM with its output bias rigged: special tokens first, 'guitar' second, everything else far."""
    model, tokenizer = load_masked_lm(str(mlm_dir))
    with torch.no_grad():
        bias = model.cls.predictions.decoder.bias
        bias.fill_(-1e4)
        bias[tokenizer.all_special_ids] = 1e5
        bias[tokenizer.convert_tokens_to_ids("guitar")] = 1e4
    return model, tokenizer


@pytest.mark.parametrize("probability", [0.15, 0.5])
def test_plain_fill_replaces_round_p_n_pieces_and_never_predicts_special_tokens(
    guitar_model: tuple[BertForMaskedLM, BertTokenizerFast], probability: float
) -> None:
    model, tokenizer = guitar_model
    texts = [t for t in TEXTS if "guitar" not in t]
    out = fill_masks(model, tokenizer, texts, probability=probability, seed=0, device="cpu")
    for before, after in zip(texts, out, strict=True):
        words, new = before.split(), after.split()
        assert len(new) == len(words)  # every word of the tiny vocab is one word piece
        changed = [i for i, (a, b) in enumerate(zip(words, new, strict=True)) if a != b]
        assert len(changed) == max(1, round(probability * len(words)))
        assert all(new[i] == "guitar" for i in changed)
        assert not any(token in after for token in ("[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]"))


def test_views_are_deterministic_under_the_seed_and_independent_of_batching(mlm_dir: Path) -> None:
    model, tokenizer = load_masked_lm(str(mlm_dir))
    first = fill_masks(model, tokenizer, TEXTS, seed=1, batch_size=64, device="cpu")
    assert fill_masks(model, tokenizer, TEXTS, seed=1, batch_size=2, device="cpu") == first
    assert fill_masks(model, tokenizer, TEXTS, seed=1, max_tokens=12, device="cpu") == first
    assert fill_masks(model, tokenizer, TEXTS, seed=2, device="cpu") != first
    assert torch.is_grad_enabled()


def test_sentence_without_maskable_piece_is_kept(guitar_model: tuple[BertForMaskedLM, BertTokenizerFast]) -> None:
    model, tokenizer = guitar_model
    unknown = "x" * 300  # longer than the word-piece limit: one [UNK], which is never masked
    assert fill_masks(model, tokenizer, [unknown, "the dog"], seed=0, device="cpu")[0] == unknown


def test_text_past_the_model_length_is_kept(guitar_model: tuple[BertForMaskedLM, BertTokenizerFast]) -> None:
    model, tokenizer = guitar_model
    long = " ".join(["the dog runs"] * 40)  # 120 pieces, the tiny model has 64 positions
    out = fill_masks(model, tokenizer, [long], seed=0, device="cpu")[0]
    assert out.endswith("the dog runs the dog runs the dog runs")
    assert len(out.split()) == 120 and out.count("guitar") == round(0.15 * 62)


def test_mlm_view_through_make_views_defaults_to_the_student_checkpoint(mlm_dir: Path) -> None:
    pairs = TextPairs(TEXTS, None, "fp")
    cfg = SCTConfig(
        model=ModelConfig(name=str(mlm_dir)), data=DataConfig(augmentation="mlm"), optim=OptimConfig(seed=5)
    )
    texts1, texts2 = make_views("mlm", pairs, cfg, device="cpu")
    assert texts1 == TEXTS and texts2 == mlm_views(TEXTS, str(mlm_dir), seed=5, device="cpu")
    assert texts2 != TEXTS
    other = SCTConfig(model=ModelConfig(name="/no/such/student"), data=DataConfig(mlm_model=str(mlm_dir)))
    assert make_views("mlm", pairs, other, device="cpu")[1] == mlm_views(TEXTS, str(mlm_dir), seed=42, device="cpu")


def test_config_only_dir_is_an_error_suggesting_mlm_model(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(tiny_bert_config(100).to_dict()), encoding="utf-8")
    with pytest.raises(ValueError, match=r"has no model weights \(a config-only directory\); set data\.mlm_model"):
        load_masked_lm(str(tmp_path))


def test_model_without_mlm_head_is_an_error_suggesting_mlm_model(tmp_path: Path) -> None:
    tokenizer = word_tokenizer(tmp_path)
    BertModel(tiny_bert_config(len(tokenizer))).save_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match=r"has no trained masked-LM head \(missing weights: cls\..*data\.mlm_model"):
        load_masked_lm(str(tmp_path))


def test_unloadable_model_is_an_error_suggesting_mlm_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot load a masked LM from .*; set data\.mlm_model"):
        load_masked_lm(str(tmp_path / "missing-model"))


def test_probability_out_of_range(guitar_model: tuple[BertForMaskedLM, BertTokenizerFast]) -> None:
    with pytest.raises(ValueError, match=r"mlm probability must be in \(0, 1\), got 1.5"):
        fill_masks(*guitar_model, TEXTS, probability=1.5)


def test_mlm_views_are_made_once_and_cached_with_the_tokens(
    mlm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sct.data import mlm_views as module
    from sct.data.augment import augmentation_params
    from sct.data.tokenized import prepare_pairs

    train = tmp_path / "s.txt"
    train.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    cfg = SCTConfig(model=ModelConfig(name=str(mlm_dir)), data=DataConfig(train=str(train), augmentation="mlm"))
    tokenizer = BertTokenizerFast.from_pretrained(str(mlm_dir))
    first = prepare_pairs(cfg, tokenizer, cache_dir=tmp_path / "cache", show_progress=False, device="cpu")
    assert first.augmentation == "mlm" and first.texts2 == mlm_views(TEXTS, str(mlm_dir), seed=42, device="cpu")

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("MLM views recomputed despite a cache hit")

    monkeypatch.setattr(module, "mlm_views", fail)
    second = prepare_pairs(cfg, tokenizer, cache_dir=tmp_path / "cache", show_progress=False)
    assert second.texts2 == first.texts2 and second.fingerprint == first.fingerprint
    assert "model.safetensors" in [f[0] for f in augmentation_params("mlm", cfg)["mlm_model_files"]]
