"""Fast predictions in labels and original units, from a model that may still be training."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtl_core._tf import keras, tf
from mtl_core.data.tasks import Task
from mtl_core.io.model_info import ModelInfo


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


class Predictor:
    """Predicts every task at once through one compiled function (about 0.3 ms for a single row)."""

    def __init__(self, model: keras.Model, info: ModelInfo) -> None:
        self.model = model
        self.info = info
        width = len(info.schema.encoded_names)
        # Reads the variables at call time, so a model still being trained answers with its latest weights.
        self._fn = tf.function(lambda x: model(x, training=False),
                               input_signature=[tf.TensorSpec([None, width], tf.float32)])

    def outputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Raw outputs (probabilities, or values in original units) keyed by task name."""
        x = self.info.schema.encode(frame)
        result = self._fn(tf.constant(x))
        return {t.name: result[t.output].numpy() for t in self.info.tasks}

    def predict_rows(self, frame: pd.DataFrame) -> list[dict[str, TaskPrediction]]:
        """One dict of task predictions per row."""
        outputs = self.outputs(frame)
        return [{t.name: interpret(t, outputs[t.name][i]) for t in self.info.tasks} for i in range(len(frame))]

    def predict_one(self, values: dict[str, object]) -> dict[str, TaskPrediction]:
        """Predict every task for one row given as ``{column: value}``."""
        result = self._fn(tf.constant(self.info.schema.encode_row(values)))
        return {t.name: interpret(t, result[t.output].numpy()[0]) for t in self.info.tasks}
