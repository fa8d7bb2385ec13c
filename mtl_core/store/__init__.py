"""The run store: every recorded run in SQLite (default, a file in the data folder) or a shared PostgreSQL.

TensorFlow-free and Streamlit-free; SQLAlchemy 2 underneath.
"""

from __future__ import annotations

from mtl_core.store.record import KINDS, STATUSES, RunRecord
from mtl_core.store.recording import record_training, run_status
from mtl_core.store.runs import RunNotFound, RunStore, open_store
from mtl_core.store.schema import SCHEMA_VERSION
from mtl_core.store.urls import check_db_url, data_dir, default_store_url, default_study_storage

__all__ = ["KINDS", "SCHEMA_VERSION", "STATUSES", "RunNotFound", "RunRecord", "RunStore", "check_db_url",
           "data_dir", "default_store_url", "default_study_storage", "open_store", "record_training",
           "run_status"]
