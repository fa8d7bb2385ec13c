"""What a study optimises: one objective per task (validation loss, or the task's primary metric), and Pareto fronts.

Pure Python: the front and the values are computed here without Optuna, so the pruning rule and the tests can
check them independently of the sampler.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mtl_core.errors import bad_value

OBJECTIVES = ("loss", "metric")


@dataclass(frozen=True)
class Objective:
    """One task's objective: the value's name in a history (``val_loss`` or a metric) and its direction."""

    task: str
    name: str
    lower_is_better: bool

    @property
    def direction(self) -> str:
        """Optuna's spelling of the direction."""
        return "minimize" if self.lower_is_better else "maximize"

    def value(self, event: dict) -> float:
        """This objective's value in one epoch of a history (``EpochEvent.to_dict()``); NaN when missing."""
        if self.name == "val_loss":
            raw = event.get("val_loss", {}).get(self.task)
        else:
            raw = event.get("val_metrics", {}).get(self.task, {}).get(self.name)
        return float(raw) if raw is not None else math.nan


def check_objective(kind: str) -> str:
    """``kind`` if it is ``loss`` or ``metric``; ConfigError naming ``objective`` otherwise."""
    if kind not in OBJECTIVES:
        raise bad_value("objective", kind, f"expected one of {', '.join(OBJECTIVES)}")
    return kind


def oriented(values: Sequence[float], lower_is_better: Sequence[bool]) -> list[float]:
    """Values flipped so that lower is better in every objective (NaN becomes +inf: worst)."""
    return [math.inf if math.isnan(v) else (v if low else -v) for v, low in zip(values, lower_is_better)]


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` dominates ``b`` (both oriented lower-is-better): no worse anywhere and better somewhere."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_indices(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the non-dominated points (oriented lower-is-better); O(n²), fine for thousands of trials."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for j, q in enumerate(points) if j != i)]
