"""The CSV upload of the Data & tasks page: a good file becomes the dataset, a bad one changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from mtl_core.errors import MTLError
from ui import state
from ui.plain import plain


def limit_mb() -> int:
    """The upload limit in MB of 1,000,000 bytes (the core's limit; ``server.maxUploadSize`` is the same)."""
    from mtl_core.data.csv_loader import MAX_CSV_BYTES, MB

    return MAX_CSV_BYTES // MB


def use_upload(data: bytes, file_name: str) -> str:
    """Load an uploaded file and make it the session's dataset; raise DataError (nothing changed) if unusable."""
    name = state.uploads().add(data, file_name)
    if state.config().dataset == name:
        # The same file name again (a corrected file): start over from its suggested tasks.
        state.set_tasks(list(state.suggested_tasks(name)))
        state.config().inputs = None
    else:
        state.set_dataset(name, state.suggested_tasks(name))
    return name


def is_open(slot: str, widget_key: str | None = None) -> bool:
    """True while an upload section has a message to show or its uploader holds a file (its expander stays open).

    Decided before the section is drawn, from the uploader's state of the last interaction: a section that
    collapsed after one good file would hide the message about the next (bad) one.
    """
    scratch = state.scratch()
    holding = widget_key is not None and st.session_state.get(widget_key) is not None
    return bool(holding or scratch.get(f"{slot}.error") or scratch.get(f"{slot}.loaded"))


def apply_once(uploaded: Any, slot: str, apply: Callable[[Any], str], failed: Callable[[MTLError], str] = str) -> None:
    """Apply a file_uploader's file once: ``apply`` returns the success message or raises MTLError.

    The uploader keeps its file until it is removed, so every run sees it again; applying it again would undo
    the edits made since, or repeat a failure. The success message shows after the rerun that applies it;
    ``failed(exc)`` shows on every run until the file is replaced (nothing else changes).
    """
    scratch = state.scratch()
    seen, error, loaded = f"{slot}.seen", f"{slot}.error", f"{slot}.loaded"
    message = scratch.pop(loaded, None)
    if message:
        st.success(plain(message), icon=":material/check_circle:")
    if uploaded is None:
        scratch[seen] = scratch[error] = None
        return
    signature = (uploaded.name, uploaded.size, getattr(uploaded, "file_id", None))
    if scratch.get(seen) != signature:
        scratch[seen], scratch[error] = signature, None
        try:
            scratch[loaded] = apply(uploaded)
        except MTLError as exc:
            scratch[error] = failed(exc)
        else:
            st.rerun()
    if scratch.get(error):
        st.error(plain(scratch[error]), icon=":material/error:")


def _use_csv(uploaded: Any) -> str:
    with st.spinner(f"Reading {uploaded.name}…"):
        name = use_upload(uploaded.getvalue(), uploaded.name)
    frame = state.uploads()[name].frame
    return (f"Loaded {uploaded.name}: {len(frame):,} rows × {len(frame.columns)} columns. "
            f"Target: {', '.join(state.config().task_names)} (change it below).")


def csv_upload_section() -> None:
    """The uploader; shows the core's message for a bad file and keeps the previous dataset."""
    with st.expander("Upload your own CSV", icon=":material/upload_file:", expanded=is_open("upload", "csv_upload")):
        st.caption(f"At most **{limit_mb()} MB** ({limit_mb() * 1_000_000:,} bytes; a bigger file is refused by the "
                   "browser before it is sent, and shows a red icon instead of loading). A header row, then one "
                   "row per example; comma, semicolon, tab or pipe separated; UTF-8 or Windows (cp1252/Latin-1) "
                   "text. Rows with a missing value (empty, NA, NaN, ?) are dropped and the notes below say how "
                   "many. Your file stays in this browser session: it is not shared with other users and can't be "
                   "put in a link.")
        uploaded = st.file_uploader("CSV file", type=["csv", "txt", "tsv"], key="csv_upload",
                                    max_upload_size=limit_mb(), label_visibility="collapsed")
        apply_once(uploaded, "upload", _use_csv,
                   lambda exc: f"{uploaded.name}: {exc} The previous dataset is still in use.")
