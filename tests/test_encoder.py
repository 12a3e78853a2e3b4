"""SentenceEncoder: mean pooling, Dense, loading from every layout, and the sentence-transformers export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoModel, BertTokenizerFast

from sct.encoder import SentenceEncoder
from tests.conftest import tiny_bert_config

SENTS = ["a man plays the guitar .", "the dog runs", "two old people eat food at a table by the river ."]


def _batch(tokenizer: BertTokenizerFast, sentences: list[str], length: int = 32) -> dict[str, torch.Tensor]:
    return tokenizer(sentences, padding=True, truncation=True, max_length=length, return_tensors="pt")


def _encode(encoder: SentenceEncoder, tokenizer: BertTokenizerFast, sentences: list[str]) -> torch.Tensor:
    batch = _batch(tokenizer, sentences, encoder.max_seq_length)
    encoder.eval()
    with torch.no_grad():
        return encoder(batch["input_ids"], batch["attention_mask"])


@pytest.fixture(scope="module")
def tiny_encoders(tiny_tokenizer: BertTokenizerFast) -> dict[int | None, SentenceEncoder]:
    torch.manual_seed(0)
    config = tiny_bert_config(len(tiny_tokenizer))
    return {proj: SentenceEncoder.from_config(config, proj, max_seq_length=24) for proj in (None, 48)}


def test_forward_is_masked_mean_of_hidden_states(tiny_encoders, tiny_tokenizer) -> None:
    encoder = tiny_encoders[None]
    batch = _batch(tiny_tokenizer, SENTS)
    with torch.no_grad():
        pooled = encoder.eval()(batch["input_ids"], batch["attention_mask"])  # (3, 32)
        hidden = encoder.backbone(**batch).last_hidden_state  # (3, L, 32)
    n = int(batch["attention_mask"][1].sum())
    assert pooled.shape == (3, encoder.dim) and encoder.dim == 32
    torch.testing.assert_close(pooled[1], hidden[1, :n].mean(0), atol=1e-6, rtol=0)
    alone = _encode(encoder, tiny_tokenizer, [SENTS[1]])  # no padding at all: same vector
    torch.testing.assert_close(alone[0], pooled[1], atol=1e-5, rtol=0)


def test_projection_adds_tanh_dense(tiny_encoders, tiny_tokenizer) -> None:
    encoder = tiny_encoders[48]
    assert encoder.dim == 48 and encoder.dense is not None and encoder.dense.in_features == 32
    out = _encode(encoder, tiny_tokenizer, SENTS)
    assert out.shape == (3, 48) and out.abs().max() < 1.0  # tanh range
    same = SentenceEncoder.from_config(tiny_bert_config(len(tiny_tokenizer)), projection_dim=32)
    assert same.dense is None and same.dim == 32


@pytest.mark.parametrize("proj", [None, 48])
def test_save_loads_in_sentence_transformers_hf_and_round_trips(tiny_encoders, tiny_tokenizer, tmp_path, proj):
    from sentence_transformers import SentenceTransformer

    encoder = tiny_encoders[proj]
    encoder.save(tmp_path, tiny_tokenizer)
    ours = _encode(encoder, tiny_tokenizer, SENTS)
    st = SentenceTransformer(str(tmp_path), device="cpu")
    assert st.max_seq_length == 24
    theirs = st.encode(SENTS, convert_to_tensor=True)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=0)
    assert isinstance(AutoModel.from_pretrained(tmp_path), torch.nn.Module)
    loaded, tokenizer = SentenceEncoder.from_pretrained(str(tmp_path))
    assert loaded.max_seq_length == 24 and loaded.dim == encoder.dim
    assert tokenizer.vocab == tiny_tokenizer.vocab
    torch.testing.assert_close(_encode(loaded, tokenizer, SENTS), ours, atol=0, rtol=0)


def test_loads_hf_dir_with_projection_and_length(tiny_model_dir: Path) -> None:
    encoder, tokenizer = SentenceEncoder.from_pretrained(str(tiny_model_dir), 16, max_seq_length=12)
    assert encoder.dim == 16 and encoder.max_seq_length == 12
    reference = AutoModel.from_pretrained(tiny_model_dir)
    torch.testing.assert_close(encoder.backbone.state_dict(), reference.state_dict())


def test_loads_st_dir_with_transformer_subfolder_and_bin_dense(tiny_model_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_model_dir, tmp_path / "0_Transformer")
    (tmp_path / "0_Transformer" / "sentence_bert_config.json").write_text('{"max_seq_length": 20}')
    modules = [
        {"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "2_Dense").mkdir()
    dense_cfg = {"in_features": 32, "out_features": 8, "bias": True, "activation_function": "torch.nn.Tanh"}
    (tmp_path / "2_Dense" / "config.json").write_text(json.dumps(dense_cfg))
    weight, bias = torch.randn(8, 32), torch.randn(8)
    torch.save({"linear.weight": weight, "linear.bias": bias}, tmp_path / "2_Dense" / "pytorch_model.bin")
    encoder, _ = SentenceEncoder.from_pretrained(str(tmp_path))
    assert encoder.max_seq_length == 20 and encoder.dim == 8
    assert torch.equal(encoder.dense.weight, weight) and torch.equal(encoder.dense.bias, bias)
    with pytest.raises(ValueError, match="projection_dim=4 conflicts with the Dense"):
        SentenceEncoder.from_pretrained(str(tmp_path), 4)


def test_config_only_dir_builds_random_init_with_warning(tiny_tokenizer, tmp_path: Path) -> None:
    tiny_bert_config(len(tiny_tokenizer)).save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match=f"no model weights in {tmp_path}"):
        encoder, _ = SentenceEncoder.from_pretrained(str(tmp_path), 64)
    assert encoder.dim == 64 and encoder.backbone.config.num_hidden_layers == 2


def test_missing_or_bad_inputs_raise_clear_errors(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model directory ./no/such/model does not exist"):
        SentenceEncoder.from_pretrained("./no/such/model")
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    (bad / "modules.json").write_text(json.dumps([{"path": "", "type": "sentence_transformers.models.CNN"}]))
    with pytest.raises(ValueError, match=r"modules.json of .* has modules \['CNN'\]"):
        SentenceEncoder.from_pretrained(str(bad))
    (bad / "1_Pooling").mkdir()
    (bad / "1_Pooling" / "config.json").write_text(
        '{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}'
    )
    (bad / "modules.json").write_text(
        json.dumps(
            [
                {"path": "", "type": "sentence_transformers.models.Transformer"},
                {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    with pytest.raises(ValueError, match="1_Pooling: pooling .* is not mean pooling"):
        SentenceEncoder.from_pretrained(str(bad))
    (bad / "modules.json").write_text(
        json.dumps(
            [
                {"path": "", "type": "sentence_transformers.models.Transformer"},
                {"path": "2_Dense", "type": "sentence_transformers.models.Dense"},
            ]
        )
    )
    (bad / "2_Dense").mkdir()
    cfg = {"in_features": 32, "out_features": 8, "activation_function": "torch.nn.modules.activation.ReLU"}
    (bad / "2_Dense" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="activation_function 'torch.nn.modules.activation.ReLU' not supported"):
        SentenceEncoder.from_pretrained(str(bad))
    cfg["activation_function"] = "torch.nn.Tanh"
    (bad / "2_Dense" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(FileNotFoundError, match="Dense weights missing in .*2_Dense"):
        SentenceEncoder.from_pretrained(str(bad))
