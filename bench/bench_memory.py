"""Resident memory over 30 jobs of each kind in one process: trainings, comparisons and relatedness studies.

Target (issue "One core with clear rooms"): growth from run 10 to run 30 < 40 MB per kind. Trainings run as core
``TrainingJob``s here (the suite's tests/test_memory.py runs 30 of them through the dashboard); comparisons and
studies as core jobs, each training several models. Prints VmRSS after runs 10, 20 and 30 and the gradient
registry's size, whose growth was the leak (``mtl_core.training.graph_release``).

    python bench/bench_memory.py [--runs 30]
"""

from __future__ import annotations

import argparse

from _common import load_average

from mtl_core.config import TaskSpec, TrainConfig
from tests.test_memory import comparison_work, registry_size, rss_mb, study_work

MAX_GROWTH_MB = 40.0


def training_work(frame, i: int):
    """A small two-task training (one trainer)."""
    from mtl_core.jobs.training import Training

    cfg = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")],
                      inputs=["sepal_length", "sepal_width", "petal_length"], shared=[8], head=[], epochs=3,
                      seed=i)
    return Training(cfg, frame)


def measure(kind: str, make_work, runs: int) -> tuple[float, bool]:
    """Run ``runs`` jobs one after the other; print and return the growth from run 10 to the last."""
    import gc

    from mtl_core.jobs.job import Job

    rss: dict[int, float] = {}
    entries: dict[int, int] = {}
    for i in range(1, runs + 1):
        job = Job(make_work(i)).start()
        if not job.join(300) or job.error is not None:
            raise SystemExit(f"{kind} job {i} failed: {job.error}")
        del job
        gc.collect()
        if i % 10 == 0:
            rss[i], entries[i] = rss_mb(), registry_size()
    first, last = min(rss), max(rss)
    growth = rss[last] - rss[first]
    marks = " / ".join(f"{rss[i]:.1f}" for i in sorted(rss))
    ok = growth < MAX_GROWTH_MB and entries[last] <= entries[first]
    print(f"{kind:12s} VmRSS after runs {', '.join(map(str, sorted(rss)))}: {marks} MB; "
          f"{first}->{last} {growth:+.1f} MB (target < {MAX_GROWTH_MB:.0f}); registry {entries}  "
          f"{'ok' if ok else 'MISSED'}")
    return growth, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="jobs of each kind (at least 20)")
    args = parser.parse_args()
    from mtl_core.data.registry import load_dataset
    from mtl_core.jobs.training import TrainingJob  # noqa: F401 - TensorFlow loaded before the first reading

    frame = load_dataset("iris").frame
    print(f"load average before: {load_average()}")
    results = [measure("trainings", lambda i: training_work(frame, i), args.runs),
               measure("comparisons", lambda i: comparison_work(frame, i), args.runs),
               measure("studies", study_work, args.runs)]
    print(f"load average after: {load_average()}")
    raise SystemExit(0 if all(ok for _, ok in results) else 1)


if __name__ == "__main__":
    main()
