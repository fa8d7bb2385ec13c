"""A training run as a job, for callers (like the dashboard) that must stay responsive while it trains.

The run can be paused, resumed, stepped a given number of epochs, slowed to a number of epochs per second and
made continuous (until stopped or paused); resuming continues the same run (optimizer state, history).
"""

from __future__ import annotations

import math
import threading
import time

import pandas as pd

from mtl_core.config import TrainConfig
from mtl_core.data.prepare import Prepared
from mtl_core.errors import bad_value
from mtl_core.io.model_info import ModelInfo
from mtl_core.jobs.job import FinishHook, Job
from mtl_core.jobs.work import ProgressCallback, Work
from mtl_core.models.predict import Predictor
from mtl_core.training.trainer import EpochEvent, Trainer, TrainResult

STAGE = "training"
#: A paced run more than this many seconds behind its speed starts counting afresh instead of catching up.
MAX_LAG_SECONDS = 0.5


class _Pace:
    """When the next epoch of a run paced at ``speed`` epochs per second is due."""

    def __init__(self) -> None:
        self.reset(0)

    def reset(self, epoch: int) -> None:
        self.t0, self.e0 = time.perf_counter(), epoch

    def due(self, epoch: int, speed: float) -> int:
        """Epochs to run now (0: wait ``wait(...)`` seconds first)."""
        behind = self.e0 + math.floor(speed * (time.perf_counter() - self.t0)) + 1 - epoch
        if behind > speed * MAX_LAG_SECONDS + 1:
            self.reset(epoch)
            return 1
        return max(behind, 0)

    def wait(self, epoch: int, speed: float) -> float:
        """Seconds until the next epoch is due."""
        return max(self.t0 + (epoch - self.e0) / speed - time.perf_counter(), 0.0)


class Training(Work):
    """One Trainer as work: built in the caller's thread (so bad input raises there); its events are the epochs."""

    label = "Training"

    def __init__(self, config: TrainConfig, frame: pd.DataFrame, *, chunk_seconds: float = 0.1,
                 on_progress: ProgressCallback | None = None) -> None:
        super().__init__(on_progress)
        self.trainer = Trainer(config, frame, chunk_seconds=chunk_seconds)
        self.config = self.trainer.config
        self.info = ModelInfo.from_prepared(self.trainer.prepared, self.config.to_dict())
        self.predictor = Predictor(self.trainer.model, self.info)
        # The controls: set from any thread, read by the training thread, which waits on the condition.
        self._control = threading.Condition()
        self._paused = False
        self._owed = 0  # epochs a step still has to run
        self._speed: float | None = None
        self._pace = _Pace()
        self._idle = False  # waiting while paused

    def run(self) -> TrainResult:
        """Train until done, stopped, diverged or early-stopped."""
        result = self.train(self.trainer, STAGE, on_epoch=self.emit)
        self.finish()
        return result

    # ---- controls, from any thread -------------------------------------------------------------------
    def stop(self) -> None:
        """Stop at the next epoch boundary (a paused run ends at once, with what it has)."""
        super().stop()
        with self._control:
            self._control.notify_all()

    def pause(self) -> None:
        """Pause at the next epoch boundary (also ends a step early)."""
        with self._control:
            self._paused, self._owed = True, 0
            self._control.notify_all()
        self.trainer.interrupt()

    def resume(self) -> None:
        """Go on training the same run (optimizer state and history kept)."""
        with self._control:
            self._paused, self._owed, self._idle = False, 0, False
            self._pace.reset(self.trainer.epoch)
            self._control.notify_all()

    def step(self, n: int = 1) -> None:
        """Run exactly ``n`` more epochs at full speed, then stay paused."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise bad_value("step", n, "the number of epochs to step must be a whole number of 1 or more")
        with self._control:
            if not self._paused:
                self._paused, self._owed = True, 0
                self.trainer.interrupt()
            self._owed += n
            self._idle = False
            self._control.notify_all()

    def set_speed(self, epochs_per_second: float | None) -> None:
        """Train at most ``epochs_per_second`` epochs a second (None: as fast as it goes)."""
        if epochs_per_second is not None:
            if isinstance(epochs_per_second, bool) or not isinstance(epochs_per_second, int | float) \
                    or not math.isfinite(epochs_per_second) or epochs_per_second <= 0:
                raise bad_value("speed", epochs_per_second, "epochs per second must be a number above 0, or None "
                                                            "for as fast as it goes")
            epochs_per_second = float(epochs_per_second)
        with self._control:
            if epochs_per_second == self._speed:
                return
            self._speed = epochs_per_second
            self._pace.reset(self.trainer.epoch)
            self._control.notify_all()
        self.trainer.interrupt()

    def set_continuous(self, on: bool) -> None:
        """Run until stopped or paused (True) or until the configured epochs (False)."""
        self.trainer.continuous = bool(on)
        with self._control:
            self._control.notify_all()

    @property
    def paused(self) -> bool:
        """True while paused (also while a step runs its epochs)."""
        return self._paused

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until a pause (or a step's last epoch) took effect or the run is done; True if it did."""
        with self._control:
            return self._control.wait_for(lambda: self._idle or self.trainer.done, timeout)

    @property
    def speed(self) -> float | None:
        """The speed limit in epochs per second (None: as fast as it goes)."""
        return self._speed

    # ---- the training thread -----------------------------------------------------------------------------
    def advance(self, trainer: Trainer) -> None:
        """Train ``trainer`` until it is done, following pause, step, speed and continuous."""
        while not trainer.done:
            with self._control:
                while self._paused and not self._owed and not self.stop_requested and not trainer.done:
                    self._idle = True
                    self._control.notify_all()
                    self._control.wait()
                self._idle = False
                owed, speed = self._owed, self._speed
            if trainer.done:
                break
            if owed:
                ran = self._slice(trainer, owed)
                with self._control:
                    self._owed = max(self._owed - len(ran), 0)
            elif speed is None:
                self._slice(trainer, None)
            else:
                with self._control:
                    due = self._pace.due(trainer.epoch, speed)
                    if not due:
                        # Woken early by any control; the loop then reads them afresh.
                        self._control.wait(self._pace.wait(trainer.epoch, speed))
                        continue
                self._slice(trainer, due)
        with self._control:
            self._control.notify_all()  # wakes wait_idle

    def _slice(self, trainer: Trainer, epochs: int | None) -> list[EpochEvent]:
        """Up to ``epochs`` epochs (None: until done or interrupted), in a turn when a pool worker sets turns."""
        if self.turns is None:
            return trainer.advance(max_epochs=epochs)
        if trainer.epoch == 0:
            # Tracing (the first epoch) runs outside the turns: a slow trace must not hold up the other jobs.
            return trainer.advance(max_epochs=1)
        with self.turn():
            return trainer.advance(max_epochs=epochs, max_seconds=self.slice_seconds)


