"""Turn a DataFrame and a config into train/validation/test arrays: inputs encoded, targets indexed or standardised."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtl_core.config import TrainConfig
from mtl_core.data.tasks import Task, class_label, is_numeric, resolve_tasks
from mtl_core.errors import DataError, bad_value

MAX_CATEGORIES = 50
SPLITS = ("train", "val", "test")


@dataclass
class InputSchema:
    """How raw input columns become the model's numeric input vector."""

    columns: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)

    @property
    def encoded_names(self) -> list[str]:
        """Names of the encoded features: numeric columns as they are, categories as ``col=value``."""
        names = []
        for col in self.columns:
            if col in self.categories:
                names.extend(f"{col}={v}" for v in self.categories[col])
            else:
                names.append(col)
        return names

    def onehot_mask(self) -> np.ndarray:
        """True for each encoded feature that is a one-hot category indicator."""
        mask = []
        for col in self.columns:
            mask.extend([col in self.categories] * len(self.categories.get(col, [None])))
        return np.array(mask, dtype=bool)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode rows (numeric as float, categorical one-hot); raise DataError on a missing column or bad value."""
        parts = []
        for col in self.columns:
            if col not in frame.columns:
                raise bad_value("inputs", col, "missing from the rows given", DataError)
            values = frame[col]
            if col in self.categories:
                labels = values.map(class_label)
                unknown = sorted(set(labels) - set(self.categories[col]))
                if unknown:
                    raise bad_value(col, unknown[0], f"unknown category; expected one of {self.categories[col]}",
                                    DataError)
                parts.append(np.stack([(labels == v).to_numpy(dtype=np.float32)
                                       for v in self.categories[col]], axis=1))
            else:
                numeric = pd.to_numeric(values, errors="coerce")
                if numeric.isna().any():
                    bad = values[numeric.isna()].iloc[0]
                    raise bad_value(col, bad, "expected a number", DataError)
                parts.append(numeric.to_numpy(dtype=np.float32)[:, None])
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(frame), 0), np.float32)

    def encode_row(self, values: dict[str, object]) -> np.ndarray:
        """Encode one row given as ``{column: value}``, without pandas (the slider path needs speed)."""
        encoded: list[float] = []
        for col in self.columns:
            if col not in values:
                raise bad_value("inputs", col, "missing from the row given", DataError)
            value = values[col]
            if col in self.categories:
                label = class_label(value)
                if label not in self.categories[col]:
                    raise bad_value(col, value, f"unknown category; expected one of {self.categories[col]}",
                                    DataError)
                encoded.extend(1.0 if label == v else 0.0 for v in self.categories[col])
            else:
                try:
                    encoded.append(float(value))
                except (TypeError, ValueError):
                    raise bad_value(col, value, "expected a number", DataError) from None
        return np.array([encoded], dtype=np.float32)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"columns": self.columns, "categories": self.categories}

    @classmethod
    def from_dict(cls, data: dict) -> InputSchema:
        """Inverse of ``to_dict``."""
        return cls(list(data["columns"]), {k: list(v) for k, v in data.get("categories", {}).items()})


@dataclass
class Prepared:
    """Arrays ready for training, plus what is needed to read them back."""

    tasks: list[Task]
    schema: InputSchema
    x: dict[str, np.ndarray]
    y: dict[str, dict[str, np.ndarray]]
    rows: dict[str, np.ndarray]
    feature_mean: np.ndarray
    feature_var: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def task_names(self) -> list[str]:
        """Task names in order."""
        return [t.name for t in self.tasks]

    def size(self, split: str) -> int:
        """Number of rows in a split."""
        return len(self.rows[split])


def input_schema(frame: pd.DataFrame, inputs: list[str]) -> InputSchema:
    """The encoding of ``inputs``: numeric columns as they are, each text column one-hot over its labels."""
    categories = {c: sorted({class_label(v) for v in frame[c]}) for c in inputs if not is_numeric(frame[c])}
    return InputSchema(inputs, categories)


def choose_inputs(frame: pd.DataFrame, config: TrainConfig) -> tuple[list[str], list[str]]:
    """The input columns (given, or every non-target column that can be encoded) and notes on any skipped."""
    targets = set(config.task_names)
    notes = []
    if config.inputs is not None:
        for col in config.inputs:
            if col not in frame.columns:
                raise bad_value("inputs", col, f"no such column; columns are {list(frame.columns)}", DataError)
            if col in targets:
                raise bad_value("inputs", col, "a task's target column cannot also be an input", DataError)
            if not is_numeric(frame[col]) and frame[col].nunique() > MAX_CATEGORIES:
                raise bad_value("inputs", col, f"a text column with {frame[col].nunique()} distinct values; "
                                f"at most {MAX_CATEGORIES} categories are supported", DataError)
        return list(config.inputs), notes
    inputs = []
    for col in frame.columns:
        if col in targets:
            continue
        if not is_numeric(frame[col]) and frame[col].nunique() > MAX_CATEGORIES:
            notes.append(f"Skipped input {col!r}: text with {frame[col].nunique()} distinct values.")
            continue
        if frame[col].nunique() < 2:
            notes.append(f"Skipped input {col!r}: it has a single value.")
            continue
        inputs.append(col)
    if not inputs:
        raise bad_value("inputs", [], "no usable input column is left once the task columns are removed", DataError)
    return inputs, notes


def _split(n: int, strata: np.ndarray | None, config: TrainConfig) -> dict[str, np.ndarray]:
    index = np.arange(n)
    holdout = config.val_fraction + config.test_fraction
    if holdout == 0:
        return {"train": index, "val": index[:0], "test": index[:0]}
    # Imported here (about 1 s): a task or input error found before the split never waits for scikit-learn.
    from sklearn.model_selection import train_test_split

    def cut(idx: np.ndarray, strat: np.ndarray | None, size: float) -> tuple[np.ndarray, np.ndarray]:
        try:
            return train_test_split(idx, test_size=size, random_state=config.seed, stratify=strat)
        except ValueError:
            # Too few members in a class to stratify: fall back to a plain seeded split.
            return train_test_split(idx, test_size=size, random_state=config.seed)

    train, rest = cut(index, strata, holdout)
    if config.val_fraction == 0:
        return {"train": np.sort(train), "val": index[:0], "test": np.sort(rest)}
    if config.test_fraction == 0:
        return {"train": np.sort(train), "val": np.sort(rest), "test": index[:0]}
    rest_strata = strata[rest] if strata is not None else None
    val, test = cut(rest, rest_strata, config.test_fraction / holdout)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def target_array(task: Task, series: pd.Series) -> np.ndarray:
    """Class indices (int32) for classification, values (float32) for regression."""
    if task.is_classification:
        lookup = {c: i for i, c in enumerate(task.classes)}
        return series.map(class_label).map(lookup).to_numpy(dtype=np.int32)
    return series.to_numpy(dtype=np.float32)


def prepare(frame: pd.DataFrame, config: TrainConfig) -> Prepared:
    """Resolve tasks and inputs, split the rows with the config's seed, and encode everything."""
    frame = frame.reset_index(drop=True)
    tasks = resolve_tasks(frame, config.tasks)
    inputs, notes = choose_inputs(frame, config)
    schema = input_schema(frame, inputs)
    first_class = next((t for t in tasks if t.is_classification), None)
    strata = target_array(first_class, frame[first_class.name]) if first_class else None
    rows = _split(len(frame), strata, config)
    if len(rows["train"]) < 2:
        raise bad_value("rows", len(frame), "too few rows left for training after the validation/test split",
                        DataError)
    x_all = schema.encode(frame)
    x = {s: x_all[rows[s]] for s in SPLITS}
    train_frame = frame.iloc[rows["train"]]
    for task in tasks:
        if not task.is_classification:
            values = train_frame[task.name].to_numpy(dtype=np.float64)
            task.mean = float(values.mean())
            task.std = float(values.std()) or 1.0
    y = {s: {t.name: target_array(t, frame[t.name].iloc[rows[s]]) for t in tasks} for s in SPLITS}
    if config.standardize_inputs:
        mean = x["train"].mean(axis=0)
        var = x["train"].var(axis=0)
        # One-hot columns stay 0/1 so that a category reads the same in every row.
        is_onehot = schema.onehot_mask()
        mean[is_onehot] = 0.0
        var[is_onehot] = 1.0
        var[var == 0] = 1.0
    else:
        mean = np.zeros(x_all.shape[1], np.float32)
        var = np.ones(x_all.shape[1], np.float32)
    return Prepared(tasks, schema, x, y, rows, mean.astype(np.float32), var.astype(np.float32), notes)
