"""CAGrad: the step near the mean gradient that most improves the worst-off task."""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.training.weighting.base import GramWeighting
from mtl_core.training.weighting.mgda import RIDGE, finite_gram


def cagrad_simplex_weights(k: tf.Tensor, c: float, masks: tf.Tensor) -> tf.Tensor:
    """``w`` on the simplex minimising ``w' K b + c sqrt(w' K w)`` (``b = 1/T``), for a float64 Gram ``K``.

    Exact: on a support ``S`` the stationarity conditions give ``v = K_SS^-1 (lambda 1 - a)`` (``a = K b``)
    with ``v' K v = c^2``, a quadratic in ``lambda``, and ``w = v / sum(v)``; every support in ``masks`` and
    both roots are tried in one batched solve, together with the simplex's corners, and the best candidate
    with ``w >= 0`` is the optimum. Returns float64, shape [T].
    """
    n = k.shape[0]
    s = tf.shape(masks)[0]
    m = masks
    a = tf.reduce_mean(k, axis=1)
    system = m[:, :, None] * m[:, None, :] * (k + RIDGE * tf.eye(n, dtype=tf.float64))[None]
    system += tf.linalg.diag(1.0 - m)
    solved = tf.linalg.solve(system, tf.stack([m, m * a[None]], axis=2))
    p, q = solved[..., 0], solved[..., 1]
    # v' K v = lambda^2 (1'p) - 2 lambda (1'q) + a'q = c^2
    sum_p, sum_q, a_q = tf.reduce_sum(p, 1), tf.reduce_sum(q, 1), tf.reduce_sum(a[None] * q, 1)
    disc = sum_q ** 2 - sum_p * (a_q - c ** 2)
    root = tf.sqrt(tf.maximum(disc, 0.0))
    lam = tf.stack([(sum_q + root) / sum_p, (sum_q - root) / sum_p], axis=1)
    v = lam[:, :, None] * p[:, None, :] - q[:, None, :]
    total = tf.reduce_sum(v, -1)
    w = v / tf.where(total > 0, total, tf.ones_like(total))[..., None]
    ok = (disc >= 0)[:, None] & (total > 0) & tf.reduce_all(w >= -1e-9, -1)
    w = tf.concat([tf.reshape(w, [2 * s, n]), tf.eye(n, dtype=tf.float64)], 0)
    ok = tf.concat([tf.reshape(ok, [2 * s]), tf.ones([n], tf.bool)], 0)
    value = tf.linalg.matvec(w, a) + c * tf.sqrt(tf.maximum(tf.einsum("si,ij,sj->s", w, k, w), 0.0))
    best = tf.gather(w, tf.argmin(tf.where(ok, value, tf.fill(tf.shape(value), tf.constant(float("inf"), tf.float64)))))
    best = tf.maximum(best, 0.0)
    return best / tf.reduce_sum(best)


def cagrad_coefficients(gram: tf.Tensor, c: float, masks: tf.Tensor) -> tf.Tensor:
    """The coefficient of each task gradient in CAGrad's update ``(g0 + lambda g_w) / (1 + c^2)``, float64 [T]."""
    n = gram.shape[0]
    if c == 0:
        return tf.fill([n], tf.constant(1.0 / n, tf.float64))
    k = finite_gram(gram)
    g0_sq = tf.reduce_mean(k)
    # The problem is scale-free once K is divided by ||g0||^2 (then its c is the user's c).
    w = cagrad_simplex_weights(k / tf.maximum(g0_sq, 1e-300), c, masks)
    gw_norm = tf.sqrt(tf.maximum(tf.einsum("i,ij,j->", w, k, w), 0.0))
    # The reference code's epsilons: they bound lambda when the chosen g_w is (nearly) zero.
    lam = c * tf.sqrt(tf.maximum(g0_sq, 0.0) + 1e-8) / (gw_norm + 1e-8)
    return (1.0 / n + lam * w) / (1.0 + c ** 2)


class CAGradWeighting(GramWeighting):
    """CAGrad, conflict-averse gradient descent (Liu, Liu, Jin, Stone & Liu, "Conflict-Averse Gradient
    Descent for Multi-task Learning", NeurIPS 2021).

    With ``g0`` the mean of the task gradients on the shared parameters, the update ``d`` maximises the
    worst task's improvement ``min_t g_t . d`` within ``||d - g0|| <= c ||g0||``. By duality
    ``d = g0 + (c ||g0|| / ||g_w||) g_w``, ``g_w = sum_t w_t g_t``, where ``w`` on the simplex minimises
    ``g_w . g0 + c ||g0|| ||g_w||``; as in the paper's code the update is divided by ``1 + c^2``. With
    ``c = 0`` it is the mean gradient. ``w`` is found exactly in the graph (``cagrad_simplex_weights``) rather
    than by SciPy's SLSQP. Task-specific parameters get their own gradients (all weights 1), as in the
    reference code. The log shows the epoch mean of the coefficient of each task gradient in ``d``.
    """

    name = "cagrad"
    uses_supports = True

    def __init__(self, n_tasks: int, user_weights: list[float], params: dict[str, float], seed: int) -> None:
        super().__init__(n_tasks, user_weights, params, seed)
        self.c = self.params["c"]

    def coefficients(self, gram: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """CAGrad's direction on the shared parameters; each task's own gradient (weight 1) elsewhere."""
        return tf.cast(cagrad_coefficients(gram, self.c, self._masks), tf.float32), tf.ones([self.n_tasks])
