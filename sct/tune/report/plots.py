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


def _save(plt: Any, figure: Any, path: Path, rect: tuple[float, ...] | None = None) -> Path:
    """Lay out, write (120 dpi PNG) and close one figure."""
    figure.tight_layout(rect=rect) if rect else figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


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
            _save(plt, figure, out_dir / f"{name}.png", rect=(0, 0.03, 1, 0.95))
            written.append(out_dir / f"{name}.png")
        except Exception as err:  # noqa: BLE001 - best effort, see module docstring
            print(f"plot {name} skipped: {type(err).__name__}: {err}")
    return written


def ablation_bars(
    names: list[str],
    deltas: list[float | None],
    intervals: list[tuple[float, float] | None],
    paper: list[float | None],
    baseline: str,
    score_label: str,
    path: Path,
) -> Path | None:
    """Our Δ per row (paired by seed, 95% CI as error bars) beside the paper's Δ, against ``baseline``.

    Rows without a Δ are left out; a row with fewer than 2 paired seeds gets its bar without an error bar and
    a "no CI" mark; the paper's bars are drawn only where the paper gives a number (the others are marked
    "paper n/a"), so the "paper Δ" legend entry always stands for visible bars.
    """
    shown = [i for i, delta in enumerate(deltas) if delta is not None]
    if not shown:
        print("ablation plot skipped: no row has a Δ against the baseline (did the baseline row finish?)")
        return None
    plt = _pyplot()
    x = list(range(len(shown)))
    ours = [float(deltas[i]) for i in shown]  # type: ignore[arg-type]
    errors = [[0.0] * len(shown), [0.0] * len(shown)]
    for j, i in enumerate(shown):
        interval = intervals[i]
        if interval is not None:
            errors[0][j], errors[1][j] = ours[j] - interval[0], interval[1] - ours[j]
    figure, axes = plt.subplots(figsize=(max(6, 0.9 * len(shown) + 2), 4.5))
    axes.bar([v - 0.2 for v in x], ours, width=0.4, yerr=errors, capsize=3, label="ours: Δ paired by seed, 95% CI")
    with_paper = [(j, paper[i]) for j, i in enumerate(shown) if paper[i] is not None]
    if with_paper:
        axes.bar([j + 0.2 for j, _ in with_paper], [v for _, v in with_paper], width=0.4, label="paper Δ")
    for j, i in enumerate(shown):
        if paper[i] is None:
            axes.text(j + 0.2, 0, "paper\nn/a", ha="center", va="bottom", fontsize=7)
        if intervals[i] is None:
            axes.text(j - 0.2, ours[j], "no CI", ha="center", va="bottom", fontsize=7)
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_xticks(x, [names[i] for i in shown], rotation=40, ha="right")
    axes.set_ylabel(f"Δ vs {baseline}: {score_label}", fontsize=8)
    axes.legend(fontsize=8)
    return _save(plt, figure, path)


def queue_curve(
    points: dict[int, list[float]], path: Path, *, best_k: int | None = None, score_label: str = "7-STS average"
) -> Path | None:
    """Mean ± sd of the score against the queue size k (log2 axis), with the paper's marks: Figure 4.

    ``best_k`` is the paper's best k for the model size (Table 1: 131072 for BERT-Tiny, 65536 for BERT-Small);
    the paper's text says the score rises up to k = 16384 for all models, marked as well.
    """
    rise_until = 16384  # §5 / Figure 4: the score rises with k up to 16384 for all models
    ks = sorted(k for k, values in points.items() if values)
    if not ks:
        return None
    plt = _pyplot()
    means = [statistics.fmean(points[k]) for k in ks]
    sds = [statistics.stdev(points[k]) if len(points[k]) > 1 else 0.0 for k in ks]
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.errorbar(ks, means, yerr=sds, marker="o", capsize=3, label="ours: mean ± sd over seeds")
    axes.axvline(rise_until, color="grey", linestyle=":", label=f"paper: rises up to k={rise_until}")
    if best_k is not None:
        axes.axvline(best_k, color="red", linestyle="--", label=f"paper's best k = {best_k}")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("queue size k")
    axes.set_ylabel(f"{score_label} (Spearman x 100)", fontsize=8)
    axes.legend(fontsize=8)
    return _save(plt, figure, path)
