"""The bake-off: every weighting method (or a chosen few) on the same setup and the same K seeds, against
single-task models trained once per seed, in one table (LibMTL's benchmark table, for the user's own data).

Each method is one variant of ``compare.SeededComparisons``: the config as given with its weighting replaced
(the config's own weighting keeps its parameters, the others take their defaults). Per task it reports the test
metric (mean over seeds, sd and 95 % interval) and per method Δm against the single-task models with its
interval and verdict; ``best`` names the best method per column (direction-aware: highest accuracy, lowest
rmse, highest Δm).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from mtl_core.config import TrainConfig, validate_config
from mtl_core.errors import MTLError, bad_value
from mtl_core.experiments import stats
from mtl_core.experiments.compare import DEFAULT_SEEDS, MTL_STAGE, Comparison, SeededComparisons, check_comparable
from mtl_core.jobs.work import ProgressCallback

ALL = "all"
SINGLE = "single-task"
#: The column ``best`` uses for Δm.
DELTA_M = "delta_m"


def parse_strategies(value: str | Sequence[str]) -> list[str]:
    """``"all"`` (every registered weighting) or a comma list (or list) of WEIGHTINGS names, without repeats;
    ConfigError naming ``strategies`` otherwise."""
    from mtl_core.registries import WEIGHTINGS

    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v).strip() for v in value]
    names = [n for n in names if n]
    if names == [ALL]:
        return list(WEIGHTINGS)
    unknown = [n for n in names if n not in WEIGHTINGS]
    if not names or unknown or len(set(names)) != len(names):
        why = f"unknown {unknown[0]!r}; " if unknown else "a repeated name; " if names else ""
        raise bad_value("strategies", value if isinstance(value, str) else list(value),
                        f"{why}expected 'all' or a comma list of {', '.join(WEIGHTINGS)}")
    return names


def method_configs(config: TrainConfig, names: Sequence[str], skip_unusable: bool) -> tuple[dict[str, TrainConfig],
                                                                                       dict[str, str]]:
    """One config per weighting method, and the methods left out with the reason (a method this setup cannot
    run, e.g. gradient surgery without shared layers; only when ``skip_unusable``, otherwise it raises)."""
    configs, skipped = {}, {}
    for name in names:
        variant = copy.deepcopy(config)
        if name != config.weighting:
            variant.weighting, variant.weighting_params = name, {}
        try:
            configs[name] = validate_config(variant)
        except MTLError as exc:
            if not skip_unusable:
                raise
            skipped[name] = str(exc)
    if not configs:
        raise bad_value("strategies", list(names), "none of these methods can run on this setup: "
                        + "; ".join(skipped.values()))
    return configs, skipped


@dataclass
class BakeOffResult:
    """One ``Comparison`` per method (all paired with the same single-task models by seed; metrics only, their
    ``results`` are empty), the methods left out and why, and whether it was stopped."""

    config: TrainConfig
    comparisons: dict[str, Comparison]
    skipped: dict[str, str] = field(default_factory=dict)
    stopped: bool = False
    seconds: float = 0.0

    @property
    def seeds(self) -> list[int]:
        """The seeds every model trained on."""
        return next(iter(self.comparisons.values())).seeds if self.comparisons else []

    @property
    def tasks(self) -> list[tuple[str, str, bool]]:
        """(task, metric, lower_is_better) of every task, in order."""
        first = next(iter(self.comparisons.values()))
        return [(c.task, c.metric, c.lower_is_better) for c in first.tasks.values()]

    def best(self) -> dict[str, list[str]]:
        """Per task (its metric's mean) and for ``"delta_m"``: the method(s) with the best mean (ties share it)."""
        out: dict[str, list[str]] = {}
        for task, _, lower in self.tasks:
            values = {m: c.tasks[task].mtl for m, c in self.comparisons.items()}
            out[task] = _best(values, lower)
        out[DELTA_M] = _best({m: c.delta_m for m, c in self.comparisons.items()}, lower=False)
        return out

    def to_dict(self) -> dict:
        """The ``compare --strategies ... --json`` object; see the README's command-line section."""
        from mtl_core.registries import WEIGHTINGS

        first = next(iter(self.comparisons.values()))
        tasks = {}
        for task, metric, lower in self.tasks:
            runs = first.tasks[task].single_runs
            tasks[task] = {"metric": metric, "lower_is_better": lower, "single_mean": stats.mean(runs),
                           "single_sd": stats.sd(runs), "single_ci": list(stats.interval(runs)),
                           "single_runs": list(runs)}
        methods = []
        for name, comparison in self.comparisons.items():
            entry = {"weighting": name, "title": WEIGHTINGS[name].title, "tasks": {}}
            for task, c in comparison.tasks.items():
                change = c.spread
                entry["tasks"][task] = {"mean": c.mtl, "sd": c.mtl_sd, "ci": list(stats.interval(c.mtl_runs)),
                                        "runs": list(c.mtl_runs), "change": change.mean,
                                        "change_ci": list(change.ci), "p_value": change.p_value,
                                        "verdict": change.verdict}
            dm = comparison.delta_m_spread
            entry.update({"delta_m": dm.mean, "delta_m_sd": dm.sd, "delta_m_ci": list(dm.ci),
                          "delta_m_p_value": dm.p_value, "delta_m_verdict": dm.verdict,
                          "notes": list(comparison.notes)})
            methods.append(entry)
        return {"seeds": list(self.seeds), "tasks": tasks, "methods": methods, "best": self.best(),
                "skipped": dict(self.skipped), "stopped": self.stopped, "seconds": self.seconds}

    def to_frame(self) -> pd.DataFrame:
        """One row per method, then the single-task row: method, and per task ``<task>`` (metric mean),
        ``<task> lo``/``hi`` (its interval), then delta_m, delta_m lo/hi and delta_m verdict."""
        rows = []
        for name, comparison in self.comparisons.items():
            row: dict[str, object] = {"method": name}
            for task, c in comparison.tasks.items():
                lo, hi = stats.interval(c.mtl_runs)
                row.update({task: c.mtl, f"{task} lo": lo, f"{task} hi": hi})
            dm = comparison.delta_m_spread
            row.update({DELTA_M: dm.mean, f"{DELTA_M} lo": dm.ci[0], f"{DELTA_M} hi": dm.ci[1],
                        f"{DELTA_M} verdict": dm.verdict})
            rows.append(row)
        first = next(iter(self.comparisons.values()))
        row = {"method": SINGLE}
        for task, c in first.tasks.items():
            lo, hi = stats.interval(c.single_runs)
            row.update({task: c.single, f"{task} lo": lo, f"{task} hi": hi})
        rows.append(row)
        return pd.DataFrame(rows)


def _best(values: dict[str, float], lower: bool) -> list[str]:
    finite = {k: v for k, v in values.items() if math.isfinite(v)}
    if not finite:
        return []
    target = min(finite.values()) if lower else max(finite.values())
    return [k for k, v in finite.items() if v == target]


class BakeOff(SeededComparisons):
    """Trains every chosen weighting method and the single-task models on the same K seeds; ``run()`` returns a
    ``BakeOffResult``. Bad input raises in the constructor; ``stop()`` is thread-safe (what finished is kept)."""

    label = "Bake-off"

    def __init__(self, config: TrainConfig, frame: pd.DataFrame, strategies: str | Sequence[str] = ALL,
                 seeds: int = DEFAULT_SEEDS, on_progress: ProgressCallback | None = None,
                 should_stop: Callable[[], bool] | None = None, skip_unusable: bool | None = None) -> None:
        names = parse_strategies(strategies)
        # "all" means every method this setup can run; a method asked for by name that cannot run is an error.
        everything = isinstance(strategies, str) and strategies.strip() == ALL
        self.skip_unusable = everything if skip_unusable is None else skip_unusable
        base = check_comparable(config)
        variants, early = method_configs(base, names, skip_unusable=self.skip_unusable)
        super().__init__(base, frame, variants, seeds, on_progress, should_stop)
        self.skipped = {**early, **self.skipped}

    def variant_stage(self, name: str) -> str:
        """``multi-task model (dwa)``."""
        return f"{MTL_STAGE} ({name})"

    def run(self) -> BakeOffResult:
        """Train every model; the bake-off (partial, with ``stopped=True``, if stopped)."""
        comparisons = self.compare_all()
        for comparison in comparisons.values():
            comparison.results = {}  # metrics only: a bake-off's dozens of trained models would be dead weight
        stopped = any(c.stopped for c in comparisons.values())
        # Each comparison counts the shared single-task models' time; count it once.
        seconds = sum(c.seconds for c in comparisons.values()) - self.single_seconds * (len(comparisons) - 1)
        return BakeOffResult(self.config, comparisons, dict(self.skipped), stopped, seconds)


def bakeoff(config: TrainConfig, frame: pd.DataFrame, strategies: str | Sequence[str] = ALL,
            seeds: int = DEFAULT_SEEDS, on_progress: ProgressCallback | None = None,
            should_stop: Callable[[], bool] | None = None) -> BakeOffResult:
    """Train each weighting method in ``strategies`` (``"all"``: every registered one this setup can run) and one
    single-task model per task on ``seeds`` seeds, and compare them in one table."""
    return BakeOff(config, frame, strategies, seeds, on_progress, should_stop).run()
