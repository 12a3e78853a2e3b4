"""The sweep's optimisation history with every scored trial, the ones ASHA stopped early included.

Optuna's ``plot_optimization_history`` draws COMPLETE trials only: a 2-trial smoke sweep whose second trial
was stopped showed 1 point on x-ticks 0.96-1.04. A stopped trial was scored before it stopped (its last
reported value is its best STS-B dev so far), so it is drawn too, hollow and labelled; x-ticks are whole
trial numbers.
"""

from __future__ import annotations

from typing import Any


def scored_trials(study: Any) -> list[tuple[int, float, bool]]:
    """``(number, score, finished)`` per trial with a score: COMPLETE ones by their value, PRUNED (stopped
    early) ones by their last reported value; failed and running ones are left out."""
    import optuna

    states = optuna.trial.TrialState
    out = []
    for trial in study.get_trials(deepcopy=False):
        if trial.state == states.COMPLETE and trial.value is not None:
            out.append((trial.number, float(trial.value), True))
        elif trial.state == states.PRUNED and trial.intermediate_values:
            last = max(trial.intermediate_values)
            out.append((trial.number, float(trial.intermediate_values[last]), False))
    return out


def history_axes(study: Any, metric_label: str) -> Any:
    """Matplotlib axes: finished trials filled, stopped ones hollow, the best score so far as a step line."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    points = scored_trials(study)
    _, axes = plt.subplots()
    for finished, style in ((True, {"label": "finished"}), (False, {"label": "stopped early (ASHA): last score"})):
        chosen = [(n, v) for n, v, done in points if done == finished]
        if chosen:
            face = "tab:blue" if finished else "none"
            xs, ys = zip(*chosen, strict=True)
            axes.scatter(xs, ys, facecolors=face, edgecolors="tab:blue", zorder=3, **style)
    if points:
        best, line = float("-inf"), []
        for number, value, _ in points:
            best = max(best, value)
            line.append((number, best))
        axes.step(*zip(*line, strict=True), where="post", color="tab:red", label="best so far")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trial")
    axes.set_ylabel(metric_label)
    axes.legend(fontsize=8)
    return axes
