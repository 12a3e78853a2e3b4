"""The paired-by-seed Δ and its 95% t-interval, checked against scipy on fixed numbers."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats as scipy_stats

from sct.tune.report.stats import PairedDelta, paired_delta, summarize, t_half_width

ROW = {"42": 70.10, "43": 70.90, "44": 69.80, "45": 71.20}
BASE = {"42": 69.50, "43": 70.00, "44": 70.10, "45": 70.00, "46": 68.00}  # seed 46 has no partner in ROW


def test_paired_delta_matches_scipy_ttest_rel() -> None:
    result = paired_delta(ROW, BASE)
    seeds = ["42", "43", "44", "45"]
    a, b = [ROW[s] for s in seeds], [BASE[s] for s in seeds]
    ci = scipy_stats.ttest_rel(a, b).confidence_interval(0.95)
    assert result.seeds == tuple(seeds) and result.pairs == 4
    assert result.delta == pytest.approx(statistics.fmean(x - y for x, y in zip(a, b, strict=True)))
    assert (result.ci_low, result.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    low, high = scipy_stats.t.interval(0.95, 3, loc=result.delta, scale=scipy_stats.sem(diffs))
    assert (result.ci_low, result.ci_high) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize(
    ("row", "base", "pairs", "delta", "interval"),
    [
        ({"1": 71.0}, {"1": 70.0, "2": 70.5}, 1, 1.0, False),  # one pair: Δ but no interval
        ({"1": 71.0}, {"2": 70.0}, 0, None, False),  # no seed in common
        ({}, {"1": 70.0}, 0, None, False),  # the row never finished
        ({"1": 71.0, "2": 72.0}, {"1": 70.0, "2": 70.0}, 2, 1.5, True),
    ],
)
def test_paired_delta_pairs_only_common_seeds(row, base, pairs, delta, interval) -> None:
    result = paired_delta(row, base)
    assert result.pairs == pairs and result.has_interval is interval
    assert result.delta == (None if delta is None else pytest.approx(delta))
    if not interval:
        assert result.within_noise is None and result.contains(0.0) is None


def test_two_pairs_use_t_with_one_degree_of_freedom() -> None:
    result = paired_delta({"1": 71.0, "2": 72.0}, {"1": 70.0, "2": 70.0})
    half = scipy_stats.t.ppf(0.975, 1) * statistics.stdev([1.0, 2.0]) / math.sqrt(2)
    assert result.ci_low == pytest.approx(1.5 - half) and result.ci_high == pytest.approx(1.5 + half)
    assert result.within_noise is True  # 12.7 x 0.5: the interval of 2 seeds is wide and contains 0


@pytest.mark.parametrize(
    ("low", "high", "value", "inside"),
    [
        (-1.0, 1.0, 0.0, True),
        (0.5, 1.0, 0.0, False),
        (0.5, 1.0, 0.5, True),
        (0.5, 1.0, 1.0, True),
        (0.5, 1.0, 1.01, False),
    ],
)
def test_contains_includes_the_bounds(low, high, value, inside) -> None:
    assert PairedDelta(("1", "2"), 0.75, 0.1, low, high).contains(value) is inside


def test_summarize_and_the_half_width_guard() -> None:
    assert summarize([]).mean is None and summarize([]).n == 0
    one = summarize([70.0])
    assert (one.n, one.mean, one.sd) == (1, 70.0, None)
    three = summarize([70.0, 71.0, 73.0])
    assert three.sd == pytest.approx(statistics.stdev([70.0, 71.0, 73.0]))
    with pytest.raises(ValueError, match="a t-interval needs at least 2 values, got 1"):
        t_half_width(1.0, 1)


def test_seeds_are_paired_in_numeric_order() -> None:
    result = paired_delta({"10": 1.0, "9": 2.0, "x": 3.0}, {"10": 0.0, "9": 0.0, "x": 0.0})
    assert result.seeds == ("9", "10", "x")
