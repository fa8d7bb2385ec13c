"""A training run as a job, for callers (like the dashboard) that must stay responsive while it trains."""

from __future__ import annotations

import pandas as pd

from mtl_core.config import TrainConfig
from mtl_core.data.prepare import Prepared
from mtl_core.io.model_info import ModelInfo
from mtl_core.jobs.job import FinishHook, Job
from mtl_core.jobs.work import ProgressCallback, Work
from mtl_core.models.predict import Predictor
from mtl_core.training.trainer import Trainer, TrainResult

STAGE = "training"


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

    def run(self) -> TrainResult:
        """Train until done, stopped, diverged or early-stopped."""
        result = self.train(self.trainer, STAGE, on_epoch=self.emit)
        self.finish()
        return result


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

    def events(self) -> list:
        """A copy of the epoch events (``EpochEvent``) so far."""
        return self.work.events()
