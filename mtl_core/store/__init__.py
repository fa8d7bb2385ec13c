"""The run store: every recorded run in SQLite (default, a file in the data folder) or a shared PostgreSQL.

TensorFlow-free and Streamlit-free; SQLAlchemy 2 underneath. Names load on first use, so that importing
``mtl_core.store.record`` (e.g. for ``KINDS`` while building the CLI parser) does not import SQLAlchemy.
"""

from __future__ import annotations

import importlib

# name -> module of this package holding it
_NAMES = {
    "KINDS": "record", "STATUSES": "record", "RunRecord": "record",
    "record_training": "recording", "run_status": "recording",
    "RunNotFound": "runs", "RunStore": "runs", "open_store": "runs",
    "SCHEMA_VERSION": "schema",
    "check_db_url": "urls", "data_dir": "urls", "default_store_url": "urls", "default_study_storage": "urls",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> object:
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'mtl_core.store' has no attribute {name!r}")
