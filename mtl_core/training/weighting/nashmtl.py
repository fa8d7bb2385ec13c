"""Nash-MTL: the tasks bargain over the shared step; the Nash bargaining solution weights the losses."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import GramWeighting
from mtl_core.training.weighting.mgda import finite_gram

#: Added to the normalised Gram matrix: bounds alpha (by 1/sqrt(RIDGE)) when no exact solution exists,
#: e.g. for exactly opposite gradients, at a cost of RIDGE * ||alpha|| in the equation's residual.
RIDGE = 1e-6
#: Newton iterations stop when the Newton decrement falls below TOLERANCE, or after MAX_ITERATIONS.
TOLERANCE, MAX_ITERATIONS = 1e-9, 100


def nash_weights(gram: tf.Tensor) -> tf.Tensor:
    """``alpha > 0`` with ``K alpha = 1 / alpha`` for ``K = gram / ||gram||_F``, float64 [T].

    ``K alpha = 1 / alpha`` is the stationarity condition of the strictly convex, self-concordant
    ``f(alpha) = alpha' K alpha / 2 - sum log alpha``; damped Newton steps ``alpha -= H^-1 grad / (1 + lam)``
    (``lam`` the Newton decrement) stay in the positive orthant and converge from any positive start, here
    ``1 / sqrt(diag K)`` (the solution when the gradients are orthogonal), quadratically near the solution.
    """
    k = finite_gram(gram)
    n = k.shape[0]
    k = k / tf.maximum(tf.norm(k), 1e-300) + RIDGE * tf.eye(n, dtype=tf.float64)
    alpha = 1.0 / tf.sqrt(tf.linalg.diag_part(k))

    def step(i: tf.Tensor, alpha: tf.Tensor, decrement: tf.Tensor):
        grad = tf.linalg.matvec(k, alpha) - 1.0 / alpha
        newton = tf.linalg.solve(k + tf.linalg.diag(1.0 / alpha ** 2), grad[:, None])[:, 0]
        decrement = tf.sqrt(tf.maximum(tf.reduce_sum(grad * newton), 0.0))
        return i + 1, alpha - newton / (1.0 + decrement), decrement

    _, alpha, _ = tf.while_loop(lambda i, a, d: (i < MAX_ITERATIONS) & (d > TOLERANCE), step,
                                (tf.constant(0), alpha, tf.constant(1.0, tf.float64)))
    return alpha


class NashMTLWeighting(GramWeighting):
    """Nash-MTL (Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya, "Multi-Task Learning as a
    Bargaining Game", ICML 2022).

    Each step: ``G`` the task gradients on the shared parameters, ``K = G G' / ||G G'||_F`` (normalised as in
    the paper's code, so the weights do not depend on the gradients' scale), and ``alpha > 0`` solving
    ``K alpha = 1 / alpha``, i.e. ``alpha_t (g_t . d) = ||G G'||_F`` for ``d = sum_t alpha_t g_t``: each task
    gets a share of the step in inverse proportion to its alignment with it. The model trains on
    ``sum_t alpha_t L_t`` (shared and task-specific parameters, as in the paper's code). Solver: the paper
    approximates ``alpha`` by a sequence of convex problems with cvxpy; here damped Newton on the positive
    orthant in float64 (``nash_weights``) meets the equation to ``||K alpha - 1/alpha|| <= 1e-6 ||alpha||``
    (the ridge) where a solution exists; the paper's code stops at ``1e-3``. No gradient-norm clipping.
    The log shows the epoch mean of ``alpha``.
    """

    name = "nashmtl"

    def coefficients(self, gram: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``alpha`` everywhere: the gradients of ``sum_t alpha_t L_t``."""
        alpha = tf.cast(nash_weights(gram), tf.float32)
        return alpha, alpha
