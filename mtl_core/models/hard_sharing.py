"""Hard parameter sharing: one shared trunk, one head per task."""

from __future__ import annotations

from mtl_core._tf import keras
from mtl_core.config import TrainConfig
from mtl_core.data.prepare import Prepared
from mtl_core.models.blocks import SHARED_PREFIX, Seeds, dense_stack, model_input, task_output


def build_hard_sharing(config: TrainConfig, prepared: Prepared) -> keras.Model:
    """Shared dense trunk (``config.shared``) feeding one dense head per task (``config.head_sizes``)."""
    seeds = Seeds(config.seed)
    inputs, x = model_input(prepared, config)
    trunk = dense_stack(x, config.shared, SHARED_PREFIX, config, seeds)
    outputs = {}
    for task in prepared.tasks:
        head = dense_stack(trunk, config.head_sizes(task.name), f"{task.output}_hidden", config, seeds)
        outputs[task.output] = task_output(head, task, seeds)
    return keras.Model(inputs, outputs, name="hard_sharing")
