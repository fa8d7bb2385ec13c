"""MTL Playground's core: datasets, multi-task Keras models, a fast trainer, and their CLI.

Importing this package is cheap: TensorFlow loads only when a model-related name is first used.
"""

from __future__ import annotations

import importlib

from .config import TaskSpec, TrainConfig, validate_config
from .errors import ConfigError, DataError, MTLError

# name -> module holding it; these need TensorFlow, so they load on first access.
_LAZY = {
    "Trainer": "trainer", "TrainResult": "trainer", "EpochEvent": "trainer", "train": "trainer",
    "BackgroundRun": "background", "Predictor": "predict", "TaskPrediction": "predict",
    "save_model": "saving", "load_model": "saving", "model_bytes": "saving", "ModelInfo": "model_info",
    "load_dataset": "datasets", "DATASETS": "datasets",
}

__all__ = ["ConfigError", "DataError", "MTLError", "TaskSpec", "TrainConfig", "validate_config", *_LAZY]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'mtl_core' has no attribute {name!r}")
