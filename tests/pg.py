"""PostgreSQL for tests: the server in env MTL_TEST_PG_URL (see .ci/start-postgres), or a clear skip.

Use ``fresh_pg_database()`` in a fixture of your test module; each test gets its own empty database,
dropped afterwards:

    @pytest.fixture()
    def pg_url():
        with fresh_pg_database() as url:
            yield url
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ENV = "MTL_TEST_PG_URL"
HOW = "start one with `export MTL_TEST_PG_URL=\"$(.ci/start-postgres)\"`"


@functools.cache
def _server_problem() -> str | None:
    """Why PostgreSQL tests cannot run (None when they can); asked once per test session."""
    url = os.environ.get(PG_ENV)
    if not url:
        return f"{PG_ENV} is not set; {HOW}"
    try:
        import psycopg

        with psycopg.connect(_libpq(url), connect_timeout=3):
            pass
    except Exception as exc:  # any failure to connect means: skip, saying why
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {PG_ENV}={url!r} is not reachable ({first}); {HOW}"
    return None


def pg_server_url() -> str:
    """The test server's SQLAlchemy URL; skips the test when it is not set or not reachable."""
    problem = _server_problem()
    if problem:
        pytest.skip(problem)
    return os.environ[PG_ENV]


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new empty database on the test server (SQLAlchemy URL), dropped on exit; skips without a server."""
    import psycopg
    from sqlalchemy import make_url

    base = pg_server_url()
    name = f"mtl_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (drops the ``+psycopg`` driver suffix)."""
    return f"postgresql://{url.split('://', 1)[1]}"


@pytest.fixture(params=["sqlite", "postgresql"], name="url")
def backend_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The ``url`` fixture: an empty store's URL on each backend (PostgreSQL skips without a test server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        with fresh_pg_database() as pg:
            yield pg
