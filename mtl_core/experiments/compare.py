"""Multi-task vs single-task baselines over K seeds: per-task relative change and the average Δm, with spread.

For each task t with primary metric M_t (accuracy for classification, rmse for regression; see
``mtl_core.training.metrics.primary_metric``) and l_t = 1 where lower is better, on each seed s::

    relative_change_t,s = (-1)^{l_t} * (M_mtl,t,s - M_single,t,s) / M_single,t,s * 100
    delta_m_s           = mean over tasks of relative_change_t,s

Both are signed so that a POSITIVE value means the multi-task model does better than the single-task
model (higher accuracy, lower rmse) and a negative value means sharing hurts. (Maninis et al., CVPR
2019, define Δm with the opposite sign, as a performance drop; here positive = MTL helps.)

Every model is trained on the seeds ``config.seed, config.seed + 1, ...`` (the seed sets the split and the
starting weights), the multi-task and the single-task model of one seed on the same split, so the changes are
paired by seed: a task's ``relative_change`` and the comparison's ``delta_m`` are their means over seeds, with a
95 % Student-t interval, a paired t-test and a verdict in words (``mtl_core.experiments.stats``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from mtl_core.config import TrainConfig, validate_config
from mtl_core.errors import bad_value
from mtl_core.experiments import stats
from mtl_core.fields import MAX_SEED
from mtl_core.jobs.work import ModelTrained, ProgressCallback, Work

MTL_STAGE = "multi-task model"
#: Seeds per model unless told otherwise (CLI ``--seeds``, the compare panel): enough for an interval.
DEFAULT_SEEDS = 3
MAX_SEEDS = 20
#: The variant name of a plain comparison (one multi-task model: the config as given).
MTL = "mtl"


def single_stage(task: str) -> str:
    """The progress label of one task's single-task model."""
    return f"single-task model: {task}"


def seed_stage(stage: str, seed: int, k: int) -> str:
    """A progress label with the seed it trains on (unchanged when there is one seed)."""
    return stage if k == 1 else f"{stage}, seed {seed}"


def check_seeds(seeds: object) -> int:
    """The number of seeds as an int from 1 to ``MAX_SEEDS``; ConfigError naming ``seeds`` otherwise."""
    ok = isinstance(seeds, int) and not isinstance(seeds, bool) and 1 <= seeds <= MAX_SEEDS
    if not ok:
        raise bad_value("seeds", seeds, f"expected a whole number of seeds from 1 to {MAX_SEEDS}")
    return seeds


def seed_list(first: int, k: int) -> list[int]:
    """The K seeds ``first, first + 1, ...``; ConfigError if the last would pass the largest seed."""
    k = check_seeds(k)
    if first + k - 1 > MAX_SEED:
        raise bad_value("seeds", k, f"seed {first} + {k - 1} passes the largest seed {MAX_SEED}")
    return list(range(first, first + k))


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


def _runs(values: object) -> list[float]:
    if isinstance(values, (int, float)):
        return [float(values)]
    return [float(v) for v in values]


