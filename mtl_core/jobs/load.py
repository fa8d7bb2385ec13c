"""How often a live view should redraw: less often as more jobs run than the machine has cores.

Each live view (a training's charts, its landscape, a comparison's table) is a script run in the server process.
With thirty students training at once, thirty views redrawing twice a second would take the server's one
interpreter from everyone, the observer's slider and the health check included (issue 12). So the interval
stretches with the number of jobs per core: the server's total redraw rate stays about what one core's worth of
jobs would cost, and a lone user still sees the base rate.
"""

from __future__ import annotations

import math
import os
import threading

from mtl_core.jobs.job import THREAD_PREFIX

#: The longest stretch: even in a full classroom a live chart redraws at least every 8 base intervals.
MAX_STRETCH = 8.0


def busy_jobs() -> int:
    """How many jobs this server is running or has queued (its worker pool's, else its job threads)."""
    from mtl_core.jobs.pool.pool import current_pool

    pool = current_pool()
    pooled = pool.running() + pool.queued() if pool is not None else 0
    threads = sum(1 for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX))
    return pooled + threads


def stretch(jobs: int | None = None, cores: int | None = None) -> float:
    """The factor a live view's interval is multiplied by: jobs per core, from 1 up to ``MAX_STRETCH``."""
    jobs = busy_jobs() if jobs is None else jobs
    cores = cores or os.cpu_count() or 1
    return min(MAX_STRETCH, max(1.0, jobs / cores))


def live_seconds(base: float, jobs: int | None = None, cores: int | None = None) -> float:
    """A live view's redraw interval under the server's current load: ``base`` when jobs fit the cores, else
    ``base`` times the stretch rounded to a step of the square root of two (1.4, 2, 2.8, 4, ...), so that a
    view re-times itself only when the load has really changed, not at every job that starts or ends."""
    steps = round(2 * math.log2(stretch(jobs, cores)))
    return round(base * 2 ** (steps / 2), 2)
