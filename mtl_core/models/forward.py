"""A network's forward pass in numpy, from its config and its layers' weights: no TensorFlow needed.

The server process draws the live views of a training that runs in a pool worker (predictions, landscapes,
gates) from the weights the worker sends about twice a second. Building a Keras copy of every student's model
in the server would load TensorFlow there (seconds of the interpreter lock, hundreds of MB) and trace a
compiled function per session while the whole class waits; this pass needs only numpy and the layer names
``hard_sharing.py`` and ``mmoe.py`` give (see ``blocks.py``). Dropout is off, as in any prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mtl_core.config import TrainConfig
from mtl_core.data.prepare import Prepared
from mtl_core.data.tasks import Task
from mtl_core.errors import bad_value

#: Per layer name, the layer's weights as Keras lists them (a Dense layer: kernel, bias).
NamedWeights = dict[str, list[np.ndarray]]

# Keras' definitions (keras.activations), in float32 like the model.
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # no overflow for large |x|


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # Keras' gelu is the exact one (approximate=False)

    return (0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))).astype(x.dtype)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "elu": _elu,
    "gelu": _gelu,
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "swish": lambda x: x * _sigmoid(x),
    "linear": lambda x: x,
}


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def named_weights(model: Any) -> NamedWeights:
    """A Keras model's weights by layer name (what the pool sends; ``set_named_weights`` puts them back)."""
    return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}


def set_named_weights(model: Any, weights: NamedWeights) -> None:
    """Put weights by layer name into a Keras model of the same layout."""
    for name, values in weights.items():
        model.get_layer(name).set_weights(values)


