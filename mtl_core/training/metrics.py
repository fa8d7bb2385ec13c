"""Task metrics in the target's original units, computed with scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error, r2_score

from mtl_core.data.tasks import Task

#: The one metric per task that the single-task comparison uses, and whether lower is better.
PRIMARY_METRIC = {"classification": ("accuracy", False), "regression": ("rmse", True)}


def primary_metric(task: Task) -> tuple[str, bool]:
    """The task's primary metric name and whether lower is better."""
    return PRIMARY_METRIC["classification" if task.is_classification else "regression"]


def predicted_classes(task: Task, output: np.ndarray) -> np.ndarray:
    """Class indices from a classification output (probabilities)."""
    if task.kind == "binary":
        return (output.reshape(-1) > 0.5).astype(np.int32)
    return np.argmax(output, axis=1).astype(np.int32)


def task_metrics(task: Task, y_true: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """Accuracy and macro F1 for classification; MAE, RMSE and R² (original units) for regression."""
    if len(y_true) == 0:
        return {}
    if task.is_classification:
        pred = predicted_classes(task, output)
        return {"accuracy": float(accuracy_score(y_true, pred)),
                "f1_macro": float(f1_score(y_true, pred, average="macro", zero_division=0))}
    pred = output.reshape(-1)
    result = {"mae": float(mean_absolute_error(y_true, pred)),
              "rmse": float(np.sqrt(mean_squared_error(y_true, pred)))}
    result["r2"] = float(r2_score(y_true, pred)) if len(y_true) > 1 else float("nan")
    return result
