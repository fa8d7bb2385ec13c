"""A multi-objective Optuna study over TrainConfigs: one objective per task, trials trained by the Trainer.

The study lives in Optuna's RDB storage (see ``tuning.storage``), so any number of workers on one or many machines
can add trials to it (``load_if_exists``). Each trial is also a run in the run store (``kind="trial"``); the
trial's ``run_id`` user attribute points at it. TensorFlow is imported only when a trial trains.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import optuna
from optuna.trial import TrialState

from mtl_core.config import TrainConfig, validate_config
from mtl_core.errors import ConfigError, bad_value
from mtl_core.tuning.objectives import Objective, check_objective
from mtl_core.tuning.pruning import FrontPruner, checkpoints
from mtl_core.tuning.sampler import TrialSeededSampler, quiet_optuna
from mtl_core.tuning.space import apply_space, parse_space
from mtl_core.tuning.storage import open_storage

#: The study's user attribute that records what it optimises; a worker with another request is refused.
META_KEY = "mtl"
MAX_TRIALS = 100_000
#: A running trial writes its intermediate values to the study at most this often (each write is a transaction).
REPORT_SECONDS = 1.0


@dataclass
class TuneRequest:
    """What a worker is asked to do: the base config, the ticked space, how many trials, and where the study is."""

    base: TrainConfig
    study: str
    n_trials: int = 10
    space: list[str] = field(default_factory=lambda: parse_space(None))
    objective: str = "loss"
    storage: str | None = None
    #: The run store's URL (None: the store's default, env MTL_DB_URL or the data folder's SQLite file).
    db_url: str | None = None
    prune: bool = True
    save_models: bool = True
    notebook: str | None = None

    def check(self) -> TuneRequest:
        """Validate every field that can be checked without data; ConfigError naming the first bad one."""
        self.base = validate_config(self.base)
        if not isinstance(self.study, str) or not self.study.strip():
            raise bad_value("study", self.study, "expected a study name")
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) or not \
                0 <= self.n_trials <= MAX_TRIALS:
            raise bad_value("trials", self.n_trials, f"expected a whole number from 0 to {MAX_TRIALS}")
        self.space = parse_space(self.space)
        check_objective(self.objective)
        if self.base.val_fraction <= 0:
            raise bad_value("val_fraction", self.base.val_fraction,
                            "tuning scores trials on the validation split; expected a fraction above 0")
        return self


@dataclass
class TrialOutcome:
    """What one trial produced, for progress lines."""

    number: int
    state: str
    values: dict[str, float]
    params: dict[str, Any]
    run_id: str | None
    seconds: float
    pruned_at: int | None = None


def objectives_for(config: TrainConfig, tasks: list[Any], kind: str) -> list[Objective]:
    """One objective per task: its validation loss, or its primary metric (direction from lower_is_better)."""
    from mtl_core.training.metrics import primary_metric

    if check_objective(kind) == "loss":
        return [Objective(t.name, "val_loss", True) for t in tasks]
    return [Objective(t.name, *primary_metric(t)) for t in tasks]


def _meta(request: TuneRequest, objectives: list[Objective]) -> dict[str, Any]:
    return {"tasks": [o.task for o in objectives], "objective": request.objective,
            "values": [o.name for o in objectives], "dataset": request.base.dataset}


def open_study(request: TuneRequest, objectives: list[Objective]) -> optuna.Study:
    """Create the study, or load it when it exists; ConfigError when it optimises something else."""
    quiet_optuna()
    storage = open_storage(request.storage)
    directions = [o.direction for o in objectives]
    study = optuna.create_study(storage=storage, study_name=request.study, directions=directions,
                                sampler=TrialSeededSampler(request.base.seed), load_if_exists=True)
    meta = study.user_attrs.get(META_KEY)
    wanted = _meta(request, objectives)
    if meta is None:
        study.set_user_attr(META_KEY, wanted)
        meta = wanted
    for key, param in (("tasks", "task"), ("objective", "objective"), ("dataset", "dataset")):
        if meta.get(key) != wanted[key]:
            raise ConfigError(f"{param}={wanted[key]!r} is invalid: study {request.study!r} was created for "
                              f"{key} {meta.get(key)!r}; use the same {param} or another --study name.",
                              param=param, value=wanted[key])
    got = [d.name.lower() for d in study.directions]
    if got != directions:
        raise ConfigError(f"objective={request.objective!r} is invalid: study {request.study!r} has directions "
                          f"{got}, this request needs {directions}.", param="objective", value=request.objective)
    return study


class Tuner:
    """One worker of a study: loads the data once, then runs trials until asked for ``n_trials`` or stopped."""

    def __init__(self, request: TuneRequest, frame: Any = None) -> None:
        from mtl_core.data.prepare import prepare

        self.request = request.check()
        if frame is None:
            from mtl_core.data.sources import load_source

            frame = load_source(self.request.base).frame
        self.frame = frame
        self.tasks = prepare(frame, self.request.base).tasks
        self.objectives = objectives_for(self.request.base, self.tasks, self.request.objective)
        self.study = open_study(self.request, self.objectives)
        self._store: Any = None
        self._trainer: Any = None
        self._stop = False
        #: Called after every epoch of a trial with (epoch, epochs): for callers showing progress (the tuning job).
        self.on_epoch: Callable[[int, int], None] | None = None

    def stop(self) -> None:
        """Finish the running trial's epoch, end it as failed, and run no more."""
        self._stop = True
        if self._trainer is not None:
            self._trainer.stop()

    @property
    def store(self) -> Any:
        """The run store (opened on first use)."""
        if self._store is None:
            from mtl_core.store import open_store

            self._store = open_store(self.request.db_url)
        return self._store

    def run(self, on_trial: Callable[[TrialOutcome], None] | None = None) -> dict:
        """Run ``n_trials`` trials; returns ``summary(study)``."""
        for _ in range(self.request.n_trials):
            if self._stop:
                break
            outcome = self.run_trial()
            if on_trial is not None:
                on_trial(outcome)
        return summary(self.study, self.objectives)

    def _pruner(self) -> FrontPruner:
        pruner = FrontPruner([o.lower_is_better for o in self.objectives])
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            intermediate = t.user_attrs.get("intermediate")
            if isinstance(intermediate, dict):
                pruner.add_trial(intermediate)
        return pruner

    def run_trial(self) -> TrialOutcome:
        """Ask the study for one trial, train it, record it as a run, and tell the study its values."""
        from mtl_core.training.trainer import Trainer

        start = time.perf_counter()
        started_at = datetime.now(UTC)
        pruner = self._pruner() if self.request.prune else None
        trial = self.study.ask()
        told = False
        try:
            config = apply_space(trial, self.request.base, self.request.space)
            marks = set(checkpoints(config.epochs))
            intermediate: dict[str, list[float]] = {}
            state: dict[str, Any] = {"pruned_at": None, "written": time.perf_counter(), "reported": 0}

            def on_epoch(event: Any) -> None:
                if self.on_epoch is not None:
                    self.on_epoch(event.epoch, config.epochs)
                # After a prune decision the rest of the running chunk still arrives; its epochs are kept in
                # the run's history, but the trial's reports end where it was judged.
                if event.epoch not in marks or state["pruned_at"] is not None:
                    return
                values = [o.value(event.to_dict()) for o in self.objectives]
                intermediate[str(event.epoch)] = values
                now = time.perf_counter()
                if now - state["written"] >= REPORT_SECONDS:  # one storage write per second at most
                    trial.set_user_attr("intermediate", dict(intermediate))
                    state["written"], state["reported"] = now, len(intermediate)
                if pruner is not None and pruner.should_prune(event.epoch, config.epochs, values):
                    state["pruned_at"] = event.epoch
                    trainer.stop()

            trainer = Trainer(config, self.frame, on_epoch)
            self._trainer = trainer
            if self._stop:
                trainer.stop()
            try:
                result = trainer.run()
            finally:
                self._trainer = None
                from mtl_core.training.graph_release import release_quietly

                release_quietly(trainer)
            kept = trainer.best_epoch or len(result.history)
            event = result.history[kept - 1].to_dict() if kept else {}
            values = {o.task: o.value(event) for o in self.objectives}
            finite = all(math.isfinite(v) for v in values.values())
            pruned_at = state["pruned_at"]
            if pruned_at is not None:
                tell_state = TrialState.PRUNED
            elif result.stopped_reason == "stopped" or not finite:
                tell_state = TrialState.FAIL  # stopped by request, or nothing finite to score
            else:
                # A diverged run keeps the weights of its last finite epoch: those are the trial's result, and
                # telling the sampler (rather than failing the trial) steers it away from such settings.
                tell_state = TrialState.COMPLETE
            if state["reported"] < len(intermediate):
                trial.set_user_attr("intermediate", intermediate)
            run_id = self._record(trial, result, values, kept, pruned_at, started_at)
            trial.set_user_attr("run_id", run_id)
            told = True  # even if tell fails half-way: telling twice would hide its error
            if tell_state == TrialState.COMPLETE:
                self.study.tell(trial, [values[o.task] for o in self.objectives])
            else:
                self.study.tell(trial, state=tell_state)
        except BaseException:
            # A bad config, a crash or Ctrl-C must not leave the trial RUNNING forever in a shared study.
            if not told:
                with contextlib.suppress(Exception):  # the original error is the one to report
                    self.study.tell(trial, state=TrialState.FAIL)
            raise
        return TrialOutcome(trial.number, tell_state.name.lower(), values, dict(trial.params), run_id,
                            time.perf_counter() - start, pruned_at)

    def _record(self, trial: Any, result: Any, values: dict[str, float], kept: int, pruned_at: int | None,
                started_at: datetime) -> str:
        from mtl_core.store import record_training

        model = None
        if self.request.save_models and result.history:
            from mtl_core.io.model_info import ModelInfo
            from mtl_core.io.saving import model_bytes

            model = model_bytes(result.model, ModelInfo.from_prepared(result.prepared, result.config.to_dict()))
        summary = {"values": values, "params": dict(trial.params), "objective": self.request.objective,
                   "objective_names": {o.task: o.name for o in self.objectives}, "kept_epoch": kept,
                   "pruned_at": pruned_at}
        return record_training(self.store, result, name=f"{self.request.study} #{trial.number}",
                               notebook=self.request.notebook, started_at=started_at, model_bytes=model,
                               kind="trial", study=self.request.study, trial=trial.number, summary=summary)


