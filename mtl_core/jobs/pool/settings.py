"""The pool's settings, read from the environment (the server's config): workers, turns, limits per session."""

from __future__ import annotations

import os
from dataclasses import dataclass

from mtl_core.errors import ConfigError, bad_value


def _env_number(name: str, default: float, low: float, whole: bool = True) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        raise bad_value(name, raw[:40], f"expected {'a whole number' if whole else 'a number'} >= {low:g}",
                        ConfigError) from None
    if value < low:
        raise bad_value(name, value, f"expected a value >= {low:g}", ConfigError)
    return value


@dataclass(frozen=True)
class PoolSettings:
    """How many worker processes, how many jobs each hosts, the turn length, and the limits per session."""

    #: Worker processes (``MTL_WORKERS``; default one per core; 0 = train in threads of the server process).
    workers: int = 2
    #: Jobs one worker hosts at a time, taking turns (``MTL_JOBS_PER_WORKER``); more wait in the queue.
    jobs_per_worker: int = 4
    #: Length of one turn of training in seconds (``MTL_SLICE_SECONDS``).
    slice_seconds: float = 0.3
    #: Trainings one browser session may have running or queued (``MTL_SESSION_TRAININGS``).
    session_trainings: int = 1
    #: Comparisons, studies and tuning runs one session may have running or queued (``MTL_SESSION_EXPERIMENTS``).
    session_experiments: int = 1
    #: A worker that grew this many MB above its fresh size is replaced once idle (``MTL_WORKER_RECYCLE_MB``).
    recycle_mb: float = 150.0
    #: Intra-op threads of TensorFlow in a worker (``MTL_WORKER_THREADS``; 0 = TensorFlow's default).
    threads: int = 1
    #: How much lower the workers' CPU priority is than the server's (``MTL_WORKER_NICE``, 0 to 19), so pages
    #: and sliders come first; it ranks the worker's own session too (``worker._nice_session``). Off by default:
    #: measured when the workers still ran in the server's session, with the browsers on the same machine
    #: (bench_classroom), nice 10 made the runs yield to the browsers too (3.0-3.5x their fair share against
    #: 2.2-2.4x) and gave the observer and the health check nothing measurable.
    nice: int = 0

    @classmethod
    def from_env(cls) -> PoolSettings:
        """The settings from the environment (ConfigError naming the variable on a bad value)."""
        return cls(workers=int(_env_number("MTL_WORKERS", os.cpu_count() or 1, 0)),
                   jobs_per_worker=int(_env_number("MTL_JOBS_PER_WORKER", 4, 1)),
                   slice_seconds=_env_number("MTL_SLICE_SECONDS", 0.3, 0.01, whole=False),
                   session_trainings=int(_env_number("MTL_SESSION_TRAININGS", 1, 1)),
                   session_experiments=int(_env_number("MTL_SESSION_EXPERIMENTS", 1, 1)),
                   recycle_mb=_env_number("MTL_WORKER_RECYCLE_MB", 150.0, 0, whole=False),
                   threads=int(_env_number("MTL_WORKER_THREADS", 1, 0)),
                   nice=min(int(_env_number("MTL_WORKER_NICE", 0, 0)), 19))
