"""``RunRecord``: one recorded run (a training, a comparison, a study or one of its trials)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from mtl_core.errors import bad_value

KINDS: tuple[str, ...] = ("train", "compare", "study", "trial")
#: ``interrupted``: a run recorded while it trained, whose process ended before the run did (a server restart);
#: its history is the last one saved.
STATUSES: tuple[str, ...] = ("completed", "stopped", "diverged", "early_stopped", "failed", "interrupted")

#: Fields a list query leaves out (they can be large): they keep their defaults in listed records.
HEAVY_FIELDS: tuple[str, ...] = ("history", "weight_changes", "model")


@dataclass
class RunRecord:
    """One run as the store keeps it; ``id``, ``has_model`` and ``epochs_run`` are filled by the store."""

    kind: str
    name: str
    status: str
    config: dict
    dataset: str
    tasks: list[str]
    history: list[dict] = field(default_factory=list)
    test_metrics: dict = field(default_factory=dict)
    weight_changes: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    notebook: str | None = None
    shared: bool = False
    study: str | None = None
    trial: int | None = None
    model: bytes | None = None
    id: str | None = None
    # Additions to the contract (schema v2): a one-line outcome, and figures a list can show without the
    # history or the model.
    message: str = ""
    epochs_run: int | None = None
    has_model: bool = False

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field but ``model`` (datetimes as ISO 8601 in UTC)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"}
        for key in ("started_at", "ended_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


def check_record(record: RunRecord) -> None:
    """Raise ConfigError naming the field when a record cannot be stored."""
    if record.kind not in KINDS:
        raise bad_value("kind", record.kind, f"expected one of {list(KINDS)}")
    if record.status not in STATUSES:
        raise bad_value("status", record.status, f"expected one of {list(STATUSES)}")
    if not isinstance(record.name, str):
        raise bad_value("name", record.name, "expected a string")
    for key, kind in (("config", dict), ("test_metrics", dict), ("summary", dict), ("history", list),
                      ("weight_changes", list), ("tasks", list)):
        if not isinstance(getattr(record, key), kind):
            raise bad_value(key, type(getattr(record, key)).__name__, f"expected a {kind.__name__}")
    if record.model is not None and not isinstance(record.model, (bytes, bytearray, memoryview)):
        raise bad_value("model", type(record.model).__name__, "expected bytes or None")
    if record.trial is not None and (isinstance(record.trial, bool) or not isinstance(record.trial, int)):
        raise bad_value("trial", record.trial, "expected a whole number or None")
    for key in ("started_at", "ended_at"):
        value = getattr(record, key)
        if value is not None and not isinstance(value, datetime):
            raise bad_value(key, value, "expected a datetime or None")


def to_utc_naive(value: datetime | None) -> datetime | None:
    """A datetime as naive UTC for the database; a naive input is taken to be UTC already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def from_utc_naive(value: datetime | None) -> datetime | None:
    """A naive UTC datetime from the database as an aware UTC datetime."""
    return None if value is None else value.replace(tzinfo=UTC)
