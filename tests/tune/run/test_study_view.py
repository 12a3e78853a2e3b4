"""The study's view: one line per size, read from the size's real Optuna study (sqlite), as the sizes' driver
processes keep it; a size not started, or whose study is not written yet, says so."""

from __future__ import annotations

import pytest

from sct.tune.run.study_view import SizeProgress, render

optuna = pytest.importorskip("optuna")


def make_study(path, name: str) -> None:
    """Trial 0 complete at 70.5, 1 reported 72.25 then pruned, 2 failed, 3 running with 60.0 reported."""
    path.mkdir()
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{path / 'optuna.db'}", direction="maximize")
    for state, reports in ((None, [65.0]), ("PRUNED", [72.25]), ("FAIL", []), ("RUNNING", [60.0])):
        trial = study.ask()
        for step, value in enumerate(reports):
            trial.report(value, step)
        if state is None:
            study.tell(trial, 70.5)
        elif state != "RUNNING":
            study.tell(trial, state=getattr(optuna.trial.TrialState, state))


def test_one_line_per_size_from_its_optuna_study(tmp_path) -> None:
    make_study(tmp_path / "sweep-bert-tiny", "sweep-bert-tiny")
    tiny = SizeProgress("sweep-bert-tiny", tmp_path / "sweep-bert-tiny", total=8, started=100.0)
    mini = SizeProgress("sweep-bert-mini", tmp_path / "sweep-bert-mini", total=4, started=100.0)
    small = SizeProgress("sweep-bert-small", tmp_path / "sweep-bert-small", total=4)  # not started yet
    assert render([tiny, mini, small], now=160.0).splitlines() == [
        "study:",
        "  sweep-bert-tiny: 3/8 done · 1 running · 4 pending · best 72.25 (t01) · elapsed 1:00 · ETA 1:40 · 1 failed",
        "  sweep-bert-mini: waiting",  # started, no study written yet
        "  sweep-bert-small: waiting",
    ]
    assert not (tmp_path / "sweep-bert-mini").exists()  # reading never creates a study
