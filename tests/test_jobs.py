"""The one job abstraction (``mtl_core.jobs``): a Work run in a thread, with start, stop, progress, events, error,
result and elapsed; training, comparison and study are kinds of work with one stop mechanism."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from mtl_core.jobs.job import Job
from mtl_core.jobs.work import ModelTrained, Work

ROOT = Path(__file__).resolve().parents[1]


class Steps(Work):
    """A TensorFlow-free work: ``steps`` steps, each reported and emitted, waiting on a gate between steps."""

    label = "Steps"

    def __init__(self, steps: int, fail_at: int | None = None) -> None:
        super().__init__()
        self.steps, self.fail_at = steps, fail_at
        self.gate = threading.Event()

    def run(self) -> int:
        done = 0
        for i in range(self.steps):
            if self.stop_requested:
                return done
            self.gate.wait(10)
            if i == self.fail_at:
                raise ValueError("step went wrong")
            done += 1
            self.emit(i)
            self.report(f"step {i}", done / self.steps)
        self.finish()
        return done


def test_a_job_runs_its_work_in_a_thread_and_keeps_progress_events_result_and_time():
    work = Steps(3)
    job = Job(work)
    assert not job.running and not job.finished and job.elapsed == 0.0 and job.progress() == ("starting", 0.0)
    job.start()
    assert job.running and job.result is None
    work.gate.set()
    assert job.join(10) and job.finished and not job.running
    assert job.result == 3 and job.error is None
    assert job.events() == [0, 1, 2] and job.progress() == ("done", 1.0)
    elapsed = job.elapsed
    time.sleep(0.05)
    assert elapsed > 0 and job.elapsed == elapsed  # frozen once finished


def test_a_failing_work_becomes_the_jobs_error_message_with_its_label():
    work = Steps(3, fail_at=1)
    work.gate.set()
    job = Job(work).start()
    assert job.join(10)
    assert job.result is None and job.error == "Steps failed: step went wrong"
    assert job.events() == [0]  # what happened before the failure stays


def test_stop_reaches_the_work_and_progress_never_goes_back():
    work = Steps(5)
    job = Job(work).start()
    job.stop()
    assert job.stop_requested
    work.gate.set()
    assert job.join(10) and job.result in (0, 1)  # stopped before the first or the second step
    before = job.progress()[1]
    assert before == job.result / 5
    work.report("late", 0.0)
    assert job.progress() == ("late", before)  # the stage changes, the fraction never goes back


def test_the_job_modules_load_without_tensorflow():
    code = ("import sys; import mtl_core.jobs.job, mtl_core.jobs.work, mtl_core.experiments.compare, "
            "mtl_core.experiments.relatedness_study; print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_a_training_job_exposes_what_pages_need_without_its_trainer(hetero_config, iris_frame):
    from mtl_core.jobs.training import TrainingJob

    hetero_config.epochs, hetero_config.early_stopping = 30, False  # all 30 epochs run
    job = TrainingJob(hetero_config, iris_frame, chunk_seconds=0.01)
    assert job.config.task_names == ["species", "petal_width"] and job.info.task_names == job.config.task_names
    assert job.uses_user_weights is True and job.learns_weights is False  # fixed weighting
    assert len(job.prepared.rows["test"]) > 0
    job.start()
    deadline = time.monotonic() + 60
    while not job.events() and time.monotonic() < deadline:
        time.sleep(0.01)
    job.set_loss_weights({"petal_width": 0.5})
    assert job.join(60) and job.error is None
    assert job.result.stopped_reason == "completed" and len(job.events()) == 30
    assert job.events()[-1].weights["petal_width"] == 0.5
    assert job.progress() == ("done", 1.0)
    assert job.predictor.predict_one({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4})


def test_uncertainty_weighting_learns_its_weights(hetero_config, iris_frame):
    from mtl_core.jobs.training import TrainingJob

    hetero_config.weighting = "uncertainty"
    job = TrainingJob(hetero_config, iris_frame)
    assert job.uses_user_weights is False and job.learns_weights is True


def test_comparison_and_study_share_one_stop_mechanism(hetero_config, iris_frame):
    from mtl_core.experiments.compare import ComparisonRun
    from mtl_core.experiments.relatedness_study import RelatednessStudy, study_config

    hetero_config.epochs, hetero_config.early_stopping = 100_000, False  # only a stop ends these
    works = [ComparisonRun(hetero_config, iris_frame, seeds=1),
             RelatednessStudy([1.0], [0], study_config(epochs=100_000), n=200, models=["single", "hard"])]
    for work in works:
        job = Job(work).start()
        deadline = time.monotonic() + 60
        while job.progress()[1] == 0.0 and time.monotonic() < deadline:  # the first model is training
            time.sleep(0.02)
        job.stop()
        assert job.join(60) and job.error is None, job.error
        assert job.result.stopped is True
        # The model in progress stopped and nothing else started.
        assert [e.stopped_reason for e in job.events()] == ["stopped"]
        assert isinstance(job.events()[0], ModelTrained)


def test_should_stop_is_polled_after_every_epoch():
    from mtl_core.experiments.relatedness_study import RelatednessStudy, study_config

    calls = []
    # Without early stopping: the study's default would end this tiny model (as "completed") inside the very
    # chunk after which the stop is polled, and this test is about the stop.
    config = study_config(epochs=100_000)
    config.early_stopping = False
    study = RelatednessStudy([1.0], [0], config, n=200, models=["hard", "mmoe"],
                             should_stop=lambda: calls.append(1) or len(calls) >= 3)
    result = study.run()
    # Stopped at the end of the chunk of epochs in progress; the MMoE model never started.
    assert result.stopped and len(calls) == 3 and [e.stopped_reason for e in study.events()] == ["stopped"]
