"""Recording a finished training in the store (TensorFlow-free: the result is read duck-typed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mtl_core.errors import bad_value
from mtl_core.store.record import RunRecord
from mtl_core.store.runs import RunStore

#: The Trainer's ``stopped_reason`` values and the status each maps to (early stopping: see ``run_status``).
_REASONS = {"completed": "completed", "stopped": "stopped", "diverged": "diverged"}


def run_status(stopped_reason: str, message: str = "") -> str:
    """The store's status for a Trainer outcome.

    The Trainer reports an early stop as ``stopped_reason="completed"`` with a message that starts with
    "Early stopping"; a run with early stopping on that used all its epochs is plain "completed".
    """
    if stopped_reason not in _REASONS:
        raise bad_value("stopped_reason", stopped_reason, f"expected one of {sorted(_REASONS)}")
    if stopped_reason == "completed" and message.startswith("Early stopping"):
        return "early_stopped"
    return _REASONS[stopped_reason]


def record_training(store: RunStore, result: Any, *, name: str, notebook: str | None = None,
                    started_at: datetime | None = None, ended_at: datetime | None = None,
                    weight_changes: list[dict] | None = None, model_bytes: bytes | None = None,
                    kind: str = "train", study: str | None = None, trial: int | None = None,
                    summary: dict | None = None, shared: bool = False) -> str:
    """Store a finished training (a ``TrainResult``: ``.config``, ``.history``, ``.test_metrics``, ...); its id.

    ``kind``/``study``/``trial``/``summary`` let a tuning trial be recorded the same way; ``ended_at``
    defaults to now. ``summary`` gets the run's ``seconds`` when the result has them.
    """
    config = result.config.to_dict()
    message = str(getattr(result, "message", "") or "")
    extra = dict(summary or {})
    if getattr(result, "seconds", None) is not None:
        extra.setdefault("seconds", float(result.seconds))
    record = RunRecord(
        kind=kind, name=name, status=run_status(result.stopped_reason, message), config=config,
        dataset=str(config.get("dataset", "")), tasks=_task_names(config.get("tasks", [])),
        history=[event.to_dict() for event in result.history], test_metrics=dict(result.test_metrics),
        weight_changes=list(weight_changes or []), summary=extra, started_at=started_at,
        ended_at=ended_at or datetime.now(UTC), notebook=notebook, shared=shared, study=study, trial=trial,
        model=model_bytes, message=message)
    return store.add_run(record)


def _task_names(tasks: list) -> list[str]:
    """Task names from ``TrainConfig.to_dict()["tasks"]`` (dicts with a ``column``, or plain names)."""
    return [str(t["column"]) if isinstance(t, dict) else str(t) for t in tasks]