@dataclass
class TaskComparison:
    """One task's primary test metric for the multi-task and the single-task model, one value per seed.

    ``mtl_runs[i]`` and ``single_runs[i]`` come from the same seed (NaN where that model did not finish); a
    single number is taken as one seed.
    """

    task: str
    metric: str
    lower_is_better: bool
    mtl_runs: list[float]
    single_runs: list[float]

    def __post_init__(self) -> None:
        self.mtl_runs, self.single_runs = _runs(self.mtl_runs), _runs(self.single_runs)
        if len(self.mtl_runs) != len(self.single_runs):
            raise ValueError(f"{self.task}: {len(self.mtl_runs)} multi-task vs {len(self.single_runs)} "
                             "single-task values; they pair by seed")

    @property
    def mtl(self) -> float:
        """The multi-task model's metric, mean over seeds."""
        return stats.mean(self.mtl_runs)

    @property
    def single(self) -> float:
        """The single-task model's metric, mean over seeds."""
        return stats.mean(self.single_runs)

    @property
    def mtl_sd(self) -> float:
        """Sample sd over seeds of the multi-task model's metric (NaN with one seed)."""
        return stats.sd(self.mtl_runs)

    @property
    def single_sd(self) -> float:
        """Sample sd over seeds of the single-task model's metric (NaN with one seed)."""
        return stats.sd(self.single_runs)

    @property
    def changes(self) -> list[float]:
        """The signed relative change of each seed, in percent (NaN where undefined)."""
        return [relative_change(m, s, self.lower_is_better) for m, s in zip(self.mtl_runs, self.single_runs)]

    @property
    def spread(self) -> stats.Spread:
        """Mean, sd, 95 % interval, paired p-value and verdict of the per-seed relative changes."""
        return stats.spread(self.changes, higher_is_better=True)

    @property
    def relative_change(self) -> float:
        """Signed relative change in percent, mean over seeds; positive means the multi-task model is better."""
        return self.spread.mean

    @property
    def verdict(self) -> str:
        """"helps", "hurts" or "no clear difference" (the interval of the change against 0)."""
        return self.spread.verdict

    @property
    def helps(self) -> bool | None:
        """True if multi-task learning reliably helps this task, False if it reliably hurts, None otherwise."""
        return {stats.HELPS: True, stats.HURTS: False}.get(self.verdict)

    def to_dict(self) -> dict:
        """``{"metric", "mtl", "single", "relative_change", "mtl_mean", "single_mean", "mtl_sd", "single_sd",
        "change_sd", "change_ci", "p_value", "verdict", "mtl_runs", "single_runs"}``."""
        spread = self.spread
        return {"metric": self.metric, "mtl": self.mtl, "single": self.single, "relative_change": spread.mean,
                "mtl_mean": self.mtl, "single_mean": self.single, "mtl_sd": self.mtl_sd,
                "single_sd": self.single_sd, "change_sd": spread.sd, "change_ci": list(spread.ci),
                "p_value": spread.p_value, "verdict": spread.verdict, "mtl_runs": list(self.mtl_runs),
                "single_runs": list(self.single_runs)}


@dataclass
class Comparison:
    """Per-task test metrics of the multi-task model and of one single-task model per task over seeds, and Δm.

    ``stopped`` is True when ``stop`` interrupted the runs: models that did not finish count as NaN, and a
    seed's Δm is NaN unless every task of it finished. ``results`` holds the FIRST seed's ``TrainResult`` of
    each model under ``"mtl"`` and under each task name (the other seeds keep only their metrics).
    """

    config: TrainConfig
    tasks: dict[str, TaskComparison]
    stopped: bool = False
    notes: list[str] = field(default_factory=list)
    results: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    seeds: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.seeds:
            k = len(next(iter(self.tasks.values())).mtl_runs) if self.tasks else 1
            self.seeds = list(range(self.config.seed, self.config.seed + k))

    @property
    def delta_m_runs(self) -> list[float]:
        """Δm of each seed (NaN where a task's change is undefined on it)."""
        per_task = [c.changes for c in self.tasks.values()]
        if not per_task:
            return []
        return [math.fsum(seed) / len(seed) if all(math.isfinite(x) for x in seed) else math.nan
                for seed in zip(*per_task)]

    @property
    def delta_m_spread(self) -> stats.Spread:
        """Mean, sd, 95 % interval, paired p-value and verdict of the per-seed Δm."""
        return stats.spread(self.delta_m_runs, higher_is_better=True)

    @property
    def delta_m(self) -> float:
        """Δm in percent, mean over seeds (positive = multi-task learning helps on average)."""
        return self.delta_m_spread.mean

    def to_dict(self) -> dict:
        """``{"seeds", "tasks": {task: TaskComparison.to_dict()}, "delta_m", "delta_m_sd", "delta_m_ci",
        "delta_m_p_value", "delta_m_verdict", "delta_m_runs"}`` (may hold NaN)."""
        spread = self.delta_m_spread
        return {"seeds": list(self.seeds), "tasks": {t: c.to_dict() for t, c in self.tasks.items()},
                "delta_m": spread.mean, "delta_m_sd": spread.sd, "delta_m_ci": list(spread.ci),
                "delta_m_p_value": spread.p_value, "delta_m_verdict": spread.verdict,
                "delta_m_runs": self.delta_m_runs}

    def to_frame(self) -> pd.DataFrame:
        """One row per task: task, metric, lower_is_better, mtl, single, mtl_sd, single_sd, relative_change,
        change_lo, change_hi, p_value, verdict."""
        rows = []
        for c in self.tasks.values():
            spread = c.spread
            rows.append({"task": c.task, "metric": c.metric, "lower_is_better": c.lower_is_better, "mtl": c.mtl,
                         "single": c.single, "mtl_sd": c.mtl_sd, "single_sd": c.single_sd,
                         "relative_change": spread.mean, "change_lo": spread.ci[0], "change_hi": spread.ci[1],
                         "p_value": spread.p_value, "verdict": spread.verdict})
        return pd.DataFrame(rows)


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


