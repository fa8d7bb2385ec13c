"""Jobs by browser session, and a watcher that stops a session's jobs once the session has gone.

The server registers every job it starts under the session's id; ``SessionJobs`` polls ``is_active(session)``
(for Streamlit: whether the browser is still connected) and, once a session has been gone for ``grace`` seconds
(a reload reconnects well within that), stops its jobs and drops them, so a closed tab stops training within
``every + grace`` seconds and the job's memory can be freed. It knows nothing of Streamlit.

With ``on_ended``, a session stays listed after its jobs have finished, and ``on_ended(session)`` is called once it
has been gone for ``close_after`` seconds (Streamlit keeps a gone session's state for a reconnect, but frees it
only at a later disconnect: after the last student has left, nothing would). The first round after that in which
no listed job is running returns the freed heap to the OS (``mtl_core.jobs.memory.give_back``): its full garbage
collection holds the interpreter for up to seconds in a server full of sessions, which a class still training
would feel (the classroom bench's failed health checks came at those moments).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from mtl_core.jobs.memory import give_back

_log = logging.getLogger(__name__)


class SessionJobs:
    """The jobs of each session; a daemon thread stops those of sessions that are no longer active."""

    def __init__(self, is_active: Callable[[str], bool], *, every: float = 2.0, grace: float = 10.0,
                 on_ended: Callable[[str], None] | None = None, close_after: float | None = None) -> None:
        self.is_active = is_active
        self.every = every
        self.grace = grace
        self.on_ended = on_ended
        self.close_after = grace if close_after is None else max(grace, close_after)
        self._lock = threading.Lock()
        self._jobs: dict[str, list[Any]] = {}
        self._gone_since: dict[str, float] = {}
        self._trim = False
        #: Sessions whose jobs were stopped because the session ended (for tests and logs).
        self.ended: list[str] = []
        #: Sessions handed to ``on_ended`` (for tests and logs).
        self.closed: list[str] = []
        self._thread = threading.Thread(target=self._watch, name="mtl-session-watcher", daemon=True)
        self._thread.start()

    def add(self, session: str, job: Any) -> None:
        """Register ``job`` (anything with ``stop()`` and ``running``) under ``session``."""
        with self._lock:
            self._jobs.setdefault(session, []).append(job)

    def watch(self, session: str) -> None:
        """List ``session`` without a job, so that ``on_ended`` sees it end."""
        with self._lock:
            self._jobs.setdefault(session, [])

    def jobs(self, session: str) -> list[Any]:
        """The session's registered jobs that are still running."""
        with self._lock:
            return [j for j in self._jobs.get(session, []) if j.running]

    def sessions(self) -> list[str]:
        """The sessions listed (with running jobs, or with ``on_ended`` set, not yet ended)."""
        with self._lock:
            return list(self._jobs)

    def check(self) -> None:
        """One round: forget finished jobs; stop the jobs of sessions gone for ``grace`` seconds, and hand those
        gone for ``close_after`` seconds to ``on_ended``."""
        if self._trim and not self._busy():  # the sessions closed earlier have been freed by now
            self._trim = False
            give_back()
        now = time.monotonic()
        for session in self.sessions():
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
                    if not self._jobs[session] and self.on_ended is None:
                        self._jobs.pop(session, None)
                    continue
                gone = now - self._gone_since.setdefault(session, now)
                if gone < self.grace:
                    continue
                self._jobs[session] = []
                close = self.on_ended is None or gone >= self.close_after
                if close:
                    self._jobs.pop(session, None)
                    self._gone_since.pop(session, None)
            self._stop(session, jobs)
            if close and self.on_ended is not None:
                self._close(session)

    def _busy(self) -> bool:
        with self._lock:
            return any(j.running for jobs in self._jobs.values() for j in jobs)

    def _stop(self, session: str, jobs: list[Any]) -> None:
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

    def _close(self, session: str) -> None:
        try:
            self.on_ended(session)
        except Exception:  # noqa: BLE001 - a failed close must not stop the watcher
            _log.exception("closing session %s failed", session)
            return
        self.closed.append(session)
        self._trim = True

    def _watch(self) -> None:
        while True:
            time.sleep(self.every)
            self.check()


_WATCHERS: dict[str, SessionJobs] = {}
_WATCHERS_LOCK = threading.Lock()


def session_jobs(is_active: Callable[[str], bool], on_ended: Callable[[str], None] | None = None,
                 close_after: float | None = None) -> SessionJobs:
    """The process's one ``SessionJobs`` (made with these arguments on the first call)."""
    with _WATCHERS_LOCK:
        watcher = _WATCHERS.get("server")
        if watcher is None:
            watcher = _WATCHERS["server"] = SessionJobs(is_active, on_ended=on_ended, close_after=close_after)
        return watcher
