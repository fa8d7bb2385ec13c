"""Held-out predictions of a finished run, computed once per run and kept with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtl_core.training.metrics import predicted_classes
from ui.state import TrainingSession


@dataclass
class HeldOut:
    """True and predicted values on one split: class indices for classification, values for regression."""

    split: str
    rows: np.ndarray
    truth: dict[str, np.ndarray]
    predicted: dict[str, np.ndarray]


def held_out(session: TrainingSession) -> HeldOut | None:
    """Predictions on the test split (the validation split, or the training rows, when it is empty)."""
    if "held_out" in session.cache:
        return session.cache["held_out"]
    result = session.run.result
    if result is None:
        return None
    prepared = result.prepared
    split = next((s for s in ("test", "val", "train") if prepared.size(s) > 0), "train")
    rows = prepared.rows[split]
    outputs = session.run.predictor.outputs(session.frame.iloc[rows])
    predicted = {}
    for task in prepared.tasks:
        out = outputs[task.name]
        predicted[task.name] = predicted_classes(task, out) if task.is_classification else out.reshape(-1)
    held = HeldOut(split, rows, {t.name: prepared.y[split][t.name] for t in prepared.tasks}, predicted)
    session.cache["held_out"] = held
    return held
