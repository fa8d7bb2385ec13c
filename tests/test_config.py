"""Config validation: every bad value is named in the message, with the value received."""

from __future__ import annotations

import json

import pytest

from mtl_core.config import TaskSpec, TrainConfig, parse_sizes, validate_config
from mtl_core.data.prepare import prepare
from mtl_core.data.tasks import infer_kind, resolve_tasks
from mtl_core.errors import ConfigError, DataError


def config(**overrides) -> TrainConfig:
    values = {"dataset": "iris", "tasks": [TaskSpec("species"), TaskSpec("petal_width")]}
    values.update(overrides)
    return TrainConfig(**values)


@pytest.mark.parametrize(("overrides", "needles"), [
    ({"tasks": []}, ["tasks", "at least one task"]),
    ({"shared": [10, 0]}, ["shared=[10, 0]", "from 1"]),
    ({"head": [-3]}, ["head=[-3]"]),
    ({"lr": 0.0}, ["lr=0.0", "> 0"]),
    ({"lr": -1.0}, ["lr=-1.0"]),
    ({"epochs": 0}, ["epochs=0"]),
    ({"batch_size": 0}, ["batch_size=0"]),
    ({"dropout": 1.5}, ["dropout=1.5"]),
    ({"loss_weights": {"species": -1.0}}, ["loss_weight['species']=-1.0", ">= 0"]),
    ({"loss_weights": {"species": 0.0, "petal_width": 0.0}}, ["loss_weights", "above 0"]),
    ({"loss_weights": {"nope": 1.0}}, ["loss_weight='nope'", "not a task"]),
    ({"optimizer": "adagrad"}, ["optimizer='adagrad'", "'adam'"]),
    ({"activation": "cosine"}, ["activation='cosine'"]),
    ({"weighting": "magic"}, ["weighting='magic'", "'fixed'"]),
    ({"arch": "resnet"}, ["arch='resnet'", "'hard'"]),
    ({"tasks": [TaskSpec("species"), TaskSpec("species")]}, ["tasks='species'", "once"]),
    ({"inputs": ["species"]}, ["inputs='species'", "target column"]),
    ({"tasks": [TaskSpec("species", "ordinal")]}, ["kind of task 'species'='ordinal'"]),
    ({"early_stopping": True, "val_fraction": 0.0}, ["early_stopping", "validation split"]),
    ({"seed": -1}, ["seed=-1"]),
])
def test_bad_values_are_named_with_the_value(overrides, needles):
    with pytest.raises(ConfigError) as info:
        validate_config(config(**overrides))
    message = str(info.value)
    for needle in needles:
        assert needle in message
    assert isinstance(info.value, ValueError)


def test_valid_config_round_trips_through_json():
    original = validate_config(config(shared=[8, 4], loss_weights={"species": 2.0}, seed=7))
    restored = TrainConfig.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored == original


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="config='colour'"):
        TrainConfig.from_dict({"dataset": "iris", "tasks": ["species"], "colour": "red"})


def test_task_spec_parse():
    assert TaskSpec.parse("species") == TaskSpec("species")
    assert TaskSpec.parse("year:multiclass") == TaskSpec("year", "multiclass")
    # A colon that is not followed by a kind stays part of the column name.
    assert TaskSpec.parse("a:b") == TaskSpec("a:b")


def test_parse_sizes():
    assert parse_sizes("shared", "32, 16") == [32, 16]
    assert parse_sizes("head", "") == []
    with pytest.raises(ConfigError, match="shared='32,x'"):
        parse_sizes("shared", "32,x")


def test_kind_inference(iris_frame):
    from mtl_core.data.registry import load_dataset

    penguins = load_dataset("penguins").frame
    assert infer_kind(iris_frame["species"]) == "multiclass"
    assert infer_kind(iris_frame["petal_width"]) == "regression"
    assert infer_kind(penguins["sex"]) == "binary"
    assert infer_kind(penguins["year"]) == "multiclass"
    assert infer_kind(penguins["body_mass_g"]) == "regression"


def test_task_level_data_errors(iris_frame):
    frame = iris_frame.assign(one=1, text="a")
    with pytest.raises(DataError, match="task='one' is invalid: it has one class"):
        resolve_tasks(frame, [TaskSpec("one", "multiclass")])
    with pytest.raises(DataError, match="task='species' .*must be numeric"):
        resolve_tasks(frame, [TaskSpec("species", "regression")])
    with pytest.raises(DataError, match="task='nope' is invalid: no such column"):
        resolve_tasks(frame, [TaskSpec("nope")])
    with pytest.raises(DataError, match="the column has 3 classes; choose multiclass"):
        resolve_tasks(frame, [TaskSpec("species", "binary")])
    many = frame.assign(many=range(len(frame)))
    with pytest.raises(DataError, match="treat it as regression"):
        resolve_tasks(many, [TaskSpec("many", "multiclass")])


def test_prepare_splits_are_stratified_and_standardise_on_train_only(iris_frame):
    cfg = validate_config(config(seed=1))
    prepared = prepare(iris_frame, cfg)
    sizes = {s: prepared.size(s) for s in ("train", "val", "test")}
    assert sum(sizes.values()) == 150
    assert set(prepared.rows["train"]).isdisjoint(prepared.rows["test"])
    # Stratified on species: every class appears in the test split in equal numbers.
    counts = iris_frame["species"].iloc[prepared.rows["test"]].value_counts()
    assert counts.max() - counts.min() <= 1
    train = prepared.x["train"]
    assert prepared.feature_mean == pytest.approx(train.mean(axis=0), rel=1e-5)
    width = prepared.tasks[1]
    assert width.mean == pytest.approx(float(iris_frame["petal_width"].iloc[prepared.rows["train"]].mean()))


def test_prepare_one_hot_encodes_categorical_inputs():
    from mtl_core.data.registry import load_dataset

    frame = load_dataset("penguins").frame
    cfg = validate_config(TrainConfig(dataset="penguins", tasks=[TaskSpec("species")]))
    prepared = prepare(frame, cfg)
    names = prepared.schema.encoded_names
    assert "island=Biscoe" in names and "sex=female" in names
    onehot = prepared.schema.onehot_mask()
    assert prepared.feature_mean[onehot] == pytest.approx(0.0)
    assert set(prepared.x["train"][:, onehot].ravel().tolist()) <= {0.0, 1.0}
