"""PCGrad: project away the conflicting part of each task's gradient on the shared parameters."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import WeightingStrategy, combine, dense_gradients, require_shared, task_gradients


def pcgrad_coefficients(gram: tf.Tensor, orders: tf.Tensor) -> tf.Tensor:
    """The [T, T] matrix ``A`` such that the projected task gradients are ``A @ G``.

    ``gram[i, j] = g_i . g_j`` of the original gradients; ``orders[i]`` is the order in which task ``i`` is
    projected against the others (its own index is skipped). Each projected gradient stays a combination of
    the original ones, so every dot product is read off the Gram matrix instead of the (long) gradients.
    """
    n = gram.shape[0]
    eye = tf.eye(n, dtype=gram.dtype)
    rows = []
    for i in range(n):
        coef = eye[i]
        for k in range(n):
            j = orders[i, k]
            column = tf.gather(gram, j, axis=1)
            dot = tf.reduce_sum(coef * column)
            norm_sq = tf.gather(column, j)
            conflict = tf.not_equal(j, i) & (dot < 0) & (norm_sq > 0)
            step = tf.where(conflict, dot / tf.where(norm_sq > 0, norm_sq, tf.ones_like(norm_sq)),
                            tf.zeros_like(dot))
            coef = coef - step * tf.one_hot(j, n, dtype=gram.dtype)
        rows.append(coef)
    return tf.stack(rows)


def project_conflicting(grads: tf.Tensor, orders: tf.Tensor) -> tf.Tensor:
    """PCGrad's projection of flat task gradients ``grads`` [T, D] in the given orders; returns [T, D]."""
    return tf.matmul(pcgrad_coefficients(tf.matmul(grads, grads, transpose_b=True), orders), grads)


class PCGradWeighting(WeightingStrategy):
    """PCGrad, gradient surgery (Yu, Kumar, Gupta, Levine, Hausman & Finn, "Gradient Surgery for Multi-Task
    Learning", NeurIPS 2020).

    For each task ``i``, in a random order over the other tasks ``j``: if ``g_i . g_j < 0`` then
    ``g_i <- g_i - (g_i . g_j / ||g_j||^2) g_j`` (projections against the original ``g_j``). The shared
    parameters move along the sum of the projected gradients; task-specific parameters get their ordinary
    gradients of ``sum_t L_t`` (all weights 1). The orders come from stateless random ops seeded by the run's
    seed and a step counter, so runs are reproducible. The logged weights are the effective ones: the
    coefficient of each original task gradient in the shared update (the column sums of ``A`` in
    ``pcgrad_coefficients``), averaged over the epoch; 1 for a task whose gradient was never projected away.
    """

    name = "pcgrad"
    needs_task_gradients = True
    reports_effective_weights = True

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Create the step counter that seeds the random orders; needs a shared layer."""
        require_shared("pcgrad", shared_variables)
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="pcgrad_step")

    def weights(self) -> tf.Tensor:
        """All ones: PCGrad changes directions, not loss weights (early stopping sums the validation losses)."""
        return tf.ones([self.n_tasks])

    def orders(self) -> tf.Tensor:
        """This step's projection orders, [T, T] (row ``i`` is a permutation of the tasks)."""
        seed = tf.stack([tf.constant(self.seed, tf.int64), self._step])
        return tf.argsort(tf.random.stateless_uniform([self.n_tasks, self.n_tasks], seed=seed), axis=1)

    def gradients(self, tape: tf.GradientTape, objective: tf.Tensor, task_losses: list[tf.Tensor],
                  reg_loss: tf.Tensor, variables: list[tf.Variable],
                  shared_variables: list[tf.Variable]) -> list[tf.Tensor]:
        """Projected task gradients summed on the shared parameters, plain gradients elsewhere."""
        self._step.assign_add(1)
        per_task, shared_at, flat = task_gradients(tape, task_losses, variables, shared_variables)
        # Summing the projected gradients = combining the original ones with A's column sums.
        coef = tf.reduce_sum(pcgrad_coefficients(tf.matmul(flat, flat, transpose_b=True), self.orders()), 0)
        self.record(coef)
        reg = dense_gradients(tape.gradient(reg_loss, variables), variables)
        return combine(per_task, shared_at, coef, tf.ones([self.n_tasks]), reg)
