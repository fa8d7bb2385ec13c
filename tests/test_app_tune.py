"""The Tune page: the space from the core's table, a study run from the page and its Pareto front, a study
filled by ``mtl tune`` workers, a trial's settings put into the session, and bad input as one-line messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import optuna
import pytest

from mtl_core.jobs.pool.proxy import PoolJob
from mtl_core.tuning.space import DEFAULT_SPACE, SPACE
from tests.apptest import ROOT, config_of, errors, job, open_page, wait
from ui.state import NOTEBOOK_KEY

PAGE = "pages/tune.py"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Every test's studies and runs in its own data folder."""
    monkeypatch.setenv("MTL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MTL_DB_URL", raising=False)
    return tmp_path


def _chart(at) -> dict:
    charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith("pareto_chart")]
    assert len(charts) == 1, [c.proto.id for c in at.get("plotly_chart")]
    return json.loads(charts[0].proto.spec)


def _traces(at) -> dict[str, dict]:
    return {d["name"]: d for d in _chart(at)["data"]}


def _small_study_page(trials: int = 3, epochs: int = 4):
    """The Tune page on the heterogeneous preset with tiny trainings."""
    at = open_page(PAGE)
    config_of(at).epochs = epochs
    at.number_input(key="tune_trials").set_value(trials).run()
    return at


