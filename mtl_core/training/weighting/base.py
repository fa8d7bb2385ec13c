"""The base class of loss-weighting strategies; the trainer calls these hooks inside its compiled loop."""

from __future__ import annotations

import tensorflow as tf

from mtl_core.errors import bad_value
from mtl_core.registries import WEIGHTINGS, ParamSpec, resolve_weighting_params


def resolve_params(strategy: str, params: dict[str, float]) -> dict[str, float]:
    """The registry's defaults for ``strategy`` overridden by ``params``; ConfigError naming a bad parameter."""
    return resolve_weighting_params(strategy, params)


class WeightingStrategy:
    """Decides each task's loss weight and turns per-task losses into gradients.

    Hooks run inside a compiled ``tf.function``: use TensorFlow ops and ``tf.Variable`` state created in
    ``build``, never Python state that changes during training.
    """

    #: Set when ``gradients`` needs a persistent tape (it takes one gradient per task).
    needs_task_gradients: bool = False
    #: The strategy's name in ``mtl_core.registries.WEIGHTINGS``, whose entry declares its parameters.
    name: str = ""

    def __init__(self, n_tasks: int, user_weights: list[float], params: dict[str, float], seed: int) -> None:
        self.n_tasks = n_tasks
        # Defaults and ranges come from the registry entry, so they are declared once (and read without TF).
        self.params = resolve_params(self.name, params)
        self.seed = seed
        self.user_weights = tf.Variable(user_weights, dtype=tf.float32, trainable=False, name="user_weights")

    @property
    def uses_user_weights(self) -> bool:
        """Whether the user's loss-weight sliders drive the weights (only ``fixed``; see the registry)."""
        return WEIGHTINGS[self.name].uses_user_weights

    @classmethod
    def param_specs(cls) -> dict[str, ParamSpec]:
        """The numeric parameters the strategy accepts in ``config.weighting_params``."""
        return WEIGHTINGS[cls.name].param_specs

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


def require_shared(strategy: str, shared_variables: list) -> None:
    """ConfigError naming ``weighting`` when a strategy that works on shared-layer gradients has none."""
    if not shared_variables:
        raise bad_value("weighting", strategy, "this strategy compares the tasks' gradients on the shared "
                        "layers, and the model has none; add a shared layer (e.g. shared=[16]) or use 'fixed'")


def dense_gradients(grads: list, variables: list) -> list[tf.Tensor]:
    """``grads`` with each ``None`` (an unconnected variable) replaced by zeros of the variable's shape."""
    return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
