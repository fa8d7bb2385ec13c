"""What the architecture diagram needs from the data: input width and each task's output, without TensorFlow."""

from __future__ import annotations

import pandas as pd

from mtl_core.config import TrainConfig
from mtl_core.data.prepare import choose_inputs
from mtl_core.data.tasks import infer_kind, is_numeric
from ui.diagrams import TaskShape


def network_shape(frame: pd.DataFrame, config: TrainConfig) -> tuple[int, list[TaskShape]]:
    """The encoded input width (numbers as is, categories one-hot) and the output of every valid task."""
    shapes = []
    for spec in config.tasks:
        if spec.column not in frame.columns:
            continue
        series = frame[spec.column]
        kind = spec.kind or infer_kind(series)
        shapes.append(TaskShape(spec.column, kind, int(series.nunique()) if kind != "regression" else 0))
    if not config.tasks:
        return len(frame.columns), shapes
    inputs, _ = choose_inputs(frame, config)
    width = sum(1 if is_numeric(frame[c]) else int(frame[c].nunique()) for c in inputs)
    return width, shapes