def test_page_shows_the_space_from_the_core_table_and_no_study_yet():
    at = open_page(PAGE)
    assert not at.exception
    boxes = {c.key: c for c in at.checkbox}
    assert list(boxes) == [f"tune_space_{name}" for name in SPACE]
    assert [c.label for c in at.checkbox] == [d.help[:1].upper() + d.help[1:] for d in SPACE.values()]
    assert [name for name in SPACE if boxes[f"tune_space_{name}"].value] == list(DEFAULT_SPACE)
    assert at.radio(key="tune_objective").options == ["Validation loss", "Main metric (accuracy, RMSE)"]
    assert any("No study 'iris-species+petal_width-loss'" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_a_single_task_setup_says_what_to_do():
    at = open_page(PAGE)
    config_of(at).tasks = config_of(at).tasks[:1]
    at.run()
    assert any("at least two tasks" in i.value for i in at.info)
    assert not at.checkbox and not errors(at)


def test_empty_space_and_bad_storage_show_the_core_message():
    at = open_page(PAGE)
    for name in DEFAULT_SPACE:
        at.checkbox(key=f"tune_space_{name}").uncheck().run()
    at.button(key="tune_start").click().run()
    assert not at.exception
    assert [e for e in errors(at) if e.startswith("space=[] is invalid: choose at least one of weighting")]
    assert "jobs" not in at.session_state["mtl.cache"] or not at.session_state["mtl.cache"]["jobs"]

    at.checkbox(key="tune_space_lr").check().run()
    at.text_input(key="tune_storage").input("mysql://me@db/studies").run()
    assert not at.exception
    assert errors(at) and errors(at)[0].startswith("storage='mysql://me@db/studies' is invalid")
    at.button(key="tune_start").click().run()
    assert not at.exception
    assert any(e.startswith("storage='mysql://me@db/studies' is invalid") for e in errors(at))


def test_start_runs_a_study_the_front_is_highlighted_and_a_trial_sets_the_session():
    at = _small_study_page(trials=3)
    at.button(key="tune_start").click().run()
    assert not at.exception and not errors(at), errors(at)
    tune = job(at, "tune")
    assert isinstance(tune, PoolJob)  # its trials train in a worker process, not in the page's
    stage = tune.progress()[0]
    assert stage == "starting" or stage.startswith("trial ") or tune.finished
    assert wait(tune, 300) and tune.error is None
    at.run()  # AppTest cannot fire the fragment's timer: rerun to read the study again
    assert not at.exception and not errors(at), errors(at)

    traces = _traces(at)
    front, dominated = traces["Pareto front"], traces["dominated"]
    assert len(front["x"]) + len(dominated["x"]) == 3 and front["x"]
    assert front["mode"] == "lines+markers" and front["marker"]["size"] > dominated["marker"]["size"]
    assert dominated["marker"]["opacity"] < 1
    assert "lr = " in front["hovertext"][0]
    layout = _chart(at)["layout"]
    assert layout["xaxis"]["title"]["text"].startswith("species · val loss")
    assert layout["yaxis"]["title"]["text"].startswith("petal_width · val loss")
    table = next(d.value for d in at.dataframe if list(d.value.columns)[:1] == ["trial"])
    assert sorted(table["trial"]) == sorted(front["customdata"])
    assert any("3 trials: 3 complete" in c.value for c in at.caption)

    # Pick a front trial (as a click on its point would) and put its settings into the session.
    number = front["customdata"][0]
    at.selectbox(key="tune_trial").select(number).run()
    assert not at.exception
    before = config_of(at).lr
    at.button(key="tune_use").click().run()
    assert not at.exception
    config = config_of(at)
    # The trial's run is filed under the session's notebook, so /runs lists it.
    request = tune.spec.args[0]
    assert request.notebook == at.session_state[NOTEBOOK_KEY]
    study = optuna.load_study(study_name=request.study, storage=request.storage)
    record_lr = study.trials[number].params["lr"]
    assert config.lr == pytest.approx(record_lr) and config.lr != before
    assert set(config.loss_weights) == {"species", "petal_width"}
    assert any(f"trial {number}'s now" in s.value for s in at.success)
    at.switch_page("pages/model.py").run()
    assert not at.exception
    assert at.number_input(key="lr").value == pytest.approx(record_lr)


def test_stop_ends_the_running_trial_at_its_next_epoch_and_starts_no_more():
    at = _small_study_page(trials=200, epochs=300)
    config_of(at).early_stopping = False  # the first trial runs until the stop, not until early stopping
    at.button(key="tune_start").click().run()
    tune = job(at, "tune")
    deadline = time.monotonic() + 60
    while tune.progress()[0] == "starting" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tune.progress()[0] == "trial 1 of 200"
    at.button(key="tune_stop").click().run()
    assert not at.exception
    assert wait(tune, 120) and tune.error is None
    assert tune.stop_requested and len(tune.events()) < 200
    at.run()
    assert any(c.value.startswith("Stopped: this page ran") for c in at.caption)
    # The trial that was running is a run that stopped part-way, not one that trained all its epochs.
    from mtl_core.store import open_store

    with open_store() as store:
        runs = store.list_runs(kind="trial")
    assert runs and runs[0].status == "stopped" and runs[0].epochs_run < 300


def test_a_study_filled_by_cli_workers_shows_on_the_page(data_dir):
    storage = f"sqlite:///{data_dir / 'shared.db'}"
    env = {**os.environ, "MTL_DATA_DIR": str(data_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MTL_DB_URL", None)
    cmd = [sys.executable, "-m", "mtl_core", "tune", "--preset", "heterogeneous", "--epochs", "4", "--space",
           "weights,lr", "--trials", "2", "--storage", storage, "--study", "from-cli", "--no-models", "--json"]
    # The page watches the study before the worker starts: nothing yet.
    at = open_page(PAGE)
    at.text_input(key="tune_storage").input(storage).run()
    at.text_input(key="tune_study").input("from-cli").run()
    assert any("No study 'from-cli'" in i.value for i in at.info)

    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    pareto = {entry["trial"] for entry in json.loads(done.stdout)["pareto"]}
    at.run()  # what the page's one-second refresh does (AppTest cannot fire its timer)
    assert not at.exception and not errors(at), errors(at)
    traces = _traces(at)
    assert set(traces["Pareto front"]["customdata"]) == pareto
    assert len(traces["Pareto front"]["x"]) + len(traces["dominated"]["x"]) == 2
    # The trials' runs are in the same data folder's run store: a trial shows its run's test metrics.
    at.selectbox(key="tune_trial").select(sorted(pareto)[0]).run()
    assert not at.exception
    assert any(m.value.startswith("**Run**") for m in at.markdown)
    assert any(m.value.startswith("- species: accuracy ") for m in at.markdown)


def test_a_study_of_other_tasks_is_shown_with_a_note_and_start_refuses_it(data_dir):
    storage = f"sqlite:///{data_dir / 'shared.db'}"
    at = open_page(PAGE)
    at.text_input(key="tune_storage").input(storage).run()
    at.text_input(key="tune_study").input("other").run()
    # A study created for another setup (no trials needed): the core records what it optimises.
    from mtl_core.tuning.objectives import Objective
    from mtl_core.tuning.study import TuneRequest, open_study

    request = TuneRequest(base=config_of(at), study="other", storage=storage)
    open_study(request, [Objective("species", "val_loss", True), Objective("sepal_width", "val_loss", True)])
    at.run()
    assert any("tasks species, sepal_width" in i.value for i in at.info)
    at.button(key="tune_start").click().run()
    assert not at.exception
    assert any(e.startswith("task=") and "was created for tasks" in e for e in errors(at)), errors(at)


def test_picked_trial_reads_the_selection_and_three_tasks_get_a_pairs_view():
    from mtl_core.tuning.trials import StudySnapshot, TrialPoint
    from ui.tune_view import pareto_figure, picked_trial

    assert picked_trial({"selection": {"points": [{"customdata": 4, "x": 1.0}]}}) == 4
    assert picked_trial({"selection": {"points": [{"customdata": [7]}]}}) == 7
    assert picked_trial({"selection": {"points": []}}) is None and picked_trial(None) is None
    snap = StudySnapshot("s", ["a", "b", "c"], ["val_loss"] * 3, [True] * 3, trials=[
        TrialPoint(0, "complete", {"a": 1.0, "b": 1.0, "c": 1.0}, {"lr": 0.01}, None, True),
        TrialPoint(1, "complete", {"a": 2.0, "b": 2.0, "c": 2.0}, {"lr": 0.02}, None, False)])
    two = StudySnapshot("s", ["a", "b"], ["val_loss", "accuracy"], [True, False], trials=[
        TrialPoint(0, "complete", {"a": 0.01, "b": 0.9}, {}, None, True),
        TrialPoint(1, "complete", {"a": 2.0, "b": 0.5}, {}, None, False)])
    fig = pareto_figure(two)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "linear"  # a loss spread 200x; a metric
    assert "higher is better" in fig.layout.yaxis.title.text
    fig = pareto_figure(snap)
    assert [t.type for t in fig.data] == ["splom"] and len(fig.data[0].dimensions) == 3
    assert list(fig.data[0].customdata) == [0, 1]
    assert fig.data[0].marker.opacity[0] > fig.data[0].marker.opacity[1]

