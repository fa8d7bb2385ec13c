"""AppTest tests of the pages that need no TensorFlow: home, data & tasks, model & losses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mtl_core.presets import PRESETS
from tests.apptest import APP, ROOT, apply_preset, config_of, new_app, upload


def test_home_lists_every_preset_and_does_not_load_tensorflow():
    # A fresh interpreter: in this one another test may have imported TensorFlow already.
    code = ("import sys; from streamlit.testing.v1 import AppTest; "
            f"at = AppTest.from_file({APP!r}, default_timeout=60).run(); "
            "assert not at.exception, at.exception; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'mtl_core.training.trainer', 'mtl_core.models.predict', "
            "'mtl_core.jobs.training', 'mtl_core.io.saving') if m in sys.modules)); "
            "print([m.value for m in at.markdown])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded, markdown = out.stdout.strip().splitlines()[-2:]
    assert loaded == "[]"
    for preset in PRESETS.values():
        assert preset.title in markdown


@pytest.mark.parametrize("name", ["penguins", "homogeneous", "relatedness"])
def test_preset_fills_the_session_and_the_data_page(name):
    at = apply_preset(new_app(), name)
    preset = PRESETS[name].config
    cfg = config_of(at)
    assert cfg.dataset == preset.dataset
    assert cfg.task_names == preset.task_names
    assert cfg.epochs == preset.epochs
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert at.selectbox(key="dataset").value == preset.dataset
    assert at.multiselect(key="tasks").value == preset.task_names


def test_data_page_shows_preview_summary_and_task_profiles():
    at = new_app("pages/data.py")
    assert len(at.dataframe) == 2  # preview and per-column summary
    preview = at.dataframe[0].value
    assert list(preview.columns) == ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    captions = [c.value for c in at.caption]
    assert "150 rows × 5 columns" in captions
    assert any(c.startswith("3 classes: setosa 50 (33%)") for c in captions)
    assert any(c.startswith("range 0.1 to 2.5") for c in captions)
    # The heterogeneous default keeps petal_length etc. as inputs, never a target.
    assert at.multiselect(key="inputs").value == ["sepal_length", "sepal_width", "petal_length"]


def test_switching_dataset_resets_tasks_and_shows_notes():
    at = new_app("pages/data.py")
    at.selectbox(key="dataset").set_value("penguins").run()
    assert not at.exception
    assert at.multiselect(key="tasks").value == ["species", "sex", "body_mass_g"]
    assert any("Dropped 11 of 344 rows" in i.value for i in at.info)
    assert config_of(at).inputs is None  # all non-target columns


def test_relatedness_sliders_change_the_measured_correlation():
    at = new_app("pages/data.py")
    at.selectbox(key="dataset").set_value("relatedness").run()
    assert {"param:p", "param:c", "param:m", "param:d"} <= {s.key for s in at.slider}
    assert {"param:n", "param:seed"} <= {n.key for n in at.number_input}
    high = float(at.metric[0].value)
    at.slider(key="param:p").set_value(-0.9).run()
    assert not at.exception
    low = float(at.metric[0].value)
    assert high > 0.5 and low < -0.5
    assert config_of(at).dataset_params["p"] == pytest.approx(-0.9)


def test_an_impossible_task_kind_shows_the_core_message():
    at = new_app("pages/data.py")
    at.selectbox(key="kind:species").set_value("binary").run()
    assert not at.exception
    assert any("kind of task 'species'='binary' is invalid" in e.value for e in at.error)
    at.multiselect(key="tasks").set_value([]).run()
    assert any(e.value.startswith("tasks=[] is invalid") for e in at.error)


def test_a_bad_csv_upload_keeps_the_previous_dataset():
    at = new_app("pages/data.py")
    upload(at, "csv_upload", "broken.csv", b"PK\x03\x04 not a csv")
    assert any("ZIP archive" in e.value for e in at.error)
    assert config_of(at).dataset == "iris"
    upload(at, "csv_upload", "mine.csv", b"a,b,label\n1,2,x\n2,3,y\n3,5,x\n4,4,y\n")
    assert config_of(at).dataset == "csv:mine.csv"
    assert at.dataframe[0].value.shape == (4, 3)


def test_model_page_shows_the_core_message_for_a_bad_learning_rate():
    at = new_app("pages/model.py")
    assert [s.value for s in at.success] == ["These settings are valid."]
    at.number_input(key="lr").set_value(0.0).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["lr=0.0 is invalid: expected a number > 0.0 and <= 100.0."]
    at.number_input(key="lr").set_value(0.05).run()
    assert not at.error
    assert config_of(at).lr == pytest.approx(0.05)


def test_model_page_layers_and_weights_redraw_the_diagram():
    at = new_app("pages/model.py")
    at.button(key="shared.add").click().run()
    at.number_input(key="shared.2").set_value(7).run()
    at.button(key="head:species.add").click().run()
    at.slider(key="lw:petal_width").set_value(2.5).run()
    assert not at.exception
    cfg = config_of(at)
    assert cfg.shared == [10, 10, 7]
    assert cfg.heads == {"species": [8]}
    assert cfg.loss_weights == {"petal_width": 2.5}
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "shared 3\\n7 units" in dot.replace("\n", "\\n")
    assert "species head 1" in dot and "loss weight 2.5" in dot
    # Settings survive a trip to another page.
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/model.py").run()
    assert at.number_input(key="shared.2").value == 7


def test_model_page_all_zero_weights_and_mmoe_fields():
    at = new_app("pages/model.py")
    at.slider(key="lw:species").set_value(0.0).run()
    at.slider(key="lw:petal_width").set_value(0.0).run()
    assert any(e.value.startswith("loss_weights=") for e in at.error)
    at.selectbox(key="arch").set_value("mmoe").run()
    assert not at.exception
    keys = {n.key for n in at.number_input}
    assert {"experts", "expert_units"} <= keys and "shared.0" not in keys
    assert "4 shared experts" in at.get("graphviz_chart")[0].proto.spec


def test_presets_are_valid_on_the_model_page():
    at = new_app()
    for name in PRESETS:
        apply_preset(at, name)
        at.switch_page("pages/model.py").run()
        assert not at.exception, name
        assert [s.value for s in at.success] == ["These settings are valid."], name
        at.switch_page("pages/home.py").run()

