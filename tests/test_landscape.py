"""Landscapes, response curves, trunk units, head usage and gates: shapes, and agreement with Predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.data.prepare import prepare
from mtl_core.data.registry import load_dataset
from mtl_core.errors import DataError
from mtl_core.io.model_info import ModelInfo
from mtl_core.models.hard_sharing import build_hard_sharing
from mtl_core.models.landscape import MAX_UNITS, LandscapeProbe
from mtl_core.models.landscape_data import (
    axis_inputs,
    data_points,
    default_axes,
    grid_rows,
    input_bounds,
)
from mtl_core.models.mmoe import build_mmoe
from mtl_core.models.predict import Predictor

RES = 12


def _setup(config: TrainConfig, build):
    frame = load_dataset(config.dataset, config.dataset_params).frame
    prepared = prepare(frame, config)
    model = build(config, prepared)
    predictor = Predictor(model, ModelInfo.from_prepared(prepared, config.to_dict()))
    held = {c: float(frame[c].median()) if c not in prepared.schema.categories else frame[c].iloc[0]
            for c in prepared.schema.columns}
    return frame, prepared, predictor, LandscapeProbe(predictor), held


@pytest.fixture(scope="module")
def iris():
    """The heterogeneous Iris setup (species + petal width), untrained: its weights are what they are."""
    config = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")],
                         inputs=["sepal_length", "sepal_width", "petal_length"], shared=[10, 6], head=[4], seed=1)
    return _setup(config, build_hard_sharing)


@pytest.fixture(scope="module")
def penguins_mmoe():
    """MMoE on penguins (a categorical input, a binary, a multiclass and a regression task): 4 x 8 expert units."""
    config = TrainConfig(dataset="penguins", tasks=[TaskSpec("species"), TaskSpec("sex"), TaskSpec("body_mass_g")],
                         inputs=["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm"], arch="mmoe",
                         experts=4, expert_units=8, head=[], seed=3)
    return _setup(config, build_mmoe)


def _raw_rows(grid, held, cells):
    """The raw input rows of some grid cells (iy, ix), as Predictor reads them."""
    return pd.DataFrame([{**held, grid.x_name: float(grid.x[ix]), grid.y_name: float(grid.y[iy])}
                         for iy, ix in cells])


def test_shapes_of_a_landscape(iris):
    _, prepared, _, probe, held = iris
    view = probe.landscape(prepared, held, "sepal_length", "petal_length", resolution=RES)
    assert view.grid.rows.shape == (RES * RES, 3) and view.grid.x.shape == (RES,)
    species, width = view.tasks["species"], view.tasks["petal_width"]
    assert species.label.shape == species.confidence.shape == (RES, RES)
    assert species.probabilities.shape == (RES, RES, 3) and species.classes == ["setosa", "versicolor", "virginica"]
    assert np.all((species.confidence >= 1 / 3 - 1e-6) & (species.confidence <= 1 + 1e-6))
    assert width.value.shape == (RES, RES) and width.label is None
    assert view.unit_layer == "shared_2" and view.units.shape == (6, RES, RES) and view.unit_index == list(range(6))
    assert {k: v.shape for k, v in view.usage.items()} == {"species": (6,), "petal_width": (6,)}
    assert view.gates == {}


def test_landscape_matches_predictor_on_grid_points(iris):
    _, prepared, predictor, probe, held = iris
    view = probe.landscape(prepared, held, "sepal_length", "petal_length", resolution=RES)
    cells = [(0, 0), (3, 7), (RES - 1, RES - 1), (5, 0)]
    rows = _raw_rows(view.grid, held, cells)
    expected = predictor.outputs(rows)
    for k, (iy, ix) in enumerate(cells):
        np.testing.assert_allclose(view.tasks["species"].probabilities[iy, ix], expected["species"][k], rtol=1e-5,
                                   atol=1e-6)
        assert view.tasks["species"].label[iy, ix] == int(np.argmax(expected["species"][k]))
        assert view.tasks["petal_width"].value[iy, ix] == pytest.approx(float(expected["petal_width"][k, 0]),
                                                                        rel=1e-5)


def test_units_are_the_last_shared_layer_activations(iris):
    _, prepared, predictor, probe, held = iris
    from mtl_core._tf import keras

    view = probe.landscape(prepared, held, "sepal_width", "petal_length", resolution=RES)
    model = predictor.model
    trunk = keras.Model(model.inputs[0], model.get_layer("shared_2").output)
    expected = np.asarray(trunk(view.grid.rows, training=False))
    np.testing.assert_allclose(view.units, expected.T.reshape(6, RES, RES), rtol=1e-5, atol=1e-6)


def test_head_usage_is_normalised_row_norms_of_the_first_head_kernel(iris):
    _, prepared, predictor, probe, held = iris
    view = probe.landscape(prepared, held, "sepal_length", "petal_length", resolution=RES)
    for task in predictor.info.tasks:
        kernel = predictor.model.get_layer(f"{task.output}_hidden_1").get_weights()[0]
        norms = np.linalg.norm(kernel, axis=1)
        np.testing.assert_allclose(view.usage[task.name], norms / norms.sum(), rtol=1e-5)
        assert view.usage[task.name].sum() == pytest.approx(1.0, abs=1e-5)


def test_mmoe_gates_units_and_usage(penguins_mmoe):
    _, prepared, predictor, probe, held = penguins_mmoe
    assert axis_inputs(prepared.schema) == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
    view = probe.landscape(prepared, held, "bill_length_mm", "flipper_length_mm", resolution=RES)
    assert view.unit_layer == "shared_experts"
    # 32 expert units, of which the 16 most used are pictured, in layer order.
    assert view.units.shape == (MAX_UNITS, RES, RES) and view.unit_index == sorted(view.unit_index)
    assert len(set(view.unit_index)) == MAX_UNITS and max(view.unit_index) < 32
    assert set(view.gates) == {"species", "sex", "body_mass_g"}
    for gates in view.gates.values():
        assert gates.shape == (4, RES, RES)
        np.testing.assert_allclose(gates.sum(axis=0), 1.0, rtol=1e-5)
    assert view.tasks["sex"].probabilities.shape == (RES, RES, 2)  # binary: both classes' probabilities
    usage = probe.head_usage(prepared, held, "bill_length_mm", "flipper_length_mm", resolution=RES)
    for name, values in usage.items():
        assert values.shape == (32,) and values.sum() == pytest.approx(1.0, abs=1e-5)
        # The pictured units' usage is the full usage read at their indices.
        np.testing.assert_allclose(view.usage[name], values[view.unit_index], rtol=1e-5)


def test_curves_sweep_every_input_and_match_predictor(penguins_mmoe):
    frame, prepared, predictor, probe, held = penguins_mmoe
    curves = probe.curves(prepared, held, points=9)
    assert list(curves.values) == prepared.schema.columns
    assert curves.values["island"] == prepared.schema.categories["island"]
    assert len(curves.values["bill_depth_mm"]) == 9
    low, high = float(frame["bill_depth_mm"].min()), float(frame["bill_depth_mm"].max())
    assert curves.values["bill_depth_mm"][0] == pytest.approx(low) and curves.values["bill_depth_mm"][-1] == \
        pytest.approx(high)
    rows = pd.DataFrame([{**held, "bill_depth_mm": float(v)} for v in curves.values["bill_depth_mm"]])
    expected = predictor.outputs(rows)
    along = curves.tasks["bill_depth_mm"]
    np.testing.assert_allclose(along["body_mass_g"].value, expected["body_mass_g"][:, 0], rtol=1e-5)
    np.testing.assert_allclose(along["species"].probabilities, expected["species"], rtol=1e-5, atol=1e-6)
    islands = pd.DataFrame([{**held, "island": v} for v in curves.values["island"]])
    np.testing.assert_allclose(curves.tasks["island"]["sex"].probabilities[:, 1],
                               predictor.outputs(islands)["sex"][:, 0], rtol=1e-5, atol=1e-6)


def test_grid_layout_bounds_and_points(iris):
    _, prepared, _, _, held = iris
    low, high = input_bounds(prepared, "sepal_length", margin=0.0)
    assert (low, high) == pytest.approx((4.3, 7.9))
    wide = input_bounds(prepared, "sepal_length")
    assert wide[0] < low and wide[1] > high
    grid = grid_rows(prepared.schema, held, "sepal_length", "petal_length", (0.0, 1.0), (10.0, 20.0), resolution=4)
    row = grid.rows[2 * 4 + 3]  # iy = 2, ix = 3
    assert row[0] == pytest.approx(1.0) and row[2] == pytest.approx(10.0 + 2 * 10 / 3)
    assert row[1] == pytest.approx(held["sepal_width"])  # held input
    points = data_points(prepared, "sepal_length", "petal_length")
    assert len(points.x) == len(points.targets["species"]) == prepared.size("train")
    assert default_axes(prepared.schema) == ("sepal_length", "sepal_width")
    with pytest.raises(DataError, match="axis"):
        grid_rows(prepared.schema, held, "sepal_length", "sepal_length", (0, 1), (0, 1))


def test_the_probe_follows_weight_changes(iris):
    """A model still training: the same probe answers with the weights as they are now."""
    _, prepared, predictor, probe, held = iris
    before = probe.landscape(prepared, held, "sepal_length", "petal_length", resolution=RES).tasks["petal_width"].value
    layer = predictor.model.get_layer("petal_width_standardised")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + 1.0])
    try:
        after = probe.landscape(prepared, held, "sepal_length", "petal_length", resolution=RES).tasks["petal_width"]
        assert not np.allclose(after.value, before)
    finally:
        layer.set_weights([kernel, bias])
