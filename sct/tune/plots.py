"""Figures for the parent MLflow run: Optuna history, parallel coordinates, importances (sweeps), mean ± sd per
ablation row beside the paper's Δ, and the 7-STS average against the queue size k (Figure 4).

Plotting is best effort: a figure that cannot be drawn (too few finished trials, an Optuna evaluator that
needs more data) is skipped with a printed note and never fails the experiment.
"""

from __future__ import annotations

import statistics
import warnings
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


SWEEP_METRIC_LABEL = "STS-B dev Spearman ×100"
SWEEP_METRIC_SCOPE = (
    "the sweep metric is STS-B dev only (1 of the 7 STS tasks); the 7-STS test average is in the results table"
)
MIN_TRIALS_FOR_IMPORTANCE = 5


def readable_ticks(figure: Any) -> None:
    """Plain tick labels on every numeric axis of ``figure``: no offset ("+5.398e1") nor scientific notation."""
    for axes in figure.axes:
        for axis in ("x", "y"):
            try:
                axes.ticklabel_format(axis=axis, useOffset=False, style="plain")
            except AttributeError:  # log or categorical axis: its formatter is not a ScalarFormatter
                pass


def sweep_plots(
    optuna_db: Path,
    study_name: str,
    out_dir: Path,
    *,
    metric_label: str = SWEEP_METRIC_LABEL,
    min_trials_for_importance: int = MIN_TRIALS_FOR_IMPORTANCE,
) -> list[Path]:
    """``optimization_history.png``, ``parallel_coordinate.png`` and ``param_importances.png`` of the study.

    Axes and titles name the metric (``metric_label``), ticks are plain numbers, and the importances are
    drawn only from ``min_trials_for_importance`` finished trials or more (fewer give noise: a note is
    printed instead).
    """
    import optuna
    from optuna.visualization import matplotlib as ovm

    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    study = optuna.load_study(study_name=study_name, storage=f"sqlite:///{optuna_db}")
    finished = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    figures = [
        ("optimization_history", ovm.plot_optimization_history, "best so far"),
        ("parallel_coordinate", ovm.plot_parallel_coordinate, "searched values"),
    ]
    if finished >= min_trials_for_importance:
        figures.append(("param_importances", ovm.plot_param_importances, "parameter importance"))
    else:
        print(
            f"plot param_importances skipped: {finished} finished trial(s), "
            f"importances need at least {min_trials_for_importance}"
        )
    written = []
    for name, draw, what in figures:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = draw(study, target_name=metric_label)
            figure = axes.figure if hasattr(axes, "figure") else plt.gcf()
            readable_ticks(figure)
            figure.set_size_inches(9, 5.5)
            figure.suptitle(f"{study_name}: {what}, {metric_label} ({finished} finished trials)", fontsize=10)
            figure.text(0.5, 0.005, SWEEP_METRIC_SCOPE, ha="center", va="bottom", fontsize=7, color="dimgray")
            figure.tight_layout(rect=(0, 0.03, 1, 0.95))
            figure.savefig(out_dir / f"{name}.png", dpi=120)
            plt.close(figure)
            written.append(out_dir / f"{name}.png")
        except Exception as err:  # noqa: BLE001 - best effort, see module docstring
            print(f"plot {name} skipped: {type(err).__name__}: {err}")
    return written


def ablation_bars(
    scores: dict[str, list[float]], order: list[str], baseline: str, paper: dict[str, float | None], path: Path
) -> Path | None:
    """Δ (mean ± sd over seeds) of each row against the baseline row, with the paper's Δ as a second bar."""
    names = [n for n in order if scores.get(n)]
    if not scores.get(baseline) or not names:
        print("ablation plot skipped: the baseline row has no finished run")
        return None
    plt = _pyplot()
    base = statistics.fmean(scores[baseline])
    ours = [statistics.fmean(scores[n]) - base for n in names]
    sds = [statistics.stdev(scores[n]) if len(scores[n]) > 1 else 0.0 for n in names]
    theirs = [paper.get(n) for n in names]
    x = list(range(len(names)))
    figure, axes = plt.subplots(figsize=(max(6, 0.8 * len(names) + 2), 4.5))
    axes.bar([i - 0.2 for i in x], ours, width=0.4, yerr=sds, capsize=3, label="ours (mean ± sd)")
    axes.bar([i + 0.2 for i in x], [t if t is not None else 0.0 for t in theirs], width=0.4, label="paper")
    for i, value in enumerate(theirs):
        if value is None:
            axes.text(i + 0.2, 0, "n/a", ha="center", va="bottom", fontsize=7)
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_xticks(x, names, rotation=40, ha="right")
    axes.set_ylabel(f"Δ 7-STS avg vs {baseline}")
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def queue_curve(points: dict[int, list[float]], path: Path) -> Path | None:
    """Mean ± sd 7-STS average against k (log2 axis): Figure 4."""
    ks = sorted(k for k, values in points.items() if values)
    if not ks:
        return None
    plt = _pyplot()
    means = [statistics.fmean(points[k]) for k in ks]
    sds = [statistics.stdev(points[k]) if len(points[k]) > 1 else 0.0 for k in ks]
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.errorbar(ks, means, yerr=sds, marker="o", capsize=3)
    axes.set_xscale("log", base=2)
    axes.set_xlabel("queue size k")
    axes.set_ylabel("7-STS average (Spearman x 100)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
