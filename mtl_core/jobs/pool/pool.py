"""The server side of the pool: worker processes, the fair queue, limits per session, dead workers replaced.

One ``Pool`` per server process (``get_pool``). ``submit`` registers a proxy job at once (no TensorFlow, no
model: a press of Train returns in milliseconds) and places it on the least busy worker with a free slot, or in
the queue; each worker hosts up to ``jobs_per_worker`` jobs that take turns (``Turns``), so a short job never waits
for long ones to end. A reader thread per worker routes its messages to the proxies; when a worker dies (out of
memory, a crash, SIGKILL) its own jobs fail with a message saying so and a fresh worker takes its place. A
worker that grew big is replaced once idle, which gives its memory back to the system.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from mtl_core.errors import MTLError
from mtl_core.jobs.pool.settings import PoolSettings
from mtl_core.jobs.pool.spec import TRAINING

if TYPE_CHECKING:
    from mtl_core.jobs.pool.proxy import PoolJob

_log = logging.getLogger(__name__)

#: A guess of a job's length before any job has finished (for "starts in about ... s").
FIRST_GUESS_SECONDS = 10.0


class PoolLimitError(MTLError):
    """A session asked for more concurrent jobs of a kind than the server allows."""


def signal_text(code: int | None) -> str:
    """How a worker process ended, in words."""
    if code is None:
        return "it stopped answering"
    if code < 0:
        import signal

        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (the system may have run out of memory)" if name == "SIGKILL" else ""
        return f"it was killed by {name}{hint}"
    return f"it exited with status {code}"


class Worker:
    """One worker process and the jobs it hosts."""

    def __init__(self, pool: Pool, index: int) -> None:
        self.pool = pool
        self.index = index
        parent, child = socket.socketpair()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        s = pool.settings
        # A session of its own: Linux's autogroup scheduler shares the CPU between sessions first, so in the
        # server's session the workers split one session's share with the server's pages and health check
        # (classroom bench: health median 236 ms, 0.45 cores for the workers); in sessions of their own, the pages
        # keep their share (6 ms). Their end does not depend on it: a worker exits when the server's socket closes.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mtl_core.jobs.pool.worker", str(child.fileno()), str(s.slice_seconds),
             str(s.threads), str(s.nice)], pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL,
            start_new_session=True)
        child.close()
        self.conn = Connection(parent.detach())
        self._send_lock = threading.Lock()
        self.jobs: dict[int, PoolJob] = {}
        self.ready = False
        self.alive = True
        self.retiring = False
        self.fresh_mb = 0.0
        self.rss_mb = 0.0
        self.reader = threading.Thread(target=self._read, name=f"mtl-pool-reader-{index}", daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    def send(self, *message: Any) -> bool:
        """Send a command; False when the worker is gone (its reader then fails its jobs)."""
        try:
            with self._send_lock:
                self.conn.send(message)
            return True
        except (OSError, EOFError, ValueError):
            return False

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # noqa: BLE001 - an unreadable message (e.g. a result that cannot unpickle)
                _log.exception("pool worker %s sent a message that could not be read", self.pid)
                continue
            try:
                self.pool._on_message(self, message)
            except Exception:  # noqa: BLE001 - a proxy's failure must not stop the worker's other jobs
                _log.exception("pool: handling %r from worker %s failed", message[:1], self.pid)
        self.pool._on_exit(self)


class Pool:
    """Worker processes, a FIFO queue of waiting jobs and per-session limits; thread-safe."""

    def __init__(self, settings: PoolSettings | None = None) -> None:
        self.settings = settings or PoolSettings.from_env()
        self._lock = threading.RLock()
        self._workers: list[Worker] = []
        self._queue: deque[PoolJob] = deque()
        self._next_id = 0
        self._durations: deque[float] = deque(maxlen=20)
        self._closed = False
        #: Worker process ids that were replaced after dying (for tests and the load report).
        self.replaced: list[int] = []

    # ---- workers --------------------------------------------------------------------------------------
    def _ensure_workers(self) -> None:
        alive = [w for w in self._workers if w.alive and not w.retiring]
        for _ in range(self.settings.workers - len(alive)):
            self._workers.append(Worker(self, len(self._workers)))

    def start(self) -> Pool:
        """Start the worker processes now (they otherwise start with the first job); returns self."""
        with self._lock:
            self._ensure_workers()
        return self

    def workers(self) -> list[Worker]:
        """The live workers."""
        with self._lock:
            return [w for w in self._workers if w.alive]

    def wait_ready(self, timeout: float = 120) -> bool:
        """Wait until every worker has loaded TensorFlow (for tests and benchmarks)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            live = self.workers()
            if len(live) >= self.settings.workers and all(w.ready for w in live):
                return True
            time.sleep(0.05)
        return False

    # ---- jobs ---------------------------------------------------------------------------------------
    def submit(self, job: PoolJob) -> None:
        """Register ``job`` and run it as soon as a slot is free; PoolLimitError over the session's limit."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            self._check_limit(job)
            self._next_id += 1
            job.job_id = self._next_id
            self._queue.append(job)
            self._ensure_workers()
            self._dispatch()

    def _check_limit(self, job: PoolJob) -> None:
        if job.session is None:
            return
        group = job.spec.group
        limit = self.settings.session_trainings if group == TRAINING else self.settings.session_experiments
        active = [j for j in self._active() if j.session == job.session and j.spec.group == group]
        if len(active) >= limit:
            what = "training" if group == TRAINING else "comparison, study or tuning run"
            variable = "MTL_SESSION_TRAININGS" if group == TRAINING else "MTL_SESSION_EXPERIMENTS"
            raise PoolLimitError(f"This session already has {len(active)} {what}{'s' if len(active) > 1 else ''} "
                                 f"running (the server allows {limit} at a time, {variable}); stop it or wait "
                                 "for it to end.", param=variable, value=limit)

    def _active(self) -> list[PoolJob]:
        hosted = [j for w in self._workers for j in w.jobs.values()]
        return [j for j in [*self._queue, *hosted] if not j.finished and not j.stop_requested]

    def _dispatch(self) -> None:
        while self._queue:
            free = [w for w in self._workers if w.alive and not w.retiring
                    and len(w.jobs) < self.settings.jobs_per_worker]
            if not free:
                return
            worker = min(free, key=lambda w: (len(w.jobs), not w.ready, w.index))
            job = self._queue.popleft()
            worker.jobs[job.job_id] = job
            job._placed(worker)
            if not worker.send("submit", job.job_id, job.spec):
                worker.jobs.pop(job.job_id, None)
                job.worker = None
                self._queue.appendleft(job)
                return
            job._submitted()

    def stop(self, job: PoolJob) -> None:
        """Take a queued job out of the queue, or tell its worker to stop it."""
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)
                return
            worker = job.worker
        if worker is not None:
            worker.send("stop", job.job_id)

    def call(self, job: PoolJob, name: str, *args: Any) -> None:
        """Forward a control call (pause, step, loss weights...) to the job's worker, if it has one yet."""
        worker = job.worker
        if worker is not None:
            worker.send("call", job.job_id, name, args)

    def queue_position(self, job: PoolJob) -> tuple[int, float] | None:
        """``(place in the queue from 1, about how many seconds until it starts)``, or None once placed."""
        with self._lock:
            if job not in self._queue:
                return None
            place = list(self._queue).index(job)
            slots = max(self.settings.workers * self.settings.jobs_per_worker, 1)
            typical = sum(self._durations) / len(self._durations) if self._durations else FIRST_GUESS_SECONDS
            left = sorted(max(j.seconds_left(typical), 0.0) for w in self._workers if w.alive
                          for j in w.jobs.values())
            if place < len(left):
                eta = left[place]
            else:
                # Past the running jobs' ends, each round of ``slots`` jobs takes about a typical job's time.
                eta = (left[-1] if left else 0.0) + ((place - len(left)) // slots + 1) * typical
            return place + 1, float(eta)

    def queued(self) -> int:
        """How many jobs wait for a slot."""
        with self._lock:
            return len(self._queue)

    def running(self) -> int:
        """How many jobs the workers host."""
        with self._lock:
            return sum(len(w.jobs) for w in self._workers if w.alive)

    def stop_session(self, session: str) -> int:
        """Stop every job of a browser session that ended; the number stopped."""
        with self._lock:
            jobs = [j for j in self._active() if j.session == session]
        for job in jobs:
            job.stop()
        return len(jobs)

    # ---- from the reader threads ---------------------------------------------------------------------
    def _on_message(self, worker: Worker, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready, worker.fresh_mb = True, float(message[2])
            return
        if kind == "broken":
            _log.error("pool worker %s: %s", worker.pid, message[1])
            return
        if kind == "load":
            worker.rss_mb = float(message[2])
            self._maybe_recycle(worker)
            return
        job = worker.jobs.get(message[1])
        if job is None:
            return
        job._on_message(kind, message[2:])
        if kind in ("done", "failed"):
            with self._lock:
                worker.jobs.pop(job.job_id, None)
                if kind == "done" and job.elapsed > 0:
                    self._durations.append(job.elapsed)
                self._dispatch()

    def _maybe_recycle(self, worker: Worker) -> None:
        with self._lock:
            if worker.jobs or self._closed or worker.retiring:
                return
            if worker.rss_mb - worker.fresh_mb < self.settings.recycle_mb:
                return
            # Replace it first, so the pool keeps its size, then let the old one go with its memory.
            worker.retiring = True
            self._ensure_workers()
            worker.send("exit")
            self._dispatch()

    def _on_exit(self, worker: Worker) -> None:
        code = worker.process.wait()
        with self._lock:
            worker.alive = False
            orphans = list(worker.jobs.values())
            worker.jobs.clear()
            if not worker.retiring and not self._closed:
                self.replaced.append(worker.pid)
            if not self._closed:
                self._ensure_workers()
                self._dispatch()
        if orphans:
            _log.warning("pool worker %s ended (%s) with %d job(s)", worker.pid, signal_text(code), len(orphans))
        for job in orphans:
            job._on_message("failed", (f"{job.spec.label} failed: the worker process running it ended "
                                       f"({signal_text(code)}). Other runs were not affected; try again, "
                                       "perhaps with a smaller model or fewer rows.",))

    def close(self) -> None:
        """Stop every job and end the worker processes."""
        with self._lock:
            self._closed = True
            jobs = list(self._queue) + [j for w in self._workers for j in w.jobs.values()]
            self._queue.clear()
            workers = list(self._workers)
        for job in jobs:
            job.stop()
        for worker in workers:
            worker.send("exit")
        for worker in workers:
            try:
                worker.process.wait(5)
            except subprocess.TimeoutExpired:
                worker.process.kill()


_POOL: dict[str, Pool] = {}
_POOL_LOCK = threading.Lock()


def get_pool() -> Pool:
    """The server process's pool (made on first use, with the environment's settings)."""
    with _POOL_LOCK:
        pool = _POOL.get("pool")
        if pool is None:
            pool = _POOL["pool"] = Pool()
        return pool


def current_pool() -> Pool | None:
    """The server process's pool if one was made, else None (asking never starts workers)."""
    with _POOL_LOCK:
        return _POOL.get("pool")


def pool_enabled() -> bool:
    """True when jobs run in worker processes (``MTL_WORKERS`` is not 0)."""
    return PoolSettings.from_env().workers > 0
