"""Dynamic Weight Average: tasks whose loss falls slowly get more weight in the next epoch."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import WeightingStrategy


class DynamicWeightAverage(WeightingStrategy):
    """Dynamic Weight Average (Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention",
    CVPR 2019).

    ``lambda_t(e) = T * exp(r_t / tau) / sum_i exp(r_i / tau)`` with ``r_t = L_t(e-1) / L_t(e-2)`` from the
    epoch-mean unweighted training losses; ``lambda = 1`` for the first two epochs. The weights change only
    at epoch boundaries and always sum to ``T``.
    """

    name = "dwa"

    def __init__(self, n_tasks: int, user_weights: list[float], params: dict[str, float], seed: int) -> None:
        super().__init__(n_tasks, user_weights, params, seed)
        self.temperature = self.params["temperature"]

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Create the last two epochs' losses and the weights of the current epoch."""
        self._last = tf.Variable(tf.ones([self.n_tasks]), trainable=False, name="dwa_loss_e1")
        self._before_last = tf.Variable(tf.ones([self.n_tasks]), trainable=False, name="dwa_loss_e2")
        # Counted here rather than taken from the trainer's epoch: a diverged epoch reports no losses.
        self._seen = tf.Variable(0, dtype=tf.int64, trainable=False, name="dwa_epochs_seen")
        self._current = tf.Variable(tf.ones([self.n_tasks]), trainable=False, name="dwa_weights")

    def weights(self) -> tf.Tensor:
        """The weights of the current epoch."""
        return self._current.read_value()

    def begin_epoch(self, epoch: tf.Tensor) -> None:
        """Compute this epoch's weights from the loss ratios of the two previous epochs."""
        ratio = self._last / tf.maximum(self._before_last, 1e-12)
        dwa = self.n_tasks * tf.nn.softmax(ratio / self.temperature)
        self._current.assign(tf.where(self._seen >= 2, dwa, tf.ones_like(dwa)))

    def end_epoch(self, epoch: tf.Tensor, epoch_losses: tf.Tensor) -> None:
        """Shift the loss history by one epoch."""
        self._before_last.assign(self._last)
        self._last.assign(tf.cast(epoch_losses, tf.float32))
        self._seen.assign_add(1)
