"""A worker process: hosts a few jobs at once, in turns, and streams their events, progress and weights back.

Started by ``mtl_core.jobs.pool.pool`` as ``python -m mtl_core.jobs.pool.worker FD`` (a fresh interpreter: forking a
process that has TensorFlow loaded is unsafe). It imports TensorFlow once, says it is ready, then serves commands
on the socket ``FD``: submit, stop, call (pause, step, loss weights...), exit. Each job runs in a thread of its
own; ``Turns`` makes them take the CPU one slice at a time, round robin. A poller sends every job's new events,
progress and state about ten times a second and its weights about twice a second, then its result.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from mtl_core.jobs.memory import give_back, rss_mb
from mtl_core.jobs.pool.spec import TRAINING, WorkSpec
from mtl_core.jobs.pool.turns import Turns
from mtl_core.models.forward import named_weights

POLL_SECONDS = 0.1
WEIGHTS_SECONDS = 0.5
#: Weights bigger than this are shipped less often (a fraction of a second of copying per second at most).
WEIGHTS_BYTES_PER_SECOND = 40e6

_log = logging.getLogger(__name__)


class Hosted:
    """One job in this worker and what was already sent of it."""

    def __init__(self, job_id: int, spec: WorkSpec) -> None:
        self.job_id = job_id
        self.spec = spec
        self.job: Any = None
        self.sent_events = 0
        self.sent_progress: tuple | None = None
        self.sent_state: dict | None = None
        # Control calls that came while the job was being built, applied in order once it exists; ``calls``
        # counts those applied, and goes out with the state so the proxy can tell a stale state from a fresh one.
        self.pending: list[tuple[str, tuple]] = []
        self.calls = 0
        self.call_lock = threading.Lock()
        self.weights_epoch = -1
        self.weights_at = 0.0
        self.weights_every = WEIGHTS_SECONDS
        self.dropped = False


class Host:
    """The jobs of this process; ``send`` is shared by the job threads and the poller (one lock)."""

    def __init__(self, conn: Connection, slice_seconds: float) -> None:
        self.conn = conn
        self.slice_seconds = slice_seconds
        self.turns = Turns()
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self.jobs: dict[int, Hosted] = {}

    def send(self, *message: Any) -> None:
        """Send one message to the pool; a closed pool (server gone) ends the process."""
        try:
            with self._send_lock:
                self.conn.send(message)
        except (OSError, EOFError):
            os._exit(0)

    # ---- commands ------------------------------------------------------------------------------------
    def submit(self, job_id: int, spec: WorkSpec) -> None:
        """Build the job in a thread of its own (a big model takes a while) and start it."""
        hosted = Hosted(job_id, spec)
        with self._lock:
            self.jobs[job_id] = hosted
        threading.Thread(target=self._build, args=(hosted,), name=f"mtl-build-{job_id}", daemon=True).start()

    def _build(self, hosted: Hosted) -> None:
        spec = hosted.spec
        try:
            if spec.kind == TRAINING:
                from mtl_core.jobs.training import TrainingJob

                job = TrainingJob(*spec.args, **spec.kwargs)
            else:
                from mtl_core.jobs.job import Job

                job = Job(spec.load()(*spec.args, **spec.kwargs))
        except Exception as exc:  # noqa: BLE001 - bad input or a failed build ends this job only
            self.send("failed", hosted.job_id, f"{spec.label} failed: {exc}")
            self._forget(hosted.job_id)
            return
        job.work.turns = lambda: self.turns.turn(str(hosted.job_id))
        job.work.slice_seconds = self.slice_seconds
        info: dict[str, Any] = {"pid": os.getpid()}
        if spec.kind == TRAINING:
            info["uses_user_weights"] = job.uses_user_weights
            info["learns_weights"] = job.learns_weights
        self.send("started", hosted.job_id, info)
        if hosted.dropped:
            job.stop()
        job.start()
        with hosted.call_lock:
            hosted.job = job  # only now: the poller reads a job not yet started as finished
            for name, args in hosted.pending:
                self._apply(hosted, name, args)
            hosted.pending = []
        if hosted.dropped:
            job.stop()

    def stop(self, job_id: int) -> None:
        """Stop a job at its next epoch (one still being built stops as soon as it starts)."""
        with self._lock:
            hosted = self.jobs.get(job_id)
        if hosted is None:
            return
        hosted.dropped = True
        if hosted.job is not None:
            hosted.job.stop()

    def call(self, job_id: int, name: str, args: tuple) -> None:
        """Call one of a training's controls (pause, resume, step, set_speed, set_continuous, set_loss_weights)."""
        with self._lock:
            hosted = self.jobs.get(job_id)
        if hosted is None:
            return
        with hosted.call_lock:
            if hosted.job is None:  # still being built: applied, in the order they came, once it is
                hosted.pending.append((name, args))
            else:
                self._apply(hosted, name, args)

    @staticmethod
    def _apply(hosted: Hosted, name: str, args: tuple) -> None:
        try:
            getattr(hosted.job, name)(*args)
        except Exception:  # noqa: BLE001 - checked by the proxy first; a late failure must not end the worker
            _log.exception("job %s: %s%r failed", hosted.job_id, name, args)
        hosted.calls += 1

    def _forget(self, job_id: int) -> None:
        with self._lock:
            self.jobs.pop(job_id, None)

    # ---- the poller ---------------------------------------------------------------------------------
    def poll_forever(self) -> None:
        """Send every job's news about ten times a second; results once they end."""
        while True:
            with self._lock:
                hosted = [h for h in self.jobs.values() if h.job is not None]
            for h in hosted:
                try:
                    self._poll(h)
                except Exception:  # noqa: BLE001 - one job's report failing must not stop the others'
                    traceback.print_exc()
                    self.send("failed", h.job_id, f"{h.spec.label} failed: its report could not be sent")
                    self._forget(h.job_id)
            time.sleep(POLL_SECONDS)

    def _poll(self, h: Hosted) -> None:
        job = h.job
        finished = job.finished
        events = job.events()
        if len(events) > h.sent_events:
            self.send("events", h.job_id, events[h.sent_events:])
            h.sent_events = len(events)
        progress = job.progress()
        if progress != h.sent_progress:
            self.send("progress", h.job_id, progress)
            h.sent_progress = progress
        if h.spec.kind == TRAINING:
            with h.call_lock:
                state = {name: getattr(job, name, None) for name in ("paused", "epoch", "continuous", "speed")}
                state["calls"] = h.calls
            if state != h.sent_state:
                self.send("state", h.job_id, state)
                h.sent_state = state
            now = time.monotonic()
            epoch = len(events)
            if not finished and epoch != h.weights_epoch and now - h.weights_at >= h.weights_every:
                weights = named_weights(job.work.trainer.model)
                size = sum(w.nbytes for values in weights.values() for w in values)
                h.weights_every = max(WEIGHTS_SECONDS, size / WEIGHTS_BYTES_PER_SECOND)
                self.send("weights", h.job_id, epoch, weights)
                h.weights_epoch, h.weights_at = epoch, now
        if finished:
            self._finished(h)

    def _finished(self, h: Hosted) -> None:
        job = h.job
        if job.error:
            self.send("failed", h.job_id, job.error)
        elif h.spec.kind == TRAINING:
            self.send("done", h.job_id, training_payload(job))
        else:
            self.send("done", h.job_id, {"result": job.result, "elapsed": job.elapsed})
        self._forget(h.job_id)
        h.job = None
        del job
        give_back()  # the job's model and data: a worker keeps serving other jobs
        self.send("load", len(self.jobs), rss_mb())


