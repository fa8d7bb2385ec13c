"""MTL Playground's core: datasets, multi-task Keras models, a fast trainer, and their CLI.

Importing this package is cheap: TensorFlow loads only when a model-related name is first used.
"""

from __future__ import annotations

import importlib

from mtl_core.config import TaskSpec, TrainConfig, validate_config
from mtl_core.errors import ConfigError, DataError, MTLError

# name -> module holding it; these need TensorFlow, so they load on first access.
_LAZY = {
    "Trainer": "training.trainer", "TrainResult": "training.trainer", "EpochEvent": "training.trainer",
    "train": "training.trainer", "TrainingJob": "jobs.training", "Job": "jobs.job", "Predictor": "models.predict",
    "TaskPrediction": "models.predict", "save_model": "io.saving", "load_model": "io.saving",
    "model_bytes": "io.saving", "ModelInfo": "io.model_info", "load_dataset": "data.registry",
    "DATASETS": "data.registry",
}

__all__ = ["ConfigError", "DataError", "MTLError", "TaskSpec", "TrainConfig", "validate_config", *_LAZY]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'mtl_core' has no attribute {name!r}")
