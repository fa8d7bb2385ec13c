"""``RunStore``: add, list, read, rename, share and delete recorded runs, each change one transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from mtl_core.errors import MTLError, bad_value
from mtl_core.store.connect import open_engine, read, write
from mtl_core.store.record import RunRecord, check_record, from_utc_naive, to_utc_naive
from mtl_core.store.schema import run_data, runs
from mtl_core.store.urls import default_store_url, shown


class RunNotFound(MTLError, KeyError):
    """No run has the id asked for (an MTLError with ``param="run_id"``, and a KeyError)."""

    __str__ = BaseException.__str__  # KeyError would quote the message


#: Columns a list query reads: everything in ``mtl_runs`` (the large parts live in ``mtl_run_data``).
_LIST_COLUMNS = tuple(runs.columns)


class RunStore:
    """The runs in one database; safe to share between threads (each call takes its own connection)."""

    def __init__(self, url: str | None = None) -> None:
        self.url, self.engine = open_engine(url if url is not None else default_store_url())

    def __repr__(self) -> str:
        return f"RunStore({shown(self.url)!r})"

    def close(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_run(self, record: RunRecord) -> str:
        """Store a run in one transaction (a killed writer leaves no partial record); returns its new id."""
        check_record(record)
        run_id = uuid.uuid4().hex
        model = bytes(record.model) if record.model is not None else None
        epochs = record.epochs_run if record.epochs_run is not None else len(record.history)
        row = {
            "id": run_id, "kind": record.kind, "name": record.name, "status": record.status,
            "dataset": str(record.dataset), "tasks": _dumps(list(record.tasks)), "config": _dumps(record.config),
            "test_metrics": _dumps(record.test_metrics), "summary": _dumps(record.summary),
            "started_at": to_utc_naive(record.started_at), "ended_at": to_utc_naive(record.ended_at),
            "created_at": datetime.now(UTC).replace(tzinfo=None), "notebook": record.notebook,
            "shared": bool(record.shared), "study": record.study, "trial": record.trial,
            "model_size": None if model is None else len(model), "message": record.message or "",
            "epochs_run": epochs,
        }
        data = {"run_id": run_id, "history": _dumps(record.history),
                "weight_changes": _dumps(record.weight_changes), "model": model}
        with write(self.engine) as conn:
            conn.execute(runs.insert().values(**row))
            conn.execute(run_data.insert().values(**data))
        record.id, record.epochs_run, record.has_model = run_id, epochs, model is not None
        return run_id

    def list_runs(self, notebook: str | None = None, kind: str | None = None, study: str | None = None,
                  limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first, without history, weight changes or model; ``notebook`` adds shared runs."""
        query = sa.select(*_LIST_COLUMNS)
        if notebook is not None:
            query = query.where(sa.or_(runs.c.notebook == notebook, runs.c.shared.is_(True)))
        if kind is not None:
            query = query.where(runs.c.kind == kind)
        if study is not None:
            query = query.where(runs.c.study == study)
        query = query.order_by(runs.c.started_at.desc().nulls_last(), runs.c.created_at.desc(), runs.c.id)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise bad_value("limit", limit, "expected a whole number >= 0 or None")
            query = query.limit(limit)
        with read(self.engine) as conn:
            return [_record(row._mapping) for row in conn.execute(query)]

    def get_run(self, run_id: str) -> RunRecord:
        """One run with everything but the model file; RunNotFound (param ``run_id``) when there is none."""
        query = (sa.select(*_LIST_COLUMNS, run_data.c.history, run_data.c.weight_changes)
                 .join(run_data, run_data.c.run_id == runs.c.id).where(runs.c.id == str(run_id)))
        with read(self.engine) as conn:
            row = conn.execute(query).first()
        if row is None:
            raise self._missing(run_id)
        record = _record(row._mapping)
        record.history = json.loads(row.history)
        record.weight_changes = json.loads(row.weight_changes)
        return record

    def model_bytes(self, run_id: str) -> bytes | None:
        """The run's .keras file, or None when it kept none; RunNotFound when there is no such run."""
        with read(self.engine) as conn:
            row = conn.execute(sa.select(run_data.c.model).where(run_data.c.run_id == str(run_id))).first()
        if row is None:
            raise self._missing(run_id)
        return None if row.model is None else bytes(row.model)

    def rename(self, run_id: str, name: str) -> None:
        """Give a run a new name."""
        if not isinstance(name, str) or not name.strip():
            raise bad_value("name", name, "expected a non-empty string")
        self._update(run_id, name=name.strip())

    def set_shared(self, run_id: str, shared: bool) -> None:
        """Show the run to every notebook (True) or only to its own (False)."""
        self._update(run_id, shared=bool(shared))

    def save_progress(self, run_id: str, history: list[dict] | JsonList, *, model: bytes | None = None) -> None:
        """Replace a run's history (and model file, when given) in one transaction: a run still training saves
        where it stands, so a server that stops leaves its last saved state. A ``JsonList`` is saved as encoded."""
        data: dict[str, object] = {"history": history.text() if isinstance(history, JsonList) else _dumps(history)}
        values: dict[str, object] = {"epochs_run": len(history)}
        if model is not None:
            data["model"] = bytes(model)
            values["model_size"] = len(model)
        with write(self.engine) as conn:
            if conn.execute(runs.update().where(runs.c.id == str(run_id)).values(**values)).rowcount == 0:
                raise self._missing(run_id)
            conn.execute(run_data.update().where(run_data.c.run_id == str(run_id)).values(**data))

    def delete(self, run_id: str) -> None:
        """Delete a run and its history and model, in one transaction."""
        with write(self.engine) as conn:
            conn.execute(run_data.delete().where(run_data.c.run_id == str(run_id)))
            if conn.execute(runs.delete().where(runs.c.id == str(run_id))).rowcount == 0:
                raise self._missing(run_id)

    def resolve_id(self, prefix: str) -> str:
        """The full id of the one run whose id starts with ``prefix`` (as the CLI shows 8 characters)."""
        text = str(prefix).strip().lower()
        if not text or any(c not in "0123456789abcdef" for c in text):
            raise self._missing(prefix)
        with read(self.engine) as conn:
            ids = conn.execute(sa.select(runs.c.id).where(runs.c.id.startswith(text, autoescape=True))
                               .limit(2)).scalars().all()
        if len(ids) > 1:
            raise RunNotFound(f"run_id={prefix!r} is invalid: it starts more than one run id; give more of it.",
                              param="run_id", value=prefix)
        if not ids:
            raise self._missing(prefix)
        return ids[0]

    def _update(self, run_id: str, **values: object) -> None:
        with write(self.engine) as conn:
            if conn.execute(runs.update().where(runs.c.id == str(run_id)).values(**values)).rowcount == 0:
                raise self._missing(run_id)

    def _missing(self, run_id: object) -> RunNotFound:
        return RunNotFound(f"run_id={run_id!r} is invalid: no run has this id in {shown(self.url)}.",
                           param="run_id", value=run_id)


