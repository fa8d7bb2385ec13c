"""Live views of what each task learned: predictions over a plane, the trunk's units, head usage, MMoE gates.

Everything comes from ONE call on the model, for all the rows of a landscape (or of the response curves) at
once: every task's output, the activations of the last shared layer and, for MMoE, each task's gate. For a
Keras model that call is a compiled probe sharing its layers (a model still training answers with its latest
weights); for a ``NumpyNet`` (a pool job's live copy in the server) it is the net's forward pass.

**Head usage** (how strongly a task's head uses a unit of the last shared layer): the L2 norm of the unit's row
in the kernel of the first layer of the task's head (its first hidden layer, or its output layer when the head
has none), divided by the sum of those norms over every unit of the layer, so each task's usage sums to 1 over
the layer's units. For MMoE the head reads a gate-weighted mixture of the experts, so expert e's unit u is used
by task t as the row norm of unit u times the task's mean gate weight of expert e over the plane shown, then
normalised the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_core.data.prepare import Prepared
from mtl_core.data.tasks import Task
from mtl_core.models.forward import NumpyNet
from mtl_core.models.landscape_data import (
    CURVE_POINTS,
    RESOLUTION,
    Grid,
    Sweep,
    grid_rows,
    input_bounds,
    sweep_rows,
)
from mtl_core.models.predict import Predictor

#: At most this many units of the last shared layer are pictured.
MAX_UNITS = 16
# The layer names of ``blocks.py`` and ``mmoe.py`` (not imported: both load TensorFlow).
_TRUNK_LAYER = re.compile(r"shared_\d+$")
_EXPERTS_LAYER = "shared_experts"
#: A probe call: encoded rows -> (outputs keyed ``task:<name>``, ``units``, ``gate:<name>``; head kernel row norms).
ProbeCall = Callable[[np.ndarray], tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]


@dataclass
class TaskMap:
    """One task's outputs over some rows: class index and confidence (its probability), or a value."""

    task: str
    kind: str
    classes: list[str]
    label: np.ndarray | None = None
    confidence: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    value: np.ndarray | None = None


@dataclass
class Landscape:
    """Every task's prediction over a plane (arrays ``[iy, ix]``), the trunk's units and the MMoE gates on it."""

    grid: Grid
    tasks: dict[str, TaskMap]
    unit_layer: str | None
    units: np.ndarray  # (k, res, res): activation of each pictured unit
    unit_index: list[int]  # which units of the layer are pictured, in layer order
    usage: dict[str, np.ndarray]  # per task, (k,): its head's usage of each pictured unit (all units sum to 1)
    gates: dict[str, np.ndarray] = field(default_factory=dict)  # MMoE: per task, (experts, res, res)


@dataclass
class Curves:
    """Every task's prediction as each input sweeps its values, the others held."""

    values: dict[str, np.ndarray | list[str]]
    tasks: dict[str, dict[str, TaskMap]]  # input -> task -> outputs along that input


def _interpret(task: Task, output: np.ndarray, shape: tuple[int, ...]) -> TaskMap:
    if task.kind == "regression":
        return TaskMap(task.name, task.kind, [], value=output[:, 0].reshape(shape))
    probs = np.concatenate([1.0 - output, output], axis=1) if task.kind == "binary" else output
    return TaskMap(task.name, task.kind, list(task.classes), label=probs.argmax(axis=1).reshape(shape),
                   confidence=probs.max(axis=1).reshape(shape), probabilities=probs.reshape(*shape, -1))


def _first_head_layer(model: Any, task: Task) -> Any:
    names = {layer.name: layer for layer in model.layers}
    for name in (f"{task.output}_hidden_1", f"{task.output}_standardised", task.output):
        layer = names.get(name)
        if layer is not None and hasattr(layer, "kernel"):
            return layer
    return None


