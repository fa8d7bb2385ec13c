"""Long core calls (a comparison, a relatedness study) in a background thread, kept per session.

The core's long runners take ``on_progress(stage, fraction)`` and have a thread-safe ``stop()``; a
``BackgroundJob`` runs one in a thread and remembers its progress, result or error for the page to draw.
Jobs live in the session's scratch space (``ui.state.scratch``), never at module level.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Protocol

from ui import state

_JOBS = "jobs"


class Runner(Protocol):
    """What a job runs: the core's ``ComparisonRun`` and ``RelatednessStudy`` both fit."""

    def run(self) -> Any: ...

    def stop(self) -> None: ...


class BackgroundJob:
    """One runner in a daemon thread; ``report`` is the ``on_progress`` callback to hand the runner."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.stage = "starting"
        self.fraction = 0.0
        self.result: Any = None
        self.error: str | None = None
        self.started_at: float | None = None
        self.seconds = 0.0
        self.stop_requested = False
        self._runner: Runner | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def report(self, stage: str, fraction: float) -> None:
        """Progress callback (called from the worker thread)."""
        with self._lock:
            self.stage, self.fraction = stage, max(self.fraction, min(float(fraction), 1.0))

    def progress(self) -> tuple[str, float]:
        """The latest (stage, fraction done)."""
        with self._lock:
            return self.stage, self.fraction

    def start(self, runner: Runner) -> BackgroundJob:
        """Run ``runner.run()`` in a thread; returns self."""
        self._runner = runner
        self.started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._work, name=f"mtl-{self.label}", daemon=True)
        self._thread.start()
        return self

    def _work(self) -> None:
        try:
            self.result = self._runner.run()
        except Exception as exc:  # noqa: BLE001 - shown on the page instead of dying silently in a thread
            self.error = f"{self.label} failed: {exc}"
            traceback.print_exc()
        finally:
            self.seconds = time.perf_counter() - (self.started_at or time.perf_counter())

    def stop(self) -> None:
        """Ask the runner to stop at its next epoch boundary (thread-safe)."""
        self.stop_requested = True
        if self._runner is not None:
            self._runner.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True once it has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def elapsed(self) -> float:
        """Seconds since the start (the total once finished)."""
        if self.started_at is None:
            return 0.0
        return time.perf_counter() - self.started_at if self.running else self.seconds


def job(name: str) -> BackgroundJob | None:
    """The session's job called ``name`` (running or finished), if any."""
    return state.scratch().get(_JOBS, {}).get(name)


def start_job(name: str, new: BackgroundJob, runner: Runner) -> BackgroundJob:
    """Stop the session's previous ``name`` job, if any, then start ``new`` on ``runner`` in its place."""
    stop_job(name)
    state.scratch().setdefault(_JOBS, {})[name] = new
    return new.start(runner)


def stop_job(name: str) -> None:
    """Ask the session's ``name`` job to stop, if it is running."""
    current = job(name)
    if current is not None and current.running:
        current.stop()


def forget_job(name: str) -> None:
    """Stop and forget the session's ``name`` job."""
    stop_job(name)
    state.scratch().get(_JOBS, {}).pop(name, None)
