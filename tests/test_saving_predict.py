"""Saved models reload with plain Keras (safe mode) and predict the same; predictions read in labels and units."""

from __future__ import annotations

import zipfile

import keras
import numpy as np
import pytest

from mtl_core.cli.predict import parse_row
from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.data.registry import load_dataset
from mtl_core.errors import DataError
from mtl_core.io.model_info import ModelInfo
from mtl_core.io.saving import load_model, model_bytes, read_info, save_model
from mtl_core.models.predict import Predictor
from mtl_core.training.trainer import Trainer


@pytest.fixture(scope="module")
def penguins_run():
    frame = load_dataset("penguins").frame
    cfg = TrainConfig(dataset="penguins", tasks=[TaskSpec("species"), TaskSpec("sex"), TaskSpec("body_mass_g")],
                      shared=[16], head=[8], epochs=30, seed=2)
    result = Trainer(cfg, frame).run()
    return frame, result, ModelInfo.from_prepared(result.prepared, result.config.to_dict())


def test_saved_model_reloads_in_safe_mode_and_predicts_the_same(tmp_path, penguins_run):
    _, result, info = penguins_run
    path = save_model(result.model, info, tmp_path / "penguins.keras")
    plain = keras.saving.load_model(path, safe_mode=True)
    x = result.prepared.x["test"]
    before, after = result.model(x, training=False), plain(x, training=False)
    assert sorted(after) == sorted(t.output for t in info.tasks)
    for name in before:
        np.testing.assert_array_equal(np.asarray(before[name]), np.asarray(after[name]))
    model, loaded_info = load_model(path)
    assert loaded_info.to_dict() == info.to_dict()
    assert [t.classes for t in loaded_info.tasks[:2]] == [["Adelie", "Chinstrap", "Gentoo"], ["female", "male"]]


def test_regression_output_is_in_original_units(penguins_run):
    frame, result, info = penguins_run
    outputs = Predictor(result.model, info).outputs(frame.iloc[result.prepared.rows["test"]])
    mass = outputs["body_mass_g"].ravel()
    assert 2500 < mass.mean() < 6500
    assert result.test_metrics["body_mass_g"]["rmse"] < 800


def test_predict_one_matches_batch_path_and_labels(penguins_run):
    frame, result, info = penguins_run
    predictor = Predictor(result.model, info)
    rows = frame.iloc[result.prepared.rows["test"][:5]]
    batch = predictor.predict_rows(rows)
    for i, (_, row) in enumerate(rows.iterrows()):
        single = predictor.predict_one(row.to_dict())
        assert single["species"].label == batch[i]["species"].label
        assert single["body_mass_g"].value == pytest.approx(batch[i]["body_mass_g"].value, rel=1e-5)
        assert sum(single["sex"].probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(DataError, match="island='Atlantis'"):
        predictor.predict_one({**rows.iloc[0].to_dict(), "island": "Atlantis"})


def test_model_bytes_is_a_keras_zip_with_our_entry(penguins_run):
    _, result, info = penguins_run
    data = model_bytes(result.model, info)
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {"config.json", "model.weights.h5", "mtl_core.json"} <= set(archive.namelist())


def test_read_info_rejects_files_that_are_not_ours(tmp_path):
    bogus = tmp_path / "x.keras"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="model='.*x.keras' is invalid"):
        read_info(bogus)
    with pytest.raises(DataError, match="no such file"):
        read_info(tmp_path / "missing.keras")


def test_parse_row():
    assert parse_row("5.1, 3.5,Biscoe", ["a", "b", "island"]) == {"a": 5.1, "b": 3.5, "island": "Biscoe"}
    with pytest.raises(DataError, match="expected 2 comma-separated values"):
        parse_row("1,2,3", ["a", "b"])
