"""A study read back as plain data (its objectives, every trial, the Pareto front), for pages and reports.

Whoever added the trials (this process, ``mtl tune`` workers on other machines), the study is read from its
storage, so a caller that reads it again sees the trials that landed since. Also: the default study name of a
setup, and a trial's parameters applied back onto a config ("use these settings").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mtl_core.config import TrainConfig
from mtl_core.tuning.objectives import oriented, pareto_indices
from mtl_core.tuning.space import SPACE, apply_space


@dataclass(frozen=True)
class TrialPoint:
    """One trial: its number, state (``complete``, ``pruned``, ``running``, ``fail``...), values, params, run."""

    number: int
    state: str
    values: dict[str, float] | None
    params: dict[str, Any]
    run_id: str | None
    on_front: bool = False


@dataclass
class StudySnapshot:
    """What a study optimises and its trials at the moment it was read."""

    name: str
    tasks: list[str]
    objective_names: list[str]
    lower_is_better: list[bool]
    dataset: str | None = None
    objective: str | None = None
    trials: list[TrialPoint] = field(default_factory=list)

    @property
    def front(self) -> list[TrialPoint]:
        """The non-dominated complete trials, by number."""
        return [t for t in self.trials if t.on_front]

    @property
    def complete(self) -> list[TrialPoint]:
        """The trials with values (complete), by number."""
        return [t for t in self.trials if t.values is not None]

    def counts(self) -> dict[str, int]:
        """How many trials are in each state."""
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def trial(self, number: int) -> TrialPoint | None:
        """The trial with this number, if the study has it."""
        return next((t for t in self.trials if t.number == number), None)


def default_study_name(config: TrainConfig, objective: str = "loss") -> str:
    """A setup's study name from what a study fixes (dataset, tasks, objective): ``iris-species+petal_width-loss``."""
    dataset = re.sub(r"\s+", "_", config.dataset.strip())
    return f"{dataset}-{'+'.join(config.task_names)}-{objective}"


def snapshot(study: Any) -> StudySnapshot:
    """An ``optuna.Study`` as a StudySnapshot (one read of its trials)."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    from mtl_core.tuning.study import META_KEY

    meta = study.user_attrs.get(META_KEY, {})
    lower = [d == StudyDirection.MINIMIZE for d in study.directions]
    tasks = list(meta.get("tasks") or [f"objective {i}" for i in range(len(lower))])
    names = list(meta.get("values") or ["value"] * len(lower))
    raw = study.get_trials(deepcopy=False)
    complete = [t for t in raw if t.state == TrialState.COMPLETE and t.values is not None
                and len(t.values) == len(lower)]
    points = [oriented(t.values, lower) for t in complete]
    front = {complete[i].number for i in pareto_indices(points)}
    trials = [TrialPoint(t.number, t.state.name.lower(),
                         {task: float(v) for task, v in zip(tasks, t.values)} if t in complete else None,
                         dict(t.params), t.user_attrs.get("run_id"), t.number in front)
              for t in sorted(raw, key=lambda t: t.number)]
    return StudySnapshot(study.study_name, tasks, names, lower, meta.get("dataset"), meta.get("objective"), trials)


def read_study(storage: Any, name: str) -> StudySnapshot | None:
    """The study ``name`` in ``storage`` (an RDBStorage from ``tuning.storage.open_storage``), None if it has none."""
    import optuna

    from mtl_core.tuning.sampler import quiet_optuna

    quiet_optuna()
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None
    return snapshot(study)


class _Replay:
    """A stand-in for an Optuna trial that answers every suggestion with a finished trial's parameter."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        return float(self.params[name])

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        return int(self.params[name])

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.params[name]


def params_space(params: dict[str, Any]) -> list[str]:
    """The space dimensions a trial's parameters came from, in table order."""
    names = {"weights" if key.startswith("weight[") else key for key in params}
    return [n for n in SPACE if n in names]


def apply_params(base: TrainConfig, params: dict[str, Any]) -> TrainConfig:
    """A copy of ``base`` with a trial's parameters applied, the way the trial built its config from its base."""
    return apply_space(_Replay(params), base, params_space(params))
