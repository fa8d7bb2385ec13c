"""FAMO: balance how fast each task's loss falls, without per-task gradients."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import WeightingStrategy

#: Keeps ``log L`` and ``1 / L`` finite for a loss at 0 (the reference code's epsilon).
EPSILON = 1e-8
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


class FAMOWeighting(WeightingStrategy):
    """FAMO, fast adaptive multitask optimisation (Liu, Feng, Stone & Liu, "FAMO: Fast Adaptive Multitask
    Optimization", NeurIPS 2023).

    Logits ``xi`` (start 0), ``z = softmax(xi)``. The model trains on ``sum_t z_t log L_t / c`` with
    ``c = sum_t z_t / L_t`` held constant, i.e. on the gradient ``sum_t (z_t / (c L_t)) grad L_t``: one
    backward pass, no per-task gradients. After the optimiser's step the same batch's losses are computed
    once more (the one extra forward pass per step); with ``delta_t = log L_t(before) - log L_t(after)`` the
    logits take one Adam step (learning rate ``lr``, L2 decay ``gamma`` as in the reference code) along
    ``-J' delta``, ``J`` the softmax's Jacobian: a task whose loss fell less than the weighted average gains
    weight. No gradient-norm clipping; the loss floor is 0. The log shows the epoch mean of the weights
    ``z_t / (c L_t)`` (they sum to 1).
    """

    name = "famo"
    reports_effective_weights = True
    needs_losses_after_step = True

    def __init__(self, n_tasks: int, user_weights: list[float], params: dict[str, float], seed: int) -> None:
        super().__init__(n_tasks, user_weights, params, seed)
        self.lr = self.params["lr"]
        self.gamma = self.params["gamma"]

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Create the logits, their Adam state and the step's losses before the update."""
        t = self.n_tasks
        self.logits = tf.Variable(tf.zeros([t]), trainable=False, name="famo_logits")
        self._before = tf.Variable(tf.ones([t]), trainable=False, name="famo_losses_before")
        self._m = tf.Variable(tf.zeros([t]), trainable=False, name="famo_adam_m")
        self._v = tf.Variable(tf.zeros([t]), trainable=False, name="famo_adam_v")
        self._steps = tf.Variable(0.0, trainable=False, name="famo_adam_steps")

    def weights(self) -> tf.Tensor:
        """All ones (early stopping sums the validation losses); the step's weights are logged instead."""
        return tf.ones([self.n_tasks])

    def objective(self, task_losses: tf.Tensor, reg_loss: tf.Tensor) -> tf.Tensor:
        """``sum_t z_t log L_t / c`` (``c`` constant), remembering the losses for ``after_step``."""
        z = tf.nn.softmax(self.logits)
        losses = task_losses + EPSILON
        c = tf.stop_gradient(tf.reduce_sum(z / losses))
        self._before.assign(tf.stop_gradient(task_losses))
        self.record(z / (c * losses))
        return tf.reduce_sum(z * tf.math.log(losses)) / c + reg_loss

    def logit_gradient(self, before: tf.Tensor, after: tf.Tensor) -> tf.Tensor:
        """``J' delta`` for the loss change ``delta = log before - log after``, plus the decay ``gamma * xi``."""
        delta = tf.math.log(before + EPSILON) - tf.math.log(after + EPSILON)
        z = tf.nn.softmax(self.logits)
        return z * (delta - tf.reduce_sum(z * delta)) + self.gamma * self.logits

    def after_step(self, task_losses: tf.Tensor) -> None:
        """One Adam step on the logits from the batch's loss change over the model's step."""
        grad = self.logit_gradient(self._before, tf.stop_gradient(tf.cast(task_losses, tf.float32)))
        self._steps.assign_add(1.0)
        self._m.assign(ADAM_BETA1 * self._m + (1 - ADAM_BETA1) * grad)
        self._v.assign(ADAM_BETA2 * self._v + (1 - ADAM_BETA2) * tf.square(grad))
        m_hat = self._m / (1 - ADAM_BETA1 ** self._steps)
        v_hat = self._v / (1 - ADAM_BETA2 ** self._steps)
        self.logits.assign_sub(self.lr * m_hat / (tf.sqrt(v_hat) + ADAM_EPSILON))