def open_store(url: str | None = None) -> RunStore:
    """Open (creating or migrating) the run store at ``url``, default env MTL_DB_URL or the data folder."""
    return RunStore(url)


class JsonList:
    """A JSON array built up item by item, each item encoded once: a running history saved every few seconds.

    Encoding the whole history at every save costs time in the length of the run each time, and ``json.dumps``
    holds the interpreter lock throughout: ten runs of 3000 epochs spent a quarter of the server's Python time
    there, stalling every page of the process.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []

    def __len__(self) -> int:
        return len(self._parts)

    def extend(self, items: Iterable[object]) -> None:
        """Encode and add ``items``."""
        self._parts.extend(_dumps(item) for item in items)

    def text(self) -> str:
        """The whole array as JSON text."""
        return "[" + ",".join(self._parts) + "]"


def _dumps(value: object) -> str:
    # NaN stays NaN (json reads it back); the CLI makes its output strict JSON itself.
    return json.dumps(value, separators=(",", ":"))


def _record(row: sa.RowMapping) -> RunRecord:
    """A record from a ``mtl_runs`` row (history, weight changes and model left at their defaults)."""
    return RunRecord(
        id=row["id"], kind=row["kind"], name=row["name"], status=row["status"], dataset=row["dataset"],
        tasks=json.loads(row["tasks"]), config=json.loads(row["config"]),
        test_metrics=json.loads(row["test_metrics"]), summary=json.loads(row["summary"]),
        started_at=from_utc_naive(row["started_at"]), ended_at=from_utc_naive(row["ended_at"]),
        notebook=row["notebook"], shared=bool(row["shared"]), study=row["study"], trial=row["trial"],
        message=row["message"], epochs_run=row["epochs_run"], has_model=row["model_size"] is not None)
