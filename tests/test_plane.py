"""The plane generator: two inputs, two tasks, task 2 = task 1 rotated; its parameters, presets and link keys."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import validate_config
from mtl_core.data.generators.plane import (
    CLASSES,
    CLASSIFICATION_SHAPES,
    SHAPES,
    generate_plane,
    shape_labels,
    task_agreement,
)
from mtl_core.data.registry import DATASETS, load_dataset
from mtl_core.errors import DataError
from mtl_core.presets import PRESETS

PLANE_PRESETS = ("plane-related", "plane-unrelated", "plane-mixed")


@pytest.mark.parametrize("shape", SHAPES)
def test_columns_rows_and_label_kinds(shape: str) -> None:
    frame = generate_plane(shape=shape, n=120)
    assert list(frame.columns) == ["x1", "x2", "y1", "y2"]
    assert len(frame) == 120
    assert frame[["x1", "x2"]].dtypes.map(pd.api.types.is_float_dtype).all()
    if shape in CLASSIFICATION_SHAPES:
        assert set(frame["y1"]) == set(CLASSES)  # both classes present on 120 points
    else:
        assert pd.api.types.is_float_dtype(frame["y1"]) and frame["y1"].std() > 0.1


@pytest.mark.parametrize("shape", SHAPES)
def test_angle_zero_gives_identical_labels_and_a_turn_changes_them(shape: str) -> None:
    same = generate_plane(shape=shape, angle=0.0, n=400, seed=1)
    assert same["y1"].tolist() == same["y2"].tolist()
    turned = generate_plane(shape=shape, angle=30.0, n=400, seed=1)
    # Rotation changes only task 2: the inputs and task 1 stay as they were.
    pd.testing.assert_frame_equal(turned[["x1", "x2", "y1"]], same[["x1", "x2", "y1"]])
    if shape != "circle":  # a circle centred on the origin is rotation-symmetric
        assert turned["y2"].tolist() != same["y2"].tolist()


@pytest.mark.parametrize(("shape", "angle"), [("gauss", 90.0), ("spiral", 90.0), ("xor", 45.0),
                                               ("surface", 90.0)])
def test_the_unrelated_angle_decorrelates_the_tasks(shape: str, angle: float) -> None:
    frame = generate_plane(shape=shape, angle=angle, n=6000, seed=0)
    agreement = task_agreement(frame)
    # Equal labels on about half the rows (classes) or correlation near zero (numbers).
    assert abs(agreement - (0.0 if shape == "surface" else 0.5)) < 0.06


def test_task_two_is_task_one_read_at_the_rotated_point() -> None:
    frame = generate_plane(shape="spiral", angle=60.0, noise=0.0, n=300, seed=2)
    x, y = frame["x1"].to_numpy(), frame["x2"].to_numpy()
    theta = np.radians(60.0)
    expected = shape_labels("spiral", np.cos(theta) * x + np.sin(theta) * y, -np.sin(theta) * x + np.cos(theta) * y)
    assert frame["y2"].tolist() == expected.tolist()


def test_deterministic_by_seed() -> None:
    first = generate_plane(shape="xor", angle=20.0, seed=5, n=200)
    pd.testing.assert_frame_equal(generate_plane(shape="xor", angle=20.0, seed=5, n=200), first)
    other = generate_plane(shape="xor", angle=20.0, seed=6, n=200)
    assert not np.allclose(other[["x1", "x2"]].to_numpy(), first[["x1", "x2"]].to_numpy())


def test_noise_moves_inputs_but_not_labels() -> None:
    clean = generate_plane(shape="circle", noise=0.0, n=300, seed=3)
    noisy = generate_plane(shape="circle", noise=0.3, n=300, seed=3)
    assert clean["y1"].tolist() == noisy["y1"].tolist()
    spread = float(np.std(noisy["x1"].to_numpy() - clean["x1"].to_numpy()))
    assert 0.3 * 6 * 0.8 < spread < 0.3 * 6 * 1.2


def test_shape2_picks_task_two_shape() -> None:
    frame = generate_plane(shape="gauss", shape2="surface", n=200)
    assert frame["y1"].dtype != float and pd.api.types.is_float_dtype(frame["y2"])


def test_registry_params_match_the_generator_and_validate() -> None:
    specs = {p.name: p for p in DATASETS["plane"].params}
    signature = inspect.signature(generate_plane)
    assert list(specs) == list(signature.parameters)
    for name, spec in specs.items():
        assert signature.parameters[name].default == spec.default
        assert spec.help
    assert specs["shape"].choices == SHAPES
    dataset = load_dataset("plane", {"shape": " XOR ", "angle": "45", "n": "80"})
    assert dataset.info["shape"] == "xor" and dataset.info["angle"] == 45.0 and len(dataset.frame) == 80
    assert "rotated by 45°" in dataset.notes[0]
    with pytest.raises(DataError, match="shape.*'blob'.*expected one of 'circle'") as info:
        load_dataset("plane", {"shape": "blob"})
    assert info.value.value == "blob"
    with pytest.raises(DataError, match="angle"):
        load_dataset("plane", {"angle": 400})


@pytest.mark.parametrize("name", PLANE_PRESETS)
def test_presets_use_the_plane_and_validate(name: str) -> None:
    config = PRESETS[name].make_config()
    assert config.dataset == "plane" and config.task_names == ["y1", "y2"]
    validate_config(config)
    frame = load_dataset("plane", config.dataset_params).frame
    assert set(config.task_names) <= set(frame.columns)


def test_related_preset_agrees_more_than_the_unrelated_one() -> None:
    related, unrelated = (load_dataset("plane", PRESETS[n].config.dataset_params).info["agreement"]
                          for n in PLANE_PRESETS[:2])
    assert related > 0.75 and abs(unrelated - 0.5) < 0.1


def test_link_round_trip_keeps_text_parameters() -> None:
    from ui.share import config_from_params, config_to_params

    config = PRESETS["plane-mixed"].make_config()
    params = config_to_params(config)
    assert params["d.shape"] == "gauss" and params["d.shape2"] == "surface"
    assert config_from_params(params).dataset_params == config.dataset_params
