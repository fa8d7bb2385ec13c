"""The shape of the network a config describes, computed without TensorFlow (for diagrams and summaries).

``describe_architecture`` needs only the config; ``model_shape`` adds what the data decides: the encoded
input width and each task's output (kind and number of classes). The builders in ``hard_sharing.py`` and
``mmoe.py`` lay out the same network in Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mtl_core.config import TrainConfig


@dataclass(frozen=True)
class OutputShape:
    """A task's output layer: its kind and, for classification, the number of classes."""

    name: str
    kind: str
    classes: int = 0


@dataclass(frozen=True)
class ExpertShape:
    """One MMoE expert: a dense layer of ``units`` units."""

    name: str
    units: int


@dataclass
class ModelShape:
    """Inputs, then a shared trunk (hard sharing) or experts and one gate per task (MMoE), a head or tower per
    task, and the outputs. ``inputs`` is None when the data is unknown or unusable."""

    arch: str
    inputs: int | None
    standardized: bool
    activation: str
    trunk: list[int] = field(default_factory=list)
    experts: list[ExpertShape] = field(default_factory=list)
    gates: dict[str, int] = field(default_factory=dict)
    towers: dict[str, list[int]] = field(default_factory=dict)
    outputs: list[OutputShape] = field(default_factory=list)


def describe_architecture(config: TrainConfig, task_names: list[str]) -> dict[str, Any]:
    """A JSON-ready description of the network (hard sharing or MMoE) for drawing a diagram.

    Keys: ``arch``; ``shared`` (trunk sizes, hard sharing) or ``experts`` (a list of ``{"name", "units"}``)
    and ``gates`` (``{task: n_experts}``), MMoE only; ``towers`` (``{task: hidden sizes}``); ``outputs``.
    """
    towers = {t: config.head_sizes(t) for t in task_names}
    if config.arch == "mmoe":
        return {"arch": "mmoe",
                "experts": [{"name": f"expert {i}", "units": config.expert_units}
                            for i in range(1, config.experts + 1)],
                "gates": {t: config.experts for t in task_names},
                "towers": towers, "outputs": list(task_names)}
    return {"arch": config.arch, "shared": list(config.shared), "towers": towers, "outputs": list(task_names)}


def _outputs(frame: pd.DataFrame, config: TrainConfig) -> list[OutputShape]:
    from mtl_core.data.tasks import class_label, infer_kind

    outputs = []
    for spec in config.tasks:
        if spec.column not in frame.columns:
            continue
        series = frame[spec.column]
        kind = spec.kind or infer_kind(series)
        classes = 0 if kind == "regression" else len({class_label(v) for v in series.dropna()})
        outputs.append(OutputShape(spec.column, kind, classes))
    return outputs


def _input_width(frame: pd.DataFrame, config: TrainConfig) -> int:
    from mtl_core.data.prepare import choose_inputs, input_schema

    if not config.tasks:
        return len(frame.columns)
    inputs, _ = choose_inputs(frame, config)
    return len(input_schema(frame, inputs).encoded_names)


def model_shape(frame: pd.DataFrame | None, config: TrainConfig) -> ModelShape:
    """The network ``config`` builds on ``frame``: input width, trunk or experts and gates, towers, outputs.

    Tasks whose column is not in the frame are left out. With ``frame=None`` the shape has no input width and
    no outputs (the data is unknown). Raises DataError when the inputs can't be chosen (e.g. none is left).
    """
    outputs = _outputs(frame, config) if frame is not None else []
    inputs = _input_width(frame, config) if frame is not None else None
    arch = describe_architecture(config, [o.name for o in outputs])
    return ModelShape(
        arch=arch["arch"], inputs=inputs, standardized=config.standardize_inputs, activation=config.activation,
        trunk=arch.get("shared", []), experts=[ExpertShape(e["name"], e["units"]) for e in arch.get("experts", [])],
        gates=arch.get("gates", {}), towers=arch["towers"], outputs=outputs)


def _dense(fan_in: int, units: int) -> int:
    return fan_in * units + units


def parameter_count(shape: ModelShape) -> int:
    """The number of trainable weights of ``shape``'s network (dense kernels and biases), without TensorFlow.

    Needs the input width (``shape.inputs``); a binary output is one sigmoid unit, a multiclass one a unit per
    class, a regression one unit.
    """
    if shape.inputs is None:
        raise ValueError("parameter_count needs the input width: call model_shape with the data frame")
    total = 0
    if shape.arch == "mmoe":
        units = shape.experts[0].units if shape.experts else 0
        total += sum(_dense(shape.inputs, e.units) for e in shape.experts)
        total += sum(_dense(shape.inputs, n) for n in shape.gates.values())
        top = units
    else:
        top = shape.inputs
        for units in shape.trunk:
            total += _dense(top, units)
            top = units
    for output in shape.outputs:
        fan_in = top
        for units in shape.towers.get(output.name, []):
            total += _dense(fan_in, units)
            fan_in = units
        total += _dense(fan_in, output.classes if output.kind == "multiclass" else 1)
    return total
