"""Random Loss Weighting: fresh random loss weights at every step."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import WeightingStrategy

#: Mixed into the seed so RLW's draws are not the same Philox stream as the trainer's shuffle.
SEED_SALT = 0x524C57


class RandomLossWeighting(WeightingStrategy):
    """Random Loss Weighting (Lin, Ye, Xu, Shi & Zhang, "Reasonable Effectiveness of Random Weighting: A
    Litmus Test for Multi-Task Learning", TMLR 2022).

    Each step: ``lambda = softmax(z)`` with ``z ~ N(0, I_T)``, and the model trains on ``sum_t lambda_t L_t``;
    the weights sum to 1. The draws are stateless normals seeded by the run's seed and a step counter (no
    global random state), so a run is reproducible. The log shows each epoch's mean weights.
    """

    name = "rlw"
    reports_effective_weights = True

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Create the step counter that seeds the draws."""
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="rlw_step")

    def weights(self) -> tf.Tensor:
        """All ones (early stopping sums the validation losses); the step's weights come from ``draw``."""
        return tf.ones([self.n_tasks])

    def draw(self) -> tf.Tensor:
        """The next step's random weights, shape [T], summing to 1."""
        self._step.assign_add(1)
        seed = tf.stack([tf.constant(self.seed ^ SEED_SALT, tf.int64), self._step])
        return tf.nn.softmax(tf.random.stateless_normal([self.n_tasks], seed=seed))

    def objective(self, task_losses: tf.Tensor, reg_loss: tf.Tensor) -> tf.Tensor:
        """``sum_t lambda_t L_t`` with this step's random weights."""
        weights = self.draw()
        self.record(weights)
        return tf.reduce_sum(weights * task_losses) + reg_loss
