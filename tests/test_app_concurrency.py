"""Many users at once: 8 browser sessions (AppTest instances in threads) train at the same time.

Each session has its own config, data, model and run; a run's history must be exactly what the same config
and seed give when trained alone. AppTest is not thread-safe (its script runs share process-wide test state),
so the sessions' page reruns take turns behind a lock; the trainings run in the worker pool, as they do on a
server (two workers hosting four runs each, taking turns), and every run is hosted by a worker before any of
them ends (so "at once" holds whatever the machine's load).
"""

from __future__ import annotations

import copy
import threading

from streamlit.testing.v1 import AppTest

from mtl_core.config import TrainConfig
from mtl_core.data.sources import load_source
from mtl_core.presets import PRESETS
from tests.apptest import app, run_to_the_end, training, wait
from ui.state import CONFIG_KEY

SESSIONS = 8
EPOCHS = 20
# One AppTest script run at a time (see the module docstring).
_APPTEST = threading.Lock()


def step(at: AppTest) -> AppTest:
    """Run the session's page script, taking turns with the other sessions."""
    with _APPTEST:
        at.run()
    assert not at.exception, at.exception
    return at


def configs() -> list[TrainConfig]:
    """Three different setups (two datasets, two optimisers, three seeds) on tiny data."""
    hetero = PRESETS["heterogeneous"].make_config()
    hetero.epochs, hetero.seed = EPOCHS, 1
    sgd = PRESETS["heterogeneous"].make_config()
    sgd.epochs, sgd.seed, sgd.optimizer, sgd.lr, sgd.shared, sgd.conflict_every = EPOCHS, 2, "sgd", 0.05, [6], 0
    linnerud = PRESETS["homogeneous"].make_config()
    linnerud.epochs, linnerud.seed, linnerud.conflict_every = EPOCHS, 3, 0
    return [hetero, sgd, linnerud]


def losses(history) -> list[tuple]:
    """Everything a history says about learning (not the wall-clock time)."""
    return [(e.epoch, e.loss, e.val_loss, e.val_metrics, e.weights, e.total_loss, e.conflict) for e in history]


def session(config: TrainConfig, out: dict, index: int, barrier: threading.Barrier) -> None:
    """One user: open the app, load a setup, press Train together with the others, wait for the end."""
    try:
        at = step(app(120))
        at.session_state[CONFIG_KEY] = copy.deepcopy(config)  # each user edits their own config
        step(at.switch_page("pages/train.py"))
        barrier.wait(timeout=120)
        run_to_the_end(at).button(key="play_button").click()
        step(at)
        assert not at.error, [e.value for e in at.error]
        run = training(at).run
        out[index] = {"run": run}
        assert wait(run, 180), "training did not finish"
        step(at)
        out[index]["shown"] = [s.value for s in at.success]
    except BaseException as exc:  # noqa: BLE001 - reported by the test in the main thread
        out[index] = {"error": exc}


def test_eight_sessions_train_at_once_and_each_gets_its_own_exact_result():
    from mtl_core.jobs.pool.pool import get_pool
    from mtl_core.training.trainer import Trainer

    setups = configs()
    pool = get_pool()
    assert pool.settings.workers * pool.settings.jobs_per_worker >= SESSIONS, "the pool is too small for the test"
    pool.start()  # workers load TensorFlow while the runs alone train
    # Alone first: one Trainer per distinct setup, no dashboard, no other training.
    alone = [losses(Trainer(c, load_source(c).frame).run().history) for c in setups]
    assert pool.wait_ready(180)

    assigned = [setups[i % len(setups)] for i in range(SESSIONS)]
    out: dict[int, dict] = {}
    barrier = threading.Barrier(SESSIONS)
    threads = [threading.Thread(target=session, args=(cfg, out, i, barrier)) for i, cfg in enumerate(assigned)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert len(out) == SESSIONS
    errors = {i: r["error"] for i, r in out.items() if "error" in r}
    assert not errors, errors

    runs = [out[i]["run"] for i in range(SESSIONS)]
    assert len({id(r) for r in runs}) == SESSIONS
    # They really trained at the same time: every run was hosted by a worker before any run had ended.
    began, ended = [r.placed_at for r in runs], [r.started_at + r.elapsed for r in runs]
    shown = [(round(b - min(began), 2), round(e - min(began), 2)) for b, e in zip(began, ended)]
    assert max(began) < min(ended), f"not all eight trained at once; (start, end) s: {shown}"
    for i, run in enumerate(runs):
        expected = setups[i % len(setups)]
        assert run.result.stopped_reason == "completed", run.result.message
        assert run.config.to_dict() == expected.to_dict()
        assert out[i]["shown"][0].startswith(f"Completed {expected.epochs} epochs.")
        got, want = losses(run.result.history), alone[i % len(setups)]
        first_diff = next((e for e, (a, b) in enumerate(zip(got, want)) if a != b), None)
        assert got == want, (f"session {i} differs from its run alone from epoch index {first_diff}: "
                             f"{got[first_diff or 0]} vs {want[first_diff or 0]}")