def _seeded(config: TrainConfig, seed: int) -> TrainConfig:
    out = copy.deepcopy(config)
    out.seed = seed
    return out


class SeededComparisons(Work):
    """Trains, on each of K seeds, every multi-task variant and one single-task model per task (once per seed,
    shared by the variants), and pairs them by seed into one ``Comparison`` per variant.

    The engine of ``ComparisonRun`` (one variant: the config as given) and of the bake-off
    (``mtl_core.experiments.bakeoff``: one variant per weighting method). Bad input raises (ConfigError or
    DataError) in the constructor, before any training; ``stop()`` is thread-safe.
    """

    label = "Comparison"
    #: Leave out a variant whose model cannot be built (a method this setup cannot run) instead of raising.
    skip_unusable = False

    def __init__(self, config: TrainConfig, frame: pd.DataFrame, variants: Mapping[str, TrainConfig],
                 seeds: int = DEFAULT_SEEDS, on_progress: ProgressCallback | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        from mtl_core.training.metrics import primary_metric
        from mtl_core.training.trainer import Trainer

        super().__init__(on_progress, should_stop)
        self.config = check_comparable(config)
        self.config.conflict_every = 0  # the comparison never shows gradient conflict; skip its cost
        self.seeds = seed_list(self.config.seed, seeds)
        if not variants:
            raise bad_value("strategies", [], "expected at least one multi-task model to compare")
        self.variants: dict[str, TrainConfig] = {}
        for name, variant in variants.items():
            variant = check_comparable(variant)
            variant.conflict_every, variant.seed = 0, self.seeds[0]
            self.variants[name] = variant
        self.frame = frame
        #: Variants left out because their model cannot be built (only when ``skip_unusable``), with the reason.
        self.skipped: dict[str, str] = {}
        self._first: Trainer | None = None
        for name in list(self.variants):  # bad data raises here, before any training
            self._first = self._build(name, self.seeds[0])
            if self._first is not None:
                break
        if self._first is None:
            raise bad_value("strategies", list(variants), "none of these methods can run on this setup: "
                            + "; ".join(self.skipped.values()))
        prepared = self._first.prepared
        self._tasks = [(task.name, *primary_metric(task)) for task in prepared.tasks]
        self._inputs = list(prepared.schema.columns)
        self._stratify_by = next((t.name for t in prepared.tasks if t.is_classification), None)
        #: Seconds spent training the single-task models (counted in each variant's ``Comparison.seconds``).
        self.single_seconds = 0.0

    @property
    def _units(self) -> int:
        return len(self.seeds) * (len(self.variants) + len(self._tasks))

    def _build(self, name: str, seed: int) -> object | None:
        """The Trainer of variant ``name`` on ``seed``; None (and the variant dropped) if it cannot be built and
        ``skip_unusable`` is set."""
        from mtl_core.errors import MTLError
        from mtl_core.training.trainer import Trainer

        try:
            return Trainer(_seeded(self.variants[name], seed), self.frame)
        except MTLError as exc:
            if not self.skip_unusable or len(self.variants) == 1:
                raise
            self.skipped[name] = str(exc)
            del self.variants[name]
            return None

    def _train(self, trainer: object, stage: str, unit: int) -> object:
        result = self.train(trainer, stage, unit / self._units, 1 / self._units)
        self.emit(ModelTrained(stage, result.stopped_reason, result.epochs_run, result.seconds))
        return result

    def variant_stage(self, name: str) -> str:
        """The progress label of a variant's multi-task model."""
        return MTL_STAGE

    def compare_all(self) -> dict[str, Comparison]:
        """Train every model on every seed; one ``Comparison`` per variant (partial, ``stopped=True``, if stopped)."""
        from mtl_core.training.trainer import Trainer

        first, self._first = self._first, None  # run once; the job keeps no finished Trainer
        if first is None:
            raise RuntimeError(f"a {type(self).__name__} runs once; make a new one to compare again")
        k, nan = len(self.seeds), math.nan
        mtl_values = {v: {t: [nan] * k for t, _, _ in self._tasks} for v in self.variants}
        single_values = {t: [nan] * k for t, _, _ in self._tasks}
        results: dict[str, dict[str, object]] = {v: {} for v in self.variants}
        notes: dict[str, list[str]] = {v: [] for v in self.variants}
        seconds = dict.fromkeys(self.variants, 0.0)
        single_results: dict[str, object] = {}
        single_notes: list[str] = []
        single_seconds = 0.0
        stopped, unit = False, 0
        for i, seed in enumerate(self.seeds):
            for name in list(self.variants):
                if self.stop_requested and first is None:  # the first model always runs (stopped at once)
                    stopped = True
                    break
                trainer = first if first is not None else self._build(name, seed)
                first = None
                if trainer is None:
                    continue
                result = self._train(trainer, seed_stage(self.variant_stage(name), seed, k), unit)
                del trainer
                unit += 1
                seconds[name] += result.seconds
                if i == 0:
                    results[name]["mtl"] = result
                if result.stopped_reason == "stopped":
                    stopped = True
                    break
                if result.stopped_reason != "completed":
                    notes[name].append(f"Multi-task model, seed {seed}: {result.message}")
                for task, metric, _ in self._tasks:
                    mtl_values[name][task][i] = result.test_metrics[task][metric]
            if stopped:
                break
            for task, metric, _ in self._tasks:
                if self.stop_requested:
                    stopped = True
                    break
                config = single_task_config(_seeded(self.config, seed), task, self._inputs, self._stratify_by)
                result = self._train(Trainer(config, self.frame), seed_stage(single_stage(task), seed, k), unit)
                unit += 1
                single_seconds += result.seconds
                if i == 0:
                    single_results[task] = result
                if result.stopped_reason == "stopped":
                    stopped = True
                    break
                single_values[task][i] = result.test_metrics[task][metric]
                if result.stopped_reason != "completed":
                    single_notes.append(f"Single-task model {task}, seed {seed}: {result.message}")
            if stopped:
                break
        self.single_seconds = single_seconds
        if not stopped:
            self.finish()
        return {name: Comparison(
            self.variants[name],
            {t: TaskComparison(t, metric, lower, mtl_values[name][t], single_values[t])
             for t, metric, lower in self._tasks},
            stopped, notes[name] + single_notes, {**results[name], **single_results},
            seconds[name] + single_seconds, list(self.seeds)) for name in self.variants}


class ComparisonRun(SeededComparisons):
    """Trains the multi-task model, then one single-task model per task, on each of ``seeds`` seeds (the config's
    seed, then the next ones); ``stop()`` is thread-safe.

    Bad input raises (ConfigError/DataError) in the constructor, before any training. Run it directly
    (``run()``) or as a ``mtl_core.jobs.job.Job``; its events are one ``ModelTrained`` per finished model.
    """

    label = "Comparison"

    def __init__(self, config: TrainConfig, frame: pd.DataFrame, on_progress: ProgressCallback | None = None,
                 should_stop: Callable[[], bool] | None = None, seeds: int = DEFAULT_SEEDS) -> None:
        super().__init__(config, frame, {MTL: config}, seeds, on_progress, should_stop)

    def run(self) -> Comparison:
        """Train every model and return the comparison (partial, with ``stopped=True``, if stopped)."""
        return self.compare_all()[MTL]


def compare(config: TrainConfig, frame: pd.DataFrame, on_progress: ProgressCallback | None = None,
            should_stop: Callable[[], bool] | None = None, seeds: int = DEFAULT_SEEDS) -> Comparison:
    """Train the multi-task model and one single-task model per task (same network sizes, epochs and data split)
    on ``seeds`` seeds and compare their primary test metrics; needs ``test_fraction > 0`` and two or more tasks.

    ``on_progress(stage, fraction)`` is called as training advances; ``should_stop()`` is polled after each
    epoch and, once true, stops the comparison (the result then has ``stopped=True``).
    """
    return ComparisonRun(config, frame, on_progress, should_stop, seeds).run()
