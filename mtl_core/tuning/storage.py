"""Optuna's RDB storage for studies: SQLite by default, PostgreSQL for many workers; checked, and robust to locks.

Several ``mtl tune`` processes may share one SQLite file. SQLite allows one writer at a time: a writer waits up to
``SQLITE_TIMEOUT`` seconds for the lock (the driver's busy timeout), the file is switched to WAL so readers never
block the writer, and any storage call that still fails with "database is locked" (SQLite gives up at once when
waiting could deadlock) is retried with a short random back-off. Each storage call is one transaction that is
rolled back on error, so a retry never applies a change twice.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from mtl_core.errors import ConfigError
from mtl_core.store.urls import check_db_url, is_sqlite, shown

SQLITE_TIMEOUT = 60.0
PG_CONNECT_TIMEOUT = 5
RETRIES = 20
#: The storage calls a worker makes while trials run; each is retried on a transient lock.
_RETRIED = ("create_new_study", "create_new_trial", "set_trial_param", "set_trial_state_values",
            "set_trial_user_attr", "set_trial_system_attr", "set_study_user_attr", "set_study_system_attr",
            "get_all_trials", "get_trial", "get_study_id_from_name", "get_study_directions",
            "get_study_user_attrs", "get_study_system_attrs", "get_all_studies", "get_n_trials")


def is_transient(exc: BaseException) -> bool:
    """Whether an error (or its cause) is SQLite's "database is locked"/"busy" or a dropped connection."""
    seen = 0
    while exc is not None and seen < 5:
        text = str(exc).lower()
        if "database is locked" in text or "database table is locked" in text or "sqlite_busy" in text:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _retrying(method: Any) -> Any:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(RETRIES):
            try:
                return method(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - only transient errors are retried, others re-raised
                if attempt == RETRIES - 1 or not is_transient(exc):
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    return call


def _enable_wal(url: str) -> None:
    """Switch a SQLite file to WAL (persistent in the file), creating its folder; a no-op for in-memory URLs."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:":
        return
    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(RETRIES):
        try:
            with sqlite3.connect(path, timeout=SQLITE_TIMEOUT) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not is_transient(exc) or attempt == RETRIES - 1:
                raise ConfigError(f"storage={shown(url)!r} is invalid: cannot open the SQLite file ({exc}).",
                                  param="storage", value=shown(url)) from None
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))


def _first_line(exc: BaseException) -> str:
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    lines = [line.strip() for line in str(root).splitlines() if line.strip()]
    return lines[0] if lines else type(root).__name__


def open_storage(url: str | None = None) -> Any:
    """An ``optuna.storages.RDBStorage`` for ``url`` (default: the store's ``default_study_storage()``).

    ConfigError naming ``storage`` and the (password-masked) URL when the scheme is unknown or the database
    cannot be reached.
    """
    import optuna
    import sqlalchemy

    if url is None:
        from mtl_core.store import default_study_storage

        url = default_study_storage()
    url = check_db_url(url, param="storage")
    if is_sqlite(url):
        _enable_wal(url)
        engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_TIMEOUT}}
    else:
        engine_kwargs = {"connect_args": {"connect_timeout": PG_CONNECT_TIMEOUT}, "pool_pre_ping": True}
    storage_cls = _retrying_storage_class(optuna.storages.RDBStorage)
    for attempt in range(RETRIES):
        try:
            return storage_cls(url, engine_kwargs=engine_kwargs)
        except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError, ImportError,
                RuntimeError) as exc:
            # Two workers creating the schema of a new database at once collide (a lock, a table or a version
            # row the other one created first); opening again finds the schema and uses it.
            if (is_transient(exc) or _schema_race(exc)) and attempt < RETRIES - 1:
                time.sleep(random.uniform(0.05, 0.2))
                continue
            raise ConfigError(f"storage={shown(url)!r} is invalid: cannot use the database ({_first_line(exc)}).",
                              param="storage", value=shown(url)) from None
    raise AssertionError("unreachable")


def _schema_race(exc: BaseException) -> bool:
    """Whether opening failed because another worker created part of the schema at the same moment."""
    text = str(exc).lower()
    return any(marker in text for marker in ("already exists", "unique constraint failed", "duplicate key"))


@functools.lru_cache(maxsize=1)
def _retrying_storage_class(base: type) -> type:
    """``base`` (RDBStorage) with the calls in ``_RETRIED`` retried on transient lock errors."""
    methods = {name: _retrying(getattr(base, name)) for name in _RETRIED if hasattr(base, name)}
    return type("RetryingRDBStorage", (base,), {"__doc__": "RDBStorage that retries on 'database is locked'.",
                                                 **methods})
