"""Limits: layer counts in the field table, the server's limits on one run, short quotes of long values."""

from __future__ import annotations

import pytest

from mtl_core.config import TaskSpec, TrainConfig, validate_config
from mtl_core.data.registry import load_dataset
from mtl_core.errors import MAX_MESSAGE, ConfigError, MTLError, bad_value
from mtl_core.fields import FIELDS, MAX_LAYERS
from mtl_core.limits import LIMITS, LimitError, RunLimits, check_data, check_run, generated_cells, run_size
from mtl_core.models.shape import model_shape, parameter_count


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris").frame


def _config(**kw) -> TrainConfig:
    return TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")], **kw)


@pytest.mark.parametrize("name", ["shared", "head"])
def test_layer_counts_are_bounded_by_the_field_table(name):
    assert FIELDS[name].max_layers == MAX_LAYERS
    validate_config(_config(**{name: [8] * MAX_LAYERS}))
    with pytest.raises(ConfigError, match=f"at most {MAX_LAYERS} layers, got {MAX_LAYERS + 1}") as info:
        validate_config(_config(**{name: [8] * (MAX_LAYERS + 1)}))
    assert info.value.param == name


def test_ten_thousand_layers_are_refused_in_a_short_message():
    with pytest.raises(ConfigError) as info:
        validate_config(_config(shared=[4096] * 10_000))
    assert len(str(info.value)) < 400 and "at most" in str(info.value)
    with pytest.raises(ConfigError, match="at most"):
        validate_config(_config(heads={"species": [4] * (MAX_LAYERS + 1)}))


def test_a_long_value_is_quoted_as_a_short_prefix_and_kept_whole_on_the_error():
    value = "x" * 10_000
    error = bad_value("t", value, "a column")
    assert len(str(error)) < 250 and "10,002 characters" in str(error)
    assert error.value == value
    assert len(str(MTLError("y" * 50_000))) <= MAX_MESSAGE + 80


def test_parameter_count_matches_keras(iris):
    # The TF-free count is what the limit multiplies; it must be the model's real size.
    from mtl_core.data.prepare import prepare
    from mtl_core.registries import ARCHITECTURES

    for config in (_config(shared=[16, 8], head=[4]), _config(arch="mmoe", experts=3, expert_units=8)):
        model = ARCHITECTURES[config.arch].load()(config, prepare(iris, config))
        assert parameter_count(model_shape(iris, config)) == model.count_params()


def test_the_hostile_link_of_the_issue_is_over_the_default_limits(iris):
    huge = _config(shared=[4096] * MAX_LAYERS, head=[4096], batch_size=1, epochs=100_000)
    with pytest.raises(LimitError) as info:
        check_run(huge, iris, RunLimits.defaults())
    assert info.value.param == "MTL_MAX_PARAMETERS" and "MTL_MAX_PARAMETERS" in str(info.value)
    batch_one = _config(batch_size=1, epochs=100_000)
    with pytest.raises(LimitError, match="MTL_MAX_RUN_STEPS") as info:
        check_run(batch_one, iris, RunLimits.defaults())
    assert info.value.value == run_size(batch_one, iris).steps
    wide = _config(shared=[1024, 1024], epochs=10_000)
    with pytest.raises(LimitError, match="MTL_MAX_RUN_SIZE"):
        check_run(wide, iris, RunLimits.defaults())
    # Without limits (the CLI's default) the same runs are allowed.
    assert check_run(huge, iris, RunLimits()).parameters > 1e8


def test_presets_fit_the_default_limits():
    from mtl_core.presets import PRESETS

    for preset in PRESETS.values():
        config = preset.make_config()
        frame = load_dataset(config.dataset, config.dataset_params).frame
        size = check_run(config, frame, RunLimits.defaults())
        assert size.run_size < RunLimits.defaults().run_size / 10


def test_limits_come_from_the_environment():
    assert RunLimits.from_env({}) == RunLimits.defaults()
    limits = RunLimits.from_env({"MTL_MAX_RUN_SIZE": "1e6", "MTL_MAX_RUN_STEPS": "off", "MTL_MAX_PARAMETERS": "0"})
    assert limits.run_size == 1e6 and limits.steps is None and limits.parameters is None
    with pytest.raises(ConfigError, match="MTL_MAX_RUN_SIZE='lots' is invalid") as info:
        RunLimits.from_env({"MTL_MAX_RUN_SIZE": "lots"})
    assert info.value.param == "MTL_MAX_RUN_SIZE"
    assert {limit.variable for limit in LIMITS.values()} == {line.split("(")[-1].rstrip(")")
                                                            for line in RunLimits.defaults().describe()}


def test_generated_data_is_measured_before_it_is_made():
    assert generated_cells("relatedness", {"n": 200_000, "d": 256}) == 200_000 * (256 + 2)
    assert generated_cells("iris", {}) is None
    with pytest.raises(LimitError, match="MTL_MAX_DATA_CELLS"):
        check_data("relatedness", {"n": 200_000, "d": 256}, RunLimits.defaults())
    check_data("relatedness", {"n": 200_000}, RunLimits.defaults())  # 16 inputs: allowed


def test_the_cli_has_no_limit_unless_asked(capsys, monkeypatch):
    from mtl_core.cli.main import main

    monkeypatch.setenv("MTL_MAX_RUN_SIZE", "1000")
    args = ["train", "--dataset", "iris", "--task", "species", "--shared", "4", "--head", "", "--epochs", "2"]
    assert main([*args, "--server-limits"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: This run is too large") and "MTL_MAX_RUN_SIZE" in error and "\n" not in error
    with pytest.raises(LimitError):  # the same check, as the Python API would run it
        check_run(validate_config(_config(shared=[4], head=[], epochs=2)), load_dataset("iris").frame,
                  RunLimits.from_env())
    assert main([*args, "--json"]) == 0  # without the flag: no limit