class TrainingJob(Job):
    """A training in a background thread, with what a page needs of it: the config, the model's description
    (``info``), a ``predictor`` using the latest weights, the prepared data, live loss weights, and whether
    the weighting follows the user's weights or sets its own."""

    work: Training
    result: TrainResult | None

    def __init__(self, config: TrainConfig, frame: pd.DataFrame, *, chunk_seconds: float = 0.1,
                 on_finish: FinishHook | None = None) -> None:
        super().__init__(Training(config, frame, chunk_seconds=chunk_seconds), on_finish)

    @property
    def config(self) -> TrainConfig:
        """The validated config being trained."""
        return self.work.config

    @property
    def info(self) -> ModelInfo:
        """The model's description (tasks, input schema), as saved with it."""
        return self.work.info

    @property
    def predictor(self) -> Predictor:
        """Predicts with the model's current weights (live while it trains)."""
        return self.work.predictor

    @property
    def prepared(self) -> Prepared:
        """The prepared data: splits (``rows``), scaled inputs, tasks."""
        return self.work.trainer.prepared

    @property
    def uses_user_weights(self) -> bool:
        """True when the weighting follows the user's loss weights (``set_loss_weights`` changes them)."""
        return bool(self.work.trainer.strategy.uses_user_weights)

    @property
    def learns_weights(self) -> bool:
        """True when the weighting trains weights of its own alongside the model (e.g. uncertainty)."""
        return bool(self.work.trainer.strategy.variables)

    def set_loss_weights(self, weights: dict[str, float]) -> None:
        """Change loss weights for the coming epochs (ConfigError naming the task or weight if invalid)."""
        self.work.trainer.set_loss_weights(weights)

    # ---- play, pause, step, speed ------------------------------------------------------------------------
    def pause(self) -> None:
        """Pause at the next epoch boundary; ``resume`` or ``step`` goes on with the same run."""
        self.work.pause()

    def resume(self) -> None:
        """Go on training after a pause (starts a job never started); same optimizer state, same history."""
        self.work.resume()
        if self.started_at is None:
            self.start()

    def step(self, n: int = 1) -> None:
        """Train exactly ``n`` more epochs, then stay paused (starts a job never started)."""
        self.work.step(n)
        if self.started_at is None:
            self.start()

    def set_speed(self, epochs_per_second: float | None) -> None:
        """Limit the speed to ``epochs_per_second`` (None: as fast as it goes); ConfigError if not above 0."""
        self.work.set_speed(epochs_per_second)

    def set_continuous(self, on: bool) -> None:
        """Train until stopped or paused (True), or for the configured epochs (False)."""
        self.work.set_continuous(on)

    @property
    def paused(self) -> bool:
        """True while paused, or while a step runs its epochs before pausing again."""
        return self.work.paused

    @property
    def epoch(self) -> int:
        """Epochs trained so far."""
        return self.work.trainer.epoch

    @property
    def continuous(self) -> bool:
        """True when the run ignores its epoch count and goes on until stopped or paused."""
        return self.work.trainer.continuous

    @property
    def speed(self) -> float | None:
        """The speed limit in epochs per second (None: as fast as it goes)."""
        return self.work.speed

    @property
    def best_epoch(self) -> int:
        """With early stopping, the epoch whose weights the result keeps (0 before any, or without it)."""
        return self.work.trainer.best_epoch

    def events(self) -> list:
        """A copy of the epoch events (``EpochEvent``) so far."""
        return self.work.events()
