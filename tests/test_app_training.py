"""AppTest tests of the pages that train and predict (TensorFlow), and of the rerun speed patch."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import (
    app,
    apply_preset,
    config_of,
    has_run,
    new_app,
    press_train,
    training,
    wait,
    wait_for_run,
)
from ui.state import RUN_KEY


def traces(at: AppTest) -> list[list[str]]:
    """The trace names of every plotly chart on the page."""
    return [[d.get("name") for d in json.loads(c.proto.spec)["data"]] for c in at.get("plotly_chart")]


def bars(at: AppTest) -> list[tuple[str, int]]:
    """(text, percent) of every progress bar in the page's main area (the Predict page's probabilities and ranges)."""
    return [(b.proto.text, b.proto.value) for b in at.main.get("progress")]


def start(epochs: int, preset: str = "heterogeneous", early_stopping: bool | None = None) -> AppTest:
    at = apply_preset(new_app(), preset)
    config_of(at).epochs = epochs
    if early_stopping is not None:
        config_of(at).early_stopping = early_stopping
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert any("Press **Play** to start" in i.value for i in at.info)
    return press_train(at)


def wait_for_events(at: AppTest, n: int, timeout: float = 60) -> None:
    run = training(at).run
    deadline = time.monotonic() + timeout
    while len(run.events()) < n and run.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(run.events()) >= n


@pytest.fixture(scope="module")
def trained() -> AppTest:
    """The heterogeneous preset trained to completion (few epochs)."""
    at = start(epochs=15)
    assert wait_for_run(at, 90)
    at.run()  # AppTest cannot fire the fragment's timer: rerun to see the end
    assert not at.exception
    return at


def test_training_completes_with_metrics_and_charts(trained):
    at = trained
    result = training(at).run.result
    assert result.stopped_reason == "completed" and result.epochs_run == 15
    assert any(s.value.startswith("Completed 15 epochs.") for s in at.success)
    assert at.get("progress")[0].value == 100
    labels = [m.label for m in at.metric]
    assert labels == ["accuracy", "f1_macro", "mae", "rmse", "r2"]
    assert float(at.metric[0].value) == pytest.approx(result.test_metrics["species"]["accuracy"], abs=1e-3)
    names = traces(at)
    # The loss chart: train and validation loss of each task and the weighted total.
    assert names[0] == ["species", "species (val)", "petal_width", "petal_width (val)", "weighted total"]
    assert ["species", "petal_width"] in names  # loss weights per epoch
    assert ["species | petal_width"] in names  # gradient conflict
    assert ["perfect", "petal_width"] in names  # predicted vs true for the regression task
    # Heatmaps: the classification task's confusion matrix, and each task's live landscape (ui/landscape.py).
    heatmaps = {c.key: json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")
                if json.loads(c.proto.spec)["data"][0]["type"] == "heatmap"}
    assert set(heatmaps) == {"confusion:species", "landscape_species", "landscape_petal_width"}
    test_rows = len(result.prepared.rows["test"])
    assert sum(map(sum, heatmaps["confusion:species"]["z"])) == test_rows
    assert at.button(key="play_button").disabled is False
    assert at.button(key="stop_button").disabled is True


def test_training_survives_a_page_switch(trained):
    at = trained
    run = training(at).run
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/train.py").run()
    assert training(at).run is run
    assert traces(at)[0][0] == "species"


def test_predict_page_predicts_every_task_and_follows_the_sliders(trained):
    at = trained
    at.switch_page("pages/predict.py").run()
    assert not at.exception
    token = training(at).token
    sliders = {s.key: s for s in at.slider}
    assert set(sliders) == {f"x{token}:{c}" for c in ("sepal_length", "sepal_width", "petal_length")}
    assert sliders[f"x{token}:petal_length"].value == pytest.approx(4.3)  # the median 4.35, on the 0.1 grid
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {"species", "petal_width"}
    before_width = float(metrics["petal_width"])
    at.slider(key=f"x{token}:petal_length").set_value(1.2).run()
    at.slider(key=f"x{token}:sepal_length").set_value(4.5).run()
    after = {m.label: m.value for m in at.metric}
    assert float(after["petal_width"]) < before_width
    assert after["species"] == "setosa"
    # The only charts are the live views (each task's response curves and landscape): the predictions are a
    # bar per class and a bar for the value's place in the data's range, not charts.
    assert {c.key for c in at.get("plotly_chart")} == {f"{view}_{t}" for view in ("curves", "landscape")
                                                        for t in ("species", "petal_width")}
    assert at.get("vega_lite_chart") == []
    *proba, (range_text, range_value) = bars(at)
    assert [text.split(" · ")[0] for text, _ in proba] == ["**setosa**", "versicolor", "virginica"]  # setosa bold
    assert sum(float(text.split(" · ")[1].rstrip("%")) for text, _ in proba) == pytest.approx(100, abs=0.2)
    assert all(abs(value - float(text.split(" · ")[1].rstrip("%"))) <= 1 for text, value in proba)
    assert range_text == "in the data 0.1 to 2.5, median 1.3"
    assert range_value == pytest.approx(100 * (float(after["petal_width"]) - 0.1) / 2.4, abs=1)


def test_predict_page_loads_test_examples_and_tutorial_flowers(trained):
    at = trained
    at.switch_page("pages/predict.py").run()
    token = training(at).token
    at.button(key="load_example").click().run()
    assert not at.exception
    session = training(at)
    row = session.cache["example"]
    assert row in set(session.run.result.prepared.rows["test"].tolist())
    frame = session.frame
    assert at.slider(key=f"x{token}:sepal_length").value == pytest.approx(frame.at[row, "sepal_length"])
    assert any(c.value.startswith(f"True class: **{frame.at[row, 'species']}**") for c in at.caption)
    assert {m.label: m.proto.delta for m in at.metric}["petal_width"] == f"true {frame.at[row, 'petal_width']:.4g}"
    flower = "setosa-like [5.1, 3.5, 1.4, 0.2]"
    at.button(key=f"flower:{flower}").click().run()
    assert at.slider(key=f"x{token}:petal_length").value == pytest.approx(1.4)
    assert not any(c.value.startswith("True class") for c in at.caption)
    assert not {m.label: m.proto.delta for m in at.metric}["petal_width"]


def test_predict_page_asks_for_a_model_first():
    at = new_app("pages/predict.py")
    assert any(i.value.startswith("Train a model first") for i in at.info)


def test_weights_change_while_training_and_stop_works():
    at = start(epochs=100_000, early_stopping=False)  # only the Stop button ends this run
    run = training(at).run
    wait_for_events(at, 3)
    # Training belongs to the session: other pages show it running in the sidebar. (AppTest drops what
    # app.py draws after a switch_page, so look at the home page of a test sharing this session's run.)
    at.switch_page("pages/data.py").run()
    assert not at.exception and run.running
    home = app()
    home.session_state[RUN_KEY] = training(at)
    home.run()
    assert home.sidebar.get("progress")[0].proto.text.startswith("Training: epoch ")
    at.switch_page("pages/train.py").run()
    assert at.button(key="stop_button").disabled is False
    assert at.button(key="play_button").disabled is True
    at.slider(key=f"train.lw{training(at).token}:petal_width").set_value(3.0).run()
    assert not at.exception
    seen = len(run.events())
    wait_for_events(at, seen + 2)
    asked = time.monotonic()
    at.button(key="stop_button").click().run()
    assert wait(run, 5)
    assert time.monotonic() - asked < 5
    assert run.result.stopped_reason == "stopped"
    weights = [e.weights["petal_width"] for e in run.events()]
    assert weights[0] == 1.0 and weights[-1] == 3.0
    assert config_of(at).loss_weights["petal_width"] == 3.0
    at.run()
    assert any(i.value.startswith("Stopped by request after epoch") for i in at.info)
    loss_chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any(s.get("type") == "line" for s in loss_chart["layout"].get("shapes", []))  # the marked change
    at.button(key="reset_button").click().run()
    assert not has_run(at)


def test_reruns_no_longer_clear_the_keras_session(trained):
    import keras

    calls = []
    original = keras.backend.clear_session
    keras.backend.clear_session = lambda *a, **k: calls.append(1)
    try:
        trained.switch_page("pages/train.py").run()
        trained.run()
    finally:
        keras.backend.clear_session = original
    assert not trained.exception
    assert calls == []
