"""How fast the Runs page opens with 1,000 runs in the store, against a minimal Streamlit page in the same run.

Fills a temp store (MTL_DATA_DIR in a temp folder) with 1,000 realistic runs of one notebook (a 200-epoch
history of two tasks, a 40 kB model each, the full config), then times, each in a fresh AppTest session
(median of several; AppTest's per-session scan of component manifests done once, as a server does):
a minimal page (a title and a line of text), /runs on its own, the dashboard's
app.py switched to /runs (what a click in the sidebar costs), and /runs with two runs picked for the overlay
(the only time histories are read). The first /runs run of the process (imports included) is shown apart.
Target (issue "Runs you can compare"): the Runs page opens in <= 1 s.

    python bench/bench_runs_page.py [--runs 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from _common import ROOT, load_average

NOTEBOOK = "benchnotebook"
MINIMAL = "import streamlit as st\nst.title('Runs')\nst.write('A minimal page.')\n"


def fill(n: int) -> list[str]:
    """``n`` runs in the store the dashboard opens; their ids."""
    from mtl_core.config import TaskSpec, TrainConfig
    from mtl_core.store import RunRecord, open_store

    config = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")]).to_dict()
    history = [{"epoch": e + 1, "loss": {"species": 1.0 / (e + 1), "petal_width": 0.5 / (e + 1)},
                "val_loss": {"species": 1.1 / (e + 1), "petal_width": 0.6 / (e + 1)},
                "val_metrics": {"species": {"accuracy": 0.9}, "petal_width": {"rmse": 0.2}},
                "weights": {"species": 1.0, "petal_width": 1.0}, "total_loss": 1.5 / (e + 1), "elapsed": e * 0.01}
               for e in range(200)]
    primary = {"species": {"metric": "accuracy", "value": 0.93, "lower_is_better": False},
               "petal_width": {"metric": "rmse", "value": 0.21, "lower_is_better": True}}
    ids = []
    with open_store() as store:
        for i in range(n):
            record = RunRecord(
                kind="train", name=f"run {i}", status=("completed", "stopped", "early_stopped")[i % 3],
                config={**config, "lr": 0.01 * (1 + i % 5)}, dataset="iris", tasks=["species", "petal_width"],
                history=history, test_metrics={"species": {"accuracy": 0.93, "f1": 0.9},
                                               "petal_width": {"rmse": 0.21, "mae": 0.15, "r2": 0.9}},
                summary={"primary": primary, "seconds": 1.5},
                started_at=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=i), notebook=NOTEBOOK,
                model=os.urandom(40_000))
            ids.append(store.add_run(record))
    return ids


def fresh(at):
    """``at`` sharing one custom-component registry: a server scans the installed packages' component
    manifests once at its start, but each AppTest does it again at its first run (0.5-2 s here), which would
    swamp what the pages cost."""
    from streamlit.components.v2.component_manager import BidiComponentManager

    if not hasattr(fresh, "manager"):
        fresh.manager = BidiComponentManager()
        fresh.manager.discover_and_register_components(start_file_watching=False)
    at._bidi_component_manager = fresh.manager
    return at


def first_render(make, repeats: int) -> tuple[float, float]:
    """(median, max) ms of a fresh session's first run of ``make()``'s AppTest."""
    times = []
    for _ in range(repeats):
        at = fresh(make())
        start = time.perf_counter()
        at.run()
        times.append(1000 * (time.perf_counter() - start))
        assert not at.exception, at.exception
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ["MTL_DATA_DIR"] = tempfile.mkdtemp(prefix="mtl-bench-runs-")
    os.environ.pop("MTL_DB_URL", None)
    from streamlit.testing.v1 import AppTest

    start = time.perf_counter()
    ids = fill(args.runs)
    print(f"filled {args.runs} runs in {time.perf_counter() - start:.1f} s; load average {load_average()}")

    def runs_page() -> AppTest:
        at = AppTest.from_file(str(ROOT / "pages" / "runs.py"), default_timeout=60)
        at.query_params["nb"] = NOTEBOOK
        return at

    cold, _ = first_render(runs_page, 1)
    at = fresh(runs_page())
    at.run()
    assert len(next(d.value for d in at.dataframe if "visible to" in d.value.columns)) == args.runs

    def picked() -> AppTest:
        at = runs_page()
        at.session_state["runs_pick"] = ids[:2]
        return at

    def via_app() -> tuple[float, float]:
        times = []
        for _ in range(args.repeats):
            at = fresh(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60))
            at.query_params["nb"] = NOTEBOOK
            at.run()
            start = time.perf_counter()
            at.switch_page("pages/runs.py").run()
            times.append(1000 * (time.perf_counter() - start))
            assert not at.exception, at.exception
        return statistics.median(times), max(times)

    rows = [("minimal page (title + text)", first_render(lambda: AppTest.from_string(MINIMAL), args.repeats)),
            (f"/runs, {args.runs} runs", first_render(runs_page, args.repeats)),
            (f"app.py -> /runs, {args.runs} runs", via_app()),
            ("/runs with 2 runs picked (overlay)", first_render(picked, args.repeats))]
    print(f"first render of a fresh session, median (max) of {args.repeats}:")
    for label, (median, worst) in rows:
        print(f"  {label:36s} {median:7.0f} ms ({worst:.0f})")
    print(f"  /runs, first of the process (imports) {cold:7.0f} ms")
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
