"""The graph release (``mtl_core.training.graph_release``) against the installed TensorFlow.

It works through TensorFlow's private gradient registry, so a TensorFlow upgrade can break it silently (a run
would still work, but every finished Trainer would keep its traced graph for the life of the server). These
tests fail, with a message saying what changed, when that happens; they never skip.
"""

from __future__ import annotations

import pytest


def test_tensorflows_private_gradient_registry_is_where_the_release_expects_it():
    from tensorflow.python.framework import ops

    holder = getattr(ops, "_gradient_registry", None)
    assert holder is not None, "tensorflow.python.framework.ops._gradient_registry is gone: update graph_release"
    assert isinstance(getattr(holder, "_registry", None), dict), \
        "ops._gradient_registry._registry is no longer a dict: update mtl_core/training/graph_release.py"


def test_a_finished_trainer_owns_registry_entries_and_the_release_removes_exactly_those(iris_frame, hetero_config):
    from mtl_core.training.graph_release import PREFIX, gradient_registry, owned_entries, release_graphs
    from mtl_core.training.trainer import Trainer

    hetero_config.epochs = 2
    trainer = Trainer(hetero_config, iris_frame)
    assert owned_entries(trainer) == []  # nothing traced yet
    trainer.run()
    owned = owned_entries(trainer)
    assert owned, ("after a run, no CustomGradient- entry of TensorFlow's gradient registry holds the trainer's "
                   "graph: TensorFlow changed how tf.custom_gradient registers (graph_release finds nothing to free, "
                   "or the leak is gone: check tests/test_memory.py and update mtl_core/training/graph_release.py)")
    assert all(k.startswith(PREFIX) for k in owned)
    before = set(gradient_registry())
    assert release_graphs(trainer) == len(owned) > 0
    assert before - set(gradient_registry()) == set(owned)  # those, and nothing else
    assert owned_entries(trainer) == [] and release_graphs(trainer) == 0
    # The trained model still predicts after the release.
    assert set(trainer.test_metrics()) == {"species", "petal_width"}


def test_the_release_leaves_another_trainers_entries_alone(iris_frame, hetero_config):
    from mtl_core.training.graph_release import owned_entries, release_graphs
    from mtl_core.training.trainer import Trainer

    hetero_config.epochs = 2
    first, second = Trainer(hetero_config, iris_frame), Trainer(hetero_config, iris_frame)
    first.run()
    second.run()
    theirs = owned_entries(second)
    assert theirs and set(theirs).isdisjoint(owned_entries(first))
    release_graphs(first)
    assert owned_entries(second) == theirs
    release_graphs(second)


def test_every_kind_of_job_releases_each_trainer_it_finishes(iris_frame, hetero_config, monkeypatch):
    import mtl_core.training.graph_release as graph_release
    from mtl_core.experiments.compare import ComparisonRun
    from mtl_core.experiments.relatedness_study import RelatednessStudy, study_config
    from mtl_core.jobs.job import Job
    from mtl_core.jobs.training import TrainingJob

    released: list[int] = []
    real = graph_release.release_graphs

    def spy(trainer) -> int:
        released.append(real(trainer))
        return released[-1]

    monkeypatch.setattr(graph_release, "release_graphs", spy)
    hetero_config.epochs = 2
    jobs = [TrainingJob(hetero_config, iris_frame), Job(ComparisonRun(hetero_config, iris_frame, seeds=1)),
            Job(RelatednessStudy([1.0], [0], study_config(epochs=2), n=200, models=["single", "hard"]))]
    for job, trainers in zip(jobs, (1, 3, 3)):
        released.clear()
        job.start()
        assert job.join(120) and job.error is None, job.error
        assert len(released) == trainers and all(n > 0 for n in released), (job.label, released)


def test_a_missing_registry_is_a_clear_error_but_never_breaks_a_run(monkeypatch, iris_frame, hetero_config):
    from tensorflow.python.framework import ops

    from mtl_core.jobs.training import TrainingJob
    from mtl_core.training import graph_release

    with monkeypatch.context() as patch:  # TensorFlow itself needs the registry: gone only for this check
        patch.setattr(ops, "_gradient_registry", None)
        with pytest.raises(RuntimeError, match="_gradient_registry._registry"):
            graph_release.gradient_registry()

    def gone() -> dict:
        raise RuntimeError("the registry moved")

    monkeypatch.setattr(graph_release, "gradient_registry", gone)
    hetero_config.epochs = 2
    job = TrainingJob(hetero_config, iris_frame).start()
    assert job.join(60) and job.error is None and job.result.stopped_reason == "completed"
