"""The numpy forward pass: the same outputs, units, gates and landscapes as the Keras model it copies."""

from __future__ import annotations

import pickle
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.data.prepare import prepare
from mtl_core.data.registry import load_dataset
from mtl_core.errors import ConfigError
from mtl_core.fields import ACTIVATIONS
from mtl_core.io.model_info import ModelInfo
from mtl_core.models.forward import NumpyNet, named_weights, set_named_weights
from mtl_core.models.landscape import LandscapeProbe
from mtl_core.models.landscape_data import default_axes
from mtl_core.models.mmoe import gate_weights
from mtl_core.models.predict import Predictor
from mtl_core.registries import ARCHITECTURES

PENGUINS = TrainConfig(dataset="penguins", tasks=[TaskSpec("species"), TaskSpec("sex"), TaskSpec("body_mass_g")],
                       inputs=["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm"], shared=[6, 5],
                       head=[4], experts=3, expert_units=5, seed=7)


@pytest.fixture(scope="module")
def penguins():
    return load_dataset("penguins").frame


def _built(config: TrainConfig, frame):
    prepared = prepare(frame, config)
    model = ARCHITECTURES[config.arch].load()(config, prepared)
    # Weights away from their start (biases included), so that every layer's part of the pass is checked.
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype) if w.ndim else w
                       for w in model.get_weights()])
    return prepared, model


def _rows(prepared) -> np.ndarray:
    return np.concatenate([prepared.x[s] for s in ("train", "val", "test")]).astype(np.float32)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_numpy_pass_gives_the_keras_models_outputs(penguins, arch, activation):
    config = replace(PENGUINS, arch=arch, activation=activation)
    prepared, model = _built(config, penguins)
    x = _rows(prepared)
    expected = {k: np.asarray(v) for k, v in model(x, training=False).items()}
    got = NumpyNet(config, prepared, named_weights(model))(x)
    assert set(got) == set(expected) == {t.output for t in prepared.tasks}
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=2e-4, atol=2e-4 * np.abs(expected[name]).max())


@pytest.mark.parametrize("changes", [{"standardize_inputs": False}, {"dropout": 0.5, "l2": 0.01},
                                     {"shared": [], "head": []}, {"head": [3, 2]}])
def test_the_numpy_pass_follows_the_configs_other_choices(penguins, changes):
    config = replace(PENGUINS, **changes)
    prepared, model = _built(config, penguins)
    x = _rows(prepared)
    got = NumpyNet(config, prepared, named_weights(model))(x)
    for name, value in model(x, training=False).items():
        np.testing.assert_allclose(got[name], np.asarray(value), rtol=2e-4, atol=1e-3)


def test_named_weights_go_back_into_a_fresh_model(penguins):
    prepared, model = _built(PENGUINS, penguins)
    fresh = ARCHITECTURES[PENGUINS.arch].load()(PENGUINS, prepared)
    set_named_weights(fresh, named_weights(model))
    x = _rows(prepared)
    for name, value in model(x, training=False).items():
        np.testing.assert_allclose(np.asarray(fresh(x, training=False)[name]), np.asarray(value), rtol=1e-6)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_a_landscape_of_the_numpy_pass_is_the_keras_models(penguins, arch):
    config = replace(PENGUINS, arch=arch, shared=[20], experts=4, expert_units=6)
    prepared, model = _built(config, penguins)
    info = ModelInfo.from_prepared(prepared, config.to_dict())
    keras_probe = LandscapeProbe(Predictor(model, info))
    numpy_probe = LandscapeProbe(Predictor(NumpyNet(config, prepared, named_weights(model)), info))
    held = {c: penguins[c].iloc[0] if c in prepared.schema.categories else float(penguins[c].median())
            for c in prepared.schema.columns}
    axes = default_axes(prepared.schema)
    a, b = (p.landscape(prepared, held, *axes, resolution=9) for p in (keras_probe, numpy_probe))
    assert b.unit_layer == a.unit_layer and b.unit_index == a.unit_index and sorted(b.gates) == sorted(a.gates)
    np.testing.assert_allclose(b.units, a.units, rtol=1e-4, atol=1e-4)
    for task in a.usage:
        np.testing.assert_allclose(b.usage[task], a.usage[task], rtol=1e-4, atol=1e-6)
    for task in a.gates:
        np.testing.assert_allclose(b.gates[task], a.gates[task], rtol=1e-4, atol=1e-6)
    for task, view in a.tasks.items():
        if view.value is not None:
            np.testing.assert_allclose(b.tasks[task].value, view.value, rtol=1e-4)
        else:
            np.testing.assert_allclose(b.tasks[task].probabilities, view.probabilities, atol=1e-5)


