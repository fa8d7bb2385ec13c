"""Export a trained model as a TensorFlow.js layers model: ``model.json`` plus little-endian float32 weight shards.

The topology is written in the tf.keras 2 JSON layout that tfjs-layers deserialises (``batch_input_shape``,
list-style ``inbound_nodes``). Keras preprocessing layers are folded into plain Dense layers, so the
exported network uses only layers every tfjs-layers release has: ``Normalization`` (x - mean) / sigma becomes
a centring Dense (identity kernel, bias -mean, same name) with 1/sigma folded into the rows of the Dense
layers after it, and a regression head's ``Rescaling`` scale * z + offset is folded into the Dense before it
(which then takes the Rescaling's name, so outputs keep their task names).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtl_core._tf import keras
from mtl_core.errors import ConfigError, bad_value
from mtl_core.io.model_info import ModelInfo

FORMAT = "layers-model"
CONVERTED_BY = "mtl_core"
MODEL_JSON = "model.json"
#: The TF.js converter's default shard size: small enough for browser caches.
SHARD_BYTES = 4 * 1024 * 1024
METADATA_KEY = "mtl_core"

#: Keras activation names -> tfjs-layers names, for activations both compute the same way. Keras's
#: hard_sigmoid (relu6(x + 3) / 6) differs from tfjs's (0.2 x + 0.5, clipped), so it is left out.
ACTIVATIONS = {"linear": "linear", "relu": "relu", "relu6": "relu6", "tanh": "tanh", "sigmoid": "sigmoid",
               "softmax": "softmax", "elu": "elu", "selu": "selu", "gelu": "gelu", "silu": "swish",
               "swish": "swish", "softplus": "softplus", "softsign": "softsign"}
#: Layers without weights that tfjs-layers has under the same name, with the config keys it reads.
PASSTHROUGH_LAYERS = {"Dropout": ("rate",), "Activation": ("activation",), "Concatenate": ("axis",),
                      "Add": (), "Subtract": (), "Multiply": (), "Average": (), "Maximum": (), "Minimum": (),
                      "Softmax": ("axis",), "Reshape": ("target_shape",), "Flatten": (), "Dot": ("axes", "normalize")}
FOLDED_LAYERS = ("Normalization", "Rescaling")
SUPPORTED_LAYERS = ("InputLayer", "Dense", *PASSTHROUGH_LAYERS, *FOLDED_LAYERS)


@dataclass
class _Node:
    """One layer of the graph being converted; ``kernel``/``bias`` (float64) only for Dense layers."""

    name: str
    cls: str
    config: dict
    inputs: list[str]
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None


def _tensor_sources(value: object) -> list[list]:
    """The ``keras_history`` of every Keras tensor inside a serialised call argument, in order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value["config"]["keras_history"]]
        return [h for v in value.values() for h in _tensor_sources(v)]
    if isinstance(value, (list, tuple)):
        return [h for v in value for h in _tensor_sources(v)]
    return []


