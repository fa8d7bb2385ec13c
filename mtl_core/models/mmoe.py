"""Multi-gate Mixture-of-Experts (Ma et al., "Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts", KDD 2018).

Layout, built only from standard Keras layers so that ``keras.saving.load_model(path, safe_mode=True)``
reloads it without custom objects and a TF.js exporter can map every layer::

    features -> input_norm -> shared_experts (Dense, E*U units) -> expert_stack (Reshape to [E, U])
                           \\-> <task>_gate (Dense, E units, softmax)                       (one per task)
    [<task>_gate, expert_stack] -> <task>_mixture (Dot: sum_e gate_e * expert_e)           (one per task)
    <task>_mixture -> <task>_hidden_* (the task's tower, ``config.head_sizes``) -> task output

Design choices:

* Each expert is one dense layer of ``config.expert_units`` units with the config's activation, as in the
  paper's synthetic-data experiment; ``config.shared`` is not used by this architecture.
* The E experts are held by ONE Dense layer of E*U units followed by a Reshape. Every unit has its own
  weights and all experts read the same input, so this is exactly E separate experts; its initialiser is
  scaled so each expert's block starts like a Glorot-uniform layer of U units. Holding all experts in one
  kernel makes the trainer's "last shared kernel" (GradNorm's gradient norms) cover every expert rather
  than an arbitrary one; gradient conflict and PCGrad use all ``shared*`` weights, i.e. the experts.
* Gates read the (standardised) input directly, as in the paper.
"""

from __future__ import annotations

import warnings

import numpy as np

from mtl_core._tf import keras
from mtl_core.config import TrainConfig
from mtl_core.data.prepare import Prepared
from mtl_core.errors import bad_value
from mtl_core.models.blocks import SHARED_PREFIX, Seeds, dense_stack, model_input, task_output
from mtl_core.models.shape import describe_architecture  # noqa: F401 - re-exported; it is TF-free in shape.py

EXPERTS_LAYER = f"{SHARED_PREFIX}_experts"
EXPERT_STACK_LAYER = "expert_stack"
GATE_SUFFIX = "_gate"
MIXTURE_SUFFIX = "_mixture"

# With one expert each gate is a softmax over one unit (always 1: a plain shared-bottom model), which is
# valid here; Keras warns about it on every call, so that one message is silenced.
warnings.filterwarnings("ignore", message=r"You are using a softmax over axis -1 of a tensor of shape \(.*, 1\)")


def gate_layer_name(output: str) -> str:
    """The name of a task's gate layer, given the task's output name."""
    return f"{output}{GATE_SUFFIX}"


def build_mmoe(config: TrainConfig, prepared: Prepared) -> keras.Model:
    """E single-layer experts (``config.experts`` x ``config.expert_units``), one softmax gate per task,
    then a tower per task (``config.head_sizes``)."""
    seeds = Seeds(config.seed)
    n_experts, units = config.experts, config.expert_units
    inputs, x = model_input(prepared, config)
    fan_in = int(prepared.x["train"].shape[1])
    # Glorot-uniform's limit for a U-unit layer is sqrt(6 / (fan_in + U)); VarianceScaling(fan_avg) over the
    # fused E*U-unit layer gives sqrt(6 * scale / (fan_in + E*U)), so this scale restores the per-expert limit.
    scale = (fan_in + n_experts * units) / (fan_in + units)
    init = keras.initializers.VarianceScaling(scale=scale, mode="fan_avg", distribution="uniform",
                                              seed=seeds.next())
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    experts = keras.layers.Dense(n_experts * units, activation=config.activation, name=EXPERTS_LAYER,
                                 kernel_initializer=init, kernel_regularizer=regularizer)(x)
    if config.dropout > 0:
        experts = keras.layers.Dropout(config.dropout, seed=seeds.next(), name=f"{EXPERTS_LAYER}_dropout")(experts)
    stack = keras.layers.Reshape((n_experts, units), name=EXPERT_STACK_LAYER)(experts)
    outputs = {}
    for task in prepared.tasks:
        gate = keras.layers.Dense(n_experts, activation="softmax", name=gate_layer_name(task.output),
                                  kernel_initializer=keras.initializers.GlorotUniform(seed=seeds.next()))(x)
        mixture = keras.layers.Dot(axes=(1, 1), name=f"{task.output}{MIXTURE_SUFFIX}")([gate, stack])
        tower = dense_stack(mixture, config.head_sizes(task.name), f"{task.output}_hidden", config, seeds)
        outputs[task.output] = task_output(tower, task, seeds)
    return keras.Model(inputs, outputs, name="mmoe")


def gate_weights(model: keras.Model, data: Prepared | np.ndarray, *, split: str | None = None,
                 tasks: list[str] | None = None) -> dict[str, np.ndarray]:
    """Mean gate weight of each expert per task (each array has E entries summing to 1).

    ``data`` is a ``Prepared`` (rows of ``split``, or every row when ``split`` is None; keys are task names)
    or an encoded input array (keys are the model's output names, or ``tasks`` if given in output order).
    Raises ConfigError when the model has no gates (it is not an MMoE model).
    """
    if isinstance(data, Prepared):
        splits = [split] if split is not None else ["train", "val", "test"]
        x = np.concatenate([data.x[s] for s in splits], axis=0)
        names = {t.output: t.name for t in data.tasks}
    else:
        x = np.asarray(data, dtype=np.float32)
        outputs = list(model.output.keys()) if isinstance(model.output, dict) else []
        names = dict(zip(outputs, tasks)) if tasks is not None else {o: o for o in outputs}
    gates = {name: model.get_layer(gate_layer_name(output)) for output, name in names.items()
             if gate_layer_name(output) in {layer.name for layer in model.layers}}
    if not gates:
        raise bad_value("arch", model.name, "the model has no gates; gate weights exist only for 'mmoe'")
    if len(x) == 0:
        raise bad_value("rows", 0, "no rows to average the gate weights over")
    # A single input tensor (not a one-element list) so that calling the probe on an array raises no warning.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, {name: layer.output for name, layer in gates.items()})
    values = probe(x, training=False)
    return {name: np.asarray(values[name], dtype=np.float64).mean(axis=0) for name in gates}
