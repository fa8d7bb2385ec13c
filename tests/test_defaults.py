"""Defaults that teach the right thing (issue 10 item 5), without TensorFlow: split sizes and the small-test warning,
the penguins preset without year, early stopping on by default (and off where a run must train every epoch),
old links, the gradient methods' wording, categorical confusion axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import TaskSpec, TrainConfig, validate_config
from mtl_core.data.splits import MIN_TEST_ROWS, needed_test_fraction, small_test_warning, split_sizes
from mtl_core.errors import ConfigError
from mtl_core.presets import PRESETS


@pytest.mark.parametrize("n_rows", [12, 20, 333])
@pytest.mark.parametrize(("val", "test"), [(0.15, 0.15), (0.2, 0.2), (0.0, 0.3), (0.25, 0.0), (0.1, 0.5)])
def test_split_sizes_match_the_rows_prepare_cuts(n_rows, val, test):
    from mtl_core.data.prepare import prepare

    rng = np.random.default_rng(n_rows)
    frame = pd.DataFrame({"x": rng.normal(size=n_rows), "y": rng.normal(size=n_rows),
                          "c": rng.choice(["a", "b"], size=n_rows)})
    for target in ("y", "c"):  # a plain split, and a stratified one
        config = validate_config(TrainConfig(dataset="csv:t.csv", tasks=[TaskSpec(target)], inputs=["x"],
                                             val_fraction=val, test_fraction=test, early_stopping=val > 0))
        rows = prepare(frame, config).rows
        assert split_sizes(n_rows, val, test) == {s: len(r) for s, r in rows.items()}


def test_a_test_split_under_ten_rows_is_warned_about_with_the_count_and_a_remedy():
    # Linnerud: 20 rows; the preset's 0.2/0.2 leaves 4 test rows.
    text = small_test_warning(20, 0.2, 0.2, " (More settings)")
    assert text.startswith("Only 4 test rows (test fraction 0.2 of 20 rows)")
    fraction = needed_test_fraction(20, 0.2)
    assert split_sizes(20, 0.2, fraction)["test"] >= MIN_TEST_ROWS > split_sizes(20, 0.2, fraction - 0.05)["test"]
    assert f"A test fraction of {fraction:g} (More settings) gives" in text
    assert "leaving 6 to train on" in text and split_sizes(20, 0.2, fraction)["train"] == 6
    # No fraction up to 0.5 gives 10 test rows out of 12: said so, with no impossible advice.
    assert "no test fraction up to 0.5" in small_test_warning(12, 0.2, 0.2)
    assert small_test_warning(150, 0.15, 0.15) is None  # Iris: 23 test rows
    assert small_test_warning(150, 0.15, 0.0) is None  # no test split is not a small one
    assert split_sizes(66, 0.0, 0.15)["test"] == MIN_TEST_ROWS and small_test_warning(66, 0.0, 0.15) is None


def test_the_penguins_preset_leaves_year_out_of_the_inputs():
    from mtl_core.data.prepare import prepare
    from mtl_core.data.registry import load_dataset

    config = PRESETS["penguins"].make_config()
    frame = load_dataset("penguins").frame
    assert "year" in frame.columns and "year" not in config.inputs
    inputs = prepare(frame, validate_config(config)).schema.columns
    assert "year" not in inputs and {"island", "bill_length_mm", "flipper_length_mm"} <= set(inputs)


def test_early_stopping_is_on_by_default_and_the_tutorial_keeps_it_off():
    assert TrainConfig().early_stopping is True
    seed = PRESETS["seed"].make_config()
    assert seed.early_stopping is False and seed.val_fraction == 0 and seed.epochs == 10
    for name, preset in PRESETS.items():
        if name != "seed":
            assert preset.config.early_stopping, name  # every other preset reports its best epoch
    # With no validation split the message says how to get going again.
    with pytest.raises(ConfigError, match="early_stopping=True .* turn early stopping off"):
        validate_config(TrainConfig(tasks=[TaskSpec("species")], val_fraction=0.0))


def test_the_cli_turns_early_stopping_off():
    from mtl_core.cli.main import build_parser
    from mtl_core.cli.options import config_from_args

    parser = build_parser()
    base = ["train", "--dataset", "iris", "--task", "species"]
    assert config_from_args(parser.parse_args(base)).early_stopping is True
    assert config_from_args(parser.parse_args([*base, "--no-early-stopping"])).early_stopping is False
    assert config_from_args(parser.parse_args(["train", "--preset", "seed"])).early_stopping is False


def test_links_write_early_stopping_and_old_links_keep_their_meaning():
    from ui import share

    heterogeneous = PRESETS["heterogeneous"].make_config()
    assert share.config_to_params(heterogeneous)["es"] == "1"
    # A link made before the new default never wrote es (off was the default): it still means off, and the
    # tutorial's old link (no validation split) still opens.
    old = {k: v for k, v in share.config_to_params(PRESETS["seed"].make_config()).items() if k != "es"}
    assert old["vf"] == "0" and share.config_from_params(old).early_stopping is False
    assert share.config_from_params({**old, "vf": "0.2", "es": "1"}).early_stopping is True


def test_gradient_methods_say_they_change_gradients_and_their_chart_shows_effective_weights():
    from mtl_core.registries import WEIGHTINGS

    gradient = {"pcgrad", "mgda", "cagrad", "nashmtl"}
    assert {n for n, e in WEIGHTINGS.items() if e.changes == "gradients"} == gradient
    for name, entry in WEIGHTINGS.items():
        if name in gradient:
            assert "changes the tasks' gradients" in entry.sliders_note and "sets the loss weights" not in (
                entry.sliders_note + entry.description)
            assert entry.weights_label.startswith("Effective weights") and "coefficient" in entry.weights_note
        else:
            assert entry.changes == "weights" and entry.weights_label == "Loss weights in force"
            assert entry.weights_note == ""


def test_confusion_matrix_axes_are_categories_even_for_numeric_labels():
    from ui.charts import confusion_figure

    classes = ["31", "32", "33", "46"]  # Linnerud's Waist as classes: numbers as labels
    fig = confusion_figure(classes, np.array([0, 1, 3, 3]), np.array([0, 2, 3, 1]))
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.type == "category" and axis.dtick == 1
    heatmap = fig.data[0]
    assert list(heatmap.x) == list(heatmap.y) == classes and all(isinstance(v, str) for v in heatmap.x)
    assert heatmap.z[3][3] == 1 and heatmap.z[3][1] == 1 and heatmap.z[1][2] == 1
