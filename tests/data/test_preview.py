"""``python -m sct.data preview``: the first N pairs are the trainer's own (the tokenised cache's texts), for
every view row, from reading only N lines; bad input is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from sct.config_io import resolve_config
from sct.data.__main__ import main
from sct.data.tokenized import prepare_pairs
from tests.conftest import FIXTURES
from tests.data.test_views import VIEWS, wordnet_dir

__all__ = ["wordnet_dir"]  # a fixture shared with test_views (mlm_dir: tests/data/conftest.py)


@pytest.mark.parametrize("augmentation", ["auto", "same", "dropout", "word_deletion", "mlm", "synonym"])
def test_preview_prints_the_pairs_the_trainer_gets(augmentation, mlm_dir, wordnet_dir, tiny_model_dir, tmp_path,
                                                   capsys) -> None:  # fmt: skip
    sets = [f"data.augmentation={augmentation}", f"data.mlm_model={mlm_dir}", f"data.wordnet_dir={wordnet_dir}",
            f"data.cache_dir={tmp_path}", f"model.name={tiny_model_dir}"]  # fmt: skip
    assert main(["preview", "--train-data", str(VIEWS), *[a for s in sets for a in ("--set", s)], "-n", "3"]) == 0
    captured = capsys.readouterr()
    cfg = resolve_config(None, None, {"data.train": str(VIEWS), **dict(s.split("=", 1) for s in sets)})
    trainer = prepare_pairs(cfg, AutoTokenizer.from_pretrained(tiny_model_dir), show_progress=False, device="cpu")
    assert captured.out.splitlines() == [
        f"{a}\t{b}" for a, b in zip(trainer.texts1[:3], trainer.texts2[:3], strict=True)
    ]
    assert f"# {VIEWS}: 3 column(s); data.augmentation=" in captured.err and "first 3 pairs" in captured.err


def test_preview_of_a_refused_row_is_one_line(capsys) -> None:
    argv = ["preview", "--train-data", str(FIXTURES / "data" / "pairs.tsv"), "--set", "data.augmentation=dropout"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs the original sentence x, but" in err and "backtranslate" in err


def test_preview_of_a_missing_file_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["preview", "--train-data", str(tmp_path / "nope.tsv")]) == 2
    assert "training data file not found" in capsys.readouterr().err
