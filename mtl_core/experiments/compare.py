"""Multi-task vs single-task baselines: per-task relative change and the average Δm.

For each task t with primary metric M_t (accuracy for classification, rmse for regression; see
``mtl_core.training.metrics.primary_metric``) and l_t = 1 where lower is better::

    relative_change_t = (-1)^{l_t} * (M_mtl,t - M_single,t) / M_single,t * 100
    delta_m           = mean over tasks of relative_change_t

Both are signed so that a POSITIVE value means the multi-task model does better than the single-task
model (higher accuracy, lower rmse) and a negative value means sharing hurts. (Maninis et al., CVPR
2019, define Δm with the opposite sign, as a performance drop; here positive = MTL helps.)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from mtl_core.config import TrainConfig, validate_config
from mtl_core.errors import bad_value
from mtl_core.jobs.work import ModelTrained, ProgressCallback, Work

MTL_STAGE = "multi-task model"


def single_stage(task: str) -> str:
    """The progress label of one task's single-task model."""
    return f"single-task model: {task}"


def relative_change(mtl: float, single: float, lower_is_better: bool) -> float:
    """(-1)^l * (mtl - single) / single * 100, so positive means the multi-task model is better; NaN if
    ``single`` is 0 or either value is not finite."""
    if not (math.isfinite(mtl) and math.isfinite(single)) or single == 0:
        return math.nan
    sign = -1.0 if lower_is_better else 1.0
    return sign * (mtl - single) / single * 100.0


def delta_m(mtl: Mapping[str, float], single: Mapping[str, float], lower_is_better: Mapping[str, bool]) -> float:
    """Δm in percent: the mean over tasks of ``relative_change`` (positive = multi-task learning helps)."""
    if not mtl:
        return math.nan
    changes = [relative_change(mtl[t], single[t], lower_is_better[t]) for t in mtl]
    return sum(changes) / len(changes)


@dataclass
class TaskComparison:
    """One task's primary test metric for the multi-task and the single-task model."""

    task: str
    metric: str
    lower_is_better: bool
    mtl: float
    single: float

    @property
    def relative_change(self) -> float:
        """Signed relative change in percent; positive means the multi-task model is better."""
        return relative_change(self.mtl, self.single, self.lower_is_better)

    @property
    def helps(self) -> bool | None:
        """True if multi-task learning helps this task, False if it hurts, None if undecided (NaN or 0)."""
        change = self.relative_change
        return None if math.isnan(change) or change == 0 else change > 0

    def to_dict(self) -> dict:
        """``{"metric", "mtl", "single", "relative_change"}``."""
        return {"metric": self.metric, "mtl": self.mtl, "single": self.single,
                "relative_change": self.relative_change}


@dataclass
class Comparison:
    """Per-task test metrics of the multi-task model and of one single-task model per task, and Δm.

    ``stopped`` is True when ``stop`` interrupted the runs: tasks whose single-task model did not finish
    have ``single`` = NaN, and Δm is then NaN. ``results`` holds each run's ``TrainResult`` under
    ``"mtl"`` and under each task name.
    """

    config: TrainConfig
    tasks: dict[str, TaskComparison]
    stopped: bool = False
    notes: list[str] = field(default_factory=list)
    results: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def delta_m(self) -> float:
        """Δm in percent (positive = multi-task learning helps on average)."""
        return delta_m({t: c.mtl for t, c in self.tasks.items()}, {t: c.single for t, c in self.tasks.items()},
                       {t: c.lower_is_better for t, c in self.tasks.items()})

    def to_dict(self) -> dict:
        """``{"tasks": {task: {"metric", "mtl", "single", "relative_change"}}, "delta_m": x}`` (may hold NaN)."""
        return {"tasks": {t: c.to_dict() for t, c in self.tasks.items()}, "delta_m": self.delta_m}

    def to_frame(self) -> pd.DataFrame:
        """One row per task: task, metric, lower_is_better, mtl, single, relative_change."""
        return pd.DataFrame([{"task": c.task, "metric": c.metric, "lower_is_better": c.lower_is_better,
                              "mtl": c.mtl, "single": c.single, "relative_change": c.relative_change}
                             for c in self.tasks.values()])


def check_comparable(config: TrainConfig) -> TrainConfig:
    """Validate a config for a comparison: a test split and at least two tasks; ConfigError otherwise."""
    config = validate_config(copy.deepcopy(config))
    if config.test_fraction <= 0:
        raise bad_value("test_fraction", config.test_fraction,
                        "the comparison scores every model on the test split; choose a test_fraction above 0")
    if len(config.tasks) < 2:
        raise bad_value("tasks", config.task_names, "the comparison needs at least two tasks")
    return config


