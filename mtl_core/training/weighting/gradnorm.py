"""GradNorm: weights that balance the tasks' gradient norms on the last shared layer."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import WeightingStrategy, dense_gradients, require_shared

MIN_WEIGHT = 1e-3
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


class GradNormWeighting(WeightingStrategy):
    """GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient Normalization for Adaptive
    Loss Balancing in Deep Multitask Networks", ICML 2018).

    Each step: ``G_t = ||grad_W (w_t * L_t)||_2`` on the last shared kernel ``W``; the relative inverse
    training rate ``r_t = (L_t / L_t(0)) / mean_j (L_j / L_j(0))`` with ``L(0)`` the first step's losses; the
    weights take one Adam step (learning rate ``lr``) on ``sum_t |G_t - stop_gradient(mean(G) * r_t^alpha)|``,
    are clipped to stay positive and renormalised to sum to ``T``. The model trains on ``sum_t w_t * L_t``.
    A task that learns more slowly (higher ``r_t``) gets a larger weight. Adam rather than SGD for the
    weights: SGD steps scale with the raw gradient norms, which differ by orders of magnitude across
    datasets, so no single default ``lr`` would suit them.
    """

    name = "gradnorm"
    needs_task_gradients = True

    def __init__(self, n_tasks: int, user_weights: list[float], params: dict[str, float], seed: int) -> None:
        super().__init__(n_tasks, user_weights, params, seed)
        self.alpha = self.params["alpha"]
        self.lr = self.params["lr"]

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Create the weights, the initial losses and the weights' Adam state; needs a shared layer."""
        require_shared("gradnorm", shared_variables if last_shared_kernel is not None else [])
        self.kernel = last_shared_kernel
        t = self.n_tasks
        self._weights = tf.Variable(tf.ones([t]), trainable=False, name="gradnorm_weights")
        self._initial_losses = tf.Variable(tf.ones([t]), trainable=False, name="gradnorm_initial_losses")
        self._started = tf.Variable(False, trainable=False, name="gradnorm_started")
        self._m = tf.Variable(tf.zeros([t]), trainable=False, name="gradnorm_adam_m")
        self._v = tf.Variable(tf.zeros([t]), trainable=False, name="gradnorm_adam_v")
        self._steps = tf.Variable(0.0, trainable=False, name="gradnorm_adam_steps")

    def weights(self) -> tf.Tensor:
        """The current task weights (they change every step; the log shows them at the start of each epoch)."""
        return self._weights.read_value()

    def update(self, grad_norms: tf.Tensor, losses: tf.Tensor) -> tf.Tensor:
        """One GradNorm step on the weights from ``||grad_W L_t||`` and the step's losses; returns new weights."""
        losses = tf.cast(losses, tf.float32)
        self._initial_losses.assign(tf.where(self._started, self._initial_losses, losses))
        self._started.assign(True)
        ratio = losses / tf.maximum(self._initial_losses, 1e-12)
        rate = ratio / tf.maximum(tf.reduce_mean(ratio), 1e-12)
        with tf.GradientTape() as tape:
            tape.watch(self._weights)
            norms = self._weights * tf.cast(grad_norms, tf.float32)
            target = tf.stop_gradient(tf.reduce_mean(norms) * rate ** self.alpha)
            gradnorm_loss = tf.reduce_sum(tf.abs(norms - target))
        grad = tape.gradient(gradnorm_loss, self._weights)
        self._steps.assign_add(1.0)
        self._m.assign(ADAM_BETA1 * self._m + (1 - ADAM_BETA1) * grad)
        self._v.assign(ADAM_BETA2 * self._v + (1 - ADAM_BETA2) * tf.square(grad))
        m_hat = self._m / (1 - ADAM_BETA1 ** self._steps)
        v_hat = self._v / (1 - ADAM_BETA2 ** self._steps)
        stepped = tf.maximum(self._weights - self.lr * m_hat / (tf.sqrt(v_hat) + ADAM_EPSILON), MIN_WEIGHT)
        self._weights.assign(self.n_tasks * stepped / tf.reduce_sum(stepped))
        return self._weights.read_value()

    def gradients(self, tape: tf.GradientTape, objective: tf.Tensor, task_losses: list[tf.Tensor],
                  reg_loss: tf.Tensor, variables: list[tf.Variable],
                  shared_variables: list[tf.Variable]) -> list[tf.Tensor]:
        """The model's gradient of ``sum_t w_t L_t``, then one update of the weights."""
        grads = dense_gradients(tape.gradient(objective, variables), variables)
        # Only the last shared kernel: these backward passes stop at W, which keeps GradNorm cheap.
        norms = [tf.norm(g) if g is not None else tf.constant(0.0)
                 for g in (tape.gradient(loss, self.kernel) for loss in task_losses)]
        self.update(tf.stack(norms), tf.stack(task_losses))
        return grads
