"""Graphviz DOT text for architecture diagrams (drawn in the browser by ``st.graphviz_chart``)."""

from __future__ import annotations

from mtl_core.config import TrainConfig
from mtl_core.models.shape import ModelShape, OutputShape

SHARED_COLOR = "#cfe3f7"
HEAD_COLORS = ("#fde2c8", "#d7f0d2", "#ecd9f5", "#fbd6dc", "#f6efc4", "#d3eeee")
FONT = 'fontname="Helvetica", fontsize=12'
# An MMoE diagram draws at most this many expert boxes (the rest as "… n more").
MAX_EXPERT_NODES = 6


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node(name: str, label: str, color: str, shape: str = "box") -> str:
    return f'{_q(name)} [label={_q(label)}, shape={shape}, style="rounded,filled", fillcolor="{color}"];'


def intro_dot() -> str:
    """A small static picture of hard parameter sharing for the home page."""
    return "\n".join([
        "digraph { rankdir=TB; bgcolor=transparent; nodesep=0.3; ranksep=0.3;",
        "node [fontname=\"Helvetica\", fontsize=13]; edge [color=\"#777777\"];",
        _node("x", "inputs", "#eeeeee", "ellipse"),
        _node("s", "shared trunk", SHARED_COLOR),
        _node("a", "head: species", HEAD_COLORS[0]),
        _node("b", "head: petal width", HEAD_COLORS[1]),
        _node("la", "class probabilities", "#ffffff", "note"),
        _node("lb", "a number (cm)", "#ffffff", "note"),
        "x -> s; s -> a; s -> b; a -> la; b -> lb;",
        "}",
    ])


def _output_label(task: OutputShape, weight: float) -> str:
    if task.kind == "regression":
        what = "value (regression)"
    elif task.kind == "binary":
        what = "2 classes (sigmoid)"
    else:
        what = f"{task.classes or '?'} classes (softmax)"
    return f"{task.name}\n{what}\nloss weight {weight:g}"


def expert_slots(n_experts: int) -> list[int | None]:
    """Which experts the diagram draws: all of them up to MAX_EXPERT_NODES, else the first few, a gap
    (None) and the last one, so a 64-expert model stays readable."""
    if n_experts <= MAX_EXPERT_NODES:
        return list(range(1, n_experts + 1))
    return [*range(1, MAX_EXPERT_NODES - 1), None, n_experts]


def _mmoe_lines(lines: list[str], shape: ModelShape) -> dict[str, str]:
    """Append MMoE's experts and one gate per task (from the core's ``ModelShape``); return each task's gate
    node (its tower starts there)."""
    n = len(shape.experts)
    units = {e.units for e in shape.experts}
    each = f"{units.pop()} units each" if len(units) == 1 else "units vary"
    lines.append("subgraph cluster_experts {")
    label = f"{n} shared experts, {each} ({shape.activation})"
    lines.append(f'label={_q(label)}; style="rounded,dashed"; color="#7a9cc6"; {FONT.replace(",", ";")};')
    experts = []
    for slot in expert_slots(n):
        if slot is None:
            name = "expert_gap"
            hidden = n - (MAX_EXPERT_NODES - 1)
            lines.append(f'{_q(name)} [label={_q(f"… {hidden} more")}, shape=plaintext];')
        else:
            name = f"expert_{slot}"
            expert = shape.experts[slot - 1]
            lines.append(_node(name, f"{expert.name}\n{expert.units} units", SHARED_COLOR))
        experts.append(name)
    lines.append("}")
    lines.extend(f"inputs -> {_q(e)};" for e in experts)
    ends = {}
    for k, (task, mixed) in enumerate(shape.gates.items()):
        gate = f"gate:{task}"
        lines.append(_node(gate, f"gate of {task}\nsoftmax mix of {mixed} experts",
                           HEAD_COLORS[k % len(HEAD_COLORS)], "box"))
        lines.extend(f"{_q(e)} -> {_q(gate)};" for e in experts)
        # The gate reads the inputs to choose its mix; dashed so it reads apart from the data path.
        lines.append(f'inputs -> {_q(gate)} [style=dashed, color="#999999"];')
        ends[task] = gate
    return ends


def architecture_dot(config: TrainConfig, shape: ModelShape) -> str:
    """The network of ``shape`` (the core's ``model_shape``): inputs, then a shared trunk and one head per task
    (hard sharing) or E experts, one gate per task and a tower per task (MMoE), then the outputs; the loss
    weights come from ``config``."""
    lines = ["digraph { rankdir=TB; bgcolor=transparent; nodesep=0.25; ranksep=0.3;",
             "node [" + FONT + "]; edge [color=\"#777777\"];"]
    inputs = f"{shape.inputs} input features" if shape.inputs is not None else "inputs"
    if shape.standardized:
        inputs += "\n(standardised)"
    lines.append(_node("inputs", inputs, "#eeeeee", "ellipse"))
    last = "inputs"
    tasks = shape.outputs
    if shape.experts:
        trunk_ends = _mmoe_lines(lines, shape)
    else:
        for i, units in enumerate(shape.trunk, start=1):
            name = f"shared_{i}"
            lines.append(_node(name, f"shared {i}\n{units} units, {shape.activation}", SHARED_COLOR))
            lines.append(f"{_q(last)} -> {_q(name)};")
            last = name
        trunk_ends = {t.name: last for t in tasks}
    weights = config.weights_for([t.name for t in tasks])
    part = "tower" if shape.arch == "mmoe" else "head"
    for k, task in enumerate(tasks):
        color = HEAD_COLORS[k % len(HEAD_COLORS)]
        prev = trunk_ends[task.name]
        for i, units in enumerate(shape.towers.get(task.name, []), start=1):
            name = f"head:{task.name}:{i}"
            lines.append(_node(name, f"{task.name} {part} {i}\n{units} units", color))
            lines.append(f"{_q(prev)} -> {_q(name)};")
            prev = name
        out = f"out:{task.name}"
        lines.append(_node(out, _output_label(task, weights[task.name]), color, "note"))
        lines.append(f"{_q(prev)} -> {_q(out)};")
    if not tasks:
        lines.append(_node("none", "choose tasks on\nthe Data & tasks page", "#ffffff", "note"))
        lines.append(f"{_q(last)} -> none [style=dotted];")
    lines.append("}")
    return "\n".join(lines)
