"""Each grid row's views on the given data, and rows that would train on identical views (dry run and run)."""

from __future__ import annotations

from pathlib import Path

from sct import ablate
from sct.config_io import apply_overrides
from sct.tune.plan.row_views import row_views
from tests.conftest import FIXTURES
from tests.tune.plan.test_preflight import config


def test_row_views_and_rows_that_would_train_on_identical_views(tmp_path: Path) -> None:
    views = tmp_path / "views.txt"
    views.write_text("a man plays .\ta man is playing .\ta man is playing .\n", encoding="utf-8")  # T′ = T
    rows = {
        "sct": config(tmp_path, **{"data.train": str(views)}),
        "aug_same": config(tmp_path, **{"data.train": str(views), "data.augmentation": "same"}),
        "aug_dropout": config(tmp_path, **{"data.train": str(views), "data.augmentation": "dropout"}),
        "contrastive": config(tmp_path, **{"data.train": str(views), "method.objective": "contrastive"}),
    }
    shown, same = row_views(rows)
    assert shown == {"sct": "(T(x), T′(x))", "aug_same": "(T(x), T(x))", "aug_dropout": "(x, x)",
                     "contrastive": "(T(x), T′(x))"}  # fmt: skip
    assert same == [
        f"rows 'sct' and 'aug_same' would train on identical views (T(x), T′(x)) = (T(x), T(x)) of data.train="
        f"{views} with the same config otherwise: one of them measures nothing"
    ]
    distinct = tmp_path / "distinct.txt"
    distinct.write_text("a man plays .\ta man is playing .\tthe man plays .\n", encoding="utf-8")
    rows = {name: apply_overrides(cfg, {"data.train": str(distinct)}, "test") for name, cfg in rows.items()}
    assert row_views(rows)[1] == []


def test_ablate_dry_run_flags_rows_that_would_train_on_identical_views(tmp_path, tiny_model_dir, capsys) -> None:
    views = tmp_path / "views.tsv"
    views.write_text("a man plays .\ta man is playing .\ta man is playing .\n", encoding="utf-8")  # T′ = T
    argv = ["table4", "--model", "bert-tiny", "--storage", str(tmp_path / "runs"), "--dry-run", "--rows",
            "sct,aug_same,aug_dropout", "--train-data", str(views), "--sts-dir", str(FIXTURES / "sts"),
            "--set", f"model.name={tiny_model_dir}", "--set", "eval.test_tasks=[stsb]"]  # fmt: skip
    assert ablate.main(argv) == 0
    out = capsys.readouterr().out
    assert "aug_dropout: {'data.augmentation': 'dropout'}  paper Δ n/a (custom model)  views (x, x)" in out
    assert out.count("WARNING") == 1 and (
        "  WARNING: rows 'sct' and 'aug_same' would train on identical views (T(x), T′(x)) = (T(x), T(x)) of "
        f"data.train={views} with the same config otherwise: one of them measures nothing" in out
    )
