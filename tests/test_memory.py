"""30 trainings in a row in one dashboard session: the process's memory must stop growing.

Each iteration is what a user does: press Train on /train, wait, see the results (charts, metrics and the
export files, which are made and cached per run). Resident memory (VmRSS) is read after runs 10, 20 and 30.

Bound held: growth from run 20 to run 30 < 40 MB. Before ui.tf_memory, every run kept its traced graph alive
through TensorFlow's gradient registry: +117 MB from run 20 to 30 (two tasks); with it, +3 MB (one task).
"""

from __future__ import annotations

import ctypes
import gc
import time

from mtl_core.config import TaskSpec
from tests.apptest import config_of, new_app, press_train, training, wait_for_run

RUNS = 30
MAX_GROWTH_MB = 40.0


def rss_mb() -> float:
    """This process's resident memory in MB, from /proc (psutil is not a dependency).

    Freed heap is first handed back to the OS (glibc's malloc_trim); otherwise RSS swings by tens of MB with
    whatever the allocator happens to keep cached, which hides the trend this test is about.
    """
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def wait_released(timeout: float = 10.0) -> None:
    """Let the release threads of finished runs do their work."""
    import threading

    deadline = time.monotonic() + timeout
    while any(t.name == "mtl-release" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_thirty_trainings_in_one_session_stop_growing_memory():
    at = new_app(timeout=120)
    cfg = config_of(at)
    # Small and quick to trace (one task, no validation split), but the whole path: training, test metrics,
    # charts, export files.
    cfg.tasks, cfg.inputs, cfg.shared, cfg.epochs = [TaskSpec("species")], None, [8], 3
    cfg.val_fraction, cfg.conflict_every = 0.0, 0
    at.switch_page("pages/train.py").run()
    rss: dict[int, float] = {}
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
            wait_released()
            rss[i] = rss_mb()
    growth = rss[30] - rss[20]
    print(f"VmRSS after runs 10/20/30: {rss[10]:.1f} / {rss[20]:.1f} / {rss[30]:.1f} MB; "
          f"10->20 {rss[20] - rss[10]:+.1f} MB, 20->30 {growth:+.1f} MB")
    assert growth < MAX_GROWTH_MB, rss


def test_a_finished_run_leaves_nothing_in_tensorflows_gradient_registry(iris_frame, hetero_config):
    from tensorflow.python.framework import ops

    from mtl_core.jobs.background import BackgroundRun
    from ui.tf_memory import release_graphs

    hetero_config.epochs = 2
    run = BackgroundRun(hetero_config, iris_frame).start()
    assert run.join(60)
    before = set(ops._gradient_registry._registry)
    assert release_graphs(run.trainer) >= 1
    removed = before - set(ops._gradient_registry._registry)
    assert removed and all(k.startswith("CustomGradient-") for k in removed)
    assert release_graphs(run.trainer) == 0  # nothing of this run is left
    # The trained model still predicts after the release.
    prediction = run.predictor.predict_one({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4})
    assert prediction["species"].label in ("setosa", "versicolor", "virginica")
