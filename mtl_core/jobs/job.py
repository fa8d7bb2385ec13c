"""A job: one unit of work (``mtl_core.jobs.work.Work``) run in a background thread.

The interface is what a caller needs to drive any long work without reaching into it: ``start``, ``stop``,
``join``, ``running``/``finished``, ``progress()``, ``events()``, ``error``, ``result`` and ``elapsed``. All of it is
plain data, so a job run in a worker process later can offer the same interface.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from mtl_core.jobs.work import Work


class Job:
    """Runs ``work.run()`` in a daemon thread; keeps its result, or its error as a message."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self.label = work.label
        self.result: Any = None
        self.error: str | None = None
        self.started_at: float | None = None
        self._ended_at: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"mtl-{type(work).__name__.lower()}", daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.work.run()
        except Exception as exc:  # noqa: BLE001 - reported to the caller instead of dying silently in a thread
            self.error = f"{self.label} failed: {exc}"
            traceback.print_exc()
        finally:
            self._ended_at = time.perf_counter()

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
