"""The optimisers a config may name, as Keras optimisers."""

from __future__ import annotations

from mtl_core._tf import keras
from mtl_core.config import TrainConfig

_OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    """A fresh optimiser for ``config.optimizer`` at ``config.lr``."""
    return getattr(keras.optimizers, _OPTIMIZERS[config.optimizer])(learning_rate=config.lr)
