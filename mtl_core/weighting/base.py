"""The base class of loss-weighting strategies; the trainer calls these hooks inside its compiled loop."""

from __future__ import annotations

import tensorflow as tf


class WeightingStrategy:
    """Decides each task's loss weight and turns per-task losses into gradients.

    Hooks run inside a compiled ``tf.function``: use TensorFlow ops and ``tf.Variable`` state created in
    ``build``, never Python state that changes during training.
    """

    #: Set when ``gradients`` needs a persistent tape (it takes one gradient per task).
    needs_task_gradients: bool = False
    #: Set when the user's loss-weight sliders drive the weights (only ``fixed``).
    uses_user_weights: bool = False

    def __init__(self, n_tasks: int, user_weights: list[float], params: dict[str, float], seed: int) -> None:
        self.n_tasks = n_tasks
        self.params = dict(params)
        self.seed = seed
        self.user_weights = tf.Variable(user_weights, dtype=tf.float32, trainable=False, name="user_weights")

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Create the strategy's state; called once before training."""
        pass

    @property
    def variables(self) -> list[tf.Variable]:
        """Extra variables the main optimiser trains alongside the model (e.g. learned log-variances)."""
        return []

    def weights(self) -> tf.Tensor:
        """The loss weights in force, shape [T]."""
        raise NotImplementedError

    def begin_epoch(self, epoch: tf.Tensor) -> None:
        """Called at the start of each epoch (``epoch`` counts from 1)."""
        pass

    def end_epoch(self, epoch: tf.Tensor, epoch_losses: tf.Tensor) -> None:
        """Called after each epoch with the epoch-mean unweighted training loss of each task, shape [T]."""
        pass

    def objective(self, task_losses: tf.Tensor, reg_loss: tf.Tensor) -> tf.Tensor:
        """The scalar training loss; computed inside the gradient tape."""
        return tf.reduce_sum(self.weights() * task_losses) + reg_loss

    def gradients(self, tape: tf.GradientTape, objective: tf.Tensor, task_losses: list[tf.Tensor],
                  reg_loss: tf.Tensor, variables: list[tf.Variable],
                  shared_variables: list[tf.Variable]) -> list[tf.Tensor]:
        """Gradients for ``variables`` (model variables, then this strategy's ``variables``).

        The tape recorded the forward pass, ``task_losses`` (T scalars, unstacked on the tape so that each
        can be differentiated), ``reg_loss`` and ``objective``; it is persistent when
        ``needs_task_gradients`` is set.
        """
        return tape.gradient(objective, variables)
