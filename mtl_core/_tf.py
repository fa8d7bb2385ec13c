"""The one place that imports TensorFlow and Keras, quietly; import it only where a model is needed."""

from __future__ import annotations

import logging
import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) would land on users' terminals and pages.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _import_quietly():
    # absl prints oneDNN/CUDA notices straight to fd 2 before any log level applies; hide them only
    # for the import itself (a failing import still raises, and its traceback prints after).
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras
            import tensorflow

            # Device discovery (and its failed CUDA probe) happens on first use; do it here, quietly.
            tensorflow.constant(0)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return keras, tensorflow


keras, tf = _import_quietly()


class _NoRetracingWarning(logging.Filter):
    """Each Trainer compiles its own loop once, by design; TensorFlow's global retracing heuristic
    counts those as retraces and would warn users about a problem that isn't there."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_NoRetracingWarning())

__all__ = ["keras", "tf"]
