"""A finished model read back from a stored ``.keras`` file, to predict with as with a model just trained."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mtl_core.config import TrainConfig
from mtl_core.data.prepare import Prepared, prepare
from mtl_core.io.model_info import ModelInfo
from mtl_core.io.saving import load_model

if TYPE_CHECKING:
    import pandas as pd

    from mtl_core.models.predict import Predictor


class StoredModel:
    """A model loaded from ``.keras`` bytes, with the part of a finished ``TrainingJob`` that predicting uses:
    ``config``, ``info``, ``predictor`` and ``prepared`` (the same split, re-made from ``frame`` and the config's
    seed). It never runs: ``running`` is False, ``error`` None and ``events()`` empty (no live epochs).
    """

    running = False
    error: str | None = None

    def __init__(self, data: bytes, frame: pd.DataFrame) -> None:
        from mtl_core.models.predict import Predictor

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            path.write_bytes(data)
            model, info = load_model(path)
        self.info: ModelInfo = info
        self.config: TrainConfig = TrainConfig.from_dict(info.config)
        self.prepared: Prepared = prepare(frame, self.config)
        self.predictor: Predictor = Predictor(model, info)

    def events(self) -> list:
        """No live epochs: the model is not training."""
        return []
