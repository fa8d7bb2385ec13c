"""The Runs page (AppTest): finished runs listed, overlay and config diff, rename/delete, notebooks, Predict.

Each test has its own store (MTL_DATA_DIR in a tmp folder); the runs page's store is cached per URL, so
each test's store is its own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mtl_core.store import RunRecord, open_store
from tests.apptest import config_of, job, new_app, press_train, training, wait, wait_for_run
from ui.state import NOTEBOOK_KEY, STORED_MODEL_KEY

NB = "testnotebook1"
T0 = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


@pytest.fixture()
def store(tmp_path, monkeypatch):
    """A store of the test's own, the one the dashboard opens."""
    monkeypatch.delenv("MTL_DB_URL", raising=False)
    monkeypatch.setenv("MTL_DATA_DIR", str(tmp_path))
    with open_store() as runs:
        yield runs


def add(store, name: str, *, notebook: str = NB, lr: float = 0.01, epochs: int = 5, status: str = "completed",
        minutes: int = 0, shared: bool = False) -> str:
    """A recorded training with a short history."""
    tasks = [{"column": "species", "kind": None}, {"column": "petal_width", "kind": None}]
    config = {"dataset": "iris", "tasks": tasks, "arch": "hard", "shared": [10, 10], "weighting": "fixed", "lr": lr,
              "epochs": epochs, "seed": 0}
    history = [{"epoch": e, "loss": {"species": 1.0 / e, "petal_width": 2.0 / e}, "total_loss": 3.0 / e}
               for e in range(1, epochs + 1)]
    record = RunRecord(kind="train", name=name, status=status, config=config, dataset="iris",
                       tasks=["species", "petal_width"], history=history,
                       test_metrics={"species": {"accuracy": 0.9, "f1": 0.8}, "petal_width": {"rmse": 0.2}},
                       started_at=T0 + timedelta(minutes=minutes), ended_at=T0 + timedelta(minutes=minutes, seconds=5),
                       notebook=notebook, shared=shared)
    return store.add_run(record)


def runs_page(query: dict | None = None):
    at = new_app("pages/runs.py", query={"nb": NB} if query is None else query)
    assert not at.exception, at.exception
    return at


def url_notebook(at) -> str:
    value = at.query_params["nb"]
    return value[0] if isinstance(value, list) else value


def frame_with(at, column: str):
    """The page's dataframe that has ``column`` (AppTest does not expose a dataframe's key)."""
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def table(at):
    """The runs table (``runs_table``)."""
    return frame_with(at, "visible to")


def diff_table(at):
    """The config diff (``runs_diff``)."""
    return frame_with(at, "differs")


def test_the_notebook_id_is_kept_in_the_url_but_not_in_the_share_link(store):
    at = runs_page(query={})
    made = at.session_state[NOTEBOOK_KEY]
    assert len(made) >= 12 and url_notebook(at) == made
    at = runs_page()
    assert at.session_state[NOTEBOOK_KEY] == NB
    at.switch_page("pages/model.py").run()
    link = at.code[0].value  # the Model page's share link
    assert "ds=" in link and "nb=" not in link
    assert url_notebook(at) == NB  # ... while the page's own URL keeps it


def test_a_finished_training_appears_in_the_table(store):
    at = new_app(query={"nb": NB})
    config_of(at).epochs = 8
    at.switch_page("pages/train.py").run()
    press_train(at)
    assert wait_for_run(at)
    (run,) = store.list_runs(notebook=NB)
    assert (run.kind, run.status, run.dataset, run.epochs_run, run.has_model) == ("train", "completed", "iris", 8, True)
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    frame = table(at)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["status"], row["dataset"], row["tasks"], row["arch"], row["epochs"]) == (
        "completed", "iris", "species, petal_width", "hard", 8)
    assert 0 <= row["species · accuracy"] <= 1 and row["petal_width · rmse"] > 0
    assert row["species · accuracy"] == pytest.approx(training(at).run.result.test_metrics["species"]["accuracy"])
    # A comparison started on Train is recorded too, under the same notebook.
    at.switch_page("pages/train.py").run()
    at.button(key="compare_button").click().run()
    assert not at.exception and wait(job(at, "compare"))
    at.switch_page("pages/runs.py").run()
    assert list(table(at)["kind"]) == ["compare", "train"]
    assert [r.kind for r in store.list_runs(notebook=NB)] == ["compare", "train"]


def test_filters_and_search_narrow_the_table(store):
    add(store, "alpha", status="completed")
    add(store, "beta", status="stopped", minutes=1)
    at = runs_page()
    assert list(table(at)["name"]) == ["beta", "alpha"]  # newest first
    at.multiselect(key="runs_status").set_value(["stopped"]).run()
    assert list(table(at)["name"]) == ["beta"]
    at.multiselect(key="runs_status").set_value([]).run()
    at.text_input(key="runs_search").set_value("ALP").run()
    assert list(table(at)["name"]) == ["alpha"]