class _Converter:
    """Reads a Keras 3 functional model, folds preprocessing layers and writes tfjs-layers JSON."""

    def __init__(self, model: keras.Model, arch: str) -> None:
        self.model = model
        self.arch = arch
        config = model.get_config()
        if "layers" not in config or "output_layers" not in config:
            raise self._unsupported(f"the model {model.name!r} is not a functional model")
        self.nodes: dict[str, _Node] = {}
        for entry in config["layers"]:
            self.nodes[entry["name"]] = self._read_layer(entry)
        self.inputs = [h[0] for h in _tensor_sources(self._as_history_list(config["input_layers"]))]
        outputs = config["output_layers"]
        if isinstance(outputs, dict):
            self.outputs = {key: hist[0] for key, hist in outputs.items()}
        else:
            names = [h[0] for h in _tensor_sources(self._as_history_list(outputs))]
            self.outputs = {name: name for name in names}

    @staticmethod
    def _as_history_list(value: list) -> list:
        # One tensor is stored as ["name", 0, 0], several as a list of those.
        triples = [value] if value and isinstance(value[0], str) else value
        return [{"class_name": "__keras_tensor__", "config": {"keras_history": t}} for t in triples]

    def _unsupported(self, why: str) -> ConfigError:
        return bad_value("arch", self.arch, f"cannot be exported to TensorFlow.js: {why}")

    def _read_layer(self, entry: dict) -> _Node:
        name, cls = entry["name"], entry["class_name"]
        if cls not in SUPPORTED_LAYERS:
            raise self._unsupported(f"layer {name!r} is a {cls}, and the export supports only "
                                    f"{', '.join(SUPPORTED_LAYERS)}")
        inbound = entry.get("inbound_nodes", [])
        if len(inbound) > 1:
            raise self._unsupported(f"layer {name!r} is called {len(inbound)} times (shared layers are not supported)")
        sources = []
        for node in inbound:
            if _tensor_sources(node.get("kwargs", {})):
                raise self._unsupported(f"layer {name!r} takes a tensor as a keyword argument")
            sources = _tensor_sources(node.get("args", []))
        for source in sources:
            if source[1] != 0 or source[2] != 0:
                raise self._unsupported(f"layer {name!r} reads a layer with several outputs or calls")
        node = _Node(name, cls, entry["config"], [s[0] for s in sources])
        layer = self.model.get_layer(name)
        if cls == "Dense":
            node.kernel = np.asarray(layer.kernel.numpy(), dtype=np.float64)
            units = node.kernel.shape[1]
            bias = layer.bias.numpy() if layer.use_bias else np.zeros(units)
            node.bias = np.asarray(bias, dtype=np.float64)
        elif cls not in ("Normalization",) and layer.weights:
            raise self._unsupported(f"layer {name!r} ({cls}) has weights the export does not handle")
        return node

    # Folding -----------------------------------------------------------------------------------------------

    def consumers(self, name: str) -> list[_Node]:
        """Nodes that read ``name``."""
        return [n for n in self.nodes.values() if name in n.inputs]

    def fold(self) -> None:
        """Fold every Normalization and Rescaling layer into its neighbouring Dense layers."""
        for node in list(self.nodes.values()):
            if node.cls == "Normalization":
                self._fold_normalization(node)
            elif node.cls == "Rescaling":
                self._fold_rescaling(node)

    def _fold_normalization(self, node: _Node) -> None:
        config = node.config
        if config.get("invert"):
            raise self._unsupported(f"Normalization layer {node.name!r} has invert=True")
        if list(config.get("axis") or []) != [-1]:
            raise self._unsupported(f"Normalization layer {node.name!r} normalises axis {config.get('axis')}")
        if node.name in self.outputs.values():
            raise self._unsupported(f"Normalization layer {node.name!r} is a model output")
        layer = self.model.get_layer(node.name)
        mean = np.asarray(layer.mean, dtype=np.float32).reshape(-1)
        variance = np.asarray(layer.variance, dtype=np.float32).reshape(-1)
        # Exactly Keras's divisor: max(sqrt(variance), epsilon), computed in float32.
        sigma = np.maximum(np.sqrt(variance), np.float32(keras.config.epsilon())).astype(np.float64)
        mean = mean.astype(np.float64)
        consumers = self.consumers(node.name)
        for consumer in consumers:
            if consumer.cls != "Dense":
                raise self._unsupported(f"Normalization layer {node.name!r} feeds a {consumer.cls} "
                                        f"({consumer.name!r}); only a Dense layer can absorb it")
        # (x - m) / s feeds W x + b: 1/s scales the kernel's rows, W' = W / s. The centring stays a step of
        # its own (a Dense with an identity kernel and bias -m, keeping the Normalization's name): folding it
        # too (b' = b - (m / s) W) cancels catastrophically in float32 when |m| / s is large, e.g. a year
        # column (mean 2008, s 0.8) moved penguin probabilities by 6.5e-5; x - m is exact, as in Keras.
        for consumer in consumers:
            consumer.kernel = consumer.kernel / sigma[:, None]
        node.cls = "Dense"
        node.config = {"activation": "linear"}
        node.kernel = np.eye(len(mean))
        node.bias = -mean

    def _fold_rescaling(self, node: _Node) -> None:
        producer = self.nodes[node.inputs[0]]
        if (producer.cls != "Dense" or producer.config.get("activation") != "linear"
                or len(self.consumers(producer.name)) != 1 or producer.name in self.outputs.values()):
            raise self._unsupported(f"Rescaling layer {node.name!r} does not follow a linear Dense layer "
                                    "used only by it")
        units = producer.kernel.shape[1]
        scale = np.broadcast_to(np.asarray(node.config.get("scale", 1.0), dtype=np.float64).reshape(-1), (units,))
        offset = np.broadcast_to(np.asarray(node.config.get("offset", 0.0), dtype=np.float64).reshape(-1), (units,))
        producer.kernel = producer.kernel * scale[None, :]
        producer.bias = producer.bias * scale + offset
        # The Dense takes the Rescaling's name, which is the task's output name.
        del self.nodes[producer.name]
        del self.nodes[node.name]
        old = producer.name
        producer.name = node.name
        self.nodes = {**self.nodes, producer.name: producer}
        for other in self.nodes.values():
            other.inputs = [producer.name if i == old else i for i in other.inputs]
        self._restore_order()

    def _restore_order(self) -> None:
        # Keep a topological order: a node goes after every node it reads.
        ordered: dict[str, _Node] = {}

        def visit(name: str) -> None:
            if name in ordered:
                return
            for source in self.nodes[name].inputs:
                visit(source)
            ordered[name] = self.nodes[name]

        for name in self.nodes:
            visit(name)
        self.nodes = ordered

    # Writing -----------------------------------------------------------------------------------------------

    def _activation(self, node: _Node, name: object) -> str:
        if name not in ACTIVATIONS:
            raise self._unsupported(f"layer {node.name!r} uses the activation {name!r}, which TensorFlow.js "
                                    f"does not compute the same way; supported: {', '.join(ACTIVATIONS)}")
        return ACTIVATIONS[name]

    @staticmethod
    def _regularizer(value: object) -> dict | None:
        # Only matters if the JS side trains further; tfjs has one L1L2 class for all three.
        if not isinstance(value, dict) or value.get("class_name") not in ("L1", "L2", "L1L2"):
            return None
        config = value.get("config", {})
        return {"class_name": "L1L2", "config": {"l1": float(config.get("l1", 0.0)),
                                                 "l2": float(config.get("l2", 0.0))}}

    def _layer_json(self, node: _Node) -> dict:
        if node.cls == "InputLayer":
            shape = node.config.get("batch_shape") or node.config.get("batch_input_shape")
            config = {"batch_input_shape": list(shape), "dtype": "float32", "sparse": False, "name": node.name}
        elif node.cls == "Dense":
            config = {"name": node.name, "trainable": True, "dtype": "float32", "units": int(node.kernel.shape[1]),
                      "activation": self._activation(node, node.config.get("activation", "linear")),
                      "use_bias": True,
                      "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                      "bias_initializer": {"class_name": "Zeros", "config": {}},
                      "kernel_regularizer": self._regularizer(node.config.get("kernel_regularizer")),
                      "bias_regularizer": None, "activity_regularizer": None,
                      "kernel_constraint": None, "bias_constraint": None}
        else:
            config = {"name": node.name, "trainable": True, "dtype": "float32"}
            for key in PASSTHROUGH_LAYERS[node.cls]:
                value = node.config.get(key)
                if key == "activation":
                    value = self._activation(node, value)
                config[key] = list(value) if isinstance(value, tuple) else value
            if node.cls == "Dropout":
                config.update(noise_shape=None, seed=None)
        inbound = [[[source, 0, 0, {}] for source in node.inputs]] if node.inputs else []
        return {"class_name": node.cls, "config": config, "name": node.name, "inbound_nodes": inbound}

    def topology(self, output_order: list[str]) -> dict:
        """The ``modelTopology`` object."""
        return {
            "class_name": "Model",
            "config": {"name": self.model.name, "layers": [self._layer_json(n) for n in self.nodes.values()],
                       "input_layers": [[name, 0, 0] for name in self.inputs],
                       "output_layers": [[self._output_layer(key), 0, 0] for key in output_order]},
            "keras_version": f"keras {keras.__version__} (written in the tf.keras 2 layout by mtl_core)",
            "backend": "tensorflow",
        }

    def _output_layer(self, key: str) -> str:
        name = self.outputs[key]
        return name if name in self.nodes else key

    def weights(self) -> list[tuple[str, np.ndarray]]:
        """``(name, float32 array)`` for every weight, in layer order."""
        out = []
        for node in self.nodes.values():
            if node.cls == "Dense":
                out.append((f"{node.name}/kernel", node.kernel.astype("<f4")))
                out.append((f"{node.name}/bias", node.bias.astype("<f4")))
        return out


