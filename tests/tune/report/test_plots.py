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


def _captured(monkeypatch) -> list:
    """The figures the plots module saves (still drawable after it closed them)."""
    from sct.tune.report import plots

    figures: list = []
    real = plots._save

    def save(plt, figure, path, rect=None):
        figures.append(figure)
        return real(plt, figure, path, rect)

    monkeypatch.setattr(plots, "_save", save)
    return figures


def test_history_draws_trials_stopped_early_with_whole_trial_numbers(tmp_path: Path, monkeypatch) -> None:
    import optuna

    from sct.tune.report.history import scored_trials

    db = tmp_path / "optuna.db"
    study = optuna.create_study(study_name=STUDY, storage=f"sqlite:///{db}", direction="maximize")
    lr = {"optim.lr": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)}
    study.add_trial(optuna.trial.create_trial(params={"optim.lr": 3e-4}, distributions=lr, value=55.5))
    stopped = optuna.trial.create_trial(
        params={"optim.lr": 2e-5}, distributions=lr, state=optuna.trial.TrialState.PRUNED,
        intermediate_values={2: 40.0, 4: 48.76},
    )  # fmt: skip
    study.add_trial(stopped)
    assert scored_trials(study) == [(0, 55.5, True), (1, 48.76, False)]
    figures = _captured(monkeypatch)
    written = sweep_plots(db, STUDY, tmp_path / "plots", test_tasks=["stsb"])
    history = figures[[p.stem for p in written].index("optimization_history")]
    axes = history.axes[0]
    drawn = sum(len(c.get_offsets()) for c in axes.collections)
    assert drawn == 2  # Optuna's own plot drew 1 of 2
    history.canvas.draw()
    ticks = [t.get_text() for t in axes.get_xticklabels() if t.get_text()]
    assert ticks and all(t.lstrip("−-").isdigit() for t in ticks), ticks  # whole trial numbers
    texts = [t.get_text() for t in history.texts]
    assert "the sweep metric is STS-B dev only; the results table's test average is over 1 test set(s): stsb" in texts
    assert any("(1 finished, 1 stopped early trials)" in t for t in texts)  # the title
    assert not any("7-STS" in t for f in figures for t in [x.get_text() for x in f.texts])


def test_ablation_plot_has_a_title_and_its_y_label_inside_the_figure(tmp_path: Path, monkeypatch) -> None:
    from sct.tune.report.plots import ablation_bars

    figures = _captured(monkeypatch)
    label = "STS-B test only (test_stsb; no other STS test set ran — not a 7-STS score)"
    path = ablation_bars(
        ["no_queue", "no_mlp"], [-1.5, 0.4], [(-2.0, -1.0), None], [-3.1, None], "sct", label, tmp_path / "a.png",
        title="table4: Δ vs 'sct' per row",
    )  # fmt: skip
    assert path is not None and path.is_file()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = figures[0]
    canvas = FigureCanvasAgg(figure)  # the saved layout, drawn again
    canvas.draw()
    axes = figure.axes[0]
    assert axes.get_title() == "table4: Δ vs 'sct' per row"
    box = axes.yaxis.label.get_window_extent(canvas.get_renderer())
    width, height = canvas.get_width_height()
    assert box.x0 >= 0 and box.y0 >= 0 and box.y1 <= height and box.x1 <= width, (box, width, height)
