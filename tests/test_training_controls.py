"""Stepping a Trainer (advance, done, result, continuous) and a TrainingJob's play, pause, step and speed."""

from __future__ import annotations

import pytest

from mtl_core.errors import ConfigError
from mtl_core.jobs import training as training_module
from mtl_core.jobs.training import TrainingJob
from mtl_core.training.trainer import Trainer


def fingerprint(history) -> list:
    return [(e.epoch, e.loss, e.val_loss, e.val_metrics, e.weights) for e in history]


def iterations(trainer: Trainer) -> int:
    return int(trainer._optimizer.iterations.numpy())


@pytest.fixture()
def small(hetero_config):
    hetero_config.epochs = 6
    hetero_config.conflict_every = 0
    return hetero_config


def test_advancing_in_steps_is_the_same_run_as_one_call(iris_frame, small):
    whole = Trainer(small, iris_frame).run()
    seen = []
    stepped = Trainer(small, iris_frame, seen.append)
    assert stepped.epoch == 0 and not stepped.done
    assert [e.epoch for e in stepped.advance(max_epochs=1)] == [1]
    stepped.interrupt()  # ends the next advance at once, not the run
    assert stepped.advance() == [] and not stepped.done
    assert [e.epoch for e in stepped.advance(max_epochs=2)] == [2, 3]
    batches = iterations(stepped) // 3
    assert batches >= 1 and iterations(stepped) == 3 * batches  # the optimizer went on, not afresh
    assert stepped.epoch == 3 and not stepped.done
    result = stepped.run()
    assert stepped.done and stepped.advance() == []
    assert [e.epoch for e in seen] == list(range(1, 7))
    assert fingerprint(result.history) == fingerprint(whole.history)
    assert result.test_metrics == whole.test_metrics
    assert result.stopped_reason == "completed"


def test_continuous_runs_past_the_epoch_count_and_early_stopping_does_not_end_it(iris_frame, small):
    small.early_stopping, small.patience, small.epochs = True, 1, 3
    trainer = Trainer(small, iris_frame)
    trainer.continuous = True
    assert trainer.continuous
    events = trainer.advance(max_epochs=12)
    assert len(events) == 12 and trainer.epoch == 12 and not trainer.done
    assert 1 <= trainer.best_epoch <= 12
    trainer.continuous = False  # past the count: the run is over
    assert trainer.done and trainer.advance() == []
    result = trainer.result()
    assert result.epochs_run == 12 and result.message.startswith("Completed 12 epochs.")
    if trainer.best_epoch < 12:
        assert f"weights of epoch {trainer.best_epoch}" in result.message


def test_a_continuous_run_ends_as_stopped(iris_frame, small):
    job = TrainingJob(small, iris_frame)
    job.set_continuous(True)
    job.pause()
    job.start()
    assert job.work.wait_idle(60)
    assert job.epoch == 0 and job.running and job.paused
    job.step(small.epochs + 2)
    assert job.work.wait_idle(60)
    assert job.epoch == small.epochs + 2 and job.running  # past the count, still there
    job.stop()  # while paused: ends at once with what it has
    assert job.join(60)
    assert job.result.epochs_run == small.epochs + 2 and job.result.stopped_reason == "stopped"


def test_job_step_from_fresh_then_resume_continues_the_same_run(iris_frame, small):
    small.epochs = 50
    job = TrainingJob(small, iris_frame)
    job.step()  # never started: starts it
    assert job.work.wait_idle(60)
    assert job.epoch == 1 and job.paused and job.running
    batches = iterations(job.work.trainer)
    job.step()
    assert job.work.wait_idle(60)
    assert job.epoch == 2 and iterations(job.work.trainer) == 2 * batches
    job.set_continuous(True)
    assert job.continuous
    job.resume()
    assert not job.paused
    job.pause()
    assert job.work.wait_idle(60)
    paused_at = job.epoch
    assert paused_at >= 2
    job.stop()
    assert job.join(60)
    result = job.result
    assert result.stopped_reason == "stopped"
    assert [e.epoch for e in result.history] == list(range(1, paused_at + 1))
    assert [e.epoch for e in job.events()] == list(range(1, paused_at + 1))
    assert iterations(job.work.trainer) == paused_at * batches


def test_speed_and_step_validation(iris_frame, small):
    job = TrainingJob(small, iris_frame)
    assert job.speed is None
    job.set_speed(10)
    assert job.speed == 10.0
    job.set_speed(None)
    assert job.speed is None
    for bad in (0, -1, float("nan"), "fast", True):
        with pytest.raises(ConfigError) as err:
            job.set_speed(bad)
        assert err.value.param == "speed"
    for bad in (0, 1.5, True):
        with pytest.raises(ConfigError) as err:
            job.step(bad)
        assert err.value.param == "step"
    assert job.started_at is None


def test_pace_lets_epochs_through_at_the_speed_and_never_bursts(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(training_module.time, "perf_counter", lambda: now[0])
    pace = training_module._Pace()
    pace.reset(0)
    assert pace.due(0, 10) == 1  # the first epoch at once
    assert pace.due(1, 10) == 0
    assert pace.wait(1, 10) == pytest.approx(0.1)
    now[0] += 0.25
    assert pace.due(1, 10) == 2  # epochs 2 and 3 were due by 0.2 s
    now[0] += 60  # far behind (e.g. a slow model): start afresh, one epoch now
    assert pace.due(3, 10) == 1
    assert pace.due(4, 10) == 0