def _trial_entry(t: optuna.trial.FrozenTrial, objectives: list[Objective]) -> dict:
    return {"trial": t.number, "values": {o.task: v for o, v in zip(objectives, t.values)},
            "params": dict(t.params), "run_id": t.user_attrs.get("run_id")}


def summary(study: optuna.Study, objectives: list[Objective] | None = None) -> dict:
    """The ``mtl tune --json`` object: the study's size, directions, Pareto front and each task's best trial."""
    meta = study.user_attrs.get(META_KEY, {})
    if objectives is None:
        lower = [d == optuna.study.StudyDirection.MINIMIZE for d in study.directions]
        objectives = [Objective(task, name, low) for task, name, low in
                      zip(meta.get("tasks", []), meta.get("values", []), lower)]
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    states = {s.name.lower(): sum(t.state == s for t in trials) for s in TrialState}
    front = sorted(study.best_trials, key=lambda t: t.number) if complete else []
    best: dict[str, dict] = {}
    for k, o in enumerate(objectives):
        if not complete:
            continue
        sign = 1.0 if o.lower_is_better else -1.0
        top = min(complete, key=lambda t: (sign * t.values[k], t.number))  # ties: the earliest trial
        best[o.task] = {**_trial_entry(top, objectives), "value": top.values[k], "objective": o.name}
    return {"study": study.study_name, "n_trials": len(trials), "directions": [o.direction for o in objectives],
            "objectives": {o.task: o.name for o in objectives}, "states": states,
            "pareto": [_trial_entry(t, objectives) for t in front], "best_by_task": best}

