"""The worker pool: turns in round robin, a short job behind long ones, the queue, limits per session, stop in
every state, a SIGKILLed worker failing only its own job, live weights, and stopping a closed session's jobs.

One pool of two worker processes serves the module (each worker loads TensorFlow once); tests that need a
smaller pool change its settings for their duration.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import signal
import threading
import time

import numpy as np
import pytest

from mtl_core.jobs.pool.pool import Pool
from mtl_core.jobs.pool.proxy import PoolTrainingJob
from mtl_core.jobs.pool.settings import PoolSettings
from mtl_core.jobs.pool.turns import Turns
from mtl_core.jobs.sessions import SessionJobs


@pytest.fixture(scope="module")
def pool():
    pool = Pool(PoolSettings(workers=2, jobs_per_worker=3, slice_seconds=0.1, nice=5)).start()
    assert pool.wait_ready(180), "the workers did not start"
    yield pool
    pool.close()


@pytest.fixture()
def narrow(pool):
    """The pool with one job per worker (so two long jobs fill it) for the test's duration."""
    assert until(lambda: pool.running() == 0 and pool.queued() == 0), "jobs of an earlier test still run"
    wide = pool.settings
    pool.settings = dataclasses.replace(wide, jobs_per_worker=1)
    yield pool
    pool.settings = wide


def config(hetero_config, epochs: int):
    cfg = copy.deepcopy(hetero_config)
    cfg.epochs, cfg.early_stopping = epochs, False
    return cfg


def until(condition, timeout: float = 60) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_turns_go_round_robin():
    turns = Turns()
    order: list[str] = []

    def worker(name: str) -> None:
        for _ in range(3):
            with turns.turn(name):
                order.append(name)

    threads = []
    with turns.turn("main"):  # hold the first turn until all three wait in line, in order
        for name in "abc":
            threads.append(threading.Thread(target=worker, args=(name,)))
            threads[-1].start()
            assert until(lambda: turns.waiting == len(threads), 10)
    for t in threads:
        t.join(10)
    assert order == list("abcabcabc")


def test_a_short_job_behind_long_ones_finishes_first(pool, hetero_config, iris_frame):
    longs = [PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=pool).start() for _ in range(2)]
    # The long jobs trace their first epoch outside the turns (seconds on a busy machine): only once they
    # train is the short job really behind them.
    assert until(lambda: all(j.events() for j in longs), 120), "the long jobs did not start training"
    before = len(longs[0].events())
    short = PoolTrainingJob(config(hetero_config, 30), iris_frame, pool=pool).start()
    try:
        assert short.worker is longs[0].worker, "the short job shares a worker with a long one"
        assert short.join(300), "the short job did not finish"
        assert all(j.running for j in longs), "a long job ended before the short one"
        assert short.result.stopped_reason == "completed" and short.result.epochs_run == 30
        # The long job on the same worker trained in between: they took turns.
        assert len(longs[0].events()) - before > 30
    finally:
        for job in longs:
            job.stop()
    assert all(j.join(5) for j in longs)
    assert all(j.result.stopped_reason == "stopped" for j in longs)


def test_a_job_waits_in_the_queue_until_a_slot_frees(narrow, hetero_config, iris_frame):
    longs = [PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=narrow).start() for _ in range(2)]
    waiting = PoolTrainingJob(config(hetero_config, 5), iris_frame, pool=narrow).start()
    try:
        assert waiting.queued and waiting.running
        place, eta = waiting.queue_position()
        assert place == 1 and eta > 0
        assert waiting.progress()[0] == "waiting for a free worker"
        assert until(lambda: len(longs[0].events()) > 0)
        longs[0].stop()
        assert waiting.join(300), "the queued job did not run once a slot was free"
        assert waiting.result.stopped_reason == "completed"
        assert longs[1].running
    finally:
        for job in longs:
            job.stop()


