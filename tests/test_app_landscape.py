"""AppTest tests of the live views: landscape axis pickers on Train and Predict, response curves, held inputs."""

from __future__ import annotations

import base64
import html
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import apply_preset, config_of, new_app, training, wait
from ui.state import RUN_KEY, TrainingSession


def charts(at: AppTest) -> dict[str, dict]:
    """Every plotly chart on the page by its key's end (``landscape_species``, ``curves_petal_width``)."""
    out = {}
    for chart in at.get("plotly_chart"):
        key = chart.proto.id.rsplit("-", 1)[-1]
        out[key] = json.loads(chart.proto.spec)
    return out


def array(value) -> np.ndarray:
    """A plotly spec's array: a plain list, or the typed base64 form plotly writes for numpy arrays."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return flat.reshape([int(n) for n in str(value["shape"]).split(",")]) if "shape" in value else flat
    return np.asarray(value)


@pytest.fixture(scope="module")
def trained() -> AppTest:
    """The heterogeneous Iris preset (three numeric inputs) trained a few epochs, on the Train page.

    The run is made here and handed to the session as the Train page's Play would (the landscapes are what is
    tested, not the play controls, which tests/test_app_training.py drives)."""
    from mtl_core.data.registry import load_dataset
    from mtl_core.jobs.training import TrainingJob

    at = apply_preset(new_app(), "heterogeneous")
    config = config_of(at)
    config.epochs, config.early_stopping = 4, False
    frame = load_dataset("iris").frame
    job = TrainingJob(config, frame)
    job.start()
    assert wait(job, 90)
    at.session_state[RUN_KEY] = TrainingSession(job, frame, "Iris flowers", token=1)
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def test_train_shows_a_landscape_per_task_and_the_trunk(trained):
    at = trained
    shown = charts(at)
    assert {"landscape_species", "landscape_petal_width"} <= set(shown)
    species = shown["landscape_species"]
    heat = species["data"][0]
    assert heat["type"] == "heatmap" and array(heat["z"]).shape == (60, 60)
    # One trace of data points per class on top of the heatmap, then the current point.
    assert [d["name"] for d in species["data"][1:4]] == ["setosa", "versicolor", "virginica"]
    assert species["layout"]["xaxis"]["title"]["text"] == "sepal_length"
    width = shown["landscape_petal_width"]["data"]
    assert width[0]["colorscale"] and width[1]["marker"]["colorscale"]  # a colour scale, data coloured by it
    # The trunk's 10 units as pictures, captioned with each task's usage.
    galleries = [h.proto.body for h in at.get("html") if "<figure" in h.proto.body]
    caption = re.compile(r"<figcaption[^>]*>(.*?)</figcaption>")
    captions = [html.unescape(c) for body in galleries for c in caption.findall(body)]
    assert len(galleries) == 1 and galleries[0].count('src="data:image/png;base64,') == 10
    assert len(captions) == 10 and all("species" in c and "petal_width" in c for c in captions)
    assert [c.split(" · ")[0] for c in captions] == [str(i) for i in range(1, 11)]


def test_axis_pickers_on_train_redraw_the_plane(trained):
    at = trained
    assert at.selectbox(key="axis_x").value == "sepal_length"
    assert at.selectbox(key="axis_y").value == "sepal_width"
    assert at.selectbox(key="axis_y").options == ["sepal_length", "sepal_width", "petal_length"]
    at.selectbox(key="axis_y").set_value("petal_length").run()
    assert not at.exception
    layout = charts(at)["landscape_species"]["layout"]
    assert layout["yaxis"]["title"]["text"] == "petal_length"
    assert training(at).cache["landscape_axes"] == ("sepal_length", "petal_length")
    # Picking the other axis' input swaps the two instead of drawing a plane of one input.
    at.selectbox(key="axis_x").set_value("petal_length").run()
    assert at.selectbox(key="axis_x").value == "petal_length"
    assert at.selectbox(key="axis_y").value == "sepal_length"


def test_predict_curves_follow_the_sliders_and_hold_the_train_landscape(trained):
    at = trained
    at.switch_page("pages/predict.py").run()
    assert not at.exception, at.exception
    shown = charts(at)
    assert {"curves_species", "curves_petal_width", "landscape_species", "landscape_petal_width"} <= set(shown)
    curve = shown["curves_petal_width"]
    # One panel per input: the line and the current point, three times.
    assert len(curve["data"]) == 6 and {"xaxis", "xaxis2", "xaxis3"} <= set(curve["layout"])
    marker_before = curve["data"][1]["x"][0]
    token = training(at).token
    slider = at.slider(key=f"x{token}:sepal_length")
    slider.set_value(slider.max).run()
    assert not at.exception
    after = charts(at)["curves_petal_width"]
    assert after["data"][1]["x"][0] == pytest.approx(float(slider.max)) != marker_before
    # The landscape holds sepal_width... at the sliders, and marks the current point.
    at.slider(key=f"x{token}:petal_length").set_value(6.0).run()
    species = charts(at)["landscape_species"]
    assert species["data"][-1]["name"] == "current point"
    # Back on Train, the landscape holds the other inputs at the Predict sliders' values.
    at.switch_page("pages/train.py").run()
    held = training(at).cache["held_inputs"]
    assert held["petal_length"] == pytest.approx(6.0) and held["sepal_length"] == pytest.approx(float(slider.max))
    current = charts(at)["landscape_species"]["data"][-1]
    x_name = at.selectbox(key="axis_x").value
    y_name = at.selectbox(key="axis_y").value
    assert current["x"][0] == pytest.approx(held[x_name]) and current["y"][0] == pytest.approx(held[y_name])


def test_predict_axis_pickers_change_the_landscape(trained):
    at = trained
    at.switch_page("pages/predict.py").run()
    at.selectbox(key="axis_x").set_value("sepal_width").run()
    assert not at.exception
    layout = charts(at)["landscape_petal_width"]["layout"]
    assert layout["xaxis"]["title"]["text"] == "sepal_width"


def test_a_gallery_sends_its_pictures_inline_and_its_captions_as_plain_text():
    from ui.landscape import gallery_html

    body = gallery_html([b"\x89PNG-one", b"\x89PNG-two"], ['1 · <a href="http://x">y</a> 40%', "2 · $$x$$ 60%"])
    assert body.count("<figure") == 2 and "<a href" not in body and "&lt;a href=" in body
    one = base64.b64encode(b"\x89PNG-one").decode()
    assert f'src="data:image/png;base64,{one}"' in body
