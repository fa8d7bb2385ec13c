"""Live fragments' timers under load: each interval comes from ``mtl_core.jobs.load``, so views slow, not users."""

from __future__ import annotations

import streamlit as st

from mtl_core.jobs.load import live_seconds


def every(base: float, live: bool) -> float | None:
    """A fragment's ``run_every``: ``base`` seconds stretched by the server's load while ``live``, else none."""
    return live_seconds(base) if live else None


def follow_load(base: float, current: float | None) -> None:
    """In a live fragment: rerun the page once the load has halved or doubled its interval.

    A fragment's timer is fixed by the full run that drew it, so a view opened before the class pressed Play
    would otherwise keep its one-second rhythm; the rerun draws it again with the new interval.
    """
    if current is None:
        return
    wanted = live_seconds(base)
    if wanted >= 2 * current or wanted <= current / 2:
        st.rerun()
