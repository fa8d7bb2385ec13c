"""Restarts: a training is recorded while it runs, and a page reconnecting after a server restart says so."""

from __future__ import annotations

import threading
import time

import pytest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.store.runs import open_store
from ui import restart


class _Event:
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "loss": {"species": 1.0 / self.epoch}}


class _FakeJob:
    """What ``restart.watch`` reads of a training job: its events and an on_finish hook."""

    def __init__(self) -> None:
        self.hooks, self.list = [], []

    def events(self) -> list:
        return list(self.list)

    def on_finish(self, hook) -> None:
        self.hooks.append(hook)

    def finish(self) -> None:
        for hook in self.hooks:
            hook(self)


@pytest.fixture()
def store(tmp_path):
    runs = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    yield runs
    runs.close()


@pytest.fixture()
def scratch(monkeypatch):
    space: dict = {}
    monkeypatch.setattr(restart.state, "scratch", lambda: space)
    return space


def _config() -> TrainConfig:
    return TrainConfig(dataset="iris", tasks=[TaskSpec("species")], epochs=100_000)


def _wait(condition, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_a_running_training_saves_its_history_and_its_end_replaces_the_record(store, scratch, monkeypatch):
    monkeypatch.setattr(restart, "SAVE_SECONDS", 0.01)
    job = _FakeJob()
    run_id = restart.watch(job, _config(), store, "nb123456")
    assert scratch[restart._LIVE] == run_id
    record = store.get_run(run_id)
    assert record.status == "interrupted" and record.notebook == "nb123456" and record.config["epochs"] == 100_000
    job.list.extend(_Event(e) for e in (1, 2, 3))
    _wait(lambda: store.get_run(run_id).epochs_run == 3)
    assert [e["epoch"] for e in store.get_run(run_id).history] == [1, 2, 3]
    # This server wrote it: not a lost run here.
    assert restart.lost_run(store, run_id) is None
    job.finish()
    assert not store.list_runs()  # the recorder's final record takes its place


def test_a_run_of_an_earlier_server_is_reported_as_lost(store, scratch, monkeypatch):
    job = _FakeJob()
    run_id = restart.watch(job, _config(), store, None)
    monkeypatch.setattr(restart, "SERVER", "a-new-server-process")
    lost = restart.lost_run(store, run_id)
    assert lost is not None and lost.id == run_id and lost.message == restart.LOST_MESSAGE
    assert restart.lost_run(store, "not-an-id") is None and restart.lost_run(store, "0" * 32) is None
    job.finish()
    assert threading.active_count() < 50  # the saving thread ends with the job


def test_a_page_reconnecting_after_a_restart_says_the_run_ended_and_keeps_the_link():
    from apptest import new_app

    from mtl_core.store.record import RunRecord

    # As a restart leaves it: the row an earlier server process wrote, and the run's id in the page's URL.
    with open_store() as runs:
        record = RunRecord(kind="train", name="iris · hard · fixed", status="interrupted",
                           config=_config().to_dict(), dataset="iris", tasks=["species"],
                           summary={"server": "an-earlier-server"}, message=restart.LOST_MESSAGE)
        run_id = runs.add_run(record)
        runs.save_progress(run_id, [_Event(e).to_dict() for e in range(1, 41)])
    at = new_app(query={"ds": "iris", "t": "species", "ep": "150", restart.URL_KEY: run_id})
    warnings = [w.value for w in at.warning]
    assert any("ended when the server restarted, after 40 of 100000 epochs" in w for w in warnings), warnings
    assert at.session_state["mtl.config"].epochs == 150  # the setup its URL holds
    assert restart.URL_KEY not in at.query_params  # no run of this session is running now
    assert any("Runs" in link.proto.label for link in at.get("page_link"))
    # A fresh session without the id hears nothing.
    assert not any("server restarted" in w.value for w in new_app(query={"ds": "iris", "t": "species"}).warning)
