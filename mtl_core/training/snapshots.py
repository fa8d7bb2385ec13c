"""Copies of a model's weights kept in the graph: the rollback point before each epoch, and early stopping's best."""

from __future__ import annotations

import numpy as np

from mtl_core._tf import tf


class WeightSnapshot:
    """A copy of a list of variables that can be taken and put back inside a compiled function."""

    def __init__(self, variables: list[tf.Variable]) -> None:
        self._variables = list(variables)
        self._copies = [tf.Variable(v, trainable=False) for v in self._variables]

    def take(self) -> None:
        """Copy the variables' current values."""
        for var, copy in zip(self._variables, self._copies):
            copy.assign(var)

    def restore(self) -> None:
        """Put the copied values back."""
        for var, copy in zip(self._variables, self._copies):
            var.assign(copy)


class EarlyStopping:
    """Keeps the weights of the epoch with the lowest monitored validation loss; says when patience runs out."""

    def __init__(self, variables: list[tf.Variable], patience: int) -> None:
        self.patience = patience
        self.best = WeightSnapshot(variables)
        self.best_value = tf.Variable(np.inf, dtype=tf.float32, trainable=False)
        self.wait = tf.Variable(0, dtype=tf.int32, trainable=False)
        self.best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)

    def update(self, monitored: tf.Tensor, epoch: tf.Variable) -> tf.Tensor:
        """Record an epoch's monitored value (in the graph); True once ``patience`` epochs brought no improvement."""
        if monitored < self.best_value:
            self.best_value.assign(monitored)
            self.wait.assign(0)
            self.best_epoch.assign(epoch)
            self.best.take()
        else:
            self.wait.assign_add(1)
        return self.wait >= self.patience

    @property
    def epoch(self) -> int:
        """The epoch whose weights are kept (0 before any)."""
        return int(self.best_epoch.numpy())
