"""The TensorFlow.js export: models loaded by real @tensorflow/tfjs in Node.js predict what Keras predicts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TFJS_DIR = Path(__file__).resolve().parent / "tfjs"
N_ROWS = 50
# Probabilities are compared absolutely; regression values relatively (a float32 near 4000 g moves in
# steps of 2.4e-4, so an absolute 1e-5 would ask for more digits than float32 has).
TOLERANCE = 1e-5
LARGEST: dict[str, float] = {}


@pytest.fixture(scope="module")
def node_ready() -> None:
    """Node.js with @tensorflow/tfjs installed from the committed lockfile."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to load the export with @tensorflow/tfjs")
    if not (TFJS_DIR / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        try:
            proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=TFJS_DIR,
                                  capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm ci in {TFJS_DIR} took over 15 minutes (no network?); @tensorflow/tfjs is needed")
        if proc.returncode != 0 and _NETWORK_ERRORS.search(proc.stderr + proc.stdout):
            # Offline: the registry is out of reach, which says nothing about the export.
            pytest.skip(f"npm ci could not download @tensorflow/tfjs (offline?): {_network_line(proc.stderr)}")
        assert proc.returncode == 0, f"npm ci failed in {TFJS_DIR}:\n{proc.stderr[-2000:]}"


# npm's messages when the registry cannot be reached (DNS, refused, reset, timed out, proxy, offline cache miss).
_NETWORK_ERRORS = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
                             r"network|proxy|ENOTCACHED|getaddrinfo", re.IGNORECASE)


def _network_line(stderr: str) -> str:
    """npm's first line naming the network error (its last line only points at a log file)."""
    return next((line.strip() for line in stderr.splitlines() if _NETWORK_ERRORS.search(line)), "no output")


