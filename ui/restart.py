"""Runs that end with the server: a training saves where it stands, and a page that reconnects says so.

While a session's training runs, the run store holds it as an ``interrupted`` run (its config, then its loss
history every few seconds) and the page URL carries its id (``?run=…``). When the run ends, its final record
replaces that one. When the server stops first, the row stays: after the restart, the reconnecting page still
has the id in its URL (and its setup, so the same run can be trained again), finds the row written by another
server process, and says that its previous run ended with the server, offering the last saved state on Runs.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import streamlit as st

from ui import state

if TYPE_CHECKING:
    from mtl_core.config import TrainConfig
    from mtl_core.store.record import RunRecord
    from mtl_core.store.runs import RunStore

_log = logging.getLogger(__name__)

#: The URL parameter holding the id of the session's running training.
URL_KEY = "run"
#: This server process: a run recorded by another one (an earlier start) ended with it.
SERVER = uuid.uuid4().hex
#: How often a running training saves its history (longer histories less often: at most 1 s in 20 writing).
SAVE_SECONDS = 5.0
LOST_MESSAGE = "The server stopped while this run trained; this is its last saved state."
_ID = re.compile(r"[0-9a-f]{32}")
_LIVE, _NOTICE, _READ = "restart.live", "restart.notice", "restart.read"


def url_params() -> dict[str, str]:
    """``{"run": id}`` while the session's training runs (what the page URL carries), else nothing."""
    live = state.scratch().get(_LIVE)
    session = state.training()
    if live and session is not None and session.run.running:
        return {URL_KEY: live}
    return {}


def _save_loop(store: RunStore, run_id: str, job: object, done: threading.Event) -> None:
    from mtl_core.store.runs import JsonList

    history = JsonList()  # each epoch encoded once, not the whole history at every save
    while not done.wait(SAVE_SECONDS + len(history) / 4000):  # 100,000 epochs: every 30 s
        events = job.events()
        if len(events) == len(history):
            continue
        history.extend(event.to_dict() for event in events[len(history):])
        try:
            store.save_progress(run_id, history)
        except Exception:  # noqa: BLE001 - the row is gone (the run ended) or the store failed: stop saving
            _log.debug("stopped saving the progress of run %s", run_id, exc_info=True)
            return


def watch(job: object, config: TrainConfig, store: RunStore, notebook: str | None) -> str | None:
    """Record ``job`` (a training, about to start) as running and save its history as it goes; its id.

    The job's end deletes the row (the run recorder stores the finished run); a store failure only logs.
    """
    from mtl_core.store.record import RunRecord

    record = RunRecord(kind="train", name=f"{config.dataset} · {config.arch} · {config.weighting}",
                       status="interrupted", config=config.to_dict(), dataset=str(config.dataset),
                       tasks=list(config.task_names), notebook=notebook, started_at=datetime.now(UTC),
                       summary={"server": SERVER}, message=LOST_MESSAGE)
    try:
        run_id = store.add_run(record)
    except Exception:  # noqa: BLE001 - recording is best effort: the run goes on
        _log.warning("could not record a running training", exc_info=True)
        return None
    done = threading.Event()

    def finished(_job: object) -> None:
        done.set()
        try:
            store.delete(run_id)
        except Exception:  # noqa: BLE001
            _log.debug("could not delete the running record %s", run_id, exc_info=True)

    job.on_finish(finished)
    threading.Thread(target=_save_loop, args=(store, run_id, job, done), daemon=True,
                     name=f"mtl-save-{run_id[:8]}").start()
    state.scratch()[_LIVE] = run_id
    return run_id


def lost_run(store: RunStore, run_id: str) -> RunRecord | None:
    """The run ``run_id`` if it was training in another server process that ended before it, else None."""
    if not _ID.fullmatch(run_id or ""):
        return None
    try:
        record = store.get_run(run_id)
    except Exception:  # noqa: BLE001 - no such run (it finished and was replaced), or the store is down
        return None
    if record.status != "interrupted" or record.summary.get("server") == SERVER:
        return None
    return record


def notice() -> None:
    """Once per session, read the URL's run id; while the session has not trained since, say what happened."""
    from ui.plain import md
    from ui.run_store import store

    scratch = state.scratch()
    if not scratch.get(_READ):
        scratch[_READ] = True
        run_id = st.query_params.get(URL_KEY, "")
        runs = store() if run_id and state.training() is None else None
        record = lost_run(runs, run_id) if runs is not None else None
        if record is not None:
            epochs = record.epochs_run or 0
            total = record.config.get("epochs", "?")
            when = f"{record.started_at:%H:%M} UTC" if record.started_at else "earlier"
            scratch[_NOTICE] = md(
                "Your previous run ({}, started {}) ended when the server restarted, after {} of {} epochs. "
                "This page kept its setup from the link: press Play on Train to run it again. Its last saved state "
                "(the loss curves up to epoch {}) is on Runs.", record.name, when, epochs, total, epochs)
    if scratch.get(_NOTICE):
        if state.training() is not None:
            scratch[_NOTICE] = None  # trained again since: the news is old
            return
        st.warning(scratch[_NOTICE], icon=":material/restart_alt:")
        st.page_link("pages/runs.py", label="See its last saved state on Runs", icon=":material/history:")
