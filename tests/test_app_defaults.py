"""AppTest tests of the defaults that teach (issue 10 item 5) as the pages show them: Linnerud's targets as
regressions with a warning about its tiny test split, penguins without year, which epoch's weights a run's
results use, and gradient-surgery methods described as changing gradients."""

from __future__ import annotations

import pytest

from tests.apptest import apply_preset, config_of, new_app, open_page, train, training


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def test_linnerud_on_the_data_page_is_three_regressions_with_a_small_test_warning():
    at = new_app("pages/data.py")
    at.selectbox(key="dataset").set_value("linnerud").run()
    assert not at.exception
    assert config_of(at).task_names == ["Weight", "Waist", "Pulse"]
    for task in ("Weight", "Waist", "Pulse"):
        assert at.selectbox(key=f"kind:{task}").value == "regression", task
    split = "Split for training: 14 train · 3 validation · 3 test rows (fractions on Model & losses, More settings)."
    assert split in [c.value for c in at.caption]
    (warning,) = [w for w in warnings(at) if w.startswith("Only 3 test rows")]
    assert "test fraction 0.15 of 20 rows" in warning and "A test fraction of 0.5 (Model & losses" in warning
    at.selectbox(key="dataset").set_value("iris").run()
    assert not any(w.startswith("Only") for w in warnings(at))  # 23 test rows: no warning


def test_the_penguins_preset_has_no_year_among_its_inputs():
    at = open_page("pages/data.py", "penguins")
    assert at.multiselect(key="inputs").value == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm"]


def test_model_page_warns_about_the_test_split_and_says_gradient_methods_change_gradients():
    at = open_page("pages/model.py", "homogeneous")
    assert any(w.startswith("Only 4 test rows (test fraction 0.2 of 20 rows)") for w in warnings(at))
    assert "20 rows: 12 to train on, 4 for validation (early stopping watches these), 4 held out for the test " \
           "metrics." in [c.value for c in at.caption]
    assert at.checkbox(key="early_stopping").value is True
    at.selectbox(key="weighting").set_value("pcgrad").run()
    captions = [c.value for c in at.caption]
    assert any("changes the tasks' gradients instead of weighting their losses" in c for c in captions)
    assert not any("sets the loss weights itself" in c for c in captions)


@pytest.fixture(scope="module")
def linnerud_pcgrad():
    """The homogeneous (Linnerud) preset with PCGrad, trained at the default settings (early stopping on)."""
    at = apply_preset(new_app(), "homogeneous")
    config_of(at).weighting, config_of(at).epochs = "pcgrad", 40
    return train(at)


def test_train_results_say_which_epochs_weights_they_use_and_warn_about_the_test_split(linnerud_pcgrad):
    at = linnerud_pcgrad
    result = training(at).run.result
    best = result.history[-1].best_epoch
    assert result.config.early_stopping and best > 0 and result.weights_epoch == best
    assert (f"Everything below (test metrics, plots, Predict, downloads) uses the weights of epoch {best}, the "
            "lowest validation loss (early stopping).") in [c.value for c in at.caption]
    assert any(m.value.startswith(f"**Test metrics** (4 held-out rows, original units, weights of epoch {best})")
               for m in at.markdown)
    assert any(w.startswith("Only 4 test rows") for w in warnings(at))
    progress = at.get("progress")[0].proto.text
    assert progress.endswith(f"· weights of epoch {best}")


def test_train_page_shows_effective_weights_for_a_gradient_method(linnerud_pcgrad):
    at = linnerud_pcgrad
    markdown = [m.value for m in at.markdown]
    assert "**Effective weights (each task gradient's coefficient in the update, epoch mean)**" in markdown
    assert "**Loss weights in force**" not in markdown
    assert any(c.value.startswith("PCGrad (gradient surgery) changes gradients, not loss weights") for c in at.caption)
    assert any("changes the tasks' gradients instead of weighting their losses" in c.value for c in at.caption)
