"""A job: one unit of work (``mtl_core.jobs.work.Work``) run in a background thread.

The interface is what a caller needs to drive any long work without reaching into it: ``start``, ``stop``,
``join``, ``running``/``finished``, ``progress()``, ``events()``, ``error``, ``result`` and ``elapsed``. All of it is
plain data, so a job run in a worker process later can offer the same interface.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from mtl_core.jobs.work import Work

#: ``on_finish(job)``: called in the job's thread once its result or error is set (e.g. to record the run).
FinishHook = Callable[["Job"], None]

_log = logging.getLogger(__name__)
#: Every job's thread name starts with this.
THREAD_PREFIX = "mtl-job-"


class Job:
    """Runs ``work.run()`` in a daemon thread; keeps its result, or its error as a message.

    ``on_finish`` hooks run in the job's own thread when the work ends, so they run even when nobody watches
    the job any more (the user left the page); a failing hook is logged and never changes the job's outcome.
    """

    def __init__(self, work: Work, on_finish: FinishHook | None = None) -> None:
        self.work = work
        self._finish_hooks: list[FinishHook] = [on_finish] if on_finish is not None else []
        self.label = work.label
        self.result: Any = None
        self.error: str | None = None
        self.started_at: float | None = None
        self._ended_at: float | None = None
        # The name's prefix is how ``mtl_core.jobs.load`` counts the jobs running in this process.
        self._thread = threading.Thread(target=self._run, name=f"{THREAD_PREFIX}{type(work).__name__.lower()}",
                                        daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.work.run()
        except Exception as exc:  # noqa: BLE001 - reported to the caller instead of dying silently in a thread
            self.error = f"{self.label} failed: {exc}"
            traceback.print_exc()
        finally:
            self._ended_at = time.perf_counter()
            for hook in self._finish_hooks:
                try:
                    hook(self)
                except Exception:  # noqa: BLE001 - a hook (e.g. recording the run) must never break the job
                    _log.exception("%s: an on_finish hook failed", self.label)

    def on_finish(self, hook: FinishHook) -> Job:
        """Call ``hook(job)`` in the job's thread when the work has ended (add before ``start``); returns self."""
        if self.started_at is not None:
            raise RuntimeError("add on_finish hooks before the job starts")
        self._finish_hooks.append(hook)
        return self

    def start(self) -> Job:
        """Start the work in its thread; returns self."""
        self.started_at = time.perf_counter()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the work to stop at its next epoch boundary (thread-safe; the result then says it stopped)."""
        self.work.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the work; True once it has finished (also when it was never started)."""
        if self.started_at is not None:
            self._thread.join(timeout)
        return not self.running

    @property
    def stop_requested(self) -> bool:
        """True once ``stop`` was called."""
        return self.work.stop_requested

    @property
    def running(self) -> bool:
        """True while the work's thread is alive."""
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True once the work ended (completed, stopped or failed)."""
        return self.started_at is not None and not self._thread.is_alive()

    @property
    def elapsed(self) -> float:
        """Seconds since the start (the total once finished; 0 before the start)."""
        if self.started_at is None:
            return 0.0
        end = self._ended_at if self._ended_at is not None else time.perf_counter()
        return end - self.started_at

    def progress(self) -> tuple[str, float]:
        """The latest (stage, fraction done) of the work."""
        return self.work.progress()

    def events(self) -> list[Any]:
        """A copy of the work's events so far."""
        return self.work.events()
