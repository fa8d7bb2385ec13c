"""Live views redraw less often as more jobs run than there are cores (issue 12)."""

from __future__ import annotations

import threading

from mtl_core.jobs import load
from mtl_core.jobs.job import Job
from mtl_core.jobs.work import Work


def test_the_interval_is_the_base_until_jobs_outnumber_cores_then_grows_up_to_the_cap():
    assert load.live_seconds(1.0, jobs=0) == 1.0
    assert load.stretch(jobs=2, cores=2) == 1.0
    assert load.stretch(jobs=10, cores=2) == 5.0
    assert load.stretch(jobs=1000, cores=2) == load.MAX_STRETCH
    assert load.live_seconds(0.5, jobs=0) == 0.5


def test_the_interval_moves_in_steps_so_views_retime_only_when_the_load_really_changed():
    assert load.live_seconds(1.0, jobs=10, cores=2) == 5.66  # stretch 5: the step of 2 ** 2.5
    assert load.live_seconds(1.0, jobs=9, cores=2) == 4.0  # stretch 4.5
    assert load.live_seconds(2.0, jobs=4, cores=2) == 4.0
    assert load.live_seconds(1.0, jobs=1000, cores=2) == load.MAX_STRETCH


class _Waits(Work):
    label = "waits"

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def run(self) -> None:
        self.release.wait(10)


def test_busy_jobs_counts_the_job_threads_of_this_process():
    before = load.busy_jobs()
    works = [_Waits() for _ in range(3)]
    jobs = [Job(w).start() for w in works]
    try:
        assert load.busy_jobs() == before + 3
    finally:
        for w in works:
            w.release.set()
        for j in jobs:
            j.join(5)
    assert load.busy_jobs() == before
