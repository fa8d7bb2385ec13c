"""Where runs and studies live: the data folder, the default URLs, and checking a database URL."""

from __future__ import annotations

import os
from pathlib import Path

from mtl_core.errors import ConfigError

DATA_DIR_ENV = "MTL_DATA_DIR"
DB_URL_ENV = "MTL_DB_URL"
DEFAULT_DATA_DIR = ".mtl-playground"
#: Accepted spellings of a PostgreSQL URL; all use psycopg 3 (psycopg2 is not a dependency).
_PG_SCHEMES = ("postgresql+psycopg", "postgresql", "postgres")
_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
EXPECTED = "expected sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"


def data_dir() -> Path:
    """The data folder: env MTL_DATA_DIR, else .mtl-playground under the working folder; created if missing."""
    path = Path(os.environ.get(DATA_DIR_ENV) or Path.cwd() / DEFAULT_DATA_DIR).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{DATA_DIR_ENV}={str(path)!r} is invalid: cannot create the folder ({exc.strerror}).",
                          param=DATA_DIR_ENV, value=str(path)) from exc
    return path


def default_store_url() -> str:
    """The run store's URL: env MTL_DB_URL if set, else a SQLite file runs.db in the data folder."""
    return os.environ.get(DB_URL_ENV) or f"sqlite:///{data_dir() / 'runs.db'}"


def default_study_storage() -> str:
    """Optuna's RDB storage URL: env MTL_DB_URL if set, else a SQLite file studies.db in the data folder."""
    return os.environ.get(DB_URL_ENV) or f"sqlite:///{data_dir() / 'studies.db'}"


def shown(url: str, limit: int = 80) -> str:
    """A URL safe to print: the password masked, cut to ``limit`` characters."""
    head, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        auth, _, host = rest.partition("@")
        if ":" in auth:
            rest = f"{auth.split(':', 1)[0]}:***@{host}"
    text = f"{head}{sep}{rest}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_db_url(url: object, *, param: str = "db_url") -> str:
    """The URL in the form SQLAlchemy needs (PostgreSQL via psycopg 3); ConfigError on an unknown scheme."""
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(f"{param}={shown(str(url))!r} is invalid: {EXPECTED}.", param=param,
                          value=shown(str(url)))
    scheme, rest = url.split("://", 1)
    if scheme.lower() in _PG_SCHEMES:
        return f"postgresql+psycopg://{rest}"
    if scheme.lower() in _SQLITE_SCHEMES:
        return f"sqlite://{rest}"
    raise ConfigError(f"{param}={shown(url)!r} is invalid: unknown scheme {scheme!r}; {EXPECTED}.",
                      param=param, value=shown(url))


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL (after ``check_db_url``)."""
    return url.startswith("sqlite:")
