"""``sct.hub``: one rule each for paths vs hub ids, offline mode, weight files and a text file's columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sct.data.mlm_views import load_masked_lm
from sct.data.sources import load_texts
from sct.hub import file_column_count, has_weights, looks_like_path, offline
from sct.tune.plan.preflight import model_problem

ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
CASES = [
    {},
    {"HF_HUB_OFFLINE": "1"},
    {"HF_HUB_OFFLINE": "true"},
    {"HF_HUB_OFFLINE": "false"},
    {"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"},
    {"TRANSFORMERS_OFFLINE": "1"},
    {"TRANSFORMERS_OFFLINE": "0"},
    {"HF_DATASETS_OFFLINE": "1"},
    {"HF_HUB_OFFLINE": "YES", "HF_DATASETS_OFFLINE": "0"},
]


@pytest.mark.parametrize(
    ("name", "is_path"),
    [("./x", True), ("/abs/x", True), ("~/x", True), ("a/b/c", True), ("train.txt", True), ("org/model", False),
     ("bert-base-uncased", False)],
)  # fmt: skip
def test_one_rule_tells_paths_from_hub_ids(name, is_path) -> None:
    assert looks_like_path(name) is is_path


def library_offline_modes() -> list[list[bool]]:
    """[models offline, datasets offline] per case, as huggingface_hub and datasets decide at import."""
    script = f"""
import importlib, json, os, sys
import huggingface_hub.constants as hub
import datasets.config as ds
out = []
for case in {CASES!r}:
    for name in {ENV!r}:
        os.environ.pop(name, None)
    os.environ.update(case)
    importlib.reload(hub)
    importlib.reload(ds)
    out.append([hub.HF_HUB_OFFLINE, ds.HF_HUB_OFFLINE])
print(json.dumps(out))
"""
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_offline_mode_is_what_the_libraries_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = library_offline_modes()
    assert expected[0] == [False, False] and expected[1] == [True, True]  # the reference does vary
    for case, libraries in zip(CASES, expected, strict=True):
        for name in ENV:
            monkeypatch.delenv(name, raising=False)
        for name, value in case.items():
            monkeypatch.setenv(name, value)
        assert [offline("model"), offline("dataset")] == libraries, case


def test_weight_files_are_the_ones_from_pretrained_reads(tmp_path: Path, tiny_model_dir: Path) -> None:
    assert has_weights(tiny_model_dir)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    (bare / "training_args.bin").write_bytes(b"not a model")  # a .bin that from_pretrained never loads
    assert not has_weights(bare)
    assert model_problem(str(bare), needs_mlm_head=True) == f"{bare} has no model weights (a config-only directory)"
    with pytest.raises(ValueError, match="has no model weights"):
        load_masked_lm(str(bare))


@pytest.mark.parametrize(
    ("name", "lines", "columns"),
    [
        ("late_break.txt", ["a man plays.\ta man is playing."] * 1500 + ["one sentence without a tab"], 1),
        ("pairs.txt", ["a\tb"] * 3, 2),
        ("separator.txt", ["x\tT\tT2", "y\u2028z\tU\tU2"], 1),  # the loader splits at U+2028 too
        ("bom.tsv", ["\ufeffx\tT\tT2", "y\tU\tU2"], 3),
    ],
)
def test_the_column_count_is_the_loaders(tmp_path: Path, name: str, lines: list[str], columns: int) -> None:
    """The pre-flight's count (the whole file, as the loader reads it) is the loaded source's."""
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert file_column_count(path) == load_texts(str(path)).num_columns == columns


@pytest.mark.parametrize("name", ["no/such/model", "./missing", "~/missing-model", "weights.json"])
def test_the_preflight_calls_a_path_what_input_resolution_calls_one(name: str, monkeypatch) -> None:
    for variable in ENV:
        monkeypatch.delenv(variable, raising=False)
    assert looks_like_path(name)
    assert model_problem(name, needs_mlm_head=False) == f"{name} does not exist"