def test_two_picked_runs_overlay_and_a_diff_marking_the_changed_field(store):
    a = add(store, "slow", lr=0.01)
    b = add(store, "fast", lr=0.1, minutes=1)
    at = runs_page()
    assert not at.get("plotly_chart")  # nothing picked: no history read
    at.multiselect(key="runs_pick").set_value([a, b]).run()
    assert not at.exception
    (chart,) = at.get("plotly_chart")
    data = json.loads(chart.proto.spec)["data"]
    assert len({d["legendgroup"] for d in data}) == 2  # one group (one colour) per run
    assert [d["name"] for d in data if d["name"].endswith("weighted total")] == ["slow: weighted total",
                                                                                 "fast: weighted total"]
    assert len({d["line"]["color"] for d in data}) == 2
    diff = diff_table(at)
    differs = diff.set_index("field")["differs"]
    assert differs["lr"] and not differs["dataset"] and not differs["epochs"]
    assert list(diff.columns[2:]) and diff.set_index("field").loc["lr"].iloc[1:].tolist() == ["0.01", "0.1"]
    at.toggle(key="runs_diff_only").set_value(True).run()
    assert list(diff_table(at)["field"]) == ["lr"]


def test_rename_and_delete(store):
    keep = add(store, "keep me")
    gone = add(store, "delete me", minutes=1)
    at = runs_page()
    assert at.selectbox(key="runs_target").value == gone  # the newest first
    at.text_input(key=f"runs_name:{gone}").set_value("renamed").run()
    at.button(key="runs_rename").click().run()
    assert not at.exception
    assert store.get_run(gone).name == "renamed"
    assert "renamed" in list(table(at)["name"])
    at.multiselect(key="runs_pick").set_value([gone, keep]).run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert [r.id for r in store.list_runs(notebook=NB)] == [keep]
    assert list(table(at)["name"]) == ["keep me"]
    assert at.multiselect(key="runs_pick").value == [keep]
    assert any("Deleted" in s.value for s in at.success)


def test_runs_of_another_notebook_are_listed_only_when_shared(store):
    add(store, "mine")
    theirs = add(store, "theirs", notebook="someoneelse", minutes=1)
    at = runs_page()
    assert list(table(at)["name"]) == ["mine"]
    store.set_shared(theirs, True)
    at = runs_page()
    frame = table(at)
    assert list(frame["name"]) == ["theirs", "mine"]
    assert list(frame["visible to"]) == ["shared", "this notebook"]
    # Shared by someone else: viewable, not editable here.
    assert at.selectbox(key="runs_target").value == theirs
    assert at.button(key="runs_rename").disabled and at.toggle(key=f"runs_share:{theirs}").disabled


def test_share_toggle_shows_a_run_to_other_notebooks(store):
    run_id = add(store, "to share")
    at = runs_page()
    at.toggle(key=f"runs_share:{run_id}").set_value(True).run()
    assert store.get_run(run_id).shared
    other = runs_page(query={"nb": "anothernotebook"})
    assert list(table(other)["name"]) == ["to share"]


def test_open_on_predict_predicts_with_the_stored_model(store):
    at = new_app(query={"nb": NB})
    config_of(at).epochs = 8
    at.switch_page("pages/train.py").run()
    press_train(at)
    assert wait_for_run(at)
    values = {"sepal_length": 6.0, "sepal_width": 3.0, "petal_length": 4.5}
    expected = training(at).run.predictor.predict_one(values)
    at.run()
    at.button(key="reset_button").click().run()  # forget the training: Predict can only use the stored run
    at.switch_page("pages/predict.py").run()
    assert any("Train a model first" in i.value for i in at.info)
    at.switch_page("pages/runs.py").run()
    at.button(key="runs_open").click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Predict"]  # the page switched to Predict
    at.switch_page("pages/predict.py")  # (AppTest's own idea of the page does not follow st.switch_page)
    session = at.session_state[STORED_MODEL_KEY]
    token = session.token
    for column, value in values.items():
        at.slider(key=f"x{token}:{column}").set_value(value)
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["species"] == expected["species"].label
    assert float(metrics["petal_width"]) == pytest.approx(expected["petal_width"].value, rel=1e-3)
    assert any("stored run" in c.value for c in at.caption)


def test_a_store_that_cannot_be_opened_is_a_warning_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("MTL_DB_URL", "nosuchdb://x")
    at = runs_page()
    assert not at.exception
    assert any("run store can't be opened" in w.value for w in at.warning)
