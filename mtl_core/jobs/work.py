"""The work a job runs (a training, a comparison, a study): one stop / progress / events mechanism for every kind.

A ``Work`` is plain Python and TensorFlow-free until it trains: ``run()`` does the work in the calling thread,
``stop()`` (thread-safe) ends the Trainer in progress at its next epoch boundary and tells ``run`` to skip what
has not started. Each Trainer the work runs goes through ``train``, which makes it stoppable, reports progress
after every epoch and frees the Trainer's traced graphs once it has finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mtl_core.training.trainer import EpochEvent, Trainer, TrainResult

#: ``on_progress(stage, fraction)``: a short label of what is being trained and the overall fraction done.
ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class ModelTrained:
    """Event of a multi-model work: one model finished (``stopped_reason`` as in ``TrainResult``)."""

    stage: str
    stopped_reason: str
    epochs_run: int
    seconds: float


class Work:
    """Base of every kind of work: thread-safe ``stop``, ``progress`` and ``events``, and ``train`` for its Trainers.

    Subclasses set ``label`` (used in error messages) and implement ``run``. ``on_progress`` is called on every
    progress report and ``should_stop()`` polled after every epoch: both are for callers that run the work
    directly (the CLI) rather than through a ``Job``.
    """

    label = "Work"
    #: Set by a pool worker hosting several jobs: each slice of training runs inside ``turn()`` (round robin with
    #: the other jobs of the process) and lasts about ``slice_seconds``. Unset (a thread or the CLI): no turns.
    turns: Callable[[], AbstractContextManager] | None = None
    slice_seconds: float | None = None

    def __init__(self, on_progress: ProgressCallback | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.on_progress = on_progress
        self.should_stop = should_stop
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._trainer: Trainer | None = None
        self._stage, self._fraction = "starting", 0.0
        self._events: list[Any] = []

    def run(self) -> Any:
        """Do the work in the calling thread and return its result."""
        raise NotImplementedError

    # ---- control and observation, from any thread ---------------------------------------------------
    def stop(self) -> None:
        """Stop the Trainer in progress at its next epoch boundary and skip the ones not started."""
        self._stop.set()
        with self._lock:
            trainer = self._trainer
        if trainer is not None:
            trainer.stop()

    @property
    def stop_requested(self) -> bool:
        """True once ``stop`` was called (or ``should_stop`` answered True)."""
        return self._stop.is_set()

    def report(self, stage: str, fraction: float) -> None:
        """Record progress (the fraction never goes back) and pass it to ``on_progress``."""
        with self._lock:
            self._stage, self._fraction = stage, max(self._fraction, min(float(fraction), 1.0))
        if self.on_progress is not None:
            self.on_progress(stage, fraction)

    def progress(self) -> tuple[str, float]:
        """The latest (stage, fraction done): "starting" before the first report, "done" at the end."""
        with self._lock:
            return self._stage, self._fraction

    def emit(self, event: Any) -> None:
        """Add an event (an ``EpochEvent`` of a training, a ``ModelTrained`` of a comparison or study)."""
        with self._lock:
            self._events.append(event)

    def events(self) -> list[Any]:
        """A copy of the events so far."""
        with self._lock:
            return list(self._events)

    # ---- for subclasses --------------------------------------------------------------------------------
    def turn(self) -> AbstractContextManager:
        """The context one slice of training runs in: a turn among a worker's jobs, or nothing."""
        return self.turns() if self.turns is not None else nullcontext()

    def advance(self, trainer: Trainer) -> None:
        """Train ``trainer`` until it is done, one slice per turn (all at once when there are no turns)."""
        if self.turns is None:
            while not trainer.done:
                trainer.advance()
            return
        if not trainer.done:
            # Tracing the compiled loop (the first epoch) happens outside the turns: a slow trace of a big model
            # must not hold up the process's other jobs.
            trainer.advance(max_epochs=1)
        while not trainer.done:
            with self.turn():
                trainer.advance(max_seconds=self.slice_seconds)

    def train(self, trainer: Trainer, stage: str, start: float = 0.0, span: float = 1.0,
              on_epoch: Callable[[EpochEvent], None] | None = None) -> TrainResult:
        """Run ``trainer`` as the part of the work from ``start`` to ``start + span`` of the progress.

        ``stop`` reaches it while it trains (and a stop requested before it started stops it at once); after each
        epoch ``on_epoch(event)`` runs, ``should_stop`` is polled and progress is reported. Once it has finished,
        its traced graphs are released (TensorFlow would keep them for the life of the process).
        """
        from mtl_core.training.graph_release import release_quietly

        epochs = trainer.config.epochs

        def epoch_done(event: EpochEvent) -> None:
            if on_epoch is not None:
                on_epoch(event)
            if self.should_stop is not None and not self._stop.is_set() and self.should_stop():
                self.stop()
            self.report(stage, start + span * min(event.epoch / epochs, 1.0))

        trainer.on_epoch = epoch_done
        self.report(stage, start)
        with self._lock:
            self._trainer = trainer
        if self._stop.is_set():
            trainer.stop()
        try:
            self.advance(trainer)
            return trainer.result()
        finally:
            with self._lock:
                self._trainer = None
            release_quietly(trainer)

    def finish(self) -> None:
        """Report the end ("done", 1.0); call it when the work completed without being stopped."""
        self.report("done", 1.0)