def node_predict(model_dir: Path, x: np.ndarray, tmp_path: Path) -> dict:
    """Run tests/tfjs/predict.mjs on encoded rows; its last stdout line is the JSON result."""
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps(np.asarray(x, dtype=np.float64).tolist()))
    proc = subprocess.run(["node", str(TFJS_DIR / "predict.mjs"), str(model_dir), f"@{rows}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def random_rows(frame: pd.DataFrame, info, seed: int) -> np.ndarray:
    """Encoded random rows: numbers spread a little beyond the data's range, categories drawn uniformly."""
    rng = np.random.default_rng(seed)
    raw = {}
    for col in info.schema.columns:
        if col in info.schema.categories:
            raw[col] = rng.choice(info.schema.categories[col], N_ROWS)
        else:
            lo, hi = float(frame[col].min()), float(frame[col].max())
            raw[col] = rng.uniform(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), N_ROWS)
    return info.schema.encode(pd.DataFrame(raw))


def keras_outputs(model, x: np.ndarray) -> dict[str, np.ndarray]:
    out = model(x.astype(np.float32), training=False)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def assert_same(label: str, info, expected: dict[str, np.ndarray], js: dict) -> None:
    """tfjs outputs, keyed by task output name, match Keras's; records the largest difference."""
    assert sorted(js["outputs"]) == sorted(expected)
    worst = 0.0
    for task in info.tasks:
        got = np.asarray(js["outputs"][task.output], dtype=np.float64)
        want = expected[task.output]
        assert got.shape == want.shape == (N_ROWS, task.units)
        diff = np.abs(got - want)
        if task.kind == "regression":
            diff = diff / np.maximum(1.0, np.abs(want))
        worst = max(worst, float(diff.max()))
        assert diff.max() <= TOLERANCE, f"{label}/{task.output}: max difference {diff.max():.3g}"
    LARGEST[label] = worst
    print(f"{label}: largest tfjs-vs-Keras difference {worst:.3g}")


def train(preset: str, epochs: int, **changes):
    from mtl_core.data.registry import load_dataset
    from mtl_core.io.model_info import ModelInfo
    from mtl_core.presets import get_preset
    from mtl_core.training.trainer import Trainer

    config = get_preset(preset).make_config()
    config.epochs = epochs
    for key, value in changes.items():
        setattr(config, key, value)
    frame = load_dataset(config.dataset).frame
    result = Trainer(config, frame).run()
    return result.model, ModelInfo.from_prepared(result.prepared, result.config.to_dict()), frame


@pytest.fixture(scope="module")
def hetero():
    """Iris species + petal width, standardised inputs (Normalization) and a regression Rescaling."""
    return train("heterogeneous", 5, head=[4], dropout=0.1)


@pytest.fixture(scope="module")
def penguins():
    """Penguins: categorical (one-hot) inputs, a multiclass, a binary and a regression task."""
    return train("penguins", 3)


def read_model_json(path: Path) -> dict:
    return json.loads((path / "model.json").read_text())


def test_heterogeneous_iris_matches_keras_and_folds_preprocessing(node_ready, hetero, tmp_path):
    from mtl_core.io.export_tfjs import export_tfjs

    model, info, frame = hetero
    out = tmp_path / "hetero"
    assert export_tfjs(model, info, out) == out / "model.json"
    doc = read_model_json(out)
    assert doc["format"] == "layers-model" and doc["convertedBy"] == "mtl_core"
    classes = {layer["class_name"] for layer in doc["modelTopology"]["config"]["layers"]}
    assert classes == {"InputLayer", "Dense", "Dropout"}
    assert [o[0] for o in doc["modelTopology"]["config"]["output_layers"]] == ["species", "petal_width"]
    # The shard holds exactly the weights the manifest lists, as float32.
    manifest = doc["weightsManifest"][0]
    n_values = sum(int(np.prod(w["shape"])) for w in manifest["weights"])
    assert (out / manifest["paths"][0]).stat().st_size == 4 * n_values
    x = random_rows(frame, info, seed=1)
    js = node_predict(out, x, tmp_path)
    assert js["backend"] == "cpu"
    assert_same("heterogeneous", info, keras_outputs(model, x), js)
    meta = js["metadata"]["mtl_core"]
    assert [t["name"] for t in meta["tasks"]] == ["species", "petal_width"]
    assert meta["tasks"][0]["classes"] == ["setosa", "versicolor", "virginica"]
    assert meta["inputs"]["columns"] == ["sepal_length", "sepal_width", "petal_length"]
    assert meta["outputs"] == ["species", "petal_width"]


def test_penguins_with_categorical_inputs_and_a_binary_task(node_ready, penguins, tmp_path):
    from mtl_core.io.export_tfjs import export_tfjs

    model, info, frame = penguins
    assert {t.kind for t in info.tasks} == {"multiclass", "binary", "regression"} and info.schema.categories
    export_tfjs(model, info, tmp_path / "penguins")
    x = random_rows(frame, info, seed=2)
    js = node_predict(tmp_path / "penguins", x, tmp_path)
    assert_same("penguins", info, keras_outputs(model, x), js)
    assert js["metadata"]["mtl_core"]["input"]["encoded_names"] == info.schema.encoded_names


def test_tutorial_preset_without_normalization(node_ready, tmp_path):
    from mtl_core.io.export_tfjs import export_tfjs

    model, info, frame = train("seed", 10)
    assert "Normalization" not in {type(layer).__name__ for layer in model.layers}
    export_tfjs(model, info, tmp_path / "seed")
    kernels = [w["shape"] for w in read_model_json(tmp_path / "seed")["weightsManifest"][0]["weights"]
               if w["name"].endswith("/kernel")]
    assert kernels == [[4, 10], [10, 10], [10, 3]]
    x = random_rows(frame, info, seed=3)
    assert_same("seed", info, keras_outputs(model, x), node_predict(tmp_path / "seed", x, tmp_path))


def test_mmoe_exports_when_registered(node_ready, tmp_path):
    from mtl_core.registries import ARCHITECTURES

    if "mmoe" not in ARCHITECTURES:
        pytest.skip("no MMoE architecture registered")
    from mtl_core.io.export_tfjs import export_tfjs

    model, info, frame = train("penguins", 2, arch="mmoe", experts=3, expert_units=6)
    export_tfjs(model, info, tmp_path / "mmoe")
    x = random_rows(frame, info, seed=4)
    assert_same("mmoe", info, keras_outputs(model, x), node_predict(tmp_path / "mmoe", x, tmp_path))


def test_several_shards_load(node_ready, hetero, tmp_path, monkeypatch):
    from mtl_core.io import export_tfjs as module

    model, info, frame = hetero
    monkeypatch.setattr(module, "SHARD_BYTES", 200)
    module.export_tfjs(model, info, tmp_path / "sharded")
    paths = read_model_json(tmp_path / "sharded")["weightsManifest"][0]["paths"]
    assert len(paths) > 1 and paths[-1] == f"group1-shard{len(paths)}of{len(paths)}.bin"
    x = random_rows(frame, info, seed=5)
    assert_same("sharded", info, keras_outputs(model, x), node_predict(tmp_path / "sharded", x, tmp_path))
    # Re-exporting with one shard removes the stale ones.
    monkeypatch.setattr(module, "SHARD_BYTES", 4 * 1024 * 1024)
    module.export_tfjs(model, info, tmp_path / "sharded")
    assert sorted(p.name for p in (tmp_path / "sharded").iterdir()) == ["group1-shard1of1.bin", "model.json"]


def test_cli_export_then_node_predicts_like_the_saved_model(node_ready, hetero, tmp_path, capsys):
    from mtl_core.cli.main import main
    from mtl_core.io.saving import save_model

    model, info, frame = hetero
    saved = save_model(model, info, tmp_path / "m.keras")
    out = tmp_path / "web"
    assert main(["export", "--model", str(saved), "--format", "tfjs", "--out", str(out)]) == 0
    assert "model.json" in capsys.readouterr().out
    x = random_rows(frame, info, seed=6)
    assert_same("cli", info, keras_outputs(model, x), node_predict(out, x, tmp_path))


@pytest.mark.parametrize("case, message", [
    ("format", "error: format='onnx' is invalid"),
    ("model", "error: model="),
    ("out", "error: out="),
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, case, message):
    from mtl_core.cli.main import main

    (tmp_path / "a_file").write_text("x")
    flags = {"--model": str(tmp_path / "missing.keras"), "--format": "tfjs", "--out": str(tmp_path / "dir")}
    if case == "format":
        flags["--format"] = "onnx"
    if case == "out":
        flags["--out"] = str(tmp_path / "a_file")
    assert main(["export", *[item for pair in flags.items() for item in pair]]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "dir").exists()


def test_zip_holds_the_same_files(hetero, tmp_path):
    from mtl_core.io.export_tfjs import export_tfjs, export_tfjs_zip

    model, info, _ = hetero
    data = export_tfjs_zip(model, info)
    export_tfjs(model, info, tmp_path / "plain")
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["group1-shard1of1.bin", "model.json"]
        assert json.loads(archive.read("model.json")) == read_model_json(tmp_path / "plain")
        assert archive.read("group1-shard1of1.bin") == (tmp_path / "plain" / "group1-shard1of1.bin").read_bytes()


def test_normalization_fold_uses_keras_epsilon_floor():
    """A near-constant input is divided by Keras's floor max(sqrt(var), epsilon), exactly as Keras does."""
    from mtl_core._tf import keras
    from mtl_core.data.prepare import InputSchema
    from mtl_core.data.tasks import Task
    from mtl_core.io.export_tfjs import tfjs_artifacts
    from mtl_core.io.model_info import ModelInfo

    inputs = keras.Input(shape=(2,), name="features")
    # sqrt(1e-16) = 1e-8 is below the floor 1e-7: an exporter ignoring it would be ten times off.
    x = keras.layers.Normalization(mean=[1.0, 0.0], variance=[4.0, 1e-16], name="input_norm")(inputs)
    model = keras.Model(inputs, {"t": keras.layers.Dense(1, name="t")(x)})
    info = ModelInfo([Task("t", "regression", "t")], InputSchema(["a", "b"]))
    doc, shards = tfjs_artifacts(model, info)
    values = np.frombuffer(b"".join(shards), "<f4").astype(np.float64)
    offset = 0
    weights = {}
    for spec in doc["weightsManifest"][0]["weights"]:
        size = int(np.prod(spec["shape"]))
        weights[spec["name"]] = values[offset:offset + size].reshape(spec["shape"])
        offset += size
    assert set(weights) == {"input_norm/kernel", "input_norm/bias", "t/kernel", "t/bias"}
    rows = np.array([[3.0, 1e-6], [0.0, -2e-6], [1.5, 0.0]], np.float32)
    centred = rows @ weights["input_norm/kernel"] + weights["input_norm/bias"]
    folded = centred @ weights["t/kernel"] + weights["t/bias"]
    np.testing.assert_allclose(folded[:, 0], np.asarray(model(rows)["t"])[:, 0], rtol=1e-5)


def test_unsupported_layers_raise_config_error_naming_arch():
    from mtl_core._tf import keras
    from mtl_core.data.prepare import InputSchema
    from mtl_core.data.tasks import Task
    from mtl_core.errors import ConfigError
    from mtl_core.io.export_tfjs import tfjs_artifacts
    from mtl_core.io.model_info import ModelInfo

    inputs = keras.Input(shape=(3,), name="features")
    x = keras.layers.Dense(4, name="shared_1")(inputs)
    x = keras.layers.LayerNormalization(name="ln")(x)
    model = keras.Model(inputs, {"t": keras.layers.Dense(1, name="t")(x)})
    info = ModelInfo([Task("t", "regression", "t")], InputSchema(["a", "b", "c"]), {"arch": "custom"})
    with pytest.raises(ConfigError, match=r"arch='custom'.*'ln' is a LayerNormalization"):
        tfjs_artifacts(model, info)
    hard_sigmoid = keras.Model(inputs, {"t": keras.layers.Dense(1, activation="hard_sigmoid", name="t")(inputs)})
    with pytest.raises(ConfigError, match="activation 'hard_sigmoid'"):
        tfjs_artifacts(hard_sigmoid, info)


def test_out_dir_that_is_a_file_is_refused(hetero, tmp_path):
    from mtl_core.errors import ConfigError
    from mtl_core.io.export_tfjs import export_tfjs

    model, info, _ = hetero
    target = tmp_path / "taken"
    target.write_text("keep me")
    with pytest.raises(ConfigError, match="out="):
        export_tfjs(model, info, target)
    assert target.read_text() == "keep me"
