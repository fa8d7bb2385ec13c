"""The run store on SQLite and PostgreSQL: round trips, listing, migration, concurrent and killed writers."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from mtl_core.errors import ConfigError, MTLError
from mtl_core.store import (
    SCHEMA_VERSION,
    RunNotFound,
    RunRecord,
    default_store_url,
    default_study_storage,
    open_store,
    record_training,
    run_status,
    schema,
)
from mtl_core.store.schema import create_v1
from tests.pg import backend_url  # noqa: F401 - the url fixture (sqlite and postgresql)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture()
def store(url):
    with open_store(url) as opened:
        yield opened


def make_record(i: int = 0, **changes) -> RunRecord:
    fields = dict(kind="train", name=f"run {i}", status="completed",
                  config={"dataset": "iris", "lr": 0.01 * (i + 1), "tasks": [{"column": "species", "kind": None}]},
                  dataset="iris", tasks=["species", "petal_width"],
                  history=[{"epoch": e + 1, "loss": {"species": 1.0 / (e + 1)}} for e in range(5)],
                  test_metrics={"species": {"accuracy": 0.9}}, weight_changes=[{"epoch": 3, "weights": {"a": 2.0}}],
                  summary={"seconds": 1.5}, started_at=T0 + timedelta(minutes=i),
                  ended_at=T0 + timedelta(minutes=i, seconds=30), notebook="nb-a", model=b"\x00keras" * 10)
    fields.update(changes)
    return RunRecord(**fields)


def test_round_trip_keeps_every_field(store):
    record = make_record(history=[{"epoch": 1, "loss": {"a": float("nan")}}], study="s1", trial=4, shared=True,
                         message="Completed 1 epochs.")
    run_id = store.add_run(record)
    assert len(run_id) == 32 and record.id == run_id
    got = store.get_run(run_id)
    assert got.model is None and got.has_model and got.epochs_run == 1
    for key in ("kind", "name", "status", "config", "dataset", "tasks", "test_metrics", "weight_changes",
                "summary", "started_at", "ended_at", "notebook", "shared", "study", "trial", "message"):
        assert getattr(got, key) == getattr(record, key), key
    assert got.started_at.tzinfo is not None
    assert got.history[0]["loss"]["a"] != got.history[0]["loss"]["a"]  # NaN survives
    assert store.model_bytes(run_id) == record.model
    assert got.to_dict()["started_at"] == "2026-12-01T12:00:00+00:00"


def test_progress_saved_from_a_growing_json_list_reads_back_whole(store):
    from mtl_core.store.runs import JsonList

    run_id = store.add_run(make_record(status="interrupted", history=[]))
    epochs = [{"epoch": e, "loss": {"species": 1.0 / e, "odd": float("nan")}} for e in range(1, 8)]
    history = JsonList()
    history.extend(epochs[:3])
    store.save_progress(run_id, history)
    assert store.get_run(run_id).epochs_run == 3
    history.extend(epochs[3:])  # only the new epochs are encoded; the saved text holds all of them
    store.save_progress(run_id, history)
    got = store.get_run(run_id)
    assert got.epochs_run == len(history) == 7
    assert [h["epoch"] for h in got.history] == list(range(1, 8))
    assert got.history[4]["loss"]["species"] == 0.2 and got.history[4]["loss"]["odd"] != got.history[4]["loss"]["odd"]


def test_list_is_newest_first_without_large_fields(store):
    ids = [store.add_run(make_record(i)) for i in range(3)]
    listed = store.list_runs()
    assert [r.id for r in listed] == ids[::-1]
    assert all(r.history == [] and r.weight_changes == [] and r.model is None for r in listed)
    assert listed[0].config["lr"] == pytest.approx(0.03) and listed[0].epochs_run == 5 and listed[0].has_model
    assert [r.id for r in store.list_runs(limit=2)] == ids[:0:-1]


def test_notebook_sees_its_runs_and_shared_ones(store):
    mine = store.add_run(make_record(0, notebook="nb-a"))
    other = store.add_run(make_record(1, notebook="nb-b"))
    shared = store.add_run(make_record(2, notebook="nb-b", shared=True))
    assert {r.id for r in store.list_runs(notebook="nb-a")} == {mine, shared}
    store.set_shared(other, True)
    assert {r.id for r in store.list_runs(notebook="nb-a")} == {mine, shared, other}
    store.set_shared(shared, False)
    assert {r.id for r in store.list_runs(notebook="nb-a")} == {mine, other}


def test_filters_by_kind_and_study(store):
    store.add_run(make_record(0))
    trials = [store.add_run(make_record(i, kind="trial", study="pareto", trial=i)) for i in (1, 2)]
    store.add_run(make_record(3, kind="trial", study="other", trial=0))
    assert {r.id for r in store.list_runs(kind="trial", study="pareto")} == set(trials)
    assert len(store.list_runs(kind="train")) == 1


def test_rename_delete_and_unknown_ids(store):
    run_id = store.add_run(make_record())
    store.rename(run_id, "  better name ")
    assert store.get_run(run_id).name == "better name"
    assert store.resolve_id(run_id[:6]) == run_id
    store.delete(run_id)
    assert store.list_runs() == []
    for call in (store.get_run, store.model_bytes, store.delete, lambda i: store.rename(i, "x"),
                 lambda i: store.set_shared(i, True), store.resolve_id):
        with pytest.raises(RunNotFound) as info:
            call(run_id)
        assert info.value.param == "run_id" and run_id in str(info.value)
        assert isinstance(info.value, KeyError) and isinstance(info.value, MTLError)
    # The history/model row went with it: nothing is left behind.
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mtl_run_data")).scalar() == 0


@pytest.mark.parametrize(("change", "param"), [({"kind": "walk"}, "kind"), ({"status": "done"}, "status"),
                                               ({"history": "x"}, "history"), ({"model": "text"}, "model")])
def test_bad_records_name_the_field(store, change, param):
    with pytest.raises(ConfigError) as info:
        store.add_run(make_record(**change))
    assert info.value.param == param
    assert store.list_runs() == []


def test_bad_urls_name_db_url_and_hide_passwords(tmp_path):
    with pytest.raises(ConfigError, match=r"db_url='mysql://u@h/db' is invalid: unknown scheme 'mysql'") as info:
        open_store("mysql://u@h/db")
    assert info.value.param == "db_url"
    with pytest.raises(ConfigError, match="cannot open the database") as info:
        open_store("postgresql+psycopg://me:secret@127.0.0.1:1/nowhere")
    assert "secret" not in str(info.value) and "me:***@127.0.0.1:1" in str(info.value)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="db_url=.*is invalid"):
        open_store(f"sqlite:///{blocker}/sub/runs.db")


def test_postgresql_without_psycopg_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # psycopg is an optional extra
    with pytest.raises(ConfigError, match=r"PostgreSQL needs psycopg 3: pip install") as info:
        open_store("postgresql://u@127.0.0.1:1/x")
    assert info.value.param == "db_url"


def test_default_urls_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("MTL_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MTL_DATA_DIR", raising=False)
    assert default_store_url() == f"sqlite:///{tmp_path / '.mtl-playground' / 'runs.db'}"
    monkeypatch.setenv("MTL_DATA_DIR", str(tmp_path / "data"))
    assert default_study_storage() == f"sqlite:///{tmp_path / 'data' / 'studies.db'}"
    with open_store() as store:
        store.add_run(make_record())
    assert (tmp_path / "data" / "runs.db").exists()
    monkeypatch.setenv("MTL_DB_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert default_store_url() == default_study_storage() == f"sqlite:///{tmp_path / 'elsewhere.db'}"


def test_sqlite_file_is_in_wal_mode(tmp_path):
    path = tmp_path / "runs.db"
    with open_store(f"sqlite:///{path}") as store:
        store.add_run(make_record())
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_version_1_database_is_migrated(url):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        create_v1(conn)
        conn.execute(sa.text(
            "INSERT INTO mtl_runs (id, kind, name, status, dataset, tasks, config, test_metrics, summary, "
            "created_at, shared) VALUES ('a' || :pad, 'train', 'old', 'completed', 'iris', '[\"species\"]', '{}', "
            "'{}', '{}', :now, :f)"), {"pad": "0" * 31, "now": datetime(2026, 1, 1), "f": False})
        conn.execute(sa.text("INSERT INTO mtl_run_data (run_id, history, weight_changes) VALUES "
                             "('a' || :pad, :history, '[]')"),
                     {"pad": "0" * 31, "history": '[{"epoch":1,"loss":NaN},{"epoch":2}]'})
    with open_store(url) as store:
        old = store.get_run("a" + "0" * 31)
        assert (old.name, old.message, old.epochs_run, old.has_model) == ("old", "", 2, False)
        store.add_run(make_record(message="new column in use"))
        assert {r.message for r in store.list_runs()} == {"", "new column in use"}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM mtl_schema_version")).scalars().all() == [SCHEMA_VERSION]
        migrated = {c["name"] for c in sa.inspect(conn).get_columns("mtl_runs")}
    engine.dispose()
    # The migrated table has exactly the columns a new store is created with.
    assert migrated == {c.name for c in schema.runs.columns}


def test_a_newer_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    open_store(url).close()
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        conn.execute("UPDATE mtl_schema_version SET version = 99")
    with pytest.raises(ConfigError, match="schema version 99, newer than"):
        open_store(url)


def test_threads_share_one_store(store):
    # The dashboard serves every session from threads of one process, all using one store.
    from concurrent.futures import ThreadPoolExecutor

    def work(t: int) -> list[str]:
        ids = [store.add_run(make_record(i, notebook=f"t{t}")) for i in range(15)]
        assert len(store.list_runs(notebook=f"t{t}")) == 15
        return ids

    with ThreadPoolExecutor(4) as pool:
        ids = [i for batch in pool.map(work, range(4)) for i in batch]
    assert len(set(ids)) == 60 and {r.id for r in store.list_runs()} == set(ids)


# ---- several processes -------------------------------------------------------------------------------------

WRITER = """
import hashlib, os, sys
from mtl_core.store import RunRecord, open_store
url, n, size, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
store = open_store(url)
for i in range(n):
    model = os.urandom(size)
    epochs = 1 + i % 50
    history = [{"epoch": e + 1, "loss": {"a": 1.0 / (e + 1)}} for e in range(epochs)]
    record = RunRecord(kind="train", name=f"{tag}-{i}", status="completed", config={}, dataset="iris",
                       tasks=["a"], history=history, summary={"n": epochs, "sha": hashlib.sha256(model).hexdigest()},
                       model=model, notebook=tag)
    print("start", i, flush=True)
    store.add_run(record)
    print("done", i, record.id, flush=True)
