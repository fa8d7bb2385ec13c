"""Recording a job in the run store when it ends: a training, a comparison or a relatedness study.

A ``RunRecorder`` is a ``Job`` ``on_finish`` hook, so it runs in the job's own thread: the run is recorded even
when the user went to another page or closed the tab. A store failure is logged and passed to ``on_error``;
it never changes the job's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mtl_core.store.record import RunRecord
from mtl_core.store.recording import record_training, run_status

if TYPE_CHECKING:
    from mtl_core.jobs.job import Job
    from mtl_core.store.runs import RunStore

_log = logging.getLogger(__name__)

#: ``on_error(message)``: told why a run could not be recorded (the dashboard shows it on /runs).
ErrorCallback = Callable[[str], None]


def primary_metrics(result: Any) -> dict[str, dict]:
    """Each task's main test metric of a ``TrainResult``: ``{task: {"metric", "value", "lower_is_better"}}``.

    Kept in the record's summary so that a list of runs shows it without loading scikit-learn.
    """
    from mtl_core.training.metrics import primary_metric

    out = {}
    for task in result.prepared.tasks:
        name, lower = primary_metric(task)
        value = result.test_metrics.get(task.name, {}).get(name)
        if value is not None:
            out[task.name] = {"metric": name, "value": float(value), "lower_is_better": lower}
    return out


def _model_file(result: Any) -> bytes | None:
    """The ``.keras`` bytes of a ``TrainResult``'s model, with its description (as the Train page exports it).

    A training run in a pool worker brings its file along (``keras_bytes``; None when stopped before it began).
    """
    from mtl_core.io.model_info import ModelInfo
    from mtl_core.io.saving import model_bytes

    if hasattr(result, "keras_bytes"):
        return result.keras_bytes

    return model_bytes(result.model, ModelInfo.from_prepared(result.prepared, result.config.to_dict()))


def _kind_of(work: Any) -> str | None:
    """The kind of a job's work run in this process (the work's modules load TensorFlow, loaded by then)."""
    from mtl_core.experiments.compare import ComparisonRun
    from mtl_core.experiments.relatedness_study import RelatednessStudy
    from mtl_core.jobs.training import Training

    kinds = ((Training, "training"), (ComparisonRun, "compare"), (RelatednessStudy, "study"))
    return next((kind for cls, kind in kinds if isinstance(work, cls)), None)


def _task_names(config: dict) -> list[str]:
    return [str(t["column"]) if isinstance(t, dict) else str(t) for t in config.get("tasks", [])]


def _work(job: Any) -> Any:
    """The job's work, or for a job of the worker pool (whose work lives in the worker) a page-side stand-in
    with what recording reads: a comparison's checked config, a study's (TF-free) description."""
    if hasattr(job, "work"):
        return job.work
    spec = job.spec
    if job.kind == "compare":
        from types import SimpleNamespace

        from mtl_core.experiments.compare import check_comparable

        config = check_comparable(spec.args[0])
        config.conflict_every = 0  # as ComparisonRun does
        return SimpleNamespace(config=config)
    return spec.load()(*spec.args, **spec.kwargs)


class RunRecorder:
    """``on_finish`` hook that stores the job's run in ``store`` under ``notebook``.

    Jobs of a kind it does not know (e.g. a tuning study, whose trials record themselves) are left alone.
    """

    def __init__(self, store: RunStore, *, notebook: str | None = None, name: str | None = None,
                 on_error: ErrorCallback | None = None) -> None:
        self.store = store
        self.notebook = notebook
        self.name = name
        self.on_error = on_error
        self.run_id: str | None = None

    def __call__(self, job: Job) -> None:
        """Record ``job`` (called in its thread once it ended); never raises."""
        try:
            self.run_id = self.record(job)
        except Exception as exc:  # noqa: BLE001 - a store failure must never break a run
            _log.exception("could not record the %s in the run store", job.label.lower())
            if self.on_error is not None:
                self.on_error(f"{job.label} at {datetime.now(UTC):%H:%M:%S} UTC was not recorded: {exc}")

    def record(self, job: Job) -> str | None:
        """Store the run of a finished ``job``; its id (None for a kind of work that is not recorded)."""
        ended = datetime.now(UTC)
        times = {"started_at": ended - timedelta(seconds=job.elapsed), "ended_at": ended}
        # A job of the worker pool says what it runs (no TensorFlow in this process for it).
        kind = getattr(job, "kind", None) or _kind_of(getattr(job, "work", None))
        if kind == "training":
            return self._training(job, times)
        if kind == "compare":
            return self._comparison(job, times)
        if kind == "study":
            return self._study(job, times)
        return None

    def _failed(self, job: Job, kind: str, config: dict, name: str, times: dict) -> str:
        record = RunRecord(kind=kind, name=name, status="failed", config=config,
                           dataset=str(config.get("dataset", "")), tasks=_task_names(config),
                           notebook=self.notebook, message=job.error or "", **times)
        return self.store.add_run(record)

    def _training(self, job: Job, times: dict) -> str:
        config = job.config
        name = self.name or f"{config.dataset} · {config.arch} · {config.weighting}"
        result = job.result
        if result is None:
            return self._failed(job, "train", config.to_dict(), name, times)
        user_weights = bool(job.uses_user_weights)
        from mtl_core.training.events import weight_changes

        return record_training(
            self.store, result, name=name, notebook=self.notebook, **times,
            weight_changes=weight_changes(result.history) if user_weights else [],
            model_bytes=_model_file(result), summary={"primary": primary_metrics(result)})

    def _comparison(self, job: Job, times: dict) -> str:
        config = _work(job).config
        name = self.name or f"Comparison · {config.dataset} · {config.arch}"
        comparison = job.result
        if comparison is None:
            return self._failed(job, "compare", config.to_dict(), name, times)
        mtl = comparison.results["mtl"]
        summary = {**comparison.to_dict(), "notes": list(comparison.notes), "primary": primary_metrics(mtl),
                   "seconds": float(comparison.seconds)}
        # Stopped while a single-task model trained, the comparison is incomplete even if the MTL model finished.
        status = "stopped" if comparison.stopped else run_status(mtl.stopped_reason, mtl.message)
        message = "Stopped before every model finished." if comparison.stopped else mtl.message
        record = RunRecord(kind="compare", name=name, status=status, config=config.to_dict(),
                           dataset=str(config.dataset), tasks=list(config.task_names),
                           history=[event.to_dict() for event in mtl.history], test_metrics=dict(mtl.test_metrics),
                           summary=summary, notebook=self.notebook, model=_model_file(mtl), message=message,
                           **times)
        return self.store.add_run(record)

    def _study(self, job: Job, times: dict) -> str:
        work = _work(job)
        config = work.config.to_dict()
        name = self.name or f"Relatedness study · p {', '.join(f'{p:g}' for p in work.p_values)}"
        result = job.result
        if result is None:
            return self._failed(job, "study", config, name, times)
        summary = {**result.to_dict(), "p_values": list(work.p_values), "seeds": list(work.seeds),
                   "models": list(work.models), "n": work.n}
        record = RunRecord(kind="study", name=name, status="stopped" if result.stopped else run_status("completed"),
                           config=config, dataset=str(config.get("dataset", "")), tasks=_task_names(config),
                           summary=summary, notebook=self.notebook,
                           message="Stopped before every model was trained." if result.stopped else
                           f"Trained {len(job.events())} models.", **times)
        return self.store.add_run(record)