def training_payload(job: Any) -> dict:
    """A finished training's result as plain data: the history, figures, final weights, the ``.keras`` bytes and
    the TF.js zip (or why there is none): the files a page offers, made here, where TensorFlow already is."""
    from mtl_core.errors import MTLError
    from mtl_core.io.export_tfjs import export_tfjs_zip
    from mtl_core.io.saving import model_bytes

    result = job.result
    try:
        tfjs: tuple[bytes | None, str | None] = (export_tfjs_zip(result.model, job.info), None)
    except MTLError as exc:
        tfjs = (None, str(exc))
    return {"history": result.history, "stopped_reason": result.stopped_reason, "message": result.message,
            "test_metrics": result.test_metrics, "seconds": result.seconds, "elapsed": job.elapsed,
            "weights": named_weights(result.model), "keras": model_bytes(result.model, job.info), "tfjs": tfjs,
            "weights_epoch": getattr(result, "weights_epoch", len(result.history))}


def _configure(threads: int, nice: int = 0) -> None:
    if nice > 0:
        os.nice(nice)
        _nice_session(nice)
    if threads > 0:
        # Read by TensorFlow when it starts: one worker per core, each on its own share of the cores.
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    import mtl_core._tf  # noqa: F401 - TensorFlow once, at start, so no job pays for it


def _nice_session(nice: int) -> None:
    """Lower this session's autogroup priority too (the worker leads a session of its own, ``pool.Worker``):
    under Linux's autogroup scheduling a process's nice value only ranks it within its session."""
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:  # no autogroups (another kernel or OS): the plain nice value is all there is
        pass


def main(fd: int, slice_seconds: float, threads: int, nice: int = 0) -> None:
    """Serve the pool on socket ``fd`` until it says exit or goes away."""
    conn = Connection(fd)
    try:
        _configure(threads, nice)
    except Exception as exc:  # noqa: BLE001 - a worker that cannot load TensorFlow says why, then ends
        conn.send(("broken", f"the worker could not load TensorFlow: {exc}"))
        return
    host = Host(conn, slice_seconds)
    host.send("ready", os.getpid(), rss_mb())
    threading.Thread(target=host.poll_forever, name="mtl-poller", daemon=True).start()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the server is gone: so is every reason to train
        command, *rest = message
        if command == "submit":
            host.submit(*rest)
        elif command == "stop":
            host.stop(*rest)
        elif command == "call":
            host.call(*rest)
        elif command == "exit":
            os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
