"""``mtl runs list|show|delete`` on SQLite and PostgreSQL: tables, strict JSON, one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mtl_core.cli.main import main
from mtl_core.store import RunRecord, open_store
from tests.pg import backend_url  # noqa: F401 - the url fixture (sqlite and postgresql)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture()
def ids(url):
    """Three runs: two of notebook nb-a (one diverged, with NaN in its history), one trial of nb-b."""
    records = [
        RunRecord(kind="train", name="baseline", status="completed", config={"lr": 0.01, "shared": [32, 16]},
                  dataset="iris", tasks=["species", "petal_width"],
                  history=[{"epoch": 1, "loss": {"species": 0.9, "petal_width": 0.3}}],
                  test_metrics={"species": {"accuracy": 0.9333, "f1_macro": 0.93}, "petal_width": {"mae": 0.2}},
                  weight_changes=[{"epoch": 1, "weights": {"species": 2.0, "petal_width": 1.0}}],
                  started_at=T0, ended_at=T0 + timedelta(seconds=5), notebook="nb-a", model=b"keras"),
        RunRecord(kind="train", name="too fast", status="diverged", config={"lr": 5.0}, dataset="iris",
                  tasks=["species"], history=[{"epoch": 1, "loss": {"species": float("nan")}}],
                  started_at=T0 + timedelta(minutes=1), notebook="nb-a", message="Training diverged in epoch 1."),
        RunRecord(kind="trial", name="trial 0", status="completed", config={}, dataset="penguins",
                  tasks=["species"], started_at=T0 + timedelta(minutes=2), notebook="nb-b", study="s", trial=0),
    ]
    with open_store(url) as store:
        return [store.add_run(r) for r in records]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_a_table_newest_first(url, ids, capsys):
    code, out, _ = cli(capsys, "runs", "list", "--db-url", url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["id", "name", "kind", "status"]
    assert [line[:8] for line in lines[2:]] == [i[:8] for i in ids[::-1]]
    assert "species accuracy 0.9333; petal_width mae 0.2" in lines[-1] and "2026-12-01 09:30:00" in lines[-1]


def test_list_json_filters_and_leaves_out_histories(url, ids, capsys):
    code, out, _ = cli(capsys, "runs", "list", "--db-url", url, "--notebook", "nb-a", "--json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert [r["id"] for r in runs] == ids[1::-1]
    assert "history" not in runs[0] and "model" not in runs[0]
    assert runs[1]["has_model"] is True and runs[1]["epochs_run"] == 1
    assert runs[1]["started_at"] == "2026-12-01T09:30:00+00:00"
    _, out, _ = cli(capsys, "runs", "list", "--db-url", url, "--kind", "trial", "--study", "s", "--json")
    assert [r["id"] for r in json.loads(out)["runs"]] == [ids[2]]


def test_show_json_is_strict_and_complete(url, ids, capsys):
    code, out, _ = cli(capsys, "runs", "show", ids[1][:6], "--db-url", url, "--json")
    assert code == 0

    def no_nan(token: str) -> None:
        raise AssertionError(f"not strict JSON: {token}")

    run = json.loads(out, parse_constant=no_nan)
    assert run["id"] == ids[1] and run["status"] == "diverged"
    assert run["history"] == [{"epoch": 1, "loss": {"species": None}}]


def test_show_prints_config_metrics_and_weight_changes(url, ids, capsys):
    code, out, _ = cli(capsys, "runs", "show", ids[0], "--db-url", url)
    assert code == 0
    assert "baseline" in out and "lr = 0.01" in out and "shared = [32, 16]" in out
    assert "accuracy" in out and "0.9333" in out
    assert "epoch 1: species 2, petal_width 1" in out and "kept (.keras)" in out


def test_delete_removes_the_run(url, ids, capsys):
    code, out, _ = cli(capsys, "runs", "delete", ids[0], "--db-url", url)
    assert code == 0 and ids[0] in out and "baseline" in out
    with open_store(url) as store:
        assert {r.id for r in store.list_runs()} == set(ids[1:])
    code, out, err = cli(capsys, "runs", "show", ids[0], "--db-url", url)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"run_id={ids[0]!r} is invalid" in err


def test_the_default_store_comes_from_the_environment(url, ids, capsys, monkeypatch):
    monkeypatch.setenv("MTL_DB_URL", url)
    code, out, _ = cli(capsys, "runs", "list", "--json")
    assert code == 0 and len(json.loads(out)["runs"]) == 3


def test_an_empty_store_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MTL_DB_URL", raising=False)
    monkeypatch.setenv("MTL_DATA_DIR", str(tmp_path))
    code, out, _ = cli(capsys, "runs", "list")
    assert code == 0 and out.startswith("No runs in sqlite:///") and str(tmp_path) in out


@pytest.mark.parametrize(("args", "names"), [
    (["runs", "list", "--db-url", "mysql://u@h/db"], "db_url='mysql://u@h/db' is invalid: unknown scheme"),
    (["runs", "list", "--db-url", "postgresql+psycopg://u:pw@127.0.0.1:1/db"],
     "db_url='postgresql+psycopg://u:***@127.0.0.1:1/db' is invalid: cannot open the database"),
    (["runs", "show", "feedbeef"], "run_id='feedbeef' is invalid: no run has this id"),
    (["runs", "delete", "not-hex"], "run_id='not-hex' is invalid"),
    (["runs", "list", "--kind", "walk"], "invalid choice: 'walk'"),
    (["runs"], "required: {list,show,delete}"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, names):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MTL_DB_URL": f"sqlite:///{tmp_path / 'runs.db'}"}
    proc = subprocess.run([sys.executable, "-m", "mtl_core", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and names in proc.stderr, proc.stderr