class LandscapeProbe:
    """Computes landscapes and response curves of a model (a ``Predictor``'s) through one call per view."""

    def __init__(self, predictor: Predictor) -> None:
        self.model, self.info = predictor.model, predictor.info
        #: The name of the layer whose units are pictured (MMoE's experts, else the trunk's last), or None.
        self.unit_layer: str | None = None
        self.is_mmoe, self.experts, self.gate_tasks = False, 0, []
        self._call: ProbeCall = (self._numpy_call(self.model) if isinstance(self.model, NumpyNet)
                                 else self._keras_call(self.model))
        self._grid_key: tuple | None = None
        self._grid: Grid | None = None

    def _numpy_call(self, net: NumpyNet) -> ProbeCall:
        tasks = self.info.tasks
        self.is_mmoe, self.unit_layer, self.experts = net.is_mmoe, net.unit_layer, net.experts
        self.gate_tasks = [t.name for t in tasks] if net.is_mmoe else []

        def call(rows: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
            raw = net.run(rows)
            out = {f"task:{t.name}": raw[t.output] for t in tasks}
            out.update({f"gate:{t.name}": raw[f"gate:{t.output}"] for t in tasks if net.is_mmoe})
            if "units" in raw:
                out["units"] = raw["units"]
            return out, {t.name: raw[f"norm:{t.output}"] for t in tasks}

        return call

    def _keras_call(self, model: Any) -> ProbeCall:
        from mtl_core._tf import keras, tf

        tasks = self.info.tasks
        names = {layer.name: layer for layer in model.layers}
        self.is_mmoe = _EXPERTS_LAYER in names
        trunk = [layer for layer in model.layers if _TRUNK_LAYER.match(layer.name)]
        unit_layer = names[_EXPERTS_LAYER] if self.is_mmoe else (trunk[-1] if trunk else None)
        self.unit_layer = unit_layer.name if unit_layer is not None else None
        outputs = {f"task:{t.name}": model.get_layer(t.output).output for t in tasks}
        if unit_layer is not None:
            outputs["units"] = unit_layer.output
        if self.is_mmoe:
            for t in tasks:
                gate = names.get(f"{t.output}_gate")
                if gate is not None:
                    outputs[f"gate:{t.name}"] = gate.output
                    self.gate_tasks.append(t.name)
                    self.experts = int(gate.units)
        heads = {t.name: _first_head_layer(model, t) for t in tasks}
        kernels = {name: layer.kernel for name, layer in heads.items() if layer is not None}
        # A single input tensor (not a one-element list), as the model was built with.
        probe = keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs, outputs)
        width = len(self.info.schema.encoded_names)

        def run(x):
            # The head kernels' row norms are read in the same call: the usage matches the outputs' weights.
            return probe(x, training=False), {n: tf.norm(k, axis=1) for n, k in kernels.items()}

        fn = tf.function(run, input_signature=[tf.TensorSpec([None, width], tf.float32)])

        def call(rows: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
            out, norms = fn(tf.constant(rows, tf.float32))
            return {k: v.numpy() for k, v in out.items()}, {k: v.numpy() for k, v in norms.items()}

        return call

    def grid(self, prepared: Prepared, held: dict[str, object], x_name: str, y_name: str,
             resolution: int = RESOLUTION) -> Grid:
        """The plane's rows (kept while the axes and held values stay the same: a live refresh rebuilds nothing)."""
        # The axes' own held values do not enter the plane's rows: moving one of them rebuilds nothing.
        others = tuple(sorted((k, str(v)) for k, v in held.items() if k not in (x_name, y_name)))
        key = (x_name, y_name, resolution, others, id(prepared))
        if key != self._grid_key:
            grid = grid_rows(self.info.schema, held, x_name, y_name, input_bounds(prepared, x_name),
                             input_bounds(prepared, y_name), resolution)
            self._grid, self._grid_key = grid, key
        return self._grid

    def landscape(self, prepared: Prepared, held: dict[str, object], x_name: str, y_name: str,
                  resolution: int = RESOLUTION, max_units: int = MAX_UNITS) -> Landscape:
        """Each task's prediction, the last shared layer's units and the gates over the (x_name, y_name) plane."""
        grid = self.grid(prepared, held, x_name, y_name, resolution)
        out, norms = self._call(grid.rows)
        shape = (resolution, resolution)
        tasks = {t.name: _interpret(t, out[f"task:{t.name}"], shape) for t in self.info.tasks}
        gates = {name: np.moveaxis(out[f"gate:{name}"].reshape(*shape, -1), -1, 0) for name in self.gate_tasks}
        if self.unit_layer is None:
            return Landscape(grid, tasks, None, np.zeros((0, *shape), np.float32), [], {}, gates)
        usage = self._usage(norms, {name: g.mean(axis=(1, 2)) for name, g in gates.items()})
        activations = out["units"].reshape(resolution * resolution, -1)
        n_units = activations.shape[1]
        if n_units <= max_units:
            shown = list(range(n_units))
        else:
            total = sum(usage.values()) if usage else np.abs(activations).mean(axis=0)
            shown = sorted(int(i) for i in np.argsort(-total, kind="stable")[:max_units])
        units = activations[:, shown].T.reshape(len(shown), *shape)
        return Landscape(grid, tasks, self.unit_layer, units, shown,
                         {name: u[shown] for name, u in usage.items()}, gates)

    def _usage(self, norms: dict[str, np.ndarray], gate_means: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        usage = {}
        for name, norm in norms.items():
            if self.is_mmoe:
                # Expert-major order, as the experts layer holds its E*U units.
                norm = np.outer(gate_means.get(name, np.full(self.experts, 1.0 / self.experts)), norm).reshape(-1)
            total = float(norm.sum())
            usage[name] = norm / total if total > 0 else np.full(len(norm), 1.0 / len(norm))
        return usage

    def head_usage(self, prepared: Prepared, held: dict[str, object], x_name: str, y_name: str,
                   resolution: int = RESOLUTION) -> dict[str, np.ndarray]:
        """Each task's usage of every unit of the last shared layer (sums to 1 per task); see the module doc."""
        out, norms = self._call(self.grid(prepared, held, x_name, y_name, resolution).rows)
        gates = {name: out[f"gate:{name}"].mean(axis=0) for name in self.gate_tasks}
        return self._usage(norms, gates)

    def curves(self, prepared: Prepared, held: dict[str, object], points: int = CURVE_POINTS,
               columns: list[str] | None = None) -> Curves:
        """Every task's prediction as each input (``columns``, default all) sweeps its data range (each
        category), the others held."""
        sweep: Sweep = sweep_rows(prepared, held, points, columns)
        out, _ = self._call(sweep.rows)
        tasks_by_input = {}
        for column, span in sweep.spans.items():
            n = span.stop - span.start
            tasks_by_input[column] = {t.name: _interpret(t, out[f"task:{t.name}"][span], (n,))
                                      for t in self.info.tasks}
        return Curves(sweep.values, tasks_by_input)
