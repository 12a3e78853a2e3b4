"""The cross-size figure: each hyperparameter's best value against model parameters (log x), the top-5 trials'
spread as a vertical bar and their values as dots, and the paper's Table 1 point of each size as a cross."""

from __future__ import annotations

from pathlib import Path

from sct.presets import size_overrides
from sct.tune.report.plots import _pyplot, _save
from sct.tune.report.sizes import HYPERPARAMETERS, SHORT, SizeResult

LOG_Y = {"optim.lr", "method.queue_size"}


def size_plot(found: list[SizeResult], path: Path) -> Path | None:
    """``path`` (PNG) with one panel per hyperparameter; None when no result has a paper size (no x value)."""
    placed = sorted((r for r in found if r.parameters), key=lambda r: r.parameters or 0)
    if not placed:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(HYPERPARAMETERS), figsize=(4 * len(HYPERPARAMETERS), 3.6))
    for ax, key in zip(axes, HYPERPARAMETERS, strict=True):
        xs = [float(r.parameters or 0) for r in placed]
        for x, result in zip(xs, placed, strict=True):
            values = [p[key] for p in result.top if key in p]
            if values:
                ax.vlines(x, min(values), max(values), color="tab:blue", alpha=0.35, linewidth=6)
                ax.scatter([x] * len(values), values, color="tab:blue", s=10, alpha=0.6)
        best = [(x, r.best[key]) for x, r in zip(xs, placed, strict=True) if key in r.best]
        if best:
            ax.plot(*zip(*best, strict=True), "o-", color="tab:blue", label="best (ours)")
        paper = [(x, size_overrides(r.size)[key]) for x, r in zip(xs, placed, strict=True) if r.size]
        if paper:
            ax.scatter(*zip(*paper, strict=True), marker="x", s=60, color="tab:red", label="paper Table 1", zorder=3)
        ax.set_xscale("log")
        if key in LOG_Y:
            ax.set_yscale("log")
        ax.set_xlabel("model parameters")
        ax.set_title(SHORT[key])
    axes[0].legend(fontsize=8)
    figure.suptitle("best hyperparameters by model size (bars: top-5 trials' spread)")
    return _save(plt, figure, path, rect=(0, 0, 1, 0.93))
