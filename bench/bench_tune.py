"""Benchmark ``mtl tune``: what a trial costs over a plain training, and how two workers share a 40-trial study.

    python bench/bench_tune.py                       # both parts, SQLite (+ PostgreSQL if MTL_TEST_PG_URL is set)
    python bench/bench_tune.py --part trial --repeats 5
    python bench/bench_tune.py --part workers --trials 40 --pg postgresql+psycopg://mtl@127.0.0.1:55432/mtl_test

Targets (issue "Runs you can compare, sweeps that scale"): a trial on heterogeneous Iris (200 epochs) costs
<= 1.3x a plain training run of the same config; two worker processes finish a 40-trial study in <= 0.65x the
wall time of one worker, on SQLite and on PostgreSQL. Prints ratios (not a timed test); the load average is
printed too, since a shared machine changes the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import ROOT


def load() -> str:
    """The 1-minute load average and the core count."""
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def bench_trial(repeats: int) -> float:
    """Median ratio (tuning trial / plain training) over interleaved pairs, after one warm-up of each."""
    from mtl_core.data.registry import load_dataset
    from mtl_core.presets import get_preset
    from mtl_core.training.graph_release import release_quietly
    from mtl_core.training.trainer import Trainer
    from mtl_core.tuning.study import Tuner, TuneRequest

    config = get_preset("heterogeneous").make_config()
    config.early_stopping = False  # plain run and trial train the same number of epochs
    frame = load_dataset("iris").frame
    tmp = Path(tempfile.mkdtemp(prefix="bench-tune-"))
    # Space "weights": the trial trains the preset's network at the preset's lr, only the loss weights differ,
    # so the per-epoch work is the same as the plain run's. Pruning off: a pruned trial would look cheaper.
    request = TuneRequest(base=config, study="bench", n_trials=0, space=["weights"], prune=False,
                          storage=f"sqlite:///{tmp / 'studies.db'}", db_url=f"sqlite:///{tmp / 'runs.db'}")
    tuner = Tuner(request, frame)

    def plain() -> float:
        start = time.perf_counter()
        trainer = Trainer(config, frame)
        trainer.run()
        release_quietly(trainer)
        return time.perf_counter() - start

    def trial() -> float:
        start = time.perf_counter()
        tuner.run_trial()
        return time.perf_counter() - start

    plain(), trial()  # warm-up: the first Trainer in a process pays one-off costs
    ratios = []
    for i in range(repeats):
        # Alternate the order so that a drift in machine load doesn't favour one side.
        if i % 2 == 0:
            a, b = plain(), trial()
        else:
            b, a = trial(), plain()
        ratios.append(b / a)
        print(f"  pair {i + 1}: plain {a:.2f} s, trial {b:.2f} s, ratio {b / a:.2f}  ({load()})", flush=True)
    return statistics.median(ratios)


def _worker(storage: str, study: str, trials: int, data_dir: Path, db: str | None) -> subprocess.Popen:
    env = {**os.environ, "MTL_DATA_DIR": str(data_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MTL_DB_URL", None)
    cmd = [sys.executable, "-m", "mtl_core", "tune", "--preset", "heterogeneous", "--space", "weights,lr",
           "--trials", str(trials), "--storage", storage, "--study", study, "--seed", "1", "--no-prune", "--json"]
    if db:
        cmd += ["--db", db]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wall(storage: str, study: str, trials: int, workers: int, data_dir: Path, db: str | None) -> float:
    start = time.perf_counter()
    procs = [_worker(storage, study, trials // workers, data_dir, db) for _ in range(workers)]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"worker failed: {err[-1000:]}")
    return time.perf_counter() - start


def bench_workers(name: str, make_url, trials: int) -> float:
    """Wall time of two workers over one, each on a fresh database from ``make_url()``."""
    times = {}
    for workers in (1, 2):
        url, db, data_dir = make_url()
        times[workers] = _wall(url, f"bench-{workers}", trials, workers, data_dir, db)
        print(f"  {name}: {workers} worker(s), {trials} trials: {times[workers]:.1f} s  ({load()})", flush=True)
    return times[2] / times[1]


def sqlite_url():
    """A fresh SQLite study file and run store."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-tune-"))
    return f"sqlite:///{tmp / 'studies.db'}", None, tmp


def pg_maker(server: str):
    """Fresh PostgreSQL databases on ``server`` (studies and runs in the same database)."""
    import psycopg
    from sqlalchemy import make_url

    def make():
        name = f"mtl_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"postgresql://{server.split('://', 1)[1]}", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        return url, url, Path(tempfile.mkdtemp(prefix="bench-tune-"))

    return make


def main() -> None:
    """Run the chosen parts and print the ratios against their targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("trial", "workers", "all"), default="all")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--pg", default=os.environ.get("MTL_TEST_PG_URL"), help="PostgreSQL server URL")
    parser.add_argument("--storages", default="sqlite,postgresql", help="which storages the workers part uses")
    args = parser.parse_args()
    print(f"start: {load()}")
    results = []
    if args.part in ("trial", "all"):
        ratio = bench_trial(args.repeats)
        results.append(f"trial / plain training (heterogeneous Iris, 200 epochs): {ratio:.2f}x  (target <= 1.30)")
    if args.part in ("workers", "all"):
        if "sqlite" in args.storages:
            ratio = bench_workers("sqlite", sqlite_url, args.trials)
            results.append(f"2 workers / 1 worker, {args.trials} trials, SQLite: {ratio:.2f}x  (target <= 0.65)")
        if "postgresql" not in args.storages:
            pass
        elif args.pg:
            ratio = bench_workers("postgresql", pg_maker(args.pg), args.trials)
            results.append(f"2 workers / 1 worker, {args.trials} trials, PostgreSQL: {ratio:.2f}x  (target <= 0.65)")
        else:
            results.append("PostgreSQL: skipped (set MTL_TEST_PG_URL or --pg)")
    print("\n".join(results))
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