def single_task_config(config: TrainConfig, task: str, inputs: list[str],
                       stratify_by: str | None = None) -> TrainConfig:
    """The config of ``task``'s single-task baseline: the same network, optimiser, epochs and seed, the
    multi-task run's input columns, fixed weighting with weight 1 and no gradient-conflict probe.

    ``stratify_by`` (the multi-task run's first classification task, when it is not ``task``) is kept as a
    first task with loss weight 0: it contributes no gradient, but the data preparation stratifies on it
    exactly as in the multi-task run, so both models see the same train/validation/test rows.
    """
    single = copy.deepcopy(config)
    by_name = {spec.column: spec for spec in config.tasks}
    single.tasks = [copy.deepcopy(by_name[task])]
    single.loss_weights = {}
    if stratify_by is not None and stratify_by != task:
        single.tasks.insert(0, copy.deepcopy(by_name[stratify_by]))
        single.loss_weights = {stratify_by: 0.0}
    single.inputs = list(inputs)
    single.heads = {t: sizes for t, sizes in config.heads.items() if t in single.task_names}
    single.weighting, single.weighting_params = "fixed", {}
    single.conflict_every = 0
    return validate_config(single)


class ComparisonRun(Work):
    """Trains the multi-task model, then one single-task model per task; ``stop()`` is thread-safe.

    Bad input raises (ConfigError/DataError) in the constructor, before any training. Run it directly
    (``run()``) or as a ``mtl_core.jobs.job.Job``; its events are one ``ModelTrained`` per finished model.
    """

    label = "Comparison"

    def __init__(self, config: TrainConfig, frame: pd.DataFrame, on_progress: ProgressCallback | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        from mtl_core.training.trainer import Trainer

        super().__init__(on_progress, should_stop)
        self.config = check_comparable(config)
        self.config.conflict_every = 0  # the comparison never shows gradient conflict; skip its cost
        self.frame = frame
        self._mtl_trainer: Trainer | None = Trainer(self.config, frame)
        self._units = 1 + len(self.config.tasks)

    def _train(self, trainer: object, stage: str, unit: int) -> object:
        result = self.train(trainer, stage, unit / self._units, 1 / self._units)
        self.emit(ModelTrained(stage, result.stopped_reason, result.epochs_run, result.seconds))
        return result

    def run(self) -> Comparison:
        """Train every model and return the comparison (partial, with ``stopped=True``, if stopped)."""
        from mtl_core.training.metrics import primary_metric
        from mtl_core.training.trainer import Trainer

        trainer, self._mtl_trainer = self._mtl_trainer, None  # run once; the job keeps no finished Trainer
        if trainer is None:
            raise RuntimeError("a ComparisonRun runs once; make a new one to compare again")
        mtl = self._train(trainer, MTL_STAGE, 0)
        del trainer
        prepared = mtl.prepared
        stratify_by = next((t.name for t in prepared.tasks if t.is_classification), None)
        notes = [] if mtl.stopped_reason == "completed" else [f"Multi-task model: {mtl.message}"]
        results: dict[str, object] = {"mtl": mtl}
        seconds = mtl.seconds
        stopped = self.stop_requested
        comparisons = {}
        for unit, task in enumerate(prepared.tasks, start=1):
            metric, lower = primary_metric(task)
            single_value = math.nan
            if not self.stop_requested:
                config = single_task_config(self.config, task.name, prepared.schema.columns, stratify_by)
                result = self._train(Trainer(config, self.frame), single_stage(task.name), unit)
                seconds += result.seconds
                results[task.name] = result
                if result.stopped_reason == "stopped":
                    stopped = True
                else:
                    single_value = result.test_metrics[task.name][metric]
                    if result.stopped_reason != "completed":
                        notes.append(f"Single-task model {task.name}: {result.message}")
            comparisons[task.name] = TaskComparison(task.name, metric, lower, mtl.test_metrics[task.name][metric],
                                                    single_value)
        stopped = stopped or mtl.stopped_reason == "stopped"
        if not stopped:
            self.finish()
        return Comparison(self.config, comparisons, stopped, notes, results, seconds)


def compare(config: TrainConfig, frame: pd.DataFrame, on_progress: ProgressCallback | None = None,
            should_stop: Callable[[], bool] | None = None) -> Comparison:
    """Train the multi-task model and one single-task model per task (same network sizes, epochs, seed and
    data split) and compare their primary test metrics; needs ``test_fraction > 0`` and two or more tasks.

    ``on_progress(stage, fraction)`` is called as training advances; ``should_stop()`` is polled after each
    epoch and, once true, stops the comparison (the result then has ``stopped=True``).
    """
    return ComparisonRun(config, frame, on_progress, should_stop).run()