def _metadata(info: ModelInfo, converter: _Converter, output_order: list[str]) -> dict:
    data = info.to_dict()
    data["input"] = {"layer": converter.inputs[0] if converter.inputs else None,
                     "encoded_names": info.schema.encoded_names}
    data["outputs"] = output_order
    return {METADATA_KEY: data}


def tfjs_artifacts(model: keras.Model, info: ModelInfo) -> tuple[dict, list[bytes]]:
    """The ``model.json`` dict and the weight shards (bytes), without touching the disk."""
    arch = str(info.config.get("arch") or model.name)
    converter = _Converter(model, arch)
    converter.fold()
    by_task = [t.output for t in info.tasks if t.output in converter.outputs]
    output_order = by_task + [k for k in converter.outputs if k not in by_task]
    weights = converter.weights()
    data = b"".join(np.ascontiguousarray(array).tobytes() for _, array in weights)
    count = max(1, -(-len(data) // SHARD_BYTES))
    shards = [data[i * SHARD_BYTES:(i + 1) * SHARD_BYTES] for i in range(count)]
    model_json = {
        "format": FORMAT,
        "generatedBy": f"keras v{keras.__version__}",
        "convertedBy": CONVERTED_BY,
        "modelTopology": converter.topology(output_order),
        "weightsManifest": [{
            "paths": [f"group1-shard{i}of{count}.bin" for i in range(1, count + 1)],
            "weights": [{"name": name, "shape": list(array.shape), "dtype": "float32"} for name, array in weights],
        }],
        "userDefinedMetadata": _metadata(info, converter, output_order),
    }
    return model_json, shards


def export_tfjs(model: keras.Model, info: ModelInfo, out_dir: str | os.PathLike) -> Path:
    """Write ``model.json`` and its weight shards into ``out_dir`` (created if needed); returns model.json's path."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise bad_value("out", str(out), "is a file; give a directory for model.json and its weight shards")
    model_json, shards = tfjs_artifacts(model, info)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("group1-shard*of*.bin"):
        stale.unlink()
    for path, shard in zip(model_json["weightsManifest"][0]["paths"], shards):
        (out / path).write_bytes(shard)
    target = out / MODEL_JSON
    target.write_text(json.dumps(model_json))
    return target


def export_tfjs_zip(model: keras.Model, info: ModelInfo) -> bytes:
    """The exported files as a zip (model.json and shards at the top level), for a download button."""
    with tempfile.TemporaryDirectory() as tmp:
        export_tfjs(model, info, tmp)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(tmp).iterdir()):
                archive.write(path, path.name)
        return buffer.getvalue()
