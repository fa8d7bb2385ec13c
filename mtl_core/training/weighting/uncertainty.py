"""Uncertainty weighting: each task's weight is learned from its homoscedastic noise."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import WeightingStrategy


class UncertaintyWeighting(WeightingStrategy):
    """Learned task uncertainty (Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh
    Losses for Scene Geometry and Semantics", CVPR 2018).

    One learned ``s_t = log sigma_t^2`` per task, initialised at 0 and trained with the model by the main
    optimiser; the loss is ``sum_t 0.5 * exp(-s_t) * L_t + 0.5 * s_t`` and the weight shown is
    ``0.5 * exp(-s_t)``. Variant: the paper derives ``1/(2 sigma^2)`` for regression and ``1/sigma^2`` for
    classification; like many reimplementations we use the regression form for every task, so that the
    weights of a classification and a regression task are on one scale and can be compared. A task whose loss
    stays high (a noisy target) ends with a large ``s_t`` and so a small weight.
    """

    name = "uncertainty"

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Create the log-variances, one per task."""
        self.log_vars = tf.Variable(tf.zeros([self.n_tasks]), trainable=True, name="log_variances")

    @property
    def variables(self) -> list[tf.Variable]:
        """The log-variances, trained by the main optimiser."""
        return [self.log_vars]

    def weights(self) -> tf.Tensor:
        """``0.5 * exp(-s_t)``, the factor each task loss is multiplied by."""
        return 0.5 * tf.exp(-self.log_vars)

    def objective(self, task_losses: tf.Tensor, reg_loss: tf.Tensor) -> tf.Tensor:
        """Weighted losses plus the ``0.5 * s_t`` terms that stop the variances growing without bound."""
        return tf.reduce_sum(self.weights() * task_losses + 0.5 * self.log_vars) + reg_loss
