"""Tasks: a target column, its kind (inferred or chosen), its classes or its units."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtl_core.config import TASK_KINDS, TaskSpec, kind_param
from mtl_core.errors import DataError, bad_value

MAX_CLASSES = 50
# Integer-valued numeric columns with this many distinct values or fewer may be read as classes...
MAX_INFERRED_INTEGER_CLASSES = 10
# ...when each value has this many rows on average: fewer, and the values are measurements (Linnerud's Waist,
# 9 values on 20 rows), where a class would be a handful of rows and its test accuracy meaningless.
MIN_ROWS_PER_INFERRED_CLASS = 5

CLASSIFICATION_METRICS = ("accuracy", "f1_macro")
REGRESSION_METRICS = ("mae", "rmse", "r2")


@dataclass
class Task:
    """A resolved task: its column, kind, output layer name, and how to turn outputs back into labels or units."""

    name: str
    kind: str
    output: str
    classes: list[str] = field(default_factory=list)
    mean: float = 0.0
    std: float = 1.0

    @property
    def is_classification(self) -> bool:
        """True for binary and multiclass tasks."""
        return self.kind != "regression"

    @property
    def units(self) -> int:
        """Width of the output layer."""
        return len(self.classes) if self.kind == "multiclass" else 1

    @property
    def metrics(self) -> tuple[str, ...]:
        """Names of the metrics reported for this task."""
        return CLASSIFICATION_METRICS if self.is_classification else REGRESSION_METRICS

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"name": self.name, "kind": self.kind, "output": self.output, "classes": self.classes,
                "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, data: dict) -> Task:
        """Inverse of ``to_dict``."""
        return cls(data["name"], data["kind"], data["output"], list(data.get("classes", [])),
                   float(data.get("mean", 0.0)), float(data.get("std", 1.0)))


def is_numeric(series: pd.Series) -> bool:
    """True for numeric, non-boolean columns."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def infer_kind(series: pd.Series) -> str:
    """Guess a task kind from a column: text and whole-number codes are classes, other numbers regression.

    The rule, in order:

    1. text (or any non-numeric column): ``binary`` with two distinct values, else ``multiclass``;
    2. a number column with two distinct values: ``binary``;
    3. whole numbers with at most ``MAX_INFERRED_INTEGER_CLASSES`` (10) distinct values *and* at least
       ``MIN_ROWS_PER_INFERRED_CLASS`` (5) rows per value on average: ``multiclass`` (codes such as 1, 2, 3 on
       hundreds of rows, or penguins' year);
    4. anything else: ``regression``. Whole numbers with many distinct values for the column's size are
       measurements: Linnerud's Waist has 9 values on 20 rows, so it is a regression, not 9 classes of two
       rows each.
    """
    values = series.dropna()
    n_unique = values.nunique()
    if not is_numeric(values):
        return "binary" if n_unique == 2 else "multiclass"
    if n_unique == 2:
        return "binary"
    whole = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    few_for_size = n_unique * MIN_ROWS_PER_INFERRED_CLASS <= len(values)
    if whole and n_unique <= MAX_INFERRED_INTEGER_CLASSES and few_for_size:
        return "multiclass"
    return "regression"


def class_label(value: object) -> str:
    """How a class value is shown: whole floats without a trailing .0."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def output_name(task: str, taken: set[str]) -> str:
    """A Keras-safe, unique layer name for a task's output."""
    name = re.sub(r"[^0-9A-Za-z_.-]", "_", task.strip()) or "task"
    if not name[0].isalpha():
        name = "t_" + name
    base, n = name, 2
    while name in taken or name.startswith("shared"):
        name = f"{base}_{n}"
        n += 1
    taken.add(name)
    return name


def resolve_tasks(frame: pd.DataFrame, specs: list[TaskSpec]) -> list[Task]:
    """Check each task against the data and fix its kind and classes; raise DataError naming the task."""
    if not specs:
        raise bad_value("tasks", [], "choose at least one task (a target column)", DataError)
    taken: set[str] = set()
    tasks = []
    for spec in specs:
        if spec.column not in frame.columns:
            raise bad_value("task", spec.column, f"no such column; columns are {list(frame.columns)}", DataError)
        series = frame[spec.column]
        kind = spec.kind or infer_kind(series)
        if kind not in TASK_KINDS:
            raise bad_value(kind_param(spec.column), kind, f"expected one of {TASK_KINDS}", DataError)
        task = Task(spec.column, kind, output_name(spec.column, taken))
        if kind == "regression":
            if not is_numeric(series):
                sample = series.dropna().astype(str).iloc[0] if series.notna().any() else ""
                raise DataError(f"task={spec.column!r} (kind 'regression') is invalid: the column holds text such "
                                f"as {sample!r}; a regression target must be numeric, so choose binary or "
                                "multiclass.", param="task", value=spec.column)
            if series.nunique() < 2:
                raise DataError(f"task={spec.column!r} is invalid: every value is {series.iloc[0]!r}; a regression "
                                "target needs at least two distinct values.", param="task", value=spec.column)
        else:
            uniques = sorted(series.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
            if len(uniques) < 2:
                only = class_label(uniques[0]) if uniques else None
                raise DataError(f"task={spec.column!r} is invalid: it has one class ({only!r}); a classification "
                                "target needs at least two classes.", param="task", value=spec.column)
            if kind == "binary" and len(uniques) != 2:
                raise bad_value(kind_param(spec.column), "binary",
                                f"the column has {len(uniques)} classes; choose multiclass", DataError)
            if len(uniques) > MAX_CLASSES:
                raise DataError(f"task={spec.column!r} is invalid: it has {len(uniques)} classes and at most "
                                f"{MAX_CLASSES} are supported; treat it as regression instead "
                                f"(--task {spec.column}:regression).", param="task", value=spec.column)
            task.classes = [class_label(v) for v in uniques]
        tasks.append(task)
    return tasks
