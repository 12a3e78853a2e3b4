"""Preflight of ablation rows: every missing input found before Ray starts, all at once, each with its fix.

Absence is simulated honestly: a config-only model directory, an encoder saved without its MLM head, nltk made
unimportable (``sys.modules['nltk'] = None`` makes ``import nltk`` raise ImportError), ``data.wordnet_dir`` at
an empty directory, a one-column training file, BSL's two-column file (no x).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
import yaml
from transformers import BertForMaskedLM

from sct import ablate
from sct.config import SCTConfig
from sct.config_io import apply_overrides
from sct.errors import InputProblems, UserError
from sct.tune.plan.grids import load_grid, parse_grid
from sct.tune.plan.preflight import file_column_count, select_available, unavailable_rows
from tests.conftest import FIXTURES, tiny_bert_config

ROWS = [
    {"name": "sct", "overrides": {}, "paper_delta": {"bert-tiny": 0.0}},
    {"name": "aug_mlm", "overrides": {"data.augmentation": "mlm"}, "note": "MLM views"},
    {"name": "aug_synonym", "overrides": {"data.augmentation": "synonym"}, "note": "WordNet synonyms"},
    {"name": "back_translation", "overrides": {"data.augmentation": "back_translation"}, "note": "paper's views"},
    {"name": "no_queue", "overrides": {"method.queues": "none"}, "note": "always runs"},
]
MLM_FIX = "--set data.mlm_model=bert-base-uncased (downloads it) or a local dir of a model with an MLM head"
LEXICAL_FIX = 'pip install -e ".[lexical]" then apt-get install wordnet-base (or --set data.wordnet_dir=DIR)'


@pytest.fixture(autouse=True)
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


def grid(rows: list[dict] | None = None):
    return parse_grid({"name": "mini", "baseline": "sct", "rows": rows or ROWS}, "mini.yaml")


def config(tmp_path: Path, **overrides: object) -> SCTConfig:
    one_column = tmp_path / "one.txt"
    one_column.write_text("a man plays a guitar.\na dog runs in the park.\n", encoding="utf-8")
    return apply_overrides(SCTConfig(), {"data.train": str(one_column), **overrides}, "test")


def config_only_dir(tmp_path: Path) -> Path:
    path = tmp_path / "config_only"
    path.mkdir()
    tiny_bert_config(100).save_pretrained(path)
    return path


def test_every_missing_input_is_reported_with_its_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nltk", None)  # nltk not installed
    model = config_only_dir(tmp_path)
    reasons = unavailable_rows(grid(), config(tmp_path, **{"model.name": str(model)}), None)
    assert list(reasons) == ["aug_mlm", "aug_synonym", "back_translation"]
    assert reasons["aug_mlm"] == (
        f"data.augmentation=mlm needs a masked LM, but {model} has no model weights (a config-only directory): "
        + MLM_FIX
    )
    assert reasons["aug_synonym"] == (
        f"data.augmentation=synonym needs nltk and WordNet, and nltk is not installed: {LEXICAL_FIX}"
    )
    assert reasons["back_translation"] == (
        "data.augmentation=back_translation trains on (T(x), T′(x)) and needs the back-translations T(x) and "
        f"T′(x), but data.train={tmp_path / 'one.txt'} has 1 column (x): use a three-column source "
        "x<TAB>T(x)<TAB>T′(x), made from your sentences by `python -m sct.data backtranslate SENTENCES OUT.tsv`"
    )


def test_wordnet_dir_without_wordnet(tmp_path: Path) -> None:
    pytest.importorskip("nltk")
    empty = tmp_path / "wordnet"
    empty.mkdir()
    cfg = config(tmp_path, **{"data.wordnet_dir": str(empty)})
    reason = unavailable_rows(grid(), cfg, None)["aug_synonym"]
    assert reason == (
        f"data.augmentation=synonym needs WordNet: data.wordnet_dir={str(empty)!r} is not a WordNet dict directory "
        f"(needs index.noun, data.noun, index.verb, data.verb, index.adj, data.adj): {LEXICAL_FIX}"
    )


@pytest.mark.parametrize(
    ("mlm_model", "expected"),
    [
        ("encoder", "has no masked-LM head (an encoder without cls.predictions/lm_head weights)"),
        ("masked_lm", None),
        ("./no/such/model", "./no/such/model does not exist"),
    ],
)
def test_mlm_model_needs_an_mlm_head(tmp_path, tiny_model_dir, mlm_model: str, expected: str | None) -> None:
    paths = {"encoder": str(tiny_model_dir), "masked_lm": str(tmp_path / "mlm")}
    BertForMaskedLM(tiny_bert_config(100)).save_pretrained(tmp_path / "mlm")
    cfg = config(tmp_path, **{"data.mlm_model": paths.get(mlm_model, mlm_model)})
    reason = unavailable_rows(grid(ROWS[:2]), cfg, None).get("aug_mlm")
    assert (reason is None) if expected is None else (expected in reason and reason.endswith(MLM_FIX))


def test_hub_id_offline_and_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = config(tmp_path, **{"data.mlm_model": "sct-tests/not-a-cached-model"})
    assert unavailable_rows(grid(ROWS[:2]), cfg, None)["aug_mlm"] == (
        "data.augmentation=mlm needs a masked LM, but sct-tests/not-a-cached-model is a hub id, not in the local "
        f"Hugging Face cache, and HF_HUB_OFFLINE is set: {MLM_FIX}"
    )
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert unavailable_rows(grid(ROWS[:2]), cfg, None) == {}  # online: it will be downloaded


@pytest.mark.parametrize(
    ("name", "text", "columns"),
    [
        ("pairs.txt", "a man plays.\ta man is playing.\nit rains.\tthere is rain.\n", 2),
        ("views.txt", "x\tT\tT2\ny\tU\tU2\n", 3),
        ("pairs.tsv", "only one column\n", 1),  # read as a .tsv: refused there, with the line
        ("views.tsv", "a\tb\tc\n", 3),
        ("mixed.txt", "a\tb\nc d\n", 1),
        ("one.txt", "a man plays.\n", 1),
    ],
)
def test_column_count_follows_sources(tmp_path: Path, name: str, text: str, columns: int) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert file_column_count(tmp_path / name) == columns


def test_rows_that_need_x_are_unavailable_on_bsl_two_columns(tmp_path: Path) -> None:
    bsl = tmp_path / "back_translated_nli.txt"
    bsl.write_text("a man is playing .\ta man plays .\n", encoding="utf-8")
    rows = [*ROWS[:1], {"name": "aug_dropout", "overrides": {"data.augmentation": "dropout"}, "note": "(x, x)"},
            {"name": "aug_same", "overrides": {"data.augmentation": "same"}, "note": "(T, T)"}]  # fmt: skip
    reasons = unavailable_rows(grid(rows), config(tmp_path, **{"data.train": str(bsl)}), None)
    assert reasons == {
        "aug_dropout": "data.augmentation=dropout trains on (x, x) and needs the original sentence x, but "
        f"data.train={bsl} has 2 columns (T(x)<TAB>T′(x), BSL's layout): use a three-column source "
        "x<TAB>T(x)<TAB>T′(x), made from your sentences by `python -m sct.data backtranslate SENTENCES OUT.tsv`"
    }


def test_select_refuses_or_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nltk", None)
    cfg = config(tmp_path, **{"model.name": str(config_only_dir(tmp_path))})
    with pytest.raises(InputProblems) as info:
        select_available(grid(), cfg, None, skip=False)
    assert [line.split(":")[0] for line in info.value.problems] == ["grid mini (mini.yaml)"] * 3
    assert [line.split("'")[1] for line in info.value.problems] == ["aug_mlm", "aug_synonym", "back_translation"]
    assert info.value.problems[-1].endswith("-- fix the rows, or pass --skip-unavailable to run the other rows")
    assert info.value.fixes == ["--skip-unavailable"]
    kept, skipped = select_available(grid(), cfg, None, skip=True)
    assert [r.name for r in kept.rows] == ["sct", "no_queue"]
    assert list(skipped) == ["aug_mlm", "aug_synonym", "back_translation"]
    baseline_mlm = [{**ROWS[1], "name": "sct"}, ROWS[4]]
    with pytest.raises(UserError, match="the baseline row 'sct' cannot run here"):
        select_available(grid(baseline_mlm), cfg, None, skip=True)
    with pytest.raises(UserError, match="no row can run here: row 'sct'"):
        select_available(grid(baseline_mlm[:1]), cfg, None, skip=True)
    with pytest.raises(UserError, match=r"grid 'table6' needs a teacher: pass --teacher PATH_OR_ID \(offline: "):
        select_available(load_grid("table6"), cfg, None, skip=True)


def test_ablate_dry_run_lists_skipped_rows_or_exits_2(tmp_path, tiny_model_dir, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "nltk", None)
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump({"name": "mini", "baseline": "sct", "rows": ROWS}), encoding="utf-8")
    argv = [str(path), "--model", "bert-tiny", "--smoke", "--storage", str(tmp_path / "runs"), "--dry-run"]
    argv += ["--train-data", str(FIXTURES / "sentences.txt"), "--sts-dir", str(FIXTURES / "sts")]
    argv += ["--set", f"model.name={config_only_dir(tmp_path)}", "--set", "eval.test_tasks=[stsb]"]
    assert ablate.main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "python -m sct.ablate: error: 3 input problems:" and len(lines) == 5
    assert all(line.startswith("  - grid mini (") for line in lines[1:4])
    assert lines[4].endswith(f"{shlex.join(argv)} --skip-unavailable")  # the command that runs what can run
    assert ablate.main([*argv, "--skip-unavailable"]) == 0
    out = capsys.readouterr().out
    assert "2 rows x 3 seeds = 6 trials" in out and "aug_synonym: SKIPPED (--skip-unavailable): " in out


def test_ablate_lists_the_base_inputs_and_the_rows_problems_together(tmp_path, capsys, monkeypatch) -> None:
    """A missing training file and STS dir (the base config) and two rows that cannot run: one error, five
    lines, one suggested command that fixes the inputs and skips the rows."""
    monkeypatch.setitem(sys.modules, "nltk", None)
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump({"name": "mini", "baseline": "sct", "rows": ROWS}), encoding="utf-8")
    argv = [str(path), "--model", "bert-tiny", "--storage", str(tmp_path / "runs"), "--dry-run"]
    argv += ["--train-data", str(tmp_path / "no.txt"), "--sts-dir", str(tmp_path / "no_sts")]
    argv += ["--set", f"model.name={config_only_dir(tmp_path)}", "--set", "eval.test_tasks=[stsb]"]
    assert ablate.main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "python -m sct.ablate: error: 4 input problems:" and len(lines) == 6
    assert [line.split("'")[1] for line in lines[1:5]] == ["data.train", "eval.sts_dir", "aug_mlm", "aug_synonym"]
    prefix = f"suggested command (fill in the UPPER-CASE placeholders): python -m sct.ablate {shlex.join(argv)} "
    assert lines[5] == prefix + "--train-data FILE --sts-dir STS_DIR --skip-unavailable"
    assert not list((tmp_path / "runs").iterdir())  # refused before the experiment was opened
