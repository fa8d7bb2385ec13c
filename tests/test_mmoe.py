"""MMoE: structure (E experts, T gates), gate weights, a numpy reference forward pass, safe-mode reload,
the CLI's --arch mmoe, and determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.errors import ConfigError


def make_config() -> TrainConfig:
    """Three tasks (multiclass, regression, regression) on Iris, 3 experts of 5 units, short."""
    return TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width"), TaskSpec("petal_length")],
                       inputs=["sepal_length", "sepal_width"], arch="mmoe", experts=3, expert_units=5, head=[4],
                       epochs=8, seed=5, conflict_every=0)


@pytest.fixture()
def mmoe_config():
    """A fresh short MMoE config."""
    return make_config()


@pytest.fixture(scope="module")
def trained(iris_frame):
    """One trained MMoE run shared by the tests that only read it."""
    from mtl_core.training.trainer import Trainer

    return Trainer(make_config(), iris_frame).run()


def _build(config, frame):
    from mtl_core.data.prepare import prepare
    from mtl_core.models.mmoe import build_mmoe

    prepared = prepare(frame, config)
    return build_mmoe(config, prepared), prepared


def test_builds_e_experts_and_one_softmax_gate_per_task(mmoe_config, iris_frame):
    from mtl_core.models.blocks import shared_layers

    model, prepared = _build(mmoe_config, iris_frame)
    experts = model.get_layer("shared_experts")
    assert experts.kernel.shape == (2, 3 * 5)
    assert tuple(model.get_layer("expert_stack").output.shape) == (None, 3, 5)
    gates = [layer for layer in model.layers if layer.name.endswith("_gate")]
    assert sorted(g.name for g in gates) == sorted(f"{t.output}_gate" for t in prepared.tasks)
    for gate in gates:
        assert gate.units == 3 and gate.activation.__name__ == "softmax"
    # The trainer's shared parameters (and GradNorm's "last shared kernel") are exactly the experts.
    assert [layer.name for layer in shared_layers(model)] == ["shared_experts"]
    assert set(model.output) == {t.output for t in prepared.tasks}


def test_expert_initialisation_matches_separate_glorot_experts(iris_frame):
    config = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")], arch="mmoe",
                         experts=8, expert_units=16, seed=1)
    model, prepared = _build(config, iris_frame)
    kernel = np.asarray(model.get_layer("shared_experts").kernel)
    fan_in = prepared.x["train"].shape[1]
    per_expert_limit = np.sqrt(6 / (fan_in + 16))
    fused_limit = np.sqrt(6 / (fan_in + 8 * 16))
    assert np.abs(kernel).max() <= per_expert_limit
    assert np.abs(kernel).max() > 1.5 * fused_limit


def test_mixture_equals_a_numpy_reference_and_gates_sum_to_one(trained):
    from mtl_core._tf import keras
    from mtl_core.models.mmoe import gate_weights

    model, prepared = trained.model, trained.prepared
    x = prepared.x["test"]
    xn = (x - prepared.feature_mean) / np.sqrt(prepared.feature_var)
    experts = model.get_layer("shared_experts")
    hidden = np.maximum(xn @ np.asarray(experts.kernel) + np.asarray(experts.bias), 0).reshape(len(x), 3, 5)
    for task in prepared.tasks:
        gate = model.get_layer(f"{task.output}_gate")
        logits = xn @ np.asarray(gate.kernel) + np.asarray(gate.bias)
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        expected = np.einsum("be,beu->bu", weights, hidden)
        probe = keras.Model(model.inputs[0], [model.get_layer(f"{task.output}_gate").output,
                                              model.get_layer(f"{task.output}_mixture").output])
        gate_out, mixture = (np.asarray(v) for v in probe(x, training=False))
        np.testing.assert_allclose(gate_out.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(gate_out, weights, atol=1e-4)
        np.testing.assert_allclose(mixture, expected, atol=1e-4)
    means = gate_weights(model, prepared)
    assert set(means) == {t.name for t in prepared.tasks}
    for values in means.values():
        assert values.shape == (3,) and np.all(values > 0)
        assert values.sum() == pytest.approx(1.0, abs=1e-5)
    by_output = gate_weights(model, prepared.x["test"])
    assert set(by_output) == {t.output for t in prepared.tasks}
    np.testing.assert_allclose(by_output["species"], gate_weights(model, prepared, split="test")["species"])


def test_gate_weights_refuses_a_model_without_gates(hetero_config, iris_frame):
    from mtl_core.data.prepare import prepare
    from mtl_core.models.hard_sharing import build_hard_sharing
    from mtl_core.models.mmoe import gate_weights

    prepared = prepare(iris_frame, hetero_config)
    with pytest.raises(ConfigError, match="arch"):
        gate_weights(build_hard_sharing(hetero_config, prepared), prepared)


def test_saved_mmoe_reloads_in_safe_mode_without_custom_objects(trained, tmp_path):
    from mtl_core._tf import keras

    result = trained
    path = tmp_path / "mmoe.keras"
    result.model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    x = result.prepared.x["test"]
    before, after = result.model.predict(x, verbose=0), reloaded.predict(x, verbose=0)
    assert set(before) == set(after)
    for name in before:
        np.testing.assert_allclose(before[name], after[name], rtol=1e-6, atol=1e-6)
    assert {layer.__class__.__name__ for layer in reloaded.layers} <= {
        "InputLayer", "Normalization", "Dense", "Reshape", "Dot", "Rescaling"}


def test_cli_trains_mmoe_and_saves_it(tmp_path, capsys):
    from mtl_core.cli.main import main
    from mtl_core.io.saving import load_model

    path = tmp_path / "m.keras"
    code = main(["train", "--preset", "heterogeneous", "--arch", "mmoe", "--experts", "3", "--expert-units", "6",
                 "--epochs", "4", "--json", "--save", str(path)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["arch"] == "mmoe" and out["epochs_run"] == 4
    assert set(out["test_metrics"]) == {"species", "petal_width"}
    model, info = load_model(path)
    assert model.get_layer("shared_experts").kernel.shape[1] == 3 * 6
    assert model.get_layer("species_gate").units == 3


def test_training_is_deterministic_for_a_seed(trained, mmoe_config, iris_frame):
    from mtl_core.training.trainer import Trainer

    again = Trainer(mmoe_config, iris_frame).run()
    for a, b in zip(trained.model.get_weights(), again.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert trained.test_metrics == again.test_metrics
    first, _ = _build(mmoe_config, iris_frame)
    mmoe_config.seed = 6
    other, _ = _build(mmoe_config, iris_frame)
    assert not np.array_equal(first.get_layer("shared_experts").kernel, other.get_layer("shared_experts").kernel)


def test_describe_architecture_lists_experts_gates_and_towers():
    from mtl_core.models.mmoe import describe_architecture

    config = TrainConfig(dataset="iris", tasks=[TaskSpec("a"), TaskSpec("b")], arch="mmoe", experts=3,
                         expert_units=7, head=[4], heads={"b": [6, 2]})
    info = describe_architecture(config, ["a", "b"])
    assert info["arch"] == "mmoe" and len(info["experts"]) == 3
    assert all(e["units"] == 7 for e in info["experts"])
    assert info["gates"] == {"a": 3, "b": 3} and info["towers"] == {"a": [4], "b": [6, 2]}
    config.arch = "hard"
    assert describe_architecture(config, ["a", "b"])["shared"] == config.shared
