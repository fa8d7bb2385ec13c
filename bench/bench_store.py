"""How fast the run store lists 1,000 runs (what the Runs page and ``mtl runs list`` ask for).

Fills a new store with realistic runs (a 200-epoch history of two tasks, a 40 kB model each) and times the
list queries, median of several repeats. SQLite always (a temp file); PostgreSQL too when env
MTL_TEST_PG_URL (or --pg URL) points at a reachable server: there the runs go into a new database that is
dropped at the end. Target: listing 1,000 runs well under the Runs page's 1 s budget.

    python bench/bench_store.py [--runs 1000] [--repeats 7] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import median_ms

from mtl_core.store import RunRecord, open_store


def make_record(i: int) -> RunRecord:
    """A run as a 200-epoch training of two tasks would record it; ten notebooks take turns."""
    history = [{"epoch": e + 1, "loss": {"species": 1.0 / (e + 1), "petal_width": 0.5 / (e + 1)},
                "val_loss": {"species": 1.1 / (e + 1), "petal_width": 0.6 / (e + 1)},
                "val_metrics": {"species": {"accuracy": 0.9}, "petal_width": {"mae": 0.2}},
                "weights": {"species": 1.0, "petal_width": 1.0}, "total_loss": 1.5 / (e + 1), "elapsed": e * 0.01}
               for e in range(200)]
    return RunRecord(kind="train", name=f"run {i}", status="completed",
                     config={"dataset": "iris", "lr": 0.01, "shared": [32, 16], "epochs": 200},
                     dataset="iris", tasks=["species", "petal_width"], history=history,
                     test_metrics={"species": {"accuracy": 0.93}, "petal_width": {"mae": 0.2}},
                     started_at=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=i), notebook=f"nb{i % 10}",
                     shared=i % 97 == 0, model=os.urandom(40_000))


def bench(label: str, url: str, n: int, repeats: int) -> None:
    start = time.perf_counter()
    store = open_store(url)
    opened = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    for i in range(n):
        store.add_run(make_record(i))
    added = (time.perf_counter() - start) * 1000 / n
    assert len(store.list_runs()) == n
    reopen = median_ms(lambda: open_store(url).close(), repeats, warmup=0)
    print(f"{label}: {n} runs; open (new) {opened:.0f} ms, open (existing) {reopen:.1f} ms, add {added:.1f} ms/run")
    for name, call in (("list all", lambda: store.list_runs()),
                       ("list one notebook", lambda: store.list_runs(notebook="nb3")),
                       ("list newest 50", lambda: store.list_runs(limit=50)),
                       ("get one run (200-epoch history)", lambda: store.get_run(store.list_runs(limit=1)[0].id))):
        print(f"  {name:34s} {median_ms(call, repeats, warmup=0):7.1f} ms")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--pg", default=os.environ.get("MTL_TEST_PG_URL"), help="a PostgreSQL server URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench("SQLite", f"sqlite:///{Path(folder) / 'runs.db'}", args.runs, args.repeats)
    if not args.pg:
        print("PostgreSQL: skipped (set MTL_TEST_PG_URL or --pg; .ci/start-postgres starts a server)")
        return
    import psycopg
    from sqlalchemy import make_url

    libpq = f"postgresql://{args.pg.split('://', 1)[1]}"
    name = f"mtl_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(libpq, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"PostgreSQL: skipped ({str(exc).strip().splitlines()[0]})")
        return
    try:
        bench("PostgreSQL", make_url(args.pg).set(database=name).render_as_string(hide_password=False),
              args.runs, args.repeats)
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
