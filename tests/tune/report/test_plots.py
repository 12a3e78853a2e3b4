"""plots.sweep_plots on a real Optuna study persisted in sqlite: files written, importances need 5 trials."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sct.tune.report.plots import readable_ticks, sweep_plots

STUDY = "sweep-bert-tiny"


def _study(path: Path, n_trials: int) -> Path:
    """A study like a sweep's: the four searched keys, values around 54 (the old offset-tick case)."""
    import optuna

    db = path / "optuna.db"
    study = optuna.create_study(study_name=STUDY, storage=f"sqlite:///{db}", direction="maximize")
    distributions = {
        "optim.lr": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True),
        "method.queue_size": optuna.distributions.CategoricalDistribution([16384, 65536, 131072]),
        "method.tau_ref": optuna.distributions.FloatDistribution(0.01, 0.1),
        "method.tau_online": optuna.distributions.FloatDistribution(0.01, 0.1),
    }
    for i in range(n_trials):
        params = {
            "optim.lr": 1e-5 * (1.6**i),
            "method.queue_size": [16384, 65536, 131072][i % 3],
            "method.tau_ref": 0.01 + 0.011 * i,
            "method.tau_online": 0.09 - 0.007 * i,
        }
        value = 53.98 + 0.01 * math.sin(i) + 0.002 * i
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=value))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    return db


@pytest.mark.parametrize(
    ("n_trials", "expected", "note"),
    [
        (6, ["optimization_history", "parallel_coordinate", "param_importances"], ""),
        (4, ["optimization_history", "parallel_coordinate"], "param_importances skipped: 4 finished trial(s)"),
    ],
)
def test_sweep_plots_are_written_and_importances_need_five_finished_trials(
    tmp_path: Path, capsys, n_trials: int, expected: list[str], note: str
) -> None:
    db = _study(tmp_path, n_trials)
    written = sweep_plots(db, STUDY, tmp_path / "plots")
    assert [p.stem for p in written] == expected
    assert all(p.is_file() and p.stat().st_size > 10_000 for p in written)
    out = capsys.readouterr().out
    assert note in out and "skipped: " + "Exception" not in out
    if not note:
        assert "skipped" not in out


def test_figures_name_the_metric_and_use_plain_ticks(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import optuna
    from optuna.visualization import matplotlib as ovm

    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{_study(tmp_path, 6)}")
    with pytest.warns(optuna.exceptions.ExperimentalWarning):  # what sweep_plots silences
        axes = ovm.plot_parallel_coordinate(study, target_name="STS-B dev Spearman ×100")
    figure = axes.figure
    readable_ticks(figure)
    figure.canvas.draw()
    labels = [t.get_text() for ax in figure.axes for t in ax.get_yticklabels() + ax.get_xticklabels()]
    offsets = [ax.yaxis.get_offset_text().get_text() for ax in figure.axes]
    assert "STS-B dev Spearman ×100" in labels + [ax.get_ylabel() for ax in figure.axes]
    assert "Objective Value" not in labels and not any(offsets)
    assert any(label.startswith("53.9") or label.startswith("54.0") for label in labels)
