"""The training configuration: one dataclass, validated in one place, serialisable to JSON."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from mtl_core.errors import bad_value
from mtl_core.fields import (  # noqa: F401 - re-exported: the config's vocabulary lives in the field table
    ACTIVATIONS,
    FIELDS,
    MAX_EPOCHS,
    MAX_LAYER_UNITS,
    OPTIMIZERS,
    REGRESSION_LOSSES,
    TASK_KINDS,
)


def kind_param(column: str) -> str:
    """The parameter name errors use for a task's kind, e.g. ``kind of task 'species'``."""
    return f"kind of task {column!r}"


@dataclass
class TaskSpec:
    """A target column and, optionally, its kind (None means inferred from the column)."""

    column: str
    kind: str | None = None

    @classmethod
    def parse(cls, text: str) -> TaskSpec:
        """Parse the CLI form ``COL`` or ``COL:KIND``."""
        column, sep, kind = text.rpartition(":")
        if not sep or kind not in TASK_KINDS:
            return cls(text.strip())
        return cls(column.strip(), kind)


@dataclass
class TrainConfig:
    """Everything that defines a run: data, tasks, network, optimiser, weighting and seed."""

    dataset: str = "iris"
    dataset_params: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskSpec] = field(default_factory=list)
    inputs: list[str] | None = None
    arch: str = "hard"
    shared: list[int] = field(default_factory=lambda: [32, 16])
    head: list[int] = field(default_factory=lambda: [8])
    heads: dict[str, list[int]] = field(default_factory=dict)
    activation: str = "relu"
    dropout: float = 0.0
    l2: float = 0.0
    experts: int = 4
    expert_units: int = 16
    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 32
    epochs: int = 100
    loss_weights: dict[str, float] = field(default_factory=dict)
    weighting: str = "fixed"
    weighting_params: dict[str, float] = field(default_factory=dict)
    regression_loss: str = "mse"
    # On by default: results come from the epoch with the lowest validation loss, not from wherever the epoch
    # budget ran out while the validation loss climbed; 20 epochs of patience ride out small-split noise.
    early_stopping: bool = True
    patience: int = 20
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    standardize_inputs: bool = True
    conflict_every: int = 1
    seed: int = 0

    @property
    def task_names(self) -> list[str]:
        """The task (target column) names in order."""
        return [t.column for t in self.tasks]

    def head_sizes(self, task: str) -> list[int]:
        """Hidden layer sizes of one task's head."""
        return list(self.heads.get(task, self.head))

    def weights_for(self, tasks: list[str]) -> dict[str, float]:
        """Loss weights for the given tasks, 1.0 where none was set."""
        return {t: float(self.loss_weights.get(t, 1.0)) for t in tasks}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a config from ``to_dict`` output (e.g. a saved JSON file), then validate it."""
        if not isinstance(data, dict):
            raise bad_value("config", type(data).__name__, "expected a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise bad_value("config", unknown[0], f"unknown key; valid keys are {sorted(known)}")
        values = dict(data)
        raw_tasks = values.get("tasks", [])
        if not isinstance(raw_tasks, list):
            raise bad_value("tasks", raw_tasks, "expected a list")
        tasks = []
        for item in raw_tasks:
            if isinstance(item, str):
                tasks.append(TaskSpec.parse(item))
            elif isinstance(item, dict) and "column" in item:
                tasks.append(TaskSpec(str(item["column"]), item.get("kind")))
            else:
                raise bad_value("tasks", item, "expected a column name or {'column': ..., 'kind': ...}")
        values["tasks"] = tasks
        return validate_config(cls(**values))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if not _is_number(value) or int(value) != value:
        raise bad_value(name, value, "expected a whole number")
    if not low <= value <= high:
        raise bad_value(name, value, f"expected a whole number from {low} to {high}")
    return int(value)


def _check_float(name: str, value: object, low: float, high: float, *, low_open: bool = False) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise bad_value(name, value, "expected a finite number")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        bound = ">" if low_open else ">="
        raise bad_value(name, value, f"expected a number {bound} {low} and <= {high}")
    return float(value)


def _check_choice(name: str, value: object, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise bad_value(name, value, f"expected one of {', '.join(repr(c) for c in choices)}")
    return str(value)


def _check_sizes(name: str, sizes: object, *, allow_empty: bool = True, row: str | None = None) -> list[int]:
    if not isinstance(sizes, (list, tuple)):
        raise bad_value(name, sizes, "expected a list of layer sizes")
    if not sizes and not allow_empty:
        raise bad_value(name, list(sizes), "expected at least one layer")
    most = FIELDS[row or name].max_layers
    if most is not None and len(sizes) > most:
        raise bad_value(name, list(sizes), f"expected at most {most} layers, got {len(sizes)}")
    for size in sizes:
        if not _is_number(size) or int(size) != size or not 1 <= size <= MAX_LAYER_UNITS:
            raise bad_value(name, list(sizes), f"every layer size must be a whole number from 1 to {MAX_LAYER_UNITS}")
    return [int(s) for s in sizes]


def _check_field(name: str, value: object) -> object:
    """Check a plain setting against its row of the field table."""
    spec = FIELDS[name]
    if spec.choices is not None:
        return _check_choice(name, value, spec.options())
    if spec.kind is int:
        return _check_int(name, value, int(spec.low), int(spec.high))
    return _check_float(name, value, spec.low, spec.high, low_open=spec.low_open)


def parse_sizes(name: str, text: str) -> list[int]:
    """Parse ``"32,16"`` into ``[32, 16]``; an empty string means no layers."""
    text = text.strip()
    if not text:
        return []
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise bad_value(name, text, "expected comma-separated whole numbers such as 32,16") from None


def validate_config(config: TrainConfig) -> TrainConfig:
    """Check every field that can be checked without data; raise ConfigError naming the first bad one."""
    from mtl_core.registries import check_weighting_params

    if not isinstance(config.dataset, str) or not config.dataset:
        raise bad_value("dataset", config.dataset, "expected a dataset name")
    if not isinstance(config.dataset_params, dict):
        raise bad_value("dataset_params", config.dataset_params, "expected a mapping")
    if not config.tasks:
        raise bad_value("tasks", [], "choose at least one task (a target column)")
    names = []
    for task in config.tasks:
        if not isinstance(task.column, str) or not task.column.strip():
            raise bad_value("task", task.column, "expected a column name")
        if task.kind is not None:
            _check_choice(kind_param(task.column), task.kind, TASK_KINDS)
        names.append(task.column)
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise bad_value("tasks", duplicated[0], "each task column may be chosen once")
    if config.inputs is not None:
        if not isinstance(config.inputs, list) or not config.inputs:
            raise bad_value("inputs", config.inputs, "expected a non-empty list of columns (or None for all)")
        overlap = sorted(set(config.inputs) & set(names))
        if overlap:
            raise bad_value("inputs", overlap[0], "a task's target column cannot also be an input")
    _check_field("arch", config.arch)
    config.shared = _check_sizes("shared", config.shared)
    config.head = _check_sizes("head", config.head)
    for task, sizes in config.heads.items():
        if task not in names:
            raise bad_value("heads", task, f"not a task; tasks are {names}")
        config.heads[task] = _check_sizes(f"heads[{task!r}]", sizes, row="heads")
    for name in ("activation", "dropout", "l2", "experts", "expert_units", "optimizer", "lr", "batch_size",
                 "epochs"):
        setattr(config, name, _check_field(name, getattr(config, name)))
    if not isinstance(config.loss_weights, dict):
        raise bad_value("loss_weights", config.loss_weights, "expected a mapping of task to weight")
    for task, weight in config.loss_weights.items():
        if task not in names:
            raise bad_value("loss_weight", task, f"not a task; tasks are {names}")
        config.loss_weights[task] = check_weight(task, weight)
    if all(w == 0 for w in config.weights_for(names).values()):
        raise bad_value("loss_weights", config.weights_for(names), "at least one loss weight must be above 0")
    _check_field("weighting", config.weighting)
    if not isinstance(config.weighting_params, dict):
        raise bad_value("weighting_params", config.weighting_params, "expected a mapping of parameter to number")
    config.weighting_params = check_weighting_params(config.weighting, config.weighting_params)
    for name in ("regression_loss", "patience", "val_fraction", "test_fraction"):
        setattr(config, name, _check_field(name, getattr(config, name)))
    if config.early_stopping and config.val_fraction == 0:
        raise bad_value("early_stopping", True, "early stopping needs a validation split (val_fraction > 0); "
                        "keep one, or turn early stopping off (--no-early-stopping)")
    config.conflict_every = _check_field("conflict_every", config.conflict_every)
    config.seed = _check_field("seed", config.seed)
    return config


def check_weight(task: str, weight: object) -> float:
    """Validate one loss weight (a finite number >= 0)."""
    if not _is_number(weight) or not math.isfinite(weight) or weight < 0:
        raise bad_value(f"loss_weight[{task!r}]", weight, "expected a finite number >= 0")
    return float(weight)
