"""Fast predictions in labels and original units, from a model that may still be training.

The model is a Keras model (through one compiled function) or a ``NumpyNet`` (no TensorFlow at all: how the
server predicts for a training that runs in a pool worker).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mtl_core.data.tasks import Task
from mtl_core.io.model_info import ModelInfo
from mtl_core.models.forward import NumpyNet


@dataclass
class TaskPrediction:
    """One task's prediction: a class with its probabilities, or a value in the target's units."""

    task: str
    kind: str
    label: str | None = None
    value: float | None = None
    probabilities: dict[str, float] = field(default_factory=dict)

    def text(self) -> str:
        """A one-line human reading."""
        if self.kind == "regression":
            return f"{self.task}: {self.value:.4g}"
        probs = ", ".join(f"{c} {p:.3f}" for c, p in self.probabilities.items())
        return f"{self.task}: {self.label} ({probs})"


def interpret(task: Task, output: np.ndarray) -> TaskPrediction:
    """Turn one row of a task's output into a prediction."""
    output = np.asarray(output, dtype=float).reshape(-1)
    if task.kind == "regression":
        return TaskPrediction(task.name, task.kind, value=float(output[0]))
    probs = np.array([1.0 - output[0], output[0]]) if task.kind == "binary" else output
    probabilities = {c: float(p) for c, p in zip(task.classes, probs)}
    return TaskPrediction(task.name, task.kind, label=task.classes[int(np.argmax(probs))],
                          probabilities=probabilities)


def compiled_outputs(model: Any, width: int) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """A Keras model as one compiled function of an encoded array, returning numpy arrays by output name."""
    from mtl_core._tf import tf

    # Reads the variables at call time, so a model still being trained answers with its latest weights.
    fn = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec([None, width], tf.float32)])

    def call(x: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v.numpy() for k, v in fn(tf.constant(x, tf.float32)).items()}

    return call


class Predictor:
    """Predicts every task at once: one compiled call of a Keras model (about 0.3 ms for a single row), or
    a ``NumpyNet``'s forward pass."""

    def __init__(self, model: Any, info: ModelInfo) -> None:
        self.model = model
        self.info = info
        self._fn = model if isinstance(model, NumpyNet) else compiled_outputs(model, len(info.schema.encoded_names))

    def outputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Raw outputs (probabilities, or values in original units) keyed by task name."""
        result = self._fn(self.info.schema.encode(frame))
        return {t.name: result[t.output] for t in self.info.tasks}

    def predict_rows(self, frame: pd.DataFrame) -> list[dict[str, TaskPrediction]]:
        """One dict of task predictions per row."""
        outputs = self.outputs(frame)
        return [{t.name: interpret(t, outputs[t.name][i]) for t in self.info.tasks} for i in range(len(frame))]

    def predict_one(self, values: dict[str, object]) -> dict[str, TaskPrediction]:
        """Predict every task for one row given as ``{column: value}``."""
        result = self._fn(self.info.schema.encode_row(values))
        return {t.name: interpret(t, result[t.output][0]) for t in self.info.tasks}
