"""Building blocks every architecture shares: the input layer, dense stacks and the task output heads.

Naming convention the trainer and exporters rely on: layers whose name starts with ``shared`` hold the
parameters shared across tasks; each task's output layer is named ``task.output``.
"""

from __future__ import annotations

from mtl_core._tf import keras
from mtl_core.config import TrainConfig
from mtl_core.data.prepare import Prepared
from mtl_core.data.tasks import Task

SHARED_PREFIX = "shared"


class Seeds:
    """A deterministic stream of layer seeds derived from the run's seed (no global random state)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._count = 0

    def next(self) -> int:
        """The next seed."""
        self._count += 1
        return (self._seed * 1_000_003 + self._count * 7_919) % (2**31 - 1)


def model_input(prepared: Prepared, config: TrainConfig) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The encoded-feature input and, when inputs are standardised, its Normalization layer output."""
    inputs = keras.Input(shape=(prepared.x["train"].shape[1],), name="features")
    if not config.standardize_inputs:
        return inputs, inputs
    norm = keras.layers.Normalization(mean=prepared.feature_mean, variance=prepared.feature_var, name="input_norm")
    return inputs, norm(inputs)


def dense_stack(x: keras.KerasTensor, sizes: list[int], prefix: str, config: TrainConfig,
                seeds: Seeds) -> keras.KerasTensor:
    """Dense layers with the config's activation, L2 and dropout; layer names start with ``prefix``."""
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    for i, units in enumerate(sizes, start=1):
        x = keras.layers.Dense(units, activation=config.activation, name=f"{prefix}_{i}",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seeds.next()),
                               kernel_regularizer=regularizer)(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, seed=seeds.next(), name=f"{prefix}_dropout_{i}")(x)
    return x


def task_output(x: keras.KerasTensor, task: Task, seeds: Seeds) -> keras.KerasTensor:
    """A task's output layer: class probabilities, or a value in the target's original units."""
    init = keras.initializers.GlorotUniform(seed=seeds.next())
    if task.kind == "multiclass":
        return keras.layers.Dense(task.units, activation="softmax", name=task.output, kernel_initializer=init)(x)
    if task.kind == "binary":
        return keras.layers.Dense(1, activation="sigmoid", name=task.output, kernel_initializer=init)(x)
    # Trained on the standardised target; the Rescaling makes saved models speak in original units.
    z = keras.layers.Dense(1, name=f"{task.output}_standardised", kernel_initializer=init)(x)
    return keras.layers.Rescaling(scale=task.std, offset=task.mean, name=task.output)(z)


def shared_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers whose weights every task shares."""
    return [layer for layer in model.layers if layer.name.startswith(SHARED_PREFIX) and layer.trainable_weights]
