"""Slider ranges for a model's numeric inputs, taken from the data it was trained on."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtl_core.data.tasks import class_label

MAX_DECIMALS = 3
MAX_STEPS = 1000


@dataclass(frozen=True)
class SliderSpec:
    """A numeric input's slider: range, step and default (the median), as ints for whole-number columns."""

    low: float | int
    high: float | int
    step: float | int
    default: float | int
    whole: bool

    @property
    def format(self) -> str:
        """A printf format showing as many decimals as the step has."""
        if self.whole or self.step >= 1:
            return "%d"
        return f"%.{max(0, -math.floor(math.log10(self.step) + 1e-9))}f"

    def clamp(self, value: float) -> float | int:
        """``value`` inside the range, rounded to the slider's precision."""
        value = min(max(float(value), float(self.low)), float(self.high))
        if self.whole:
            return int(round(value))
        decimals = max(0, -math.floor(math.log10(self.step))) if self.step < 1 else 0
        return round(value, decimals + 1)


def _decimals(values: np.ndarray) -> int:
    for d in range(MAX_DECIMALS + 1):
        if np.allclose(values, np.round(values, d), atol=1e-9, rtol=0):
            return d
    return MAX_DECIMALS + 1


def slider_spec(series: pd.Series) -> SliderSpec:
    """The slider for a numeric column: its min to max, a step matching its precision, the median first."""
    values = series.to_numpy(dtype=float)
    low, high, median = float(values.min()), float(values.max()), float(np.median(values))
    whole = bool(np.all(values == np.round(values))) and pd.api.types.is_integer_dtype(series)
    if whole:
        if high <= low:
            high = low + 1
        return SliderSpec(int(low), int(high), max(1, int((high - low) // MAX_STEPS)), int(round(median)), True)
    if high <= low:
        high = low + 1.0
    step = 10.0 ** -_decimals(values)
    # A step so fine that the slider has thousands of positions is unusable; coarsen to a power of ten.
    while (high - low) / step > MAX_STEPS:
        step *= 10
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    decimals = max(0, -math.floor(math.log10(step)))
    return SliderSpec(round(low, decimals), round(high, decimals), step, round(median, decimals), False)


def most_common(series: pd.Series) -> str:
    """The most frequent value of a categorical column, as the schema labels it."""
    return class_label(series.value_counts().index[0])
