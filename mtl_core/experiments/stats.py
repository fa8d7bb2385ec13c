"""Spread across seeds: mean, sample standard deviation, a 95 % Student-t interval of a paired change, a paired
t-test's p-value and a verdict in words.

A comparison trains each model on the same K seeds, so the per-seed differences are paired: the interval and
the test are those of the mean of the K paired changes (a one-sample t-test of the changes against 0 is the
paired t-test). The verdict reads the interval: strictly on the better side of 0 -> "helps", strictly on the
worse side -> "hurts", otherwise (0 inside, or a single seed, which gives no interval) "no clear difference".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

HELPS = "helps"
HURTS = "hurts"
UNCLEAR = "no clear difference"
VERDICTS = (HELPS, HURTS, UNCLEAR)
CONFIDENCE = 0.95


def finite_values(values: Sequence[float]) -> list[float]:
    """The finite values of ``values`` as floats (a stopped or undefined run is NaN and counts as missing)."""
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def mean(values: Sequence[float]) -> float:
    """The mean of the finite values; NaN when there are none."""
    xs = finite_values(values)
    if not xs:
        return math.nan
    if all(x == xs[0] for x in xs):
        return xs[0]  # exact: fsum(xs) / n can be off in the last bit, which would give a constant a spread
    return math.fsum(xs) / len(xs)


def sd(values: Sequence[float]) -> float:
    """The sample standard deviation (n - 1 in the denominator) of the finite values; NaN below two values."""
    xs = finite_values(values)
    if len(xs) < 2:
        return math.nan
    m = mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _t_quantile(q: float, dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(q, dof))


def interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Student-t confidence interval of the mean of the finite values, mean ± t(n-1) · sd / √n; (NaN, NaN)
    below two values. Equal values give the degenerate interval (v, v)."""
    xs = finite_values(values)
    if len(xs) < 2:
        return math.nan, math.nan
    m, s = mean(xs), sd(xs)
    half = _t_quantile(0.5 + confidence / 2, len(xs) - 1) * s / math.sqrt(len(xs))
    return m - half, m + half


def paired_p_value(changes: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test that the mean of the per-seed changes is 0; NaN below two values.

    Without spread the test is decided by the values themselves: all 0 gives 1.0, a constant non-zero change 0.0.
    """
    from scipy.stats import t

    xs = finite_values(changes)
    if len(xs) < 2:
        return math.nan
    m, s = mean(xs), sd(xs)
    if s == 0:
        return 1.0 if m == 0 else 0.0
    statistic = m / (s / math.sqrt(len(xs)))
    return float(2 * t.sf(abs(statistic), len(xs) - 1))


def verdict(ci: tuple[float, float], higher_is_better: bool = True) -> str:
    """"helps" if the interval lies strictly on the better side of 0, "hurts" if strictly on the worse side,
    otherwise (0 inside, or no interval) "no clear difference"."""
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return UNCLEAR
    if lo > 0:
        return HELPS if higher_is_better else HURTS
    if hi < 0:
        return HURTS if higher_is_better else HELPS
    return UNCLEAR


@dataclass(frozen=True)
class Spread:
    """A paired change over seeds: its mean, sd, 95 % interval, paired p-value and verdict."""

    mean: float
    sd: float
    ci: tuple[float, float]
    p_value: float
    verdict: str
    #: How many seeds gave a finite change.
    n: int

    @property
    def note(self) -> str:
        """Why there is no interval ("one seed: no interval" and the like), or ""."""
        if self.n == 0:
            return "no finished seed: no value"
        if self.n == 1:
            return "one seed: no interval"
        return ""

    def to_dict(self) -> dict:
        """``{"mean", "sd", "ci": [lo, hi], "p_value", "verdict", "n"}`` (may hold NaN)."""
        return {"mean": self.mean, "sd": self.sd, "ci": list(self.ci), "p_value": self.p_value,
                "verdict": self.verdict, "n": self.n}


def spread(changes: Sequence[float], higher_is_better: bool = True, confidence: float = CONFIDENCE) -> Spread:
    """Summarise per-seed changes (NaN ones left out): mean, sd, interval, paired p-value and verdict.

    ``higher_is_better`` is the direction of the changes themselves: True for gains (positive = better), False
    for raw differences of a lower-is-better metric (an MAE difference below 0 means the first model is better).
    """
    xs = finite_values(changes)
    ci = interval(xs, confidence)
    return Spread(mean(xs), sd(xs), ci, paired_p_value(xs), verdict(ci, higher_is_better), len(xs))


def paired_spread(first: Sequence[float], second: Sequence[float], lower_is_better: bool) -> Spread:
    """The spread of ``first - second`` over seeds paired by position (a seed missing in either is left out), with
    the verdict on ``first``: "helps" when it is reliably better (higher, or lower when ``lower_is_better``)."""
    if len(first) != len(second):
        raise ValueError(f"paired values need the same seeds: {len(first)} vs {len(second)} values")
    diffs = [a - b for a, b in zip(first, second)]
    return spread(diffs, higher_is_better=not lower_is_better)
