"""What one epoch produced (``EpochEvent``), and turning a chunk's stacked per-epoch arrays into events."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mtl_core.data.tasks import Task


@dataclass
class EpochEvent:
    """What one epoch produced; ``val_*`` are empty when there is no validation split."""

    epoch: int
    loss: dict[str, float]
    val_loss: dict[str, float]
    val_metrics: dict[str, dict[str, float]]
    weights: dict[str, float]
    total_loss: float
    elapsed: float
    conflict: dict[str, float] = field(default_factory=dict)
    #: With early stopping, the epoch whose weights it keeps so far (lowest validation loss); 0 without.
    best_epoch: int = 0

    def to_dict(self) -> dict:
        """The JSON form used in histories."""
        data = {"epoch": self.epoch, "loss": self.loss, "val_loss": self.val_loss,
                "val_metrics": self.val_metrics, "weights": self.weights, "total_loss": self.total_loss,
                "elapsed": self.elapsed}
        if self.conflict:
            data["conflict"] = self.conflict
        if self.best_epoch:
            data["best_epoch"] = self.best_epoch
        return data


def conflict_pairs(tasks: list[str]) -> list[tuple[str, str]]:
    """Every unordered pair of tasks, in a fixed order."""
    return [(a, b) for i, a in enumerate(tasks) for b in tasks[i + 1:]]


def pair_key(a: str, b: str) -> str:
    """The history key of a task pair."""
    return f"{a} | {b}"


def build_events(tasks: list[Task], arrays: dict[str, np.ndarray], done: int, first: int, elapsed: float,
                 has_val: bool) -> list[EpochEvent]:
    """One event per epoch of a chunk, numbered from ``first``, from its stacked arrays (see ``Trainer``)."""
    names = [t.name for t in tasks]
    pairs = conflict_pairs(names)
    events = []
    for i in range(done):
        loss = dict(zip(names, arrays["loss"][i].tolist()))
        weights = dict(zip(names, arrays["weights"][i].tolist()))
        val_loss = dict(zip(names, arrays["val_loss"][i].tolist())) if has_val else {}
        val_metrics: dict[str, dict[str, float]] = {}
        if has_val:
            flat = iter(arrays["metrics"][i].tolist())
            val_metrics = {t.name: {m: next(flat) for m in t.metrics} for t in tasks}
        conflict = {pair_key(a, b): v for (a, b), v in zip(pairs, arrays["conflict"][i].tolist())
                    if not math.isnan(v)}
        total = sum(weights[n] * loss[n] for n in names)
        best = int(arrays["best_epoch"][i]) if "best_epoch" in arrays else 0
        events.append(EpochEvent(first + i, loss, val_loss, val_metrics, weights, total, elapsed, conflict, best))
    return events


def weight_changes(events: list[EpochEvent]) -> list[dict]:
    """``[{"epoch": e, "weights": {task: w}}]`` for each epoch whose loss weights differ from the epoch before.

    With a weighting that follows the user's weights these are the user's changes made while it trained.
    """
    changes = []
    for before, after in zip(events, events[1:]):
        # Equal dicts first: a C-level comparison, ~15x faster over the 100,000 epochs of a long live run.
        if after.weights != before.weights and any(
                abs(after.weights[t] - before.weights.get(t, after.weights[t])) > 1e-9 for t in after.weights):
            changes.append({"epoch": after.epoch, "weights": dict(after.weights)})
    return changes