class NumpyNet:
    """The forward pass of a hard-sharing (``hard``) or MMoE model (``config.arch``), weights set by layer name."""

    def __init__(self, config: TrainConfig, prepared: Prepared, weights: NamedWeights | None = None) -> None:
        if config.arch not in ("hard", "mmoe"):
            raise bad_value("arch", config.arch, "a numpy forward pass exists for 'hard' and 'mmoe'")
        if config.activation not in ACTIVATIONS:
            raise bad_value("activation", config.activation, f"choose one of {sorted(ACTIVATIONS)}")
        self.config = config
        self.tasks: list[Task] = list(prepared.tasks)
        self.is_mmoe = config.arch == "mmoe"
        self.experts = config.experts if self.is_mmoe else 0
        self._act = ACTIVATIONS[config.activation]
        self._mean = self._scale = None
        if config.standardize_inputs:
            self._mean = np.asarray(prepared.feature_mean, np.float32).reshape(-1)
            # As keras.layers.Normalization: divide by max(sqrt(variance), epsilon).
            self._scale = np.maximum(np.sqrt(np.asarray(prepared.feature_var, np.float32).reshape(-1)),
                                     np.float32(1e-7))
        self._trunk = [f"shared_{i}" for i in range(1, len(config.shared) + 1)] if not self.is_mmoe else []
        #: The layer whose units the landscapes picture: MMoE's experts, else the trunk's last layer (or None).
        self.unit_layer: str | None = "shared_experts" if self.is_mmoe else (self._trunk[-1] if self._trunk else None)
        self._weights: NamedWeights = self._zeros(int(prepared.x["train"].shape[1]))
        if weights is not None:
            self.set_weights(weights)

    def _zeros(self, width: int) -> NamedWeights:
        """All-zero weights of the config's layout: until the first weights arrive the net predicts each class
        equally and each target's mean (a queued run's worker has not built its model yet)."""
        sizes: dict[str, tuple[int, int]] = {}
        if self.is_mmoe:
            sizes["shared_experts"] = (width, self.experts * self.config.expert_units)
            reads = self.config.expert_units
        else:
            reads = width
            for name, units in zip(self._trunk, self.config.shared):
                sizes[name], reads = (reads, units), units
        for task in self.tasks:
            if self.is_mmoe:
                sizes[f"{task.output}_gate"] = (width, self.experts)
            x = reads
            for i, units in enumerate(self.config.head_sizes(task.name), start=1):
                sizes[f"{task.output}_hidden_{i}"], x = (x, units), units
            name = task.output if task.kind != "regression" else f"{task.output}_standardised"
            sizes[name] = (x, task.units)
        return {name: [np.zeros(shape, np.float32), np.zeros(shape[1], np.float32)] for name, shape in sizes.items()}

    def set_weights(self, weights: NamedWeights) -> None:
        """Take new weights by layer name (arrays are used as they are, not copied); other layers keep theirs."""
        self._weights = {**self._weights,
                         **{name: [np.asarray(w, np.float32) for w in values] for name, values in weights.items()}}

    @staticmethod
    def _dense(w: NamedWeights, name: str, x: np.ndarray) -> np.ndarray:
        try:
            kernel, bias = w[name][:2]
        except (KeyError, ValueError) as exc:
            raise bad_value("weights", name, "no kernel and bias for this layer") from exc
        return x @ kernel + bias

    def _stack(self, w: NamedWeights, names: list[str], x: np.ndarray) -> np.ndarray:
        for name in names:
            x = self._act(self._dense(w, name, x))
        return x

    def _head(self, w: NamedWeights, task: Task, x: np.ndarray) -> np.ndarray:
        hidden = [f"{task.output}_hidden_{i}" for i in range(1, len(self.config.head_sizes(task.name)) + 1)]
        x = self._stack(w, hidden, x)
        if task.kind == "multiclass":
            return _softmax(self._dense(w, task.output, x))
        if task.kind == "binary":
            return _sigmoid(self._dense(w, task.output, x))
        return self._dense(w, f"{task.output}_standardised", x) * np.float32(task.std) + np.float32(task.mean)

    @staticmethod
    def _head_kernel(w: NamedWeights, task: Task) -> np.ndarray:
        for name in (f"{task.output}_hidden_1", f"{task.output}_standardised", task.output):
            if name in w:
                return w[name][0]
        raise bad_value("task", task.name, "the network has no head for this task")

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every task's output (keyed by output name), the pictured ``units``, MMoE's ``gate:<output>``, and
        ``norm:<output>``: the row norms of the kernel of the first layer of the task's head (what reads the
        shared layer's units), from the same weights as the outputs."""
        w = self._weights  # one set of weights for the whole pass, even if new ones arrive meanwhile
        out: dict[str, np.ndarray] = {f"norm:{t.output}": np.linalg.norm(self._head_kernel(w, t), axis=1)
                                      for t in self.tasks}
        x = np.asarray(x, np.float32)
        if self._mean is not None:
            x = (x - self._mean) / self._scale
        if self.is_mmoe:
            experts = self._act(self._dense(w, "shared_experts", x))
            out["units"] = experts
            stack = experts.reshape(len(x), self.experts, -1)
            for task in self.tasks:
                gate = _softmax(self._dense(w, f"{task.output}_gate", x))
                out[f"gate:{task.output}"] = gate
                out[task.output] = self._head(w, task, np.einsum("ne,neu->nu", gate, stack))
            return out
        trunk = self._stack(w, self._trunk, x)
        if self.unit_layer is not None:
            out["units"] = trunk
        for task in self.tasks:
            out[task.output] = self._head(w, task, trunk)
        return out

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every task's output keyed by output name, as the Keras model returns them."""
        out = self.run(x)
        return {t.output: out[t.output] for t in self.tasks}

    def gate_weights(self, prepared: Prepared, split: str | None = None) -> dict[str, np.ndarray]:
        """Mean gate weight of each expert per task name over the rows of ``split`` (all rows when None)."""
        if not self.is_mmoe:
            raise bad_value("arch", self.config.arch, "the model has no gates; gate weights exist only for 'mmoe'")
        splits = [split] if split is not None else ["train", "val", "test"]
        x = np.concatenate([prepared.x[s] for s in splits], axis=0)
        if len(x) == 0:
            raise bad_value("rows", 0, "no rows to average the gate weights over")
        out = self.run(x)
        return {t.name: out[f"gate:{t.output}"].astype(np.float64).mean(axis=0) for t in self.tasks}
