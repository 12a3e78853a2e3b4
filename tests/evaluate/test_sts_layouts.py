"""STS directories in SentEval's own layout, partial directories, and the CLI scoring what is there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sct.config import STS_TASKS
from sct.evaluate import load_task
from sct.evaluate.__main__ import main
from sct.evaluate.sts_data import available_tasks, task_path

STS_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sts"


def _senteval_checkout(root: Path) -> Path:
    """The fixture rearranged as SentEval's get_transfer_data.bash leaves it: data/downstream/{STS,SICK}."""
    downstream = root / "SentEval" / "data" / "downstream"
    for folder in STS_FIXTURE.iterdir():
        target = downstream / ("SICK" if folder.name == "SICK" else f"STS/{folder.name}")
        shutil.copytree(folder, target)
    return root / "SentEval"


@pytest.mark.parametrize(
    "pointed_at",
    ["SentEval", "SentEval/data/downstream", "SentEval/data/downstream/STS"],
)
def test_senteval_layout_loads_the_same_pairs_as_the_flat_one(tmp_path: Path, pointed_at: str) -> None:
    _senteval_checkout(tmp_path)
    sts_dir = tmp_path / pointed_at
    assert available_tasks(sts_dir) == (list(STS_TASKS), [])
    for name in STS_TASKS:
        assert load_task(name, sts_dir=sts_dir) == load_task(name, sts_dir=STS_FIXTURE)
    assert load_task("stsb", sts_dir=sts_dir, split="dev") == load_task("stsb", sts_dir=STS_FIXTURE, split="dev")
    assert task_path("sickr", sts_dir) == tmp_path / "SentEval/data/downstream/SICK"


@pytest.mark.parametrize(
    ("folders", "split", "present"),
    [
        (["STSBenchmark"], "test", ["stsb"]),
        (["STSBenchmark", "SICK", "STS13-en-test"], "test", ["sts13", "stsb", "sickr"]),
        (["STS12-en-test", "SICK"], "dev", []),
        (["STSBenchmark", "STS12-en-test"], "dev", ["stsb"]),
        ([], "test", []),
    ],
)
def test_available_tasks_reports_present_and_missing_in_order(
    tmp_path: Path, folders: list[str], split: str, present: list[str]
) -> None:
    for folder in folders:
        shutil.copytree(STS_FIXTURE / folder, tmp_path / folder)
    (tmp_path / "STS14-en-test").mkdir()  # an empty year folder is not a task
    assert available_tasks(tmp_path, split) == (present, [t for t in STS_TASKS if t not in present])


def test_cli_without_tasks_scores_what_is_there_and_names_the_missing(saved_model, tmp_path, capsys) -> None:
    shutil.copytree(STS_FIXTURE / "STSBenchmark", tmp_path / "STSBenchmark")
    assert main([str(saved_model), "--sts-dir", str(tmp_path), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.out.splitlines()] == ["stsb", "avg"]
    assert f"scoring 1 of 7 tasks (stsb); missing in {tmp_path}: sts12,sts13,sts14,sts15,sts16,sickr" in captured.err


def test_cli_on_a_senteval_checkout_scores_all_seven(saved_model, tmp_path, capsys) -> None:
    checkout = _senteval_checkout(tmp_path)
    assert main([str(saved_model), "--sts-dir", str(checkout / "data" / "downstream"), "--quiet", "--json"]) == 0
    captured = capsys.readouterr()
    assert list(__import__("json").loads(captured.out)) == [*STS_TASKS, "avg"] and "missing" not in captured.err


@pytest.mark.parametrize(("split", "expected"), [("test", "for split 'test'"), ("dev", "for split 'dev'")])
def test_cli_with_no_task_present_exits_2_with_one_line(saved_model, tmp_path, capsys, split, expected) -> None:
    (tmp_path / "SICK").mkdir()
    assert main([str(saved_model), "--sts-dir", str(tmp_path), "--split", split, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--sts-dir {tmp_path}: no STS task found {expected}" in err[0]
    assert "data/downstream" in err[0]
