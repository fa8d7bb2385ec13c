"""Config validation: every bad value is named in the message, with the value received."""

from __future__ import annotations

import json

import pandas as pd
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


def test_kind_inference_reads_many_whole_numbers_for_the_size_as_a_regression():
    from mtl_core.data.registry import load_dataset

    linnerud = load_dataset("linnerud").frame
    # Waist has 9 whole-number values on 20 rows: measurements, not 9 classes of about two rows each.
    assert linnerud["Waist"].nunique() <= 10
    assert {c: infer_kind(linnerud[c]) for c in ("Weight", "Waist", "Pulse")} == dict.fromkeys(
        ("Weight", "Waist", "Pulse"), "regression")
    codes = pd.Series([1, 2, 3, 4] * 5)  # 4 codes on 20 rows: 5 rows each, the least that stays classes
    assert infer_kind(codes) == "multiclass"
    assert infer_kind(codes.iloc[:19]) == "regression"  # 19 rows: under 5 rows per value on average
    assert infer_kind(pd.Series(range(11)).repeat(50)) == "regression"  # 11 values: more than 10 classes
    assert infer_kind(pd.Series(range(10)).repeat(5)) == "multiclass"
    assert infer_kind(pd.Series([0.5, 1.0, 2.0] * 20)) == "regression"  # not whole numbers
    assert infer_kind(pd.Series([3, 7] * 2)) == "binary"  # two values stay binary on any size
    assert infer_kind(pd.Series(list("abcab"))) == "multiclass"  # text is always classes


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


# ---- the field table and the strategies' parameters --------------------------------------------------------
def test_the_field_table_has_one_row_per_config_field_and_its_defaults_are_the_dataclass_defaults():
    import dataclasses

    from mtl_core.fields import FIELDS

    assert list(FIELDS) != [] and set(FIELDS) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert FIELDS["lr"].default == TrainConfig().lr and FIELDS["shared"].default == TrainConfig().shared
    urls = [f.url for f in FIELDS.values() if f.url]
    flags = [f.flag for f in FIELDS.values() if f.flag]
    assert len(urls) == len(set(urls)) and len(flags) == len(set(flags))


@pytest.mark.parametrize("name", ["dropout", "lr", "batch_size", "experts", "epochs", "seed", "val_fraction"])
def test_validation_uses_the_field_table_bounds(name):
    from mtl_core.fields import FIELDS

    spec = FIELDS[name]
    validate_config(config(**{name: spec.kind(spec.high)}))  # the top of the range is valid
    over = spec.high + (1 if spec.kind is int else 0.01)
    with pytest.raises(ConfigError) as info:
        validate_config(config(**{name: spec.kind(over)}))
    assert info.value.param == name and info.value.value == spec.kind(over)


def test_widget_bounds_come_from_the_table():
    from mtl_core.fields import widget_bounds

    assert widget_bounds("dropout") == {"min_value": 0.0, "max_value": 0.95, "step": 0.05}
    assert widget_bounds("batch_size") == {"min_value": 1, "max_value": 1_000_000, "step": 8}
    layer = widget_bounds("shared")
    assert layer == {"min_value": 1, "max_value": 4096, "step": 1} and all(type(v) is int for v in layer.values())
    # Loss weights have no upper bound, but their sliders stop at 5.
    assert widget_bounds("loss_weights")["max_value"] == 5.0


@pytest.mark.parametrize(("weighting", "params", "needle"), [
    ("gradnorm", {"alpha": 11.0}, "weighting_params['alpha']=11.0 is invalid"),
    ("gradnorm", {"lr": 0.0}, "weighting_params['lr']=0.0 is invalid: expected a number > 0"),
    ("gradnorm", {"beta": 1.0}, "weighting_params['beta']=1.0 is invalid: not a parameter of weighting 'gradnorm'"),
    ("fixed", {"alpha": 1.0}, "(valid: none)"),
    ("dwa", {"temperature": float("nan")}, "weighting_params['temperature']=nan"),
])
def test_weighting_params_are_checked_against_the_registry(weighting, params, needle):
    with pytest.raises(ConfigError) as info:
        validate_config(config(weighting=weighting, weighting_params=params))
    assert needle in str(info.value)
    name = next(iter(params))
    assert info.value.param == f"weighting_params[{name!r}]"
    assert info.value.value == params[name] or info.value.value != info.value.value  # nan != nan


def test_good_weighting_params_pass_as_floats():
    checked = validate_config(config(weighting="gradnorm", weighting_params={"alpha": 2}))
    assert checked.weighting_params == {"alpha": 2.0} and isinstance(checked.weighting_params["alpha"], float)


def test_every_strategy_declares_its_parameters_without_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from mtl_core.registries import WEIGHTINGS; "
            "print({n: [p.name for p in e.params] for n, e in WEIGHTINGS.items()}); "
            "print(any(m in sys.modules for m in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    declared, loaded = out.stdout.strip().splitlines()
    assert "'gradnorm': ['alpha', 'lr']" in declared and "'dwa': ['temperature']" in declared
    assert loaded == "False"