"""


def _writer(url: str, n: int, size: int, tag: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WRITER, url, str(n), str(size), tag], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _complete(store, run_id: str) -> bool:
    record = store.get_run(run_id)
    model = store.model_bytes(run_id)
    return (len(record.history) == record.summary["n"] == record.epochs_run
            and hashlib.sha256(model).hexdigest() == record.summary["sha"])


def test_two_processes_writing_at_once_lose_nothing(url):
    # Both start on a database without a store, so they also race to create the schema.
    n = 40
    writers = [_writer(url, n, 20_000, tag) for tag in ("left", "right")]
    outputs = [w.communicate(timeout=240) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [err[-2000:] for _, err in outputs]
    with open_store(url) as store:
        runs = store.list_runs()
        assert len(runs) == 2 * n
        assert len({r.id for r in runs}) == 2 * n
        assert {r.name for r in runs} == {f"{tag}-{i}" for tag in ("left", "right") for i in range(n)}
        reported = {line.split()[2] for out, _ in outputs for line in out.splitlines() if line.startswith("done")}
        assert reported == {r.id for r in runs}
        assert all(_complete(store, r.id) for r in runs[::7])


def test_a_killed_writer_leaves_only_complete_records(url):
    # Large models make each transaction long, so the kill lands inside one most of the time.
    done: set[str] = set()
    for _ in range(3):
        writer = _writer(url, 1000, 2_000_000, "killed")
        started = 0
        while started < 3:
            line = writer.stdout.readline()
            assert line, writer.stderr.read()[-2000:]
            if line.startswith("done"):
                done.add(line.split()[2])
            started += line.startswith("start")
        time.sleep(0.005)  # inside add_run of record 2
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate(timeout=60)
        # Only whole lines: the kill may cut the last print short (a "done" line without its id).
        done |= {line.split()[2] for line in rest.split("\n")[:-1] if line.startswith("done")}
        assert writer.returncode == -signal.SIGKILL
    with open_store(url) as store:
        ids = {r.id for r in store.list_runs()}
        assert done <= ids  # every committed record is there
        assert all(_complete(store, run_id) for run_id in ids)
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM mtl_run_data")).scalar() == len(ids)
            if url.startswith("sqlite"):
                assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"


# ---- recording a training ----------------------------------------------------------------------------------

def _result(reason: str, message: str) -> SimpleNamespace:
    event = SimpleNamespace(to_dict=lambda: {"epoch": 1, "loss": {"species": 0.5}})
    config = SimpleNamespace(to_dict=lambda: {"dataset": "iris", "tasks": [{"column": "species", "kind": None},
                                                                           {"column": "petal_width", "kind": None}]})
    return SimpleNamespace(config=config, history=[event, event], test_metrics={"species": {"accuracy": 1.0}},
                           stopped_reason=reason, message=message, seconds=0.25)


@pytest.mark.parametrize(("reason", "message", "status"), [
    ("completed", "Completed 2 epochs.", "completed"),
    ("completed", "Early stopping after epoch 2: no better validation loss for 1 epochs; ...", "early_stopped"),
    ("stopped", "Stopped by request after epoch 2.", "stopped"),
    ("diverged", "Training diverged in epoch 3: ...", "diverged"),
])
def test_record_training_maps_the_outcome(tmp_path, reason, message, status):
    with open_store(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        run_id = record_training(store, _result(reason, message), name="t", notebook="nb", started_at=T0,
                                 ended_at=T0 + timedelta(seconds=1), weight_changes=[{"epoch": 1, "weights": {}}],
                                 model_bytes=b"model")
        got = store.get_run(run_id)
    assert (got.status, got.message, got.kind) == (status, message, "train")
    assert got.tasks == ["species", "petal_width"] and got.dataset == "iris" and got.epochs_run == 2
    assert got.summary == {"seconds": 0.25} and got.weight_changes == [{"epoch": 1, "weights": {}}]


def test_run_status_refuses_unknown_reasons():
    with pytest.raises(ConfigError) as info:
        run_status("exploded")
    assert info.value.param == "stopped_reason"


def test_record_training_of_a_real_early_stopped_run(tmp_path, iris_frame, hetero_config):
    from mtl_core.training.trainer import Trainer

    hetero_config.epochs, hetero_config.early_stopping, hetero_config.patience, hetero_config.lr = 400, True, 2, 0.05
    result = Trainer(hetero_config, iris_frame).run()
    assert result.epochs_run < 400, "the config must stop early for this test to mean anything"
    with open_store(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        got = store.get_run(record_training(store, result, name="es", model_bytes=None))
    assert got.status == "early_stopped" and got.epochs_run == result.epochs_run
    assert got.config == hetero_config.to_dict() and got.test_metrics == result.test_metrics
    assert got.history[-1] == result.history[-1].to_dict()
