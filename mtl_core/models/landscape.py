"""Live views of what each task learned: predictions over a plane, the trunk's units, head usage, MMoE gates.

Everything comes from ONE compiled call on the model (a probe sharing its layers, so a model still training
answers with its latest weights): every task's output, the activations of the last shared layer and, for
MMoE, each task's gate, for all the rows of a landscape (or of the response curves) at once.

**Head usage** (how strongly a task's head uses a unit of the last shared layer): the L2 norm of the unit's row
in the kernel of the first layer of the task's head (its first hidden layer, or its output layer when the head
has none), divided by the sum of those norms over every unit of the layer, so each task's usage sums to 1 over
the layer's units. For MMoE the head reads a gate-weighted mixture of the experts, so expert e's unit u is used
by task t as the row norm of unit u times the task's mean gate weight of expert e over the plane shown, then
normalised the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from mtl_core._tf import keras, tf
from mtl_core.data.prepare import Prepared
from mtl_core.data.tasks import Task
from mtl_core.models.blocks import SHARED_PREFIX
from mtl_core.models.landscape_data import (
    CURVE_POINTS,
    RESOLUTION,
    Grid,
    Sweep,
    grid_rows,
    input_bounds,
    sweep_rows,
)
from mtl_core.models.mmoe import EXPERTS_LAYER, gate_layer_name
from mtl_core.models.predict import Predictor

#: At most this many units of the last shared layer are pictured.
MAX_UNITS = 16
_TRUNK_LAYER = re.compile(rf"{SHARED_PREFIX}_\d+$")


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


def _first_head_layer(model: keras.Model, task: Task) -> keras.layers.Layer | None:
    names = {layer.name: layer for layer in model.layers}
    for name in (f"{task.output}_hidden_1", f"{task.output}_standardised", task.output):
        layer = names.get(name)
        if isinstance(layer, keras.layers.Dense):
            return layer
    return None


class LandscapeProbe:
    """Computes landscapes and response curves of a model (a ``Predictor``'s) through one compiled function."""

    def __init__(self, predictor: Predictor) -> None:
        self.model, self.info = predictor.model, predictor.info
        model, tasks = self.model, self.info.tasks
        names = {layer.name: layer for layer in model.layers}
        self.is_mmoe = EXPERTS_LAYER in names
        trunk = [layer for layer in model.layers if _TRUNK_LAYER.match(layer.name)]
        self.unit_layer = names[EXPERTS_LAYER] if self.is_mmoe else (trunk[-1] if trunk else None)
        self.experts = 0
        outputs = {f"task:{t.name}": model.get_layer(t.output).output for t in tasks}
        if self.unit_layer is not None:
            outputs["units"] = self.unit_layer.output
        self.gate_tasks = []
        if self.is_mmoe:
            for t in tasks:
                gate = names.get(gate_layer_name(t.output))
                if gate is not None:
                    outputs[f"gate:{t.name}"] = gate.output
                    self.gate_tasks.append(t.name)
                    self.experts = int(gate.units)
        self.heads = {t.name: _first_head_layer(model, t) for t in tasks}
        self.heads = {name: layer for name, layer in self.heads.items() if layer is not None}
        # A single input tensor (not a one-element list), as the model was built with.
        probe = keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs, outputs)
        kernels = {name: layer.kernel for name, layer in self.heads.items()}
        width = len(self.info.schema.encoded_names)

        def run(x):
            # The head kernels' row norms are read in the same call: the usage matches the outputs' weights.
            return probe(x, training=False), {n: tf.norm(k, axis=1) for n, k in kernels.items()}

        self._fn = tf.function(run, input_signature=[tf.TensorSpec([None, width], tf.float32)])
        self._grid_key: tuple | None = None
        self._grid: Grid | None = None
        self._grid_tensor = None

    def _call(self, rows: np.ndarray | tf.Tensor) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        out, norms = self._fn(rows if isinstance(rows, tf.Tensor) else tf.constant(rows))
        return {k: v.numpy() for k, v in out.items()}, {k: v.numpy() for k, v in norms.items()}

    def grid(self, prepared: Prepared, held: dict[str, object], x_name: str, y_name: str,
             resolution: int = RESOLUTION) -> tuple[Grid, tf.Tensor]:
        """The plane's rows (kept while the axes and held values stay the same: a live refresh rebuilds nothing)."""
        # The axes' own held values do not enter the plane's rows: moving one of them rebuilds nothing.
        others = tuple(sorted((k, str(v)) for k, v in held.items() if k not in (x_name, y_name)))
        key = (x_name, y_name, resolution, others, id(prepared))
        if key != self._grid_key:
            grid = grid_rows(self.info.schema, held, x_name, y_name, input_bounds(prepared, x_name),
                             input_bounds(prepared, y_name), resolution)
            self._grid, self._grid_tensor, self._grid_key = grid, tf.constant(grid.rows), key
        return self._grid, self._grid_tensor

    def landscape(self, prepared: Prepared, held: dict[str, object], x_name: str, y_name: str,
                  resolution: int = RESOLUTION, max_units: int = MAX_UNITS) -> Landscape:
        """Each task's prediction, the last shared layer's units and the gates over the (x_name, y_name) plane."""
        grid, rows = self.grid(prepared, held, x_name, y_name, resolution)
        out, norms = self._call(rows)
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
        return Landscape(grid, tasks, self.unit_layer.name, units, shown,
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
        _, rows = self.grid(prepared, held, x_name, y_name, resolution)
        out, norms = self._call(rows)
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
