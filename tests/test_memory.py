"""Memory must stop growing with every job a process runs: trainings, comparisons and relatedness studies.

Trainings go through the dashboard, as a user does: press Train on /train, wait, see the results (charts,
metrics and the export files, which are made and cached per run); 30 of them, resident memory (VmRSS) read
after runs 10, 20 and 30, growth from run 10 to run 30 < 40 MB. Comparisons and studies run as core jobs
(``mtl_core.jobs.job.Job``), each training several models; tracing those costs most of a minute per ten on
this machine, so here three of each must leave TensorFlow's gradient registry no larger (the cause of the
growth, counted exactly), and ``bench/bench_memory.py`` measures the RSS of 30 jobs of every kind.

Before the graph release (``mtl_core.training.graph_release``), every Trainer kept its traced graph alive
through TensorFlow's gradient registry: +117 MB from run 20 to 30 of two-task trainings, and about 12 MB per
trained model of a comparison or study.
"""

from __future__ import annotations

import gc

from mtl_core.config import TaskSpec
from mtl_core.jobs.memory import give_back
from tests.apptest import config_of, new_app, press_train, training, wait_for_run

RUNS = 30
MAX_GROWTH_MB = 40.0


def rss_mb() -> float:
    """This process's resident memory in MB, from /proc (psutil is not a dependency).

    Freed heap is first handed back to the OS (glibc's malloc_trim); otherwise RSS swings by tens of MB with
    whatever the allocator happens to keep cached, which hides the trend this test is about.
    """
    give_back()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def test_thirty_trainings_in_one_session_stop_growing_memory():
    at = new_app(timeout=120)
    cfg = config_of(at)
    # Small and quick to trace (one task, no validation split), but the whole path: training, test metrics,
    # charts, export files.
    cfg.tasks, cfg.inputs, cfg.shared, cfg.epochs = [TaskSpec("species")], None, [8], 3
    # No validation split, so no early stopping (on by default; it needs one): every run trains all 3 epochs.
    cfg.val_fraction, cfg.early_stopping, cfg.conflict_every = 0.0, False, 0
    at.switch_page("pages/train.py").run()
    rss: dict[int, float] = {}
    entries: dict[int, int] = {}
    previous = None
    for i in range(1, RUNS + 1):
        config_of(at).seed = i  # a different run each time, as users do
        session = training(press_train(at))
        assert session is not previous
        assert wait_for_run(at, 60)
        at.run()  # the results: charts, metrics, export buttons
        assert not at.exception, at.exception
        assert "export:tfjs" in session.cache
        previous = session
        if i % 10 == 0:
            rss[i] = rss_mb()
            entries[i] = registry_size()
    assert entries[30] <= entries[10], f"the gradient registry grew: {entries}"
    check_growth("trainings", rss)


def check_growth(kind: str, rss: dict[int, float]) -> None:
    """Print the figures and assert the growth from run 10 to run 30 stays under the bound."""
    growth = rss[30] - rss[10]
    print(f"{kind}: VmRSS after runs 10/20/30: {rss[10]:.1f} / {rss[20]:.1f} / {rss[30]:.1f} MB; "
          f"10->30 {growth:+.1f} MB")
    assert growth < MAX_GROWTH_MB, (kind, rss)


def registry_size() -> int:
    """How many ``CustomGradient-`` entries TensorFlow's gradient registry holds (each pins a traced graph)."""
    from mtl_core.training.graph_release import PREFIX, gradient_registry

    return sum(k.startswith(PREFIX) for k in gradient_registry())


#: Jobs of each core kind run in the suite; the registry is counted after the first and after the last.
SHORT_RUNS = 3


def run_jobs(make_work, runs: int = SHORT_RUNS) -> dict[int, int]:
    """Run ``runs`` jobs of ``make_work(i)`` one after the other; the gradient registry's size after each."""
    from mtl_core.jobs.job import Job

    entries: dict[int, int] = {}
    for i in range(1, runs + 1):
        job = Job(make_work(i)).start()
        assert job.join(120) and job.error is None, job.error
        assert job.result.stopped is False and len(job.events()) >= 2  # several models trained
        del job
        gc.collect()
        entries[i] = registry_size()
    return entries


def comparison_work(frame, i: int):
    """A two-task comparison (three trainers: the multi-task model and one single-task model per task)."""
    from mtl_core.config import TrainConfig
    from mtl_core.experiments.compare import ComparisonRun

    cfg = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")],
                      inputs=["sepal_length", "sepal_width", "petal_length"], shared=[8], head=[], epochs=2,
                      val_fraction=0.0, early_stopping=False, seed=i)
    return ComparisonRun(cfg, frame, seeds=1)


def study_work(i: int):
    """A one-dataset relatedness study with two trainers (hard sharing and MMoE), few rows and epochs."""
    from mtl_core.experiments.relatedness_study import RelatednessStudy, study_config

    return RelatednessStudy([1.0], [i], study_config(epochs=2), n=200, models=["hard", "mmoe"])


def test_comparisons_leave_the_gradient_registry_no_larger(iris_frame):
    entries = run_jobs(lambda i: comparison_work(iris_frame, i))
    assert entries[SHORT_RUNS] <= entries[1], f"the gradient registry grew: {entries}"


def test_relatedness_studies_leave_the_gradient_registry_no_larger():
    entries = run_jobs(study_work)
    assert entries[SHORT_RUNS] <= entries[1], f"the gradient registry grew: {entries}"
