"""A training run in a background thread, for callers (like the dashboard) that must stay responsive."""

from __future__ import annotations

import threading
import time
import traceback

import pandas as pd

from mtl_core.config import TrainConfig
from mtl_core.io.model_info import ModelInfo
from mtl_core.models.predict import Predictor
from mtl_core.training.trainer import EpochEvent, Trainer, TrainResult


class BackgroundRun:
    """Prepares and builds in the caller's thread (so bad input raises there), then trains in a thread."""

    def __init__(self, config: TrainConfig, frame: pd.DataFrame, *, chunk_seconds: float = 0.1) -> None:
        self.trainer = Trainer(config, frame, self._on_epoch, chunk_seconds=chunk_seconds)
        self.config = self.trainer.config
        self.info = ModelInfo.from_prepared(self.trainer.prepared, self.config.to_dict())
        self.predictor = Predictor(self.trainer.model, self.info)
        self.result: TrainResult | None = None
        self.error: str | None = None
        self.started_at: float | None = None
        self._events: list[EpochEvent] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="mtl-training", daemon=True)

    def _on_epoch(self, event: EpochEvent) -> None:
        with self._lock:
            self._events.append(event)

    def _work(self) -> None:
        try:
            self.result = self.trainer.run()
        except Exception as exc:  # noqa: BLE001 - reported to the user instead of dying silently in a thread
            self.error = f"Training failed: {exc}"
            traceback.print_exc()

    def start(self) -> BackgroundRun:
        """Start training; returns self."""
        self.started_at = time.perf_counter()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to stop at the next epoch boundary."""
        self.trainer.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """True while the training thread is alive."""
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True once training ended (completed, stopped, diverged or failed)."""
        return self.started_at is not None and not self._thread.is_alive()

    def events(self) -> list[EpochEvent]:
        """A copy of the epoch events so far."""
        with self._lock:
            return list(self._events)

    def set_loss_weights(self, weights: dict[str, float]) -> None:
        """Change loss weights for the coming epochs."""
        self.trainer.set_loss_weights(weights)
