"""The base class of loss-weighting strategies; the trainer calls these hooks inside its compiled loop."""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from mtl_core.errors import bad_value


@dataclass(frozen=True)
class Param:
    """A numeric parameter of a strategy: its default and the range it must lie in."""

    default: float
    low: float
    high: float
    low_open: bool = False
    description: str = ""


def resolve_params(strategy: str, params: dict[str, float], spec: dict[str, Param]) -> dict[str, float]:
    """The spec's defaults overridden by ``params``; ConfigError naming the parameter if unknown or out of range."""
    unknown = sorted(set(params) - set(spec))
    if unknown:
        valid = ", ".join(spec) if spec else "none"
        raise bad_value(f"weighting_params[{unknown[0]!r}]", params[unknown[0]],
                        f"not a parameter of weighting {strategy!r} (valid: {valid})")
    values = {name: p.default for name, p in spec.items()}
    for name, value in params.items():
        p = spec[name]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and p.low <= value <= p.high
        if ok and p.low_open and value == p.low:
            ok = False
        if not ok:
            bound = ">" if p.low_open else ">="
            raise bad_value(f"weighting_params[{name!r}]", value,
                            f"expected a number {bound} {p.low:g} and <= {p.high:g} for weighting {strategy!r}")
        values[name] = float(value)
    return values


class WeightingStrategy:
    """Decides each task's loss weight and turns per-task losses into gradients.

    Hooks run inside a compiled ``tf.function``: use TensorFlow ops and ``tf.Variable`` state created in
    ``build``, never Python state that changes during training.
    """

    #: Set when ``gradients`` needs a persistent tape (it takes one gradient per task).
    needs_task_gradients: bool = False
    #: Set when the user's loss-weight sliders drive the weights (only ``fixed``).
    uses_user_weights: bool = False
    #: The numeric parameters the strategy accepts in ``config.weighting_params`` (for validation and the UI).
    PARAMS: dict[str, Param] = {}

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


def require_shared(strategy: str, shared_variables: list) -> None:
    """ConfigError naming ``weighting`` when a strategy that works on shared-layer gradients has none."""
    if not shared_variables:
        raise bad_value("weighting", strategy, "this strategy compares the tasks' gradients on the shared "
                        "layers, and the model has none; add a shared layer (e.g. shared=[16]) or use 'fixed'")


def dense_gradients(grads: list, variables: list) -> list[tf.Tensor]:
    """``grads`` with each ``None`` (an unconnected variable) replaced by zeros of the variable's shape."""
    return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
