"""Jobs recorded in the run store when they end (mtl_core.jobs.recorder): statuses, contents, store failures."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from mtl_core.jobs.job import Job
from mtl_core.jobs.recorder import RunRecorder
from mtl_core.store import open_store


@pytest.fixture()
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'runs.db'}") as runs:
        yield runs


def test_a_stopped_training_is_recorded_with_its_weight_changes_and_model(store, hetero_config, iris_frame):
    from mtl_core.io.saving import INFO_ENTRY
    from mtl_core.jobs.training import TrainingJob

    hetero_config.epochs, hetero_config.early_stopping = 100_000, False  # only the stop ends it
    recorder = RunRecorder(store, notebook="nb1", name="long run")
    job = TrainingJob(hetero_config, iris_frame, on_finish=recorder).start()
    deadline = time.monotonic() + 60
    while len(job.events()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.set_loss_weights({"species": 1.0, "petal_width": 2.5})
    seen = len(job.events())
    while len(job.events()) < seen + 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.stop()
    assert job.join(60)
    run = store.get_run(recorder.run_id)
    assert (run.kind, run.status, run.name, run.notebook) == ("train", "stopped", "long run", "nb1")
    assert run.epochs_run == len(job.events()) == len(run.history)
    assert run.started_at < run.ended_at
    (change,) = run.weight_changes
    assert change["weights"] == {"species": 1.0, "petal_width": 2.5} and change["epoch"] > seen - 1
    assert run.summary["primary"]["species"]["metric"] == "accuracy"
    assert run.summary["primary"]["petal_width"]["metric"] == "rmse"
    with zipfile.ZipFile(io.BytesIO(store.model_bytes(run.id))) as archive:  # a .keras file with its description
        assert INFO_ENTRY in archive.namelist()


def test_a_comparison_is_recorded(store, hetero_config, iris_frame):
    from mtl_core.experiments.compare import ComparisonRun

    hetero_config.epochs = 5
    recorder = RunRecorder(store, notebook="nb1")
    job = Job(ComparisonRun(hetero_config, iris_frame, seeds=1), on_finish=recorder).start()
    assert job.join(120) and job.error is None
    run = store.get_run(recorder.run_id)
    assert (run.kind, run.status, run.dataset) == ("compare", "completed", "iris")
    assert run.tasks == ["species", "petal_width"]
    assert set(run.summary["tasks"]) == {"species", "petal_width"} and "delta_m" in run.summary
    assert len(run.history) == 5 and run.has_model


def test_a_stopped_comparison_is_recorded_as_stopped(store, hetero_config, iris_frame):
    from mtl_core.experiments.compare import ComparisonRun

    hetero_config.epochs, hetero_config.early_stopping = 100_000, False  # only the stop ends it
    recorder = RunRecorder(store)
    job = Job(ComparisonRun(hetero_config, iris_frame, seeds=1), on_finish=recorder).start()
    time.sleep(1.0)
    job.stop()
    assert job.join(60)
    assert store.get_run(recorder.run_id).status == "stopped"


def test_a_relatedness_study_is_recorded(store):
    from mtl_core.experiments.relatedness_study import RelatednessStudy, study_config

    recorder = RunRecorder(store, notebook="nb2")
    job = Job(RelatednessStudy([0.5], [0], study_config(3), n=200, models=["hard"]), on_finish=recorder).start()
    assert job.join(120) and job.error is None
    run = store.get_run(recorder.run_id)
    assert (run.kind, run.status, run.notebook, run.tasks) == ("study", "completed", "nb2", ["y1", "y2"])
    assert run.summary["p_values"] == [0.5] and len(run.summary["rows"]) == 2  # one row per task
    assert not run.has_model


def test_a_store_failure_never_breaks_the_run(hetero_config, iris_frame):
    from mtl_core.jobs.training import TrainingJob

    class BrokenStore:
        def add_run(self, record):
            raise OSError("disk full")

    told = []
    hetero_config.epochs = 3
    job = TrainingJob(hetero_config, iris_frame, on_finish=RunRecorder(BrokenStore(), on_error=told.append)).start()
    assert job.join(60)
    assert job.error is None and job.result.stopped_reason == "completed"
    assert len(told) == 1 and "was not recorded: disk full" in told[0]


def test_a_failing_hook_is_logged_and_the_job_keeps_its_result(hetero_config, iris_frame, caplog):
    from mtl_core.jobs.training import TrainingJob

    def boom(job):
        raise RuntimeError("hook broke")

    hetero_config.epochs = 2
    job = TrainingJob(hetero_config, iris_frame, on_finish=boom).start()
    assert job.join(60)
    assert job.error is None and job.result is not None
    assert "on_finish hook failed" in caplog.text
    with pytest.raises(RuntimeError):
        job.on_finish(boom)  # hooks are added before the start