def test_one_training_per_session_at_a_time(pool, hetero_config, iris_frame):
    first = PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=pool, session="s1").start()
    second = PoolTrainingJob(config(hetero_config, 5), iris_frame, pool=pool, session="s1").start()
    other = PoolTrainingJob(config(hetero_config, 5), iris_frame, pool=pool, session="s2").start()
    assert second.join(1) and second.result is None
    assert "MTL_SESSION_TRAININGS" in second.error and "1 training" in second.error
    first.stop()
    again = PoolTrainingJob(config(hetero_config, 5), iris_frame, pool=pool, session="s1").start()
    assert again.error is None
    assert other.join(120) and other.error is None
    assert again.join(120) and again.error is None


def test_stop_takes_effect_at_once_while_compiling_and_within_two_seconds_while_training(
        pool, hetero_config, iris_frame):
    compiling = PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=pool).start()
    began = time.perf_counter()
    compiling.stop()
    assert compiling.join(0.5), "a job stopped before its first epoch did not end at once"
    assert time.perf_counter() - began < 0.5
    assert compiling.result.stopped_reason == "stopped" and compiling.result.epochs_run == 0

    training = PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=pool).start()
    assert until(lambda: len(training.events()) > 5)
    began = time.perf_counter()
    training.stop()
    assert training.join(2.5)
    assert time.perf_counter() - began < 2.0
    assert training.result.stopped_reason == "stopped"


def test_a_killed_worker_fails_only_its_job_and_is_replaced(narrow, hetero_config, iris_frame):
    victim = PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=narrow).start()
    bystander = PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=narrow).start()
    try:
        assert victim.worker is not bystander.worker
        assert until(lambda: len(victim.events()) > 0 and len(bystander.events()) > 0)
        pid = victim.worker.pid
        os.kill(pid, signal.SIGKILL)
        assert victim.join(10)
        assert victim.error is not None and "SIGKILL" in victim.error and "Other runs" in victim.error
        seen = len(bystander.events())
        assert until(lambda: len(bystander.events()) > seen + 5), "the other worker's job stopped training"
        assert bystander.running and bystander.error is None
        assert until(lambda: len(narrow.workers()) == 2 and pid not in {w.pid for w in narrow.workers()}, 30)
        assert pid in narrow.replaced
    finally:
        bystander.stop()
    after = PoolTrainingJob(config(hetero_config, 5), iris_frame, pool=narrow).start()
    assert after.join(180) and after.error is None, "the replaced worker does not train"


def test_weights_come_back_live_and_the_result_holds_the_final_model(pool, hetero_config, iris_frame):
    from mtl_core.training.trainer import evaluate

    job = PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=pool).start()
    row = dict(zip(job.info.schema.columns, [5.0, 3.0, 4.0]))
    try:
        assert until(lambda: job._weights is not None)
        first = job.predictor.predict_one(row)["petal_width"].value
        shipped = job._weights[0]
        assert until(lambda: job._weights[0] > shipped + 10)
        assert job.predictor.predict_one(row)["petal_width"].value != first
    finally:
        job.stop()
    assert job.join(3)
    assert job.result.stopped_reason == "stopped" and job.result.keras_bytes
    done = PoolTrainingJob(config(hetero_config, 20), iris_frame, pool=pool).start()
    assert done.join(120)
    got = evaluate(done.result.model, done.result.prepared, "test")
    for task, metrics in done.result.test_metrics.items():
        assert np.allclose(list(got[task].values()), list(metrics.values()), atol=1e-5)


def test_a_state_sent_before_the_worker_applied_the_latest_control_is_ignored(hetero_config, iris_frame):
    job = PoolTrainingJob(config(hetero_config, 5), iris_frame)  # not started: no worker, calls are kept
    job.step(1)
    job.resume()  # the proxy has sent two controls; the worker has applied one of them so far
    stale = {"paused": True, "epoch": 1, "continuous": False, "speed": None, "calls": 1}
    job._on_message("state", (stale,))
    assert not job.paused
    job._on_message("state", ({**stale, "paused": False, "continuous": True, "calls": 2},))
    assert not job.paused and job.continuous


