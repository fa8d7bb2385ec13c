"""Live fragments' timers under load: each interval comes from ``mtl_core.jobs.load``, so views slow, not users.

A fragment's timer is set by the full run that draws it, so a page drawn before the class pressed Play would
keep its rhythm. ``follow_load`` re-times the fragment it runs in: it sends the browser the fragment's new
interval (Streamlit's own ``auto_rerun`` message, which the browser keys by fragment id and replaces in place).
It used to rerun the whole page instead, and a full rerun asked for from a fragment while the page's other
fragments were due went with pages failing in Streamlit's frontend ("Bad delta path index", "Cannot set a node
at a delta path": a blank page for 1 to 3 of 10 students in the classroom bench).
"""

from __future__ import annotations

import logging

import streamlit as st

from mtl_core.jobs.load import live_seconds

_log = logging.getLogger(__name__)


def every(base: float, live: bool) -> float | None:
    """A fragment's ``run_every``: ``base`` seconds stretched by the server's load while ``live``, else none."""
    return live_seconds(base) if live else None


def follow_load(base: float, current: float | None) -> None:
    """In a live fragment: once the load has changed its interval from ``current``, re-time this fragment."""
    if current is None:
        return
    wanted = live_seconds(base)
    if wanted != current and not _retime(wanted):
        st.rerun()  # no handle on Streamlit's message: a full rerun redraws the timers


def _retime(seconds: float) -> bool:
    """Send the browser this fragment's new interval; False where Streamlit's internals are not as expected."""
    try:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState, enqueue_message

        fragment_id = ThreadState.get().fragment_id
        if not fragment_id:
            return False
        msg = ForwardMsg()
        msg.auto_rerun.interval = seconds
        msg.auto_rerun.fragment_id = fragment_id
        enqueue_message(msg)
    except (ImportError, AttributeError) as exc:
        _log.warning("cannot re-time a live view (%s): rerunning the page instead", exc)
        return False
    return True
