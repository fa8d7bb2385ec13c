"""Live fragments' timers under load: each interval comes from ``mtl_core.jobs.load``, so views slow, not users.

A fragment's timer is set by the full run that draws it, so a page drawn before the class pressed Play would
keep its rhythm: ``follow_load`` reruns the page once the load has halved or doubled the interval. Only one
fragment per page calls it (the sidebar's status line while a training runs, else the page's one live panel):
one rerun per page redraws all its fragments' timers, and reruns from Train's three live fragments at once went
with pages failing in Streamlit's frontend ("Bad delta path index"; still seen once in ten with one).
"""

from __future__ import annotations

import streamlit as st

from mtl_core.jobs.load import live_seconds


def every(base: float, live: bool) -> float | None:
    """A fragment's ``run_every``: ``base`` seconds stretched by the server's load while ``live``, else none."""
    return live_seconds(base) if live else None


def follow_load(base: float, current: float | None) -> None:
    """In a page's one load-following fragment: rerun the page once the load has halved or doubled its interval."""
    if current is None:
        return
    wanted = live_seconds(base)
    if wanted >= 2 * current or wanted <= current / 2:
        st.rerun()
