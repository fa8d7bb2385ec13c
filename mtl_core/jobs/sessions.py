"""Jobs by browser session, and a watcher that stops a session's jobs once the session has gone.

The server registers every job it starts under the session's id; ``SessionJobs`` polls ``is_active(session)``
(for Streamlit: whether the browser is still connected) and, once a session has been gone for ``grace`` seconds
(a reload reconnects well within that), stops its jobs and drops them, so a closed tab stops training within
``every + grace`` seconds and the job's memory can be freed. It knows nothing of Streamlit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

_log = logging.getLogger(__name__)


class SessionJobs:
    """The jobs of each session; a daemon thread stops those of sessions that are no longer active."""

    def __init__(self, is_active: Callable[[str], bool], *, every: float = 2.0, grace: float = 10.0) -> None:
        self.is_active = is_active
        self.every = every
        self.grace = grace
        self._lock = threading.Lock()
        self._jobs: dict[str, list[Any]] = {}
        self._gone_since: dict[str, float] = {}
        #: Sessions whose jobs were stopped because the session ended (for tests and logs).
        self.ended: list[str] = []
        self._thread = threading.Thread(target=self._watch, name="mtl-session-watcher", daemon=True)
        self._thread.start()

    def add(self, session: str, job: Any) -> None:
        """Register ``job`` (anything with ``stop()`` and ``running``) under ``session``."""
        with self._lock:
            self._jobs.setdefault(session, []).append(job)

    def jobs(self, session: str) -> list[Any]:
        """The session's registered jobs that are still running."""
        with self._lock:
            return [j for j in self._jobs.get(session, []) if j.running]

    def check(self) -> None:
        """One round: forget finished jobs; stop the jobs of sessions gone for ``grace`` seconds."""
        now = time.monotonic()
        with self._lock:
            sessions = list(self._jobs)
        for session in sessions:
            try:
                active = self.is_active(session)
            except Exception:  # noqa: BLE001 - a broken check must not stop the watcher
                _log.exception("session check failed")
                active = True
            with self._lock:
                jobs = self._jobs.get(session, [])
                if active:
                    self._gone_since.pop(session, None)
                    self._jobs[session] = [j for j in jobs if j.running]
                    if not self._jobs[session]:
                        self._jobs.pop(session, None)
                    continue
                since = self._gone_since.setdefault(session, now)
                if now - since < self.grace:
                    continue
                self._jobs.pop(session, None)
                self._gone_since.pop(session, None)
            running = [j for j in jobs if j.running]
            for job in running:
                job.stop()
            for job in jobs:
                release = getattr(job, "release", None)
                if release is not None:
                    release()
            if running:
                self.ended.append(session)
                _log.info("session %s ended: stopped %d job(s)", session, len(running))

    def _watch(self) -> None:
        while True:
            time.sleep(self.every)
            self.check()


_WATCHERS: dict[str, SessionJobs] = {}
_WATCHERS_LOCK = threading.Lock()


def session_jobs(is_active: Callable[[str], bool]) -> SessionJobs:
    """The process's one ``SessionJobs`` (made with ``is_active`` on the first call)."""
    with _WATCHERS_LOCK:
        watcher = _WATCHERS.get("server")
        if watcher is None:
            watcher = _WATCHERS["server"] = SessionJobs(is_active)
        return watcher
