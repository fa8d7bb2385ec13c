"""Opening a database: the SQLAlchemy engine (SQLite tuned for several writing processes), schema set-up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from mtl_core.errors import ConfigError
from mtl_core.store import schema
from mtl_core.store.urls import check_db_url, is_sqlite, shown

#: How long a SQLite writer waits for another process's write to finish before giving up.
BUSY_SECONDS = 60.0
#: How long connecting to PostgreSQL may take before the database counts as unreachable.
CONNECT_SECONDS = 5
#: Key of the PostgreSQL advisory lock that serialises schema set-up between processes ("mtl" + 1).
_SCHEMA_LOCK = 0x6D746C01
_WRITE = "mtl_write"


def make_engine(url: str, *, param: str = "db_url") -> sa.Engine:
    """An engine for a checked URL: SQLite in WAL mode with a busy timeout, or PostgreSQL via psycopg 3."""
    if not is_sqlite(url):
        try:
            return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_SECONDS})
        except ImportError as exc:  # psycopg is an optional dependency (the "postgres" extra)
            raise _unreachable(url, param, "PostgreSQL needs psycopg 3: pip install 'psycopg[binary]'") from exc
    database = sa.make_url(url).database
    memory = not database or database == ":memory:"
    if not memory:
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unreachable(url, param, f"cannot create its folder ({exc.strerror})") from exc
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False},
                              **({"poolclass": StaticPool} if memory else {}))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up front; turn it
        # off and emit BEGIN ourselves (the recipe in SQLAlchemy's SQLite docs).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # WAL: readers never block the writer; busy_timeout: a writer waits for another instead of failing;
        # synchronous=NORMAL is safe against a killed process in WAL mode (only power loss can drop the
        # last commits, never corrupt the file).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A writer takes the lock at BEGIN: a deferred transaction that reads then writes can fail with
        # SQLITE_BUSY at once (no waiting) when another process wrote in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


@contextmanager
def write(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One write transaction (SQLite: holding the write lock from its start); commits on success."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def read(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One read transaction (a consistent snapshot)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def open_engine(url: str | None, *, param: str = "db_url") -> tuple[str, sa.Engine]:
    """Check the URL, connect, create or migrate the schema; ConfigError naming ``param`` on failure."""
    url = check_db_url(url, param=param)
    engine = make_engine(url, param=param)
    try:
        with read(engine) as conn:
            version = schema.read_version(conn)
        if version != schema.SCHEMA_VERSION:
            with write(engine) as conn:
                if not is_sqlite(url):
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
                # Read again under the lock: another process may have created or migrated it meanwhile.
                version = schema.read_version(conn)
                if version is not None and version > schema.SCHEMA_VERSION:
                    raise ConfigError(
                        f"{param}={shown(url)!r} is invalid: its run store has schema version {version}, newer "
                        f"than this mtl_core knows ({schema.SCHEMA_VERSION}); upgrade mtl_core.",
                        param=param, value=shown(url))
                if version != schema.SCHEMA_VERSION:
                    schema.upgrade(conn, version)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise _unreachable(url, param, f"cannot open the database ({_reason(exc)})") from exc
    except ConfigError:
        engine.dispose()
        raise
    return url, engine


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's message, first line only."""
    lines = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
    text = lines[0].strip()
    return text if len(text) <= 160 else text[:159] + "…"


def _unreachable(url: str, param: str, why: str) -> ConfigError:
    return ConfigError(f"{param}={shown(url)!r} is invalid: {why}.", param=param, value=shown(url))
