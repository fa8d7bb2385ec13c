"""The gradient-conflict probe: cosine similarity of every pair of task gradients on the shared parameters."""

from __future__ import annotations

from collections.abc import Callable

from mtl_core._tf import tf

#: The probe runs on at most this many training rows: enough for a stable direction, cheap every epoch.
CONFLICT_SAMPLE_ROWS = 1024


def gradient_conflict(per_task_losses: Callable[[], tf.Tensor], shared: list[tf.Variable]) -> tf.Tensor:
    """Cosines between each pair of task gradients (pairs in ``events.conflict_pairs`` order)."""
    with tf.GradientTape(persistent=True) as tape:
        per_task = tf.unstack(per_task_losses())
    flat = []
    for loss in per_task:
        grads = tape.gradient(loss, shared)
        flat.append(tf.concat([tf.reshape(g if g is not None else tf.zeros_like(v), [-1])
                               for g, v in zip(grads, shared)], 0))
    del tape
    cos = []
    for i in range(len(flat)):
        for j in range(i + 1, len(flat)):
            norm = tf.norm(flat[i]) * tf.norm(flat[j])
            cos.append(tf.reduce_sum(flat[i] * flat[j]) / tf.maximum(norm, 1e-12))
    return tf.stack(cos)