def test_controls_sent_while_the_job_is_built_are_applied_in_order(pool, hetero_config, iris_frame):
    job = PoolTrainingJob(config(hetero_config, 100_000), iris_frame, pool=pool).start()
    try:
        for _ in range(3):  # all before the worker has built the model: they wait there, in this order
            job.resume()
            job.pause()
        assert until(lambda: job._calls_seen == 6, 120), job._calls_seen
        held = job.epoch
        time.sleep(2.0)  # the last call was a pause: nothing trains (the other order would train on)
        assert job.paused and job.epoch == held
    finally:
        job.stop()
    assert job.join(10)


class FakeJob:
    def __init__(self) -> None:
        self.running, self.stopped, self.released = True, False, False

    def stop(self) -> None:
        self.stopped, self.running = True, False

    def release(self) -> None:
        self.released = True


def test_the_jobs_of_an_ended_session_are_stopped_after_the_grace_period():
    active = {"here", "gone"}
    watcher = SessionJobs(lambda s: s in active, every=3600, grace=0.05)
    mine, theirs = FakeJob(), FakeJob()
    watcher.add("here", mine)
    watcher.add("gone", theirs)
    active.discard("gone")
    watcher.check()
    assert not theirs.stopped  # a reload reconnects within the grace period
    time.sleep(0.06)
    watcher.check()
    assert theirs.stopped and theirs.released and not mine.stopped
    assert watcher.ended == ["gone"] and watcher.jobs("here") == [mine]


def test_an_ended_session_is_freed_even_when_its_runs_had_finished():
    active = {"done", "browsing", "training"}
    closed: list[str] = []
    watcher = SessionJobs(lambda s: s in active, every=3600, grace=0.05, on_ended=closed.append,
                          close_after=0.15)
    finished, running = FakeJob(), FakeJob()
    watcher.add("done", finished)
    watcher.add("training", running)
    watcher.watch("browsing")  # opened pages, never trained
    finished.running = False
    watcher.check()
    assert sorted(watcher.sessions()) == ["browsing", "done", "training"]  # kept after its run finished
    active.clear()
    watcher.check()
    time.sleep(0.06)
    watcher.check()
    assert running.stopped and not closed  # jobs stop after the grace; the state stays for a reconnect
    time.sleep(0.1)
    watcher.check()
    assert sorted(closed) == ["browsing", "done", "training"] and watcher.sessions() == []
    watcher.check()  # trims the heap once, and closes nothing twice
    assert sorted(watcher.closed) == ["browsing", "done", "training"]


def test_freed_heap_is_handed_back_only_once_no_job_is_running(monkeypatch):
    trims: list[int] = []
    monkeypatch.setattr("mtl_core.jobs.sessions.give_back", lambda: trims.append(1))
    active = {"gone", "training"}
    watcher = SessionJobs(lambda s: s in active, every=3600, grace=0.0, on_ended=lambda s: None, close_after=0.0)
    running = FakeJob()
    watcher.watch("gone")
    watcher.add("training", running)
    active.discard("gone")
    watcher.check()
    assert watcher.closed == ["gone"]
    watcher.check()
    assert trims == []  # a full collection now would hold the interpreter from a class still training
    running.running = False
    watcher.check()
    watcher.check()
    assert trims == [1]


def _nice(pid: int) -> int:
    # Field 19 of /proc/PID/stat, counted after the command name (which may hold spaces) ends with ")".
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16])


def test_workers_run_at_the_cpu_priority_asked_for(pool, monkeypatch):
    monkeypatch.delenv("MTL_WORKER_NICE", raising=False)
    assert PoolSettings.from_env().nice == 0  # the default: the same priority as the server
    monkeypatch.setenv("MTL_WORKER_NICE", "7")
    assert PoolSettings.from_env().nice == 7
    for worker in pool.workers():
        assert _nice(worker.pid) == _nice(os.getpid()) + 5


def test_each_worker_leads_a_session_whose_scheduling_group_has_the_priority_asked_for(pool):
    # Under Linux's autogroup scheduling the CPU is shared between sessions first: in the server's session the
    # workers would split one share with the pages, and a plain nice value would rank them only inside it.
    for worker in pool.workers():
        assert os.getsid(worker.pid) == worker.pid != os.getsid(0)
        group = f"/proc/{worker.pid}/autogroup"
        if os.path.exists(group):
            assert open(group).read().split()[-1] == "5"
