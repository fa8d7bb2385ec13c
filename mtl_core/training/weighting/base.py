"""The base class of loss-weighting strategies; the trainer calls these hooks inside its compiled loop."""

from __future__ import annotations

from mtl_core._tf import tf
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
    #: Set when the weights change within an epoch or the gradients are changed (PCGrad, MGDA, ...): the log
    #: then shows ``effective_weights``, the epoch mean of the coefficients passed to ``record``, read after
    #: the epoch's steps; ``weights`` stays what early stopping weighs the validation losses with.
    reports_effective_weights: bool = False
    #: Set when the strategy needs the batch's losses again after the optimiser step (``after_step``).
    needs_losses_after_step: bool = False

    def __init__(self, n_tasks: int, user_weights: list[float], params: dict[str, float], seed: int) -> None:
        self.n_tasks = n_tasks
        # Defaults and ranges come from the registry entry, so they are declared once (and read without TF).
        self.params = resolve_params(self.name, params)
        self.seed = seed
        self.user_weights = tf.Variable(user_weights, dtype=tf.float32, trainable=False, name="user_weights")
        if self.reports_effective_weights:
            self._coef_sum = tf.Variable(tf.zeros([n_tasks]), trainable=False, name="effective_weight_sum")
            self._coef_steps = tf.Variable(0.0, trainable=False, name="effective_weight_steps")

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
        """Called at the start of each epoch (``epoch`` counts from 1); resets the effective weights' mean."""
        if self.reports_effective_weights:
            self._coef_sum.assign(tf.zeros([self.n_tasks]))
            self._coef_steps.assign(0.0)

    def record(self, coefficients: tf.Tensor) -> None:
        """Add one step's coefficient of each task gradient in the update to the epoch's mean, shape [T]."""
        self._coef_sum.assign_add(tf.cast(tf.stop_gradient(coefficients), tf.float32))
        self._coef_steps.assign_add(1.0)

    def effective_weights(self) -> tf.Tensor:
        """The epoch mean of the recorded coefficients (``weights`` before any step), shape [T]."""
        return tf.where(self._coef_steps > 0, self._coef_sum / tf.maximum(self._coef_steps, 1.0), self.weights())

    def after_step(self, task_losses: tf.Tensor) -> None:
        """With ``needs_losses_after_step``: the batch's task losses [T] after the optimiser's step."""
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
        from mtl_core.jobs.pool.checks import SHARED_LAYERS_NEEDED

        raise bad_value("weighting", strategy, SHARED_LAYERS_NEEDED)


def dense_gradients(grads: list, variables: list) -> list[tf.Tensor]:
    """``grads`` with each ``None`` (an unconnected variable) replaced by zeros of the variable's shape."""
    return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


def task_gradients(tape: tf.GradientTape, task_losses: list[tf.Tensor], variables: list[tf.Variable],
                   shared_variables: list[tf.Variable]) -> tuple[list[list[tf.Tensor]], list[int], tf.Tensor]:
    """Each task's gradients of every variable, the indices of the shared ones, and the shared parts as [T, D]."""
    per_task = [dense_gradients(tape.gradient(loss, variables), variables) for loss in task_losses]
    shared_ids = {id(v) for v in shared_variables}
    shared_at = [k for k, v in enumerate(variables) if id(v) in shared_ids]
    flat = tf.stack([tf.concat([tf.reshape(g[k], [-1]) for k in shared_at], 0) for g in per_task])
    return per_task, shared_at, flat


def combine(per_task: list[list[tf.Tensor]], shared_at: list[int], shared_coef: tf.Tensor,
            specific_coef: tf.Tensor, reg: list[tf.Tensor]) -> list[tf.Tensor]:
    """``sum_t coef[t] * grad_t`` per variable (``shared_coef`` on the shared ones), plus the regulariser's."""
    grads = []
    for k in range(len(reg)):
        coef = shared_coef if k in shared_at else specific_coef
        grads.append(tf.add_n([tf.cast(coef[t], g[k].dtype) * g[k] for t, g in enumerate(per_task)]) + reg[k])
    return grads



class GramWeighting(WeightingStrategy):
    """A strategy that combines the task gradients by coefficients found from their Gram matrix on the shared
    parameters (MGDA, CAGrad, Nash-MTL): the coefficients are logged as the step's effective weights."""

    needs_task_gradients = True
    reports_effective_weights = True
    #: True where the strategy solves over every support of the tasks (``support_masks``).
    uses_supports = False

    def build(self, shared_variables: list[tf.Variable], last_shared_kernel: tf.Variable | None) -> None:
        """Needs a shared layer; enumerate the supports where the solver uses them."""
        require_shared(self.name, shared_variables)
        if self.uses_supports:
            self._masks = support_masks(self.n_tasks, self.name)

    def weights(self) -> tf.Tensor:
        """All ones (early stopping sums the validation losses); the step's coefficients are logged instead."""
        return tf.ones([self.n_tasks])

    def coefficients(self, gram: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Float32 coefficients of each task gradient on the shared and on the task-specific parameters."""
        raise NotImplementedError

    def gradients(self, tape: tf.GradientTape, objective: tf.Tensor, task_losses: list[tf.Tensor],
                  reg_loss: tf.Tensor, variables: list[tf.Variable],
                  shared_variables: list[tf.Variable]) -> list[tf.Tensor]:
        """``sum_t coef_t g_t`` with the strategy's coefficients, plus the regulariser's gradients."""
        per_task, shared_at, flat = task_gradients(tape, task_losses, variables, shared_variables)
        shared_coef, specific_coef = self.coefficients(tf.matmul(flat, flat, transpose_b=True))
        self.record(shared_coef)
        reg = dense_gradients(tape.gradient(reg_loss, variables), variables)
        return combine(per_task, shared_at, shared_coef, specific_coef, reg)

#: The exact solvers (MGDA, CAGrad) try every subset of tasks as the solution's support: 2^T - 1 small
#: linear systems in one batched solve, fine up to this many tasks.
MAX_SUBSET_TASKS = 12


def support_masks(n_tasks: int, strategy: str) -> tf.Tensor:
    """Every non-empty subset of the tasks as a 0/1 float64 mask, shape [2^T - 1, T]; ConfigError past the limit."""
    if n_tasks > MAX_SUBSET_TASKS:
        raise bad_value("weighting", strategy, f"its exact solver handles up to {MAX_SUBSET_TASKS} tasks and "
                        f"this run has {n_tasks}; choose fewer tasks or another weighting")
    codes = tf.range(1, 2 ** n_tasks, dtype=tf.int64)[:, None]
    return tf.cast(tf.bitwise.bitwise_and(tf.bitwise.right_shift(codes, tf.range(n_tasks, dtype=tf.int64)), 1),
                   tf.float64)
