"""The CSV upload spot of the Data & tasks page (issue 5 extends it)."""

from __future__ import annotations

import streamlit as st

from mtl_core.errors import MTLError
from ui import state


def csv_upload_section() -> None:
    """Let the user upload a CSV; on success it becomes the dataset, on a bad file the old one stays."""
    from mtl_core.csv_loader import MAX_CSV_BYTES, load_csv

    with st.expander("Upload your own CSV", icon=":material/upload_file:"):
        st.caption(f"A header row, one row per example, at most {MAX_CSV_BYTES // (1024 * 1024)} MB. "
                   "Rows with missing values are dropped.")
        uploaded = st.file_uploader("CSV file", type=["csv", "txt", "tsv"], key="csv_upload",
                                    label_visibility="collapsed")
        if uploaded is None:
            return
        scratch = state.scratch()
        signature = (uploaded.name, uploaded.size, getattr(uploaded, "file_id", None))
        if scratch.get("upload_seen") == signature:
            # Already handled on an earlier run; the uploader keeps the file until it is cleared.
            if scratch.get("upload_error"):
                st.error(scratch["upload_error"])
            return
        scratch["upload_seen"] = signature
        scratch["upload_error"] = None
        try:
            dataset = load_csv(uploaded.getvalue(), uploaded.name)
        except MTLError as exc:
            scratch["upload_error"] = str(exc)
            st.error(str(exc))
            return
        name = state.add_upload(dataset, uploaded.name)
        state.set_dataset(name, dataset.suggested_tasks)
        st.rerun()
