"""Validation metrics computed in the graph, every epoch, without leaving the compiled loop.

They mirror ``training.metrics.task_metrics`` (scikit-learn, used for the test split); a test checks that
both give the same figures, so this in-graph copy cannot drift.
"""

from __future__ import annotations

from mtl_core._tf import tf
from mtl_core.data.tasks import Task


def graph_metrics(tasks: list[Task], outputs: dict, ys: list) -> tf.Tensor:
    """Every task's metrics (``Task.metrics`` order) flattened into one vector."""
    values = []
    for task, y in zip(tasks, ys):
        out = outputs[task.output]
        if task.is_classification:
            if task.kind == "binary":
                pred = tf.cast(out[:, 0] > 0.5, tf.int32)
            else:
                pred = tf.cast(tf.argmax(out, axis=1), tf.int32)
            values.append(tf.reduce_mean(tf.cast(tf.equal(pred, y), tf.float32)))
            # Per-class counts from one-hot rows: the same figures as a confusion matrix's diagonal and
            # margins, without tf.math.confusion_matrix's scatter and label assertions on every epoch.
            predicted = tf.one_hot(pred, len(task.classes))
            actual = tf.one_hot(y, len(task.classes))
            tp = tf.reduce_sum(predicted * actual, 0)
            denom = tf.reduce_sum(predicted, 0) + tf.reduce_sum(actual, 0)
            present = denom > 0
            f1 = tf.where(present, 2 * tp / tf.maximum(denom, 1e-12), 0.0)
            values.append(tf.reduce_sum(f1) / tf.maximum(tf.reduce_sum(tf.cast(present, tf.float32)), 1.0))
        else:
            err = out[:, 0] - y
            values.append(tf.reduce_mean(tf.abs(err)))
            values.append(tf.sqrt(tf.reduce_mean(tf.square(err))))
            ss_tot = tf.reduce_sum(tf.square(y - tf.reduce_mean(y)))
            values.append(1.0 - tf.reduce_sum(tf.square(err)) / tf.maximum(ss_tot, 1e-12))
    return tf.stack(values)
