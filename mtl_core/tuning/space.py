"""The tuning search space: one table of dimensions (name, how it samples, help), and applying a trial to a config.

Each dimension draws through an Optuna-like ``trial`` (``suggest_float``/``suggest_int``/``suggest_categorical``)
and writes its value onto a copy of the base TrainConfig. Nothing here imports Optuna or TensorFlow, so the CLI
and the UI can list the dimensions cheaply.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mtl_core.config import TrainConfig
from mtl_core.errors import bad_value
from mtl_core.registries import WEIGHTINGS

#: Loss weights are drawn log-uniformly in this range (only ratios and the overall scale matter).
WEIGHT_RANGE = (0.1, 10.0)
WIDTH_RANGE = (4, 128)
DEPTH_RANGE = (1, 4)
HEAD_CHOICES = (0, 4, 8, 16, 32)
LR_RANGE = (1e-4, 0.1)
DROPOUT_RANGE = (0.0, 0.5)


class SuggestTrial(Protocol):
    """The part of ``optuna.trial.Trial`` the space uses."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...  # noqa: D102
    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...  # noqa: D102
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...  # noqa: D102


@dataclass(frozen=True)
class Dimension:
    """One tickable dimension: its name, a one-line description of how it samples, and the sampling function."""

    name: str
    sampling: str
    help: str
    apply: Callable[[SuggestTrial, TrainConfig, list[str]], None]


def _weighting(trial: SuggestTrial, config: TrainConfig, tasks: list[str]) -> None:
    config.weighting = trial.suggest_categorical("weighting", list(WEIGHTINGS))
    config.weighting_params = {}


def _weights(trial: SuggestTrial, config: TrainConfig, tasks: list[str]) -> None:
    # Only the strategies that read the user's weights (fixed) get them: a weight another strategy ignores
    # would be a dimension the sampler spends trials on for nothing.
    if not WEIGHTINGS[config.weighting].uses_user_weights:
        return
    config.loss_weights = {t: trial.suggest_float(f"weight[{t}]", *WEIGHT_RANGE, log=True) for t in tasks}


def _width(trial: SuggestTrial, config: TrainConfig, tasks: list[str]) -> None:
    width = trial.suggest_int("width", *WIDTH_RANGE, log=True)
    config.shared = [width] * max(len(config.shared), 1)


def _depth(trial: SuggestTrial, config: TrainConfig, tasks: list[str]) -> None:
    depth = trial.suggest_int("depth", *DEPTH_RANGE)
    width = config.shared[0] if config.shared else 16
    config.shared = [width] * depth


def _head(trial: SuggestTrial, config: TrainConfig, tasks: list[str]) -> None:
    units = trial.suggest_categorical("head", list(HEAD_CHOICES))
    config.head = [units] if units else []
    config.heads = {}


def _lr(trial: SuggestTrial, config: TrainConfig, tasks: list[str]) -> None:
    config.lr = trial.suggest_float("lr", *LR_RANGE, log=True)


def _dropout(trial: SuggestTrial, config: TrainConfig, tasks: list[str]) -> None:
    config.dropout = trial.suggest_float("dropout", *DROPOUT_RANGE)


# Order matters: the weighting is drawn before the weights (they depend on it), the width before the depth.
SPACE: dict[str, Dimension] = {d.name: d for d in (
    Dimension("weighting", "categorical over the registered weighting methods", "weighting method", _weighting),
    Dimension("weights", f"log-uniform {WEIGHT_RANGE[0]:g}..{WEIGHT_RANGE[1]:g} per task (fixed weighting only)",
              "each task's loss weight", _weights),
    Dimension("width", f"log-uniform integer {WIDTH_RANGE[0]}..{WIDTH_RANGE[1]}",
              "units of every shared trunk layer", _width),
    Dimension("depth", f"integer {DEPTH_RANGE[0]}..{DEPTH_RANGE[1]}", "number of shared trunk layers", _depth),
    Dimension("head", f"categorical {', '.join(map(str, HEAD_CHOICES))} (0 = no hidden layer)",
              "hidden units of each task head", _head),
    Dimension("lr", f"log-uniform {LR_RANGE[0]:g}..{LR_RANGE[1]:g}", "learning rate", _lr),
    Dimension("dropout", f"uniform {DROPOUT_RANGE[0]:g}..{DROPOUT_RANGE[1]:g}", "dropout rate", _dropout),
)}
DEFAULT_SPACE = ("weights", "lr")


def parse_space(text: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """The ticked dimensions from ``"weights,lr"`` (or a list), in table order; ConfigError naming ``space``."""
    if text is None:
        return list(DEFAULT_SPACE)
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [n.strip() for n in items if n.strip()]
    if not names:
        raise bad_value("space", text, f"choose at least one of {', '.join(SPACE)}")
    unknown = [n for n in names if n not in SPACE]
    if unknown:
        raise bad_value("space", unknown[0], f"expected one of {', '.join(SPACE)}")
    return [n for n in SPACE if n in names]


def apply_space(trial: SuggestTrial, base: TrainConfig, space: list[str]) -> TrainConfig:
    """A copy of ``base`` with every ticked dimension drawn from ``trial``."""
    config = copy.deepcopy(base)
    tasks = config.task_names
    for name in space:
        SPACE[name].apply(trial, config, tasks)
    return config


def space_help() -> str:
    """One line per dimension, for ``--help`` and the docs."""
    return "; ".join(f"{d.name}: {d.help} ({d.sampling})" for d in SPACE.values())
