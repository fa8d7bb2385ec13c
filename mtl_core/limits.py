"""Limits on one run's size, so that one link or one student cannot take a shared server's cores and memory.

A server (the dashboard) reads them from its environment (``RunLimits.from_env``); the command line and the
Python API have none unless asked (``mtl train --max-run-size``). Each limit is a number a teacher can read
and change: the variable's name, its default and what it counts are in ``LIMITS`` (and in the README's
classroom section). No TensorFlow: the sizes come from the model's shape (``models/shape.py``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from mtl_core.errors import ConfigError, short

if TYPE_CHECKING:
    import pandas as pd

    from mtl_core.config import TrainConfig

#: Values of a limit's variable that switch it off.
OFF = ("", "0", "none", "off", "no")


@dataclass(frozen=True)
class Limit:
    """One limit: the environment variable that sets it, its default and what it counts."""

    name: str
    variable: str
    default: float
    counts: str


LIMITS: dict[str, Limit] = {limit.name: limit for limit in (
    Limit("run_size", "MTL_MAX_RUN_SIZE", 2e10, "parameters × training rows × epochs"),
    Limit("steps", "MTL_MAX_RUN_STEPS", 1e6, "training steps (epochs × batches per epoch)"),
    Limit("parameters", "MTL_MAX_PARAMETERS", 2e6, "model parameters"),
    Limit("data_cells", "MTL_MAX_DATA_CELLS", 1e7, "cells of generated data (rows × columns)"),
)}


class LimitError(ConfigError):
    """A run (or its generated data) is over a server limit; ``param`` is the limit's variable."""


def _number(value: float) -> str:
    # 20000000000 and 2e+10 both read badly on a page: 2e10 (whole numbers below a million with commas).
    if value < 1e6:
        return f"{value:,.0f}"
    return re.sub(r"e\+?0*(\d)", r"e\1", f"{value:.3g}")


@dataclass(frozen=True)
class RunLimits:
    """The limits in force; None means no limit."""

    run_size: float | None = None
    steps: float | None = None
    parameters: float | None = None
    data_cells: float | None = None

    @classmethod
    def defaults(cls) -> RunLimits:
        """Every limit at its default (what a server uses when its environment sets none)."""
        return cls(**{name: limit.default for name, limit in LIMITS.items()})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunLimits:
        """The server's limits: each variable of ``LIMITS`` if set (``0``/``off``: no limit), else its default.

        Raises ConfigError naming the variable when its value is not a number.
        """
        env = os.environ if environ is None else environ
        values: dict[str, float | None] = {}
        for name, limit in LIMITS.items():
            text = env.get(limit.variable)
            if text is None:
                values[name] = limit.default
                continue
            if text.strip().lower() in OFF:
                values[name] = None
                continue
            try:
                number = float(text.replace("_", ""))
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or number < 0:
                raise ConfigError(f"{limit.variable}={short(text)!r} is invalid: expected a number such as "
                                  f"{_number(limit.default)}, or 0 for no limit.", param=limit.variable, value=text)
            values[name] = number or None
        return cls(**values)

    def describe(self) -> list[str]:
        """One line per limit in force: what it counts, its value and its variable."""
        out = []
        for spec in fields(self):
            value = getattr(self, spec.name)
            limit = LIMITS[spec.name]
            out.append(f"{limit.counts}: {'no limit' if value is None else _number(value)} ({limit.variable})")
        return out


@dataclass(frozen=True)
class RunSize:
    """What a run costs: its model's parameters, the rows it trains on, its epochs and optimiser steps."""

    parameters: int
    train_rows: int
    epochs: int
    batch_size: int

    @property
    def steps(self) -> int:
        """Optimiser steps: epochs × batches per epoch."""
        return self.epochs * math.ceil(self.train_rows / max(self.batch_size, 1))

    @property
    def run_size(self) -> float:
        """Parameters × training rows × epochs (about a sixth of the run's floating-point operations)."""
        return float(self.parameters) * self.train_rows * self.epochs


def run_size(config: TrainConfig, frame: pd.DataFrame) -> RunSize:
    """The size of the run ``config`` describes on ``frame`` (a valid config; tasks missing from it are left out)."""
    from mtl_core.models.shape import model_shape, parameter_count

    holdout = config.val_fraction + config.test_fraction
    train_rows = max(1, round(len(frame) * (1 - holdout)))
    return RunSize(parameter_count(model_shape(frame, config)), train_rows, config.epochs, config.batch_size)


def _over(limit: Limit, measured: float, value: float, detail: str, advice: str) -> LimitError:
    return LimitError(
        f"This run is too large for this server: {detail}, over the limit of {_number(value)} {limit.counts} "
        f"set by {limit.variable}. {advice} (or ask whoever runs the server to raise {limit.variable}).",
        param=limit.variable, value=measured)


def check_run(config: TrainConfig, frame: pd.DataFrame, limits: RunLimits) -> RunSize:
    """Raise LimitError naming the limit's variable when the run is over one of ``limits``; else its size."""
    size = run_size(config, frame)
    if limits.parameters is not None and size.parameters > limits.parameters:
        raise _over(LIMITS["parameters"], size.parameters, limits.parameters,
                    f"its model has {size.parameters:,} parameters",
                    "Use fewer or narrower layers, or fewer experts")
    if limits.run_size is not None and size.run_size > limits.run_size:
        raise _over(LIMITS["run_size"], size.run_size, limits.run_size,
                    f"{size.parameters:,} parameters × {size.train_rows:,} training rows × {size.epochs:,} epochs "
                    f"is {_number(size.run_size)}", "Use fewer epochs, fewer rows, or fewer or narrower layers")
    if limits.steps is not None and size.steps > limits.steps:
        raise _over(LIMITS["steps"], size.steps, limits.steps,
                    f"{size.epochs:,} epochs of {math.ceil(size.train_rows / max(size.batch_size, 1)):,} batches "
                    f"(batch size {size.batch_size:,}) is {_number(size.steps)} steps",
                    "Use fewer epochs or a larger batch size")
    return size


def generated_cells(dataset: str, params: Mapping[str, object]) -> int | None:
    """Rows × columns a generated dataset would have with ``params`` (before making it), None for a fixed one.

    A generator's rows are its ``n`` parameter and its inputs its ``d`` parameter (2 where it has none, as on
    the plane), plus one column per suggested task.
    """
    from mtl_core.data.registry import DATASETS

    spec = DATASETS.get(dataset.strip().lower()) if isinstance(dataset, str) else None
    if spec is None or not spec.params:
        return None
    defaults = {p.name: p.default for p in spec.params}
    if "n" not in defaults:
        return None
    values = {**defaults, **dict(params)}
    try:
        rows, inputs = int(float(values["n"])), int(float(values.get("d", 2)))
    except (TypeError, ValueError):
        return None  # the loader says what is wrong with the value
    return rows * (inputs + len(spec.suggested_tasks))


def check_data(dataset: str, params: Mapping[str, object], limits: RunLimits) -> None:
    """Raise LimitError before a generated dataset over ``limits.data_cells`` is made."""
    cells = generated_cells(dataset, params)
    if limits.data_cells is None or cells is None or cells <= limits.data_cells:
        return
    limit = LIMITS["data_cells"]
    raise LimitError(
        f"This dataset is too large for this server: {_number(cells)} cells of generated data "
        f"(rows × columns), over the limit of {_number(limits.data_cells)} set by {limit.variable}. Use fewer rows "
        f"(n) or inputs (d) (or ask whoever runs the server to raise {limit.variable}).",
        param=limit.variable, value=cells)
