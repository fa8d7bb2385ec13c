"""``mtl tune``: two worker processes on one study (SQLite, PostgreSQL), the JSON contract, and bad input (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mtl_core.cli.main import main
from tests.pg import fresh_pg_database

ROOT = Path(__file__).resolve().parent.parent
TRIALS_EACH = 2
# Tiny trainings: the point is the study's bookkeeping, not the models.
FLAGS = ["--preset", "heterogeneous", "--epochs", "6", "--space", "weights,lr,dropout", "--seed", "5",
         "--no-models", "--json"]


def _start(storage: str, study: str, data_dir: Path, db: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "MTL_DATA_DIR": str(data_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MTL_DB_URL", None)
    cmd = [sys.executable, "-m", "mtl_core", "tune", *FLAGS, "--trials", str(TRIALS_EACH),
           "--storage", storage, "--study", study]
    if db:
        cmd += ["--db", db]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out)


def _non_dominated(points: dict[int, list[float]]) -> set[int]:
    """Brute force, both objectives minimised (validation losses)."""
    return {i for i, p in points.items()
            if not any(all(a <= b for a, b in zip(q, p)) and q != p for q in points.values())}


def _check_two_workers(storage: str, db: str | None, data_dir: Path, *, then_one_more: bool = False) -> None:
    import optuna

    from mtl_core.store import open_store

    study = "shared"
    procs = [_start(storage, study, data_dir, db) for _ in range(2)]
    outs = [_finish(p) for p in procs]
    total = 2 * TRIALS_EACH
    # The last worker to finish sees every trial; each JSON object follows the contract.
    for out in outs:
        assert set(out) >= {"study", "n_trials", "directions", "pareto", "best_by_task"}
        assert out["study"] == study and out["directions"] == ["minimize", "minimize"]
        assert set(out["best_by_task"]) == {"species", "petal_width"}
    assert max(o["n_trials"] for o in outs) == total

    trials = optuna.load_study(study_name=study, storage=storage).get_trials()
    assert sorted(t.number for t in trials) == list(range(total))  # none lost, none duplicated
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    run_ids = [t.user_attrs["run_id"] for t in trials]
    assert len(set(run_ids)) == total
    store = open_store(db or f"sqlite:///{data_dir / 'runs.db'}")
    runs = store.list_runs(kind="trial", study=study)
    assert sorted(r.trial for r in runs) == list(range(total)) and {r.id for r in runs} == set(run_ids)

    complete = {t.number: t.values for t in trials if t.state.name == "COMPLETE"}
    last = max(outs, key=lambda o: o["n_trials"])
    front = {e["trial"] for e in last["pareto"]}
    assert front == _non_dominated(complete)
    for entry in last["pareto"]:
        assert list(entry["values"].values()) == pytest.approx(complete[entry["trial"]])
        assert entry["run_id"] == trials[entry["trial"]].user_attrs["run_id"]
        assert set(entry["params"]) >= {"lr", "dropout"}

    if then_one_more:  # a later call on the same storage and study adds its trials to it
        again = _finish(_start(storage, study, data_dir, db))
        assert again["n_trials"] == total + TRIALS_EACH


def test_two_workers_share_a_sqlite_study(tmp_path):
    _check_two_workers(f"sqlite:///{tmp_path / 'studies.db'}", None, tmp_path, then_one_more=True)


def test_two_workers_share_a_postgresql_study(tmp_path):
    with fresh_pg_database() as url:
        _check_two_workers(url, url, tmp_path)


# ---- bad input: exit 2, one line naming the parameter and the value -------------------------------------
def _bad(capsys, *args: str) -> str:
    code = main(["tune", "--preset", "heterogeneous", "--epochs", "2", "--trials", "1", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err, err
    return err


def test_unknown_storage_scheme_exits_2(capsys):
    err = _bad(capsys, "--storage", "redis://localhost/0")
    assert err.startswith("error: storage='redis://localhost/0' is invalid: unknown scheme 'redis'")


def test_unreachable_database_exits_2(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MTL_DATA_DIR", str(tmp_path))
    err = _bad(capsys, "--storage", "postgresql+psycopg://mtl:pw@127.0.0.1:9/nowhere")
    assert err.startswith("error: storage='postgresql+psycopg://mtl:***@127.0.0.1:9/nowhere' is invalid: "
                          "cannot use the database")


def test_empty_search_space_exits_2(capsys):
    err = _bad(capsys, "--space", "")
    assert err == "error: space='' is invalid: choose at least one of weighting, weights, width, depth, head, lr, " \
                  "dropout."
    assert _bad(capsys, "--space", "lr,mom").startswith("error: space='mom' is invalid")


def test_study_with_other_tasks_exits_2(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MTL_DATA_DIR", str(tmp_path))
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    assert main(["tune", "--preset", "heterogeneous", "--trials", "0", "--storage", storage, "--study", "s",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_trials"] == 0
    err = _bad(capsys, "--task", "species", "--task", "sepal_width", "--inputs", "sepal_length,petal_length",
               "--storage", storage, "--study", "s")
    assert err.startswith("error: task=['species', 'sepal_width'] is invalid: study 's' was created for tasks "
                          "['species', 'petal_width']")
