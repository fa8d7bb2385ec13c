"""The CSV upload of the Data & tasks page: a good file becomes the dataset, a bad one changes nothing."""

from __future__ import annotations

import logging

import streamlit as st

from mtl_core.errors import DataError, MTLError
from ui import state

# Uploaded frames live in the session; keep a few (the one in use is never dropped) so memory stays bounded.
MAX_KEPT_UPLOADS = 3
_SEEN = "upload.seen"
_ERROR = "upload.error"
_LOADED = "upload.loaded"
_log = logging.getLogger(__name__)


def limit_mb() -> int:
    """The upload limit in MB (the core's limit; ``server.maxUploadSize`` is the same)."""
    from mtl_core.data.csv_loader import MAX_CSV_BYTES

    return MAX_CSV_BYTES // (1024 * 1024)


def read_upload(data: bytes, file_name: str):
    """Parse uploaded bytes with the core's loader; any failure is a DataError with a message for the page."""
    from mtl_core.data.csv_loader import load_csv

    try:
        return load_csv(data, file_name)
    except MTLError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser bug must still read as a message, never a traceback
        _log.exception("load_csv failed on %r", file_name)
        raise DataError(f"csv: could not read {file_name!r} ({type(exc).__name__}: {exc}); check that it is a "
                        "plain-text CSV table with a header row.") from exc


def use_upload(data: bytes, file_name: str) -> str:
    """Load an uploaded file and make it the session's dataset; raise DataError (nothing changed) if unusable."""
    dataset = read_upload(data, file_name)
    name = state.add_upload(dataset, file_name)
    if state.config().dataset == name:
        # The same file name again (a corrected file): start over from its suggested tasks.
        state.set_tasks(list(dataset.suggested_tasks))
        state.config().inputs = None
    else:
        state.set_dataset(name, dataset.suggested_tasks)
    uploads = state.uploads()
    for old in [n for n in uploads if n != name][: max(0, len(uploads) - MAX_KEPT_UPLOADS)]:
        del uploads[old]
    return name


def csv_upload_section() -> None:
    """The uploader; shows the core's message for a bad file and keeps the previous dataset."""
    scratch = state.scratch()
    with st.expander("Upload your own CSV", icon=":material/upload_file:",
                     expanded=bool(scratch.get(_ERROR) or scratch.get(_LOADED))):
        st.caption(f"At most **{limit_mb()} MB**. A header row, then one row per example; comma, semicolon, tab or "
                   "pipe separated; UTF-8 or Windows (cp1252/Latin-1) text. Rows with a missing value (empty, NA, "
                   "NaN, ?) are dropped and the notes below say how many. Your file stays in this browser "
                   "session: it is not shared with other users and can't be put in a link.")
        uploaded = st.file_uploader("CSV file", type=["csv", "txt", "tsv"], key="csv_upload",
                                    max_upload_size=limit_mb(), label_visibility="collapsed")
        loaded = scratch.pop(_LOADED, None)
        if loaded:
            st.success(loaded, icon=":material/check_circle:")
        if uploaded is None:
            scratch[_SEEN] = scratch[_ERROR] = None
            return
        signature = (uploaded.name, uploaded.size, getattr(uploaded, "file_id", None))
        if scratch.get(_SEEN) == signature:
            # Handled on an earlier run (the uploader keeps the file until it is removed): parsing it again
            # would reset the tasks chosen since, or repeat a failure.
            if scratch.get(_ERROR):
                st.error(scratch[_ERROR], icon=":material/error:")
            return
        scratch[_SEEN] = signature
        scratch[_ERROR] = None
        try:
            with st.spinner(f"Reading {uploaded.name}…"):
                name = use_upload(uploaded.getvalue(), uploaded.name)
        except MTLError as exc:
            scratch[_ERROR] = f"{uploaded.name}: {exc} The previous dataset is still in use."
            st.error(scratch[_ERROR], icon=":material/error:")
            return
        frame = state.uploads()[name].frame
        scratch[_LOADED] = (f"Loaded {uploaded.name}: {len(frame):,} rows × {len(frame.columns)} columns. "
                            f"Target: {', '.join(state.config().task_names)} (change it below).")
        st.rerun()
