"""The server process's run store (opened once, shared by every session) and recording the session's jobs in it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import streamlit as st

from ui import share, state

if TYPE_CHECKING:
    from mtl_core.jobs.job import Job
    from mtl_core.store.runs import RunStore

_log = logging.getLogger(__name__)

# Scratch key of the session's last store problem (shown on /runs as a small warning).
STORE_ERROR = "run_store.error"


@st.cache_resource(show_spinner=False, max_entries=4)
def _open(url: str) -> RunStore:
    """One RunStore per URL for the whole server process (thread-safe: each call takes its own connection)."""
    from mtl_core.store.runs import open_store

    return open_store(url)


def store() -> RunStore | None:
    """The run store (env MTL_DB_URL, else the data folder's SQLite file), or None when it cannot be opened.

    The reason is kept for the Runs page; a store problem never stops a page or a run.
    """
    try:
        from mtl_core.store.urls import default_store_url

        return _open(default_store_url())
    except Exception as exc:  # noqa: BLE001 - any store failure (bad URL, unreachable server, disk) is reported
        _log.warning("the run store cannot be opened: %s", exc)
        state.scratch()[STORE_ERROR] = f"The run store can't be opened, so runs are not recorded: {exc}"
        return None


def store_error() -> str | None:
    """This session's last run-store problem, if any."""
    return state.scratch().get(STORE_ERROR)


def clear_store_error() -> None:
    """Forget the session's last run-store problem (once shown)."""
    state.scratch().pop(STORE_ERROR, None)


def record_when_done(job: Job) -> None:
    """Record ``job``'s run in the store when it ends, under the session's notebook (in the job's thread)."""
    from mtl_core.jobs.recorder import RunRecorder

    runs = store()
    if runs is None:
        return
    scratch = state.scratch()  # the session's dict, captured: the job's thread has no Streamlit session

    def remember(message: str) -> None:
        scratch[STORE_ERROR] = message

    job.on_finish(RunRecorder(runs, notebook=share.notebook(), on_error=remember))
    if hasattr(job, "set_loss_weights"):
        # A training (in a thread or a worker) is also recorded while it runs, so a server restart leaves
        # its last saved state and the reconnecting page can say what happened (ui/restart.py).
        from ui import restart

        restart.watch(job, job.config, runs, share.notebook())