def test_gate_weights_of_the_numpy_pass_are_the_keras_models(penguins):
    config = replace(PENGUINS, arch="mmoe")
    prepared, model = _built(config, penguins)
    expected = gate_weights(model, prepared, split="test")
    got = NumpyNet(config, prepared, named_weights(model)).gate_weights(prepared, split="test")
    assert set(got) == set(expected)
    for task in expected:
        np.testing.assert_allclose(got[task], expected[task], rtol=1e-5)
        assert got[task].sum() == pytest.approx(1.0)


def test_hard_sharing_has_no_gates_and_missing_weights_are_named(penguins):
    prepared = prepare(penguins, PENGUINS)
    with pytest.raises(ConfigError) as no_gates:
        NumpyNet(PENGUINS, prepared).gate_weights(prepared)
    assert no_gates.value.param == "arch"
    with pytest.raises(ConfigError) as missing:
        NumpyNet(PENGUINS, prepared, {"shared_1": []})(prepared.x["test"])
    assert missing.value.param == "weights" and missing.value.value == "shared_1"


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_before_any_weights_arrive_the_net_predicts_even_classes_and_the_mean(penguins, arch):
    config = replace(PENGUINS, arch=arch)
    prepared = prepare(penguins, config)
    out = NumpyNet(config, prepared)(prepared.x["test"])
    for task in prepared.tasks:
        if task.kind == "regression":
            np.testing.assert_allclose(out[task.output], task.mean, rtol=1e-6)
        else:
            np.testing.assert_allclose(out[task.output], 1.0 / max(task.units, 2))
    # The zeros have the trained layout: every layer of a built model is there, with its shape.
    _, model = _built(config, penguins)
    zeros = NumpyNet(config, prepared)._weights
    assert {n: [w.shape for w in ws] for n, ws in zeros.items()} == {
        n: [w.shape for w in ws[:2]] for n, ws in named_weights(model).items() if n != "input_norm"}


# In a process of its own: the server's live views of a pool run (prediction, landscape) load no TensorFlow.
_NO_TF = """
import pickle, sys
from mtl_core.models.forward import NumpyNet
from mtl_core.models.landscape import LandscapeProbe
from mtl_core.models.landscape_data import default_axes
from mtl_core.models.predict import Predictor
config, prepared, info, weights, held = pickle.loads(sys.stdin.buffer.read())
predictor = Predictor(NumpyNet(config, prepared, weights), info)
one = predictor.predict_one(held)
view = LandscapeProbe(predictor).landscape(prepared, held, *default_axes(prepared.schema), resolution=5)
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "TensorFlow was loaded"
print(one["species"].label, view.units.shape)
"""


def test_the_live_views_of_a_pool_run_load_no_tensorflow(penguins):
    prepared, model = _built(PENGUINS, penguins)
    info = ModelInfo.from_prepared(prepared, PENGUINS.to_dict())
    held = {c: penguins[c].iloc[0] if c in prepared.schema.categories else float(penguins[c].median())
            for c in prepared.schema.columns}
    expected = Predictor(model, info).predict_one(held)["species"].label
    payload = pickle.dumps((PENGUINS, prepared, info, named_weights(model), held))
    done = subprocess.run([sys.executable, "-c", _NO_TF], input=payload, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    label, shape = done.stdout.decode().split(" ", 1)
    assert label == expected and shape.strip() == "(5, 5, 5)"
