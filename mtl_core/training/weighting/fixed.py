"""Fixed weighting: the user's own loss weights."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import WeightingStrategy


class FixedWeighting(WeightingStrategy):
    """Weights set by hand (the classic weighted sum of task losses); changes apply from the next epoch."""

    name = "fixed"

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Hold the weights of the current epoch apart from the slider values."""
        self._current = tf.Variable(self.user_weights.read_value(), trainable=False, name="epoch_weights")

    def weights(self) -> tf.Tensor:
        """The weights snapshotted at the start of the epoch."""
        return self._current.read_value()

    def begin_epoch(self, epoch: tf.Tensor) -> None:
        """Take the user's latest weights for the whole epoch."""
        self._current.assign(self.user_weights)
