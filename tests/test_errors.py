"""Every input error carries the parameter it names and the value received (``.param``, ``.value``), so the UI
places and routes messages without reading their text."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest

from mtl_core.config import TaskSpec, TrainConfig, kind_param, validate_config
from mtl_core.data.csv_loader import MAX_CSV_BYTES, load_csv, load_csv_path
from mtl_core.data.registry import drop_missing, load_dataset
from mtl_core.data.tasks import resolve_tasks
from mtl_core.errors import ConfigError, DataError, MTLError, bad_value
from mtl_core.registries import check_weighting_params


def raised(call, *args, **kwargs) -> MTLError:
    with pytest.raises(MTLError) as info:
        call(*args, **kwargs)
    return info.value


def test_bad_value_sets_param_and_value_and_keeps_the_message():
    error = bad_value("lr", -1.0, "expected a number > 0")
    assert str(error) == "lr=-1.0 is invalid: expected a number > 0."
    assert (error.param, error.value, type(error)) == ("lr", -1.0, ConfigError)
    assert bad_value("csv", "x.csv", "no such file", DataError).param == "csv"


def test_param_and_value_survive_pickling():
    error = pickle.loads(pickle.dumps(bad_value("heads['a']", [0], "bad", DataError)))
    assert (type(error), error.param, error.value, str(error)) == (DataError, "heads['a']", [0], "heads['a']=[0] is "
                                                                   "invalid: bad.")


@pytest.mark.parametrize(("overrides", "param", "value"), [
    ({"lr": 0.0}, "lr", 0.0),
    ({"experts": 65}, "experts", 65),
    ({"heads": {"species": [0]}}, "heads['species']", [0]),
    ({"tasks": [TaskSpec("species", "ordinal")]}, kind_param("species"), "ordinal"),
    ({"weighting": "gradnorm", "weighting_params": {"alpha": -1.0}}, "weighting_params['alpha']", -1.0),
    ({"weighting": "dwa", "weighting_params": {"tau": 2.0}}, "weighting_params['tau']", 2.0),
])
def test_config_errors_carry_their_parameter(overrides, param, value):
    config = TrainConfig(dataset="iris", tasks=[TaskSpec("species")])
    for key, v in overrides.items():
        setattr(config, key, v)
    error = raised(validate_config, config)
    assert (error.param, error.value) == (param, value)
    assert str(error).startswith(f"{param}={value!r} is invalid")


def test_registry_parameter_check_carries_its_parameter():
    error = raised(check_weighting_params, "gradnorm", {"lr": 0.0})
    assert (error.param, error.value) == ("weighting_params['lr']", 0.0)


@pytest.mark.parametrize(("column", "values", "kind", "needle"), [
    ("t", ["a", "b", "a", "b"], "regression", "must be numeric"),
    ("t", [1.0, 1.0, 1.0, 1.0], "regression", "two distinct values"),
    ("t", ["a", "a", "a", "a"], "multiclass", "at least two classes"),
    ("t", [str(i) for i in range(300)], "multiclass", "classes and at most"),
])
def test_task_errors_carry_the_task(column, values, kind, needle):
    frame = pd.DataFrame({column: values, "x": range(len(values))})
    error = raised(resolve_tasks, frame, [TaskSpec(column, kind)])
    assert isinstance(error, DataError) and needle in str(error)
    assert (error.param, error.value) == ("task", column)


def test_a_binary_task_with_three_classes_names_its_kind():
    frame = pd.DataFrame({"t": ["a", "b", "c", "a"], "x": range(4)})
    error = raised(resolve_tasks, frame, [TaskSpec("t", "binary")])
    assert (error.param, error.value) == (kind_param("t"), "binary")


def test_dataset_parameter_errors_carry_the_parameter():
    error = raised(load_dataset, "relatedness", {"p": 3})
    assert (error.param, error.value) == ("dataset_param 'p'", 3)
    error = raised(load_dataset, "relatedness", {"p": "high"})
    assert (error.param, error.value) == ("dataset_param 'p'", "high")
    error = raised(load_dataset, "relatedness", {"colour": 1})
    assert (error.param, error.value) == ("dataset_param 'colour'", 1)
    assert str(error).startswith("dataset_param 'colour' is not a parameter of dataset 'relatedness'")


def test_a_frame_with_no_complete_row_names_its_source():
    error = raised(drop_missing, pd.DataFrame({"a": [1.0, None], "b": [None, 2.0]}), "csv")
    assert (error.param, error.value) == ("csv", 2)


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "file is empty"),
    (b"   \n\n", "only whitespace"),
    (b"a,b\n", "no data rows"),
    (b"a,b\n1,2\n", "only 1 data row"),
    (b"\x00\x01\x02binary\x00" * 20, "not a text table"),
    (b"a,a\n1,2\n3,4\n", "duplicate column names"),
])
def test_csv_errors_name_csv_and_the_file(data, needle):
    error = raised(load_csv, data, name="mine.csv")
    assert needle in str(error) and str(error).startswith("csv")
    assert (error.param, error.value) == ("csv", "mine.csv")


def test_csv_over_the_limit_names_the_file(tmp_path):
    error = raised(load_csv, b"a,b\n" + b"1,2\n" * 10, name="big.csv", max_bytes=10)
    assert (error.param, error.value) == ("csv", "big.csv")
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate(MAX_CSV_BYTES + 1)
    error = raised(load_csv_path, big)
    assert (error.param, error.value) == ("csv", str(big))
    assert str(error).startswith(f"csv={str(big)!r} is invalid: file is")


def test_a_config_file_holding_a_list_names_the_path(tmp_path):
    from mtl_core.cli.options import read_config_file

    path = tmp_path / "list.json"
    path.write_text(json.dumps([1, 2]))
    error = raised(read_config_file, str(path))
    assert (error.param, error.value) == ("config", str(path))
    assert str(error) == (f"config={str(path)!r} is invalid: expected a JSON object (a config or a run's JSON), "
                          "the file holds a list.")


def test_a_csv_from_another_session_names_the_dataset():
    from mtl_core.data.sources import load_source

    config = TrainConfig(dataset="csv:gone.csv", tasks=[TaskSpec("a")])
    error = raised(load_source, config, {})
    assert (error.param, error.value) == ("dataset", "csv:gone.csv")
    assert str(error).startswith("dataset='csv:gone.csv' is invalid: it was a CSV uploaded in another session")


def test_a_parser_failure_names_csv_and_the_file(monkeypatch):
    import mtl_core.data.csv_loader as csv_loader
    from mtl_core.data.sources import read_csv_bytes

    def broken(data, name):
        raise RuntimeError("boom")

    monkeypatch.setattr(csv_loader, "load_csv", broken)
    error = raised(read_csv_bytes, b"a,b\n1,2\n", "odd.csv")
    assert (error.param, error.value) == ("csv", "odd.csv") and "RuntimeError: boom" in str(error)


@pytest.mark.parametrize(("data", "value"), [(b"{not json", "Expecting property name enclosed in double quotes"),
                                             (b'{"dataset": "iris", "tasks": ["species"], "heads": [1]}', None)])
def test_an_uploaded_config_that_does_not_parse_names_config(data, value):
    from ui.config_upload import parse_config_json

    error = raised(parse_config_json, data)
    assert error.param == "config" and error.value is not None
    if value is not None:
        assert error.value == value
