"""``--model-dir SIZE=DIR``: a config-only directory of another shape gives a random student of the size's shape."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import pytest
from transformers import BertConfig, BertModel

from sct import sweep
from sct.encoder import SentenceEncoder
from sct.errors import UserError
from sct.inputs import model_size
from sct.tune.plan.model_dirs import SHAPES, model_dirs, parse_model_dir, student_dir
from tests.conftest import FIXTURES


@pytest.fixture
def mini_config(shared_dir: Path) -> Path:
    return shared_dir / "models" / "bert-mini-config"


@pytest.mark.parametrize("size", list(SHAPES))
def test_parameter_count_is_bert_models(size: str) -> None:
    shape = SHAPES[size]
    if shape.layers > 4:  # BERT-Base/Large: the published counts (building them costs seconds)
        assert shape.parameters() == {"bert-base": 109_482_240, "bert-large": 335_141_888}[size]
        return
    config = BertConfig(**{"vocab_size": 30522} | shape.config_keys())
    assert shape.parameters() == sum(p.numel() for p in BertModel(config).parameters())


def test_config_only_dir_of_another_shape_builds_the_sizes_shape_with_its_tokenizer(mini_config, tmp_path) -> None:
    path = student_dir("bert-tiny", mini_config, tmp_path)
    assert path.parent == tmp_path / "students" and path.name.startswith("bert-tiny-")
    config = json.loads((path / "config.json").read_text())
    assert {k: config[k] for k in SHAPES["bert-tiny"].config_keys()} == SHAPES["bert-tiny"].config_keys()
    assert config["vocab_size"] == 30522 and "_name_or_path" not in config
    assert (path / "vocab.txt").read_bytes() == (mini_config / "vocab.txt").read_bytes()
    assert model_size(str(path)) == "bert-tiny"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no model weights": the random init this test wants
        encoder, tokenizer = SentenceEncoder.from_pretrained(str(path))
    assert encoder.dim == 128 and encoder.backbone.config.num_hidden_layers == 2
    assert encoder.backbone.config.intermediate_size == 512 and encoder.backbone.config.num_attention_heads == 2
    ids = tokenizer(["a man is playing a guitar"], return_tensors="pt")
    assert encoder(ids["input_ids"], ids["attention_mask"]).shape == (1, 128)
    assert student_dir("bert-tiny", mini_config, tmp_path) == path  # named by content: the same on a resume


def test_config_only_dir_of_the_sizes_shape_is_used_as_it_is(mini_config, tmp_path) -> None:
    assert student_dir("bert-mini", mini_config, tmp_path) == mini_config
    assert not (tmp_path / "students").exists()


def test_weights_of_another_shape_are_refused(tiny_model_dir, tmp_path) -> None:
    with pytest.raises(UserError, match=r"--model-dir bert-tiny=.*weights have another shape.*only a tokenizer"):
        student_dir("bert-tiny", tiny_model_dir, tmp_path)


def test_weights_of_the_sizes_shape_are_used(tmp_path) -> None:
    model = tmp_path / "tiny"
    BertModel(BertConfig(**{"vocab_size": 100} | SHAPES["bert-tiny"].config_keys())).save_pretrained(model)
    assert student_dir("bert-tiny", model, tmp_path) == model


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("bert-tiny", "expected SIZE=DIR"),
        ("bert-huge=/tmp", "unknown size 'bert-huge'"),
        ("bert-tiny=/nonexistent/dir", "not a model directory"),
    ],
)
def test_parse_model_dir_rejects(text: str, match: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=match):
        parse_model_dir(text)


def test_model_dirs_rejects_a_size_twice_or_not_swept(tmp_path) -> None:
    with pytest.raises(UserError, match="given twice"):
        model_dirs([("bert-tiny", tmp_path), ("bert-tiny", tmp_path)], ["bert-tiny"])
    with pytest.raises(UserError, match="bert-mini is not swept here"):
        model_dirs([("bert-mini", tmp_path)], ["bert-tiny"])


def _dry_run(storage: Path, *extra: str) -> list[str]:
    return [
        "bert-tiny", "--dry-run", "--smoke", "--storage", str(storage),
        "--train-data", str(FIXTURES / "sentences.txt"), "--sts-dir", str(FIXTURES / "sts"),
        "--set", "eval.test_tasks=[stsb]", *extra,
    ]  # fmt: skip


def test_sweep_dry_run_trains_the_built_student(mini_config, tmp_path, capsys) -> None:
    assert sweep.main(_dry_run(tmp_path, "--model-dir", f"bert-tiny={mini_config}")) == 0
    out = capsys.readouterr().out
    (built,) = (tmp_path / "students").iterdir()
    assert f"model.name: {built}" in out


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--model-dir", "bert-mini={dir}"], "bert-mini is not swept here"),
        (["--model-dir", "bert-tiny={dir}", "--set", "model.name=x"], "pass one of them"),
    ],
)
def test_sweep_model_dir_errors_exit_2(mini_config, tmp_path, capsys, extra, match) -> None:
    argv = _dry_run(tmp_path, *(e.format(dir=mini_config) for e in extra))
    assert sweep.main(argv) == 2
    assert match in capsys.readouterr().err
