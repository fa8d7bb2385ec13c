"""Each task's training loss, in the graph: cross-entropy for classes, MSE or Huber on the standardised target."""

from __future__ import annotations

from mtl_core._tf import keras, tf
from mtl_core.data.tasks import Task


def task_losses(tasks: list[Task], outputs: dict, ys: list, regression_loss: str) -> tf.Tensor:
    """A vector of per-task mean losses; regression is scored on ``(y - mean) / std`` so tasks are comparable."""
    losses = []
    for task, y in zip(tasks, ys):
        out = outputs[task.output]
        if task.kind == "multiclass":
            loss = keras.losses.sparse_categorical_crossentropy(y, out)
        elif task.kind == "binary":
            loss = keras.losses.binary_crossentropy(tf.cast(y, tf.float32)[:, None], out)
        else:
            z_true = (y - task.mean) / task.std
            z_pred = (out[:, 0] - task.mean) / task.std
            if regression_loss == "huber":
                loss = keras.losses.huber(z_true[:, None], z_pred[:, None])
            else:
                loss = tf.square(z_true - z_pred)
        losses.append(tf.reduce_mean(loss))
    return tf.stack(losses)
