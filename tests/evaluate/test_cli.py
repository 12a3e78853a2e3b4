"""``python -m sct.evaluate`` run in-process (main(argv)) on the fixture STS dir and a tiny saved model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sct.config import STS_TASKS
from sct.encoder import SentenceEncoder
from sct.evaluate import evaluate_encoder
from sct.evaluate.__main__ import main

STS_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sts"


def test_prints_one_line_per_task_and_the_average(saved_model, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SCT_STS_DIR", raising=False)
    assert main([str(saved_model), "--sts-dir", str(STS_FIXTURE), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [*STS_TASKS, "avg"]
    encoder, tokenizer = SentenceEncoder.from_pretrained(str(saved_model))
    expected = evaluate_encoder(encoder, tokenizer, STS_TASKS, sts_dir=STS_FIXTURE)
    for line in lines:
        name, score = line.split()
        assert score == f"{expected[name]:.2f}"


def test_json_output_with_task_subset_and_env_dir(saved_model, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SCT_STS_DIR", str(STS_FIXTURE))
    assert main([str(saved_model), "--tasks", "stsb,sickr", "--json", "--batch-size", "5", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == ["stsb", "sickr", "avg"]
    assert result["avg"] == pytest.approx((result["stsb"] + result["sickr"]) / 2, abs=1e-3)


def exit_code(argv: list[str]) -> int:
    """The CLI's exit code, whether argparse exits or the error boundary returns it."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return int(exit_info.code)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tasks", "stsb,sts99"], r"unknown task\(s\) \['sts99'\]"),
        (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        (["--hf", "--sts-dir", "x"], "not allowed with argument"),
        (["--sts-dir", "/no/such/dir"], "--sts-dir /no/such/dir: directory not found"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(saved_model, capsys, extra, message) -> None:
    assert exit_code([str(saved_model), *extra]) == 2
    assert message.replace("\\", "") in capsys.readouterr().err or pytest.fail(message)


def test_missing_source_model_or_task_file_exit_2(saved_model, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SCT_STS_DIR", raising=False)
    assert exit_code([str(saved_model)]) == 2
    assert "give exactly one of --sts-dir DIR or --hf" in capsys.readouterr().err
    assert main(["./missing/model", "--sts-dir", str(STS_FIXTURE)]) == 2
    assert "model directory ./missing/model does not exist" in capsys.readouterr().err
    assert main([str(saved_model), "--sts-dir", str(tmp_path), "--tasks", "stsb", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "STSBenchmark/sts-test.csv not found" in err[0]


def test_a_directory_that_is_not_a_model_is_one_line(tmp_path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    assert main([str(tmp_path), "--sts-dir", str(STS_FIXTURE), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{tmp_path} is not a model directory: expected config.json" in err[0]
