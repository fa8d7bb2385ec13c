"""MGDA-UB: the min-norm convex combination of the task gradients, a step that decreases every task's loss."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import GramWeighting

#: Added to the scaled Gram matrix so every subset's system is solvable even for parallel gradients.
RIDGE = 1e-10


def finite_gram(gram: tf.Tensor) -> tf.Tensor:
    """``gram`` in float64 with non-finite entries as 0 (a diverging step must not break the solve)."""
    gram = tf.cast(gram, tf.float64)
    return tf.where(tf.math.is_finite(gram), gram, tf.zeros_like(gram))


def min_norm_weights(gram: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
    """The ``alpha`` on the simplex minimising ``||sum_t alpha_t g_t||^2``, from ``gram[i, j] = g_i . g_j``.

    Exact: for every support ``S`` in ``masks`` (see ``support_masks``) one batched solve of the
    equality-constrained problem's KKT system ``[[K_SS, 1], [1', 0]]``; the best candidate with
    ``alpha >= 0`` is the optimum (every candidate is a point of the simplex and the optimum's own support
    yields it). Returns float64, shape [T].
    """
    k = finite_gram(gram)
    n = k.shape[0]
    k = k / tf.maximum(tf.reduce_max(tf.linalg.diag_part(k)), 1e-300) + RIDGE * tf.eye(n, dtype=tf.float64)
    m = masks
    s = tf.shape(m)[0]
    top_left = m[:, :, None] * m[:, None, :] * k[None] + tf.linalg.diag(1.0 - m)
    top = tf.concat([top_left, m[:, :, None]], axis=2)
    bottom = tf.concat([m, tf.zeros([s, 1], tf.float64)], axis=1)[:, None, :]
    rhs = tf.concat([tf.zeros([s, n, 1], tf.float64), tf.ones([s, 1, 1], tf.float64)], axis=1)
    alpha = tf.linalg.solve(tf.concat([top, bottom], axis=1), rhs)[:, :n, 0]
    feasible = tf.reduce_all(alpha >= -1e-9, axis=1)
    norms = tf.einsum("si,ij,sj->s", alpha, k, alpha)
    best = tf.gather(alpha, tf.argmin(tf.where(feasible, norms, tf.fill([s], tf.constant(float("inf"), tf.float64)))))
    best = tf.maximum(best, 0.0)
    return best / tf.reduce_sum(best)


class MGDAWeighting(GramWeighting):
    """MGDA-UB, multiple-gradient descent (Sener & Koltun, "Multi-Task Learning as Multi-Objective
    Optimization", NeurIPS 2018).

    Each step the shared parameters move along ``d = sum_t alpha_t g_t``, the point of minimum norm in the
    convex hull of the task gradients ``g_t``: ``alpha >= 0``, ``sum alpha = 1``, and then
    ``g_t . d >= ||d||^2`` for every task, so (unless ``d = 0``, a Pareto-stationary point) the step decreases
    every task's loss. Variant: the gradients are taken on the shared parameters, not on the shared
    representation as MGDA-UB's upper bound does (the trainer's tape does not expose the representation of
    every architecture; LibMTL offers both); task-specific parameters get their own gradients (all weights 1)
    as in the paper's Algorithm 1, and no gradient normalisation. The min-norm problem is solved exactly in
    the graph over every support of the tasks (``min_norm_weights``), not by Frank-Wolfe. The log shows the
    epoch mean of ``alpha``.
    """

    name = "mgda"
    uses_supports = True

    def coefficients(self, gram: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``alpha`` on the shared parameters; each task's own gradient (weight 1) elsewhere."""
        alpha = tf.cast(min_norm_weights(gram, self._masks), tf.float32)
        return alpha, tf.ones([self.n_tasks])
