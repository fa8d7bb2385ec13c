"""The sidebar's training status, shown on every page (training belongs to the session, not a page)."""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.plain import plain
from ui.refresh import every, follow_load

#: The status line's base interval (the load stretches it, ``ui.refresh``).
STATUS_SECONDS = 2.0


def training_status() -> None:
    """A line in the sidebar saying how the session's training run is going; refreshes while it runs."""
    session = state.training()
    if session is None:
        return
    running = session.run.running

    interval = every(STATUS_SECONDS, running)

    @st.fragment(run_every=interval)
    def status() -> None:
        follow_load(STATUS_SECONDS, interval)
        run = session.run
        done, total = len(run.events()), run.config.epochs
        if run.running:
            # A continuous run goes past its epoch budget: the bar stays full instead of raising.
            st.progress(min(done / total, 1.0), text=f"Training: epoch {done}/{total}")
        elif run.error:
            st.caption("Training failed; see the Train page.")
        elif run.result is not None:
            st.caption(plain(f"Trained: {run.result.message}"))
        if running and not run.running:
            st.rerun()

    with st.sidebar:
        status()
