"""Spread across seeds (mtl_core.experiments.stats): the interval, the paired test and the verdict, on given
numbers and as properties (zero difference, constant gain, direction)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtl_core.experiments import stats

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
seeds = st.integers(min_value=2, max_value=12)


def test_mean_sd_and_interval_match_the_textbook_formulas():
    from scipy import stats as sp

    values = [1.0, 2.0, 4.0, 7.0]
    assert stats.mean(values) == pytest.approx(3.5)
    assert stats.sd(values) == pytest.approx(np.std(values, ddof=1))
    lo, hi = stats.interval(values)
    half = sp.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2
    assert (lo, hi) == pytest.approx((3.5 - half, 3.5 + half))
    assert stats.paired_p_value(values) == pytest.approx(sp.ttest_1samp(values, 0.0).pvalue)
    # NaN (a model that did not finish) is left out, not counted as 0.
    assert stats.mean([1.0, math.nan, 3.0]) == 2.0 and stats.spread([1.0, math.nan, 3.0]).n == 2


def test_one_seed_gives_no_interval_and_says_so():
    one = stats.spread([12.5])
    assert one.mean == 12.5 and math.isnan(one.sd) and all(math.isnan(v) for v in one.ci)
    assert math.isnan(one.p_value)
    assert one.verdict == "no clear difference" and one.note == "one seed: no interval"
    assert stats.spread([]).note.startswith("no finished seed")


def test_the_verdict_reads_the_interval_against_zero():
    assert stats.verdict((0.5, 2.0)) == "helps" and stats.verdict((-2.0, -0.5)) == "hurts"
    assert stats.verdict((-0.5, 2.0)) == "no clear difference"
    assert stats.verdict((0.0, 2.0)) == "no clear difference"  # strictly on one side
    assert stats.verdict((0.5, 2.0), higher_is_better=False) == "hurts"


@given(st.lists(st.just(0.0), min_size=1, max_size=10))
def test_a_zero_difference_is_no_clear_difference(zeros):
    spread = stats.spread(zeros)
    assert spread.verdict == "no clear difference" and spread.mean == 0.0
    if len(zeros) > 1:
        assert spread.ci == (0.0, 0.0) and spread.p_value == 1.0


@given(st.floats(min_value=0.01, max_value=100.0), seeds)
def test_a_constant_gain_across_seeds_gives_that_gain(gain, k):
    spread = stats.spread([gain] * k)
    assert spread.mean == pytest.approx(gain) and spread.sd == 0.0
    assert spread.ci == pytest.approx((gain, gain))  # a degenerate interval at the gain
    assert spread.verdict == "helps" and spread.p_value == 0.0
    assert stats.spread([-gain] * k).verdict == "hurts"


@given(st.lists(finite, min_size=2, max_size=10))
def test_the_interval_holds_the_mean_and_agrees_with_the_test(values):
    spread = stats.spread(values)
    lo, hi = spread.ci
    assert lo <= spread.mean + 1e-9 and spread.mean <= hi + 1e-9
    if spread.verdict != "no clear difference" and spread.sd > 0:
        assert spread.p_value < 0.05 + 1e-9  # 0 outside the 95 % interval <=> p < 0.05
    # Flipping every change flips the verdict.
    flipped = stats.spread([-v for v in values]).verdict
    assert flipped == {"helps": "hurts", "hurts": "helps"}.get(spread.verdict, spread.verdict)


@given(st.floats(min_value=0.1, max_value=5.0), st.floats(min_value=0.01, max_value=0.5), seeds)
def test_direction_matters_for_lower_is_better_metrics(single_mae, gap, k):
    """A model whose MAE is lower on every seed helps; the same numbers read as accuracy would hurt."""
    single = [single_mae + 0.01 * i for i in range(k)]
    better = [s - gap for s in single]
    assert stats.paired_spread(better, single, lower_is_better=True).verdict == "helps"
    assert stats.paired_spread(better, single, lower_is_better=False).verdict == "hurts"
    assert stats.paired_spread(single, better, lower_is_better=True).verdict == "hurts"
    assert stats.paired_spread(single, single, lower_is_better=True).verdict == "no clear difference"


def test_paired_values_need_the_same_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        stats.paired_spread([1.0, 2.0], [1.0], lower_is_better=True)
