"""The arithmetic behind an ablation table a reviewer can trust: mean ± sd over seeds and a paired Δ with its CI.

Rows of an ablation grid are trained with the same seeds (``sct.seed``), so a row and the baseline run with
one seed share their data order and initialisation; the noise that seeds add cancels in the difference. Δ is
therefore the mean of the per-seed differences ``row[s] - baseline[s]`` over the seeds present in both, and
its 95% confidence interval is Student's t over those differences (the paired t-interval):
``mean(d) ± t_{0.975, n-1} · sd(d) / sqrt(n)``. With fewer than two pairs there is no interval: the functions
return ``None`` for it rather than a number that looks like one. Pure functions (numpy/scipy only), so the
numbers are checked against :func:`scipy.stats.ttest_rel` in the tests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation of one row's scores (sd is None with fewer than two seeds)."""

    n: int
    mean: float | None
    sd: float | None


@dataclass(frozen=True)
class PairedDelta:
    """Δ = mean over paired seeds of (row − baseline), and its t-interval (None with fewer than two pairs)."""

    seeds: tuple[str, ...]
    delta: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def pairs(self) -> int:
        return len(self.seeds)

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    def contains(self, value: float | None) -> bool | None:
        """Whether ``value`` lies in the interval (bounds included); None when there is no interval or value."""
        if value is None or not self.has_interval:
            return None
        assert self.ci_low is not None and self.ci_high is not None
        return self.ci_low <= value <= self.ci_high

    @property
    def within_noise(self) -> bool | None:
        """True when the interval contains 0 (the row is not distinguishable from the baseline)."""
        return self.contains(0.0)


def summarize(values: list[float]) -> Summary:
    """n, mean and sample sd (n − 1 in the denominator) of ``values``."""
    if not values:
        return Summary(0, None, None)
    mean = statistics.fmean(values)
    return Summary(len(values), mean, statistics.stdev(values) if len(values) > 1 else None)


def t_half_width(sd: float, n: int, confidence: float = CONFIDENCE) -> float:
    """Half width of the two-sided Student-t interval of a mean of ``n`` values with sample sd ``sd``."""
    from scipy.stats import t

    if n < 2:
        raise ValueError(f"a t-interval needs at least 2 values, got {n}")
    return float(t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)


def paired_delta(
    row: Mapping[str, float], baseline: Mapping[str, float], confidence: float = CONFIDENCE
) -> PairedDelta:
    """Δ of ``row`` against ``baseline`` (both seed → score), paired by seed; only common seeds count."""
    seeds = tuple(sorted(set(row) & set(baseline), key=_seed_key))
    diffs = [row[s] - baseline[s] for s in seeds]
    if not diffs:
        return PairedDelta(seeds, None, None, None, None)
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return PairedDelta(seeds, mean, None, None, None)
    sd = statistics.stdev(diffs)
    half = t_half_width(sd, len(diffs), confidence)
    return PairedDelta(seeds, mean, sd, mean - half, mean + half)


def _seed_key(seed: str) -> tuple[int, float, str]:
    """Numeric seeds in numeric order, anything else after them, alphabetically."""
    try:
        return (0, float(seed), seed)
    except ValueError:
        return (1, 0.0, seed)
