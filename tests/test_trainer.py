"""The trainer: events, determinism (also across threads), stop, divergence, live weights, early stopping."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.training.trainer import Trainer, evaluate


def fingerprint(result) -> list:
    return [(e.epoch, e.loss, e.val_loss, e.val_metrics, e.weights, e.conflict) for e in result.history]


def test_one_event_per_epoch_with_every_field(iris_frame, hetero_config):
    hetero_config.early_stopping = False  # all 20 epochs, and the model holds the last one's weights
    events = []
    result = Trainer(hetero_config, iris_frame, events.append).run()
    assert [e.epoch for e in events] == list(range(1, 21))
    assert result.stopped_reason == "completed" and result.epochs_run == 20
    assert result.weights_epoch == 20 and {e.best_epoch for e in events} == {0}
    last = events[-1]
    assert set(last.loss) == set(last.val_loss) == {"species", "petal_width"}
    assert set(last.val_metrics["species"]) == {"accuracy", "f1_macro"}
    assert set(last.val_metrics["petal_width"]) == {"mae", "rmse", "r2"}
    assert last.weights == {"species": 1.0, "petal_width": 1.0}
    assert last.total_loss == pytest.approx(sum(last.loss.values()), rel=1e-6)
    assert -1.0 <= last.conflict["species | petal_width"] <= 1.0
    assert events[0].loss["species"] > events[-1].loss["species"]
    assert all(a.elapsed <= b.elapsed for a, b in zip(events, events[1:]))


def test_in_graph_validation_metrics_match_scikit_learn(iris_frame, hetero_config):
    result = Trainer(hetero_config, iris_frame).run()
    reference = evaluate(result.model, result.prepared, "val")
    for task, metrics in reference.items():
        for name, value in metrics.items():
            assert result.history[-1].val_metrics[task][name] == pytest.approx(value, abs=1e-4)


def test_same_seed_same_history_and_different_seed_differs(iris_frame, hetero_config):
    hetero_config.dropout = 0.2
    first = fingerprint(Trainer(hetero_config, iris_frame).run())
    assert fingerprint(Trainer(hetero_config, iris_frame).run()) == first
    hetero_config.seed = 4
    assert fingerprint(Trainer(hetero_config, iris_frame).run()) != first


def test_deterministic_when_two_trainings_run_at_once_in_threads(iris_frame, hetero_config):
    hetero_config.dropout = 0.1
    alone = fingerprint(Trainer(hetero_config, iris_frame).run())
    results: list = [None, None]

    def work(i: int) -> None:
        results[i] = fingerprint(Trainer(hetero_config, iris_frame).run())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == alone and results[1] == alone


def test_stop_from_another_thread_returns_what_it_has(iris_frame, hetero_config):
    hetero_config.epochs, hetero_config.early_stopping = 100_000, False  # only the stop ends it
    seen = threading.Event()
    trainer = Trainer(hetero_config, iris_frame, lambda e: seen.set() if e.epoch >= 3 else None,
                      chunk_seconds=0.05)
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", trainer.run()))
    thread.start()
    assert seen.wait(60)
    trainer.stop()
    thread.join(10)
    assert not thread.is_alive(), "stop did not end the run"
    result = box["result"]
    assert result.stopped_reason == "stopped"
    assert 3 <= result.epochs_run < 100_000
    assert "Stopped" in result.message
    assert result.test_metrics["species"]["accuracy"] >= 0


def test_divergence_stops_with_a_reason_and_keeps_finite_weights(iris_frame, hetero_config):
    hetero_config.optimizer = "sgd"
    hetero_config.lr = 100.0
    hetero_config.epochs = 200
    result = Trainer(hetero_config, iris_frame).run()
    assert result.stopped_reason == "diverged"
    assert "lower learning rate" in result.message and "lr=100" in result.message
    assert result.epochs_run < 200
    for var in result.model.variables:
        assert np.all(np.isfinite(np.asarray(var)))
    outputs = result.model(result.prepared.x["test"], training=False)
    assert all(np.all(np.isfinite(np.asarray(v))) for v in outputs.values())
    assert all(math.isfinite(v) for e in result.history for v in e.loss.values())


def test_weight_change_applies_from_the_next_epoch(iris_frame, hetero_config):
    hetero_config.epochs = 12
    trainer = Trainer(hetero_config, iris_frame, chunk_seconds=0.0)

    def change(event) -> None:
        if event.epoch == 5:
            trainer.set_loss_weights({"petal_width": 0.25})

    trainer.on_epoch = change
    result = trainer.run()
    weights = [e.weights["petal_width"] for e in result.history]
    # Events are emitted per chunk; with chunk_seconds=0 every chunk is one epoch.
    assert weights[:5] == [1.0] * 5 and weights[5:] == [0.25] * 7
    assert result.history[-1].total_loss == pytest.approx(
        result.history[-1].loss["species"] + 0.25 * result.history[-1].loss["petal_width"], rel=1e-6)


def test_live_weight_validation(iris_frame, hetero_config):
    trainer = Trainer(hetero_config, iris_frame)
    with pytest.raises(ConfigError, match="loss_weight\\['species'\\]=-2"):
        trainer.set_loss_weights({"species": -2})
    with pytest.raises(ConfigError, match="loss_weight='colour'"):
        trainer.set_loss_weights({"colour": 1})
    with pytest.raises(ConfigError, match="at least one loss weight"):
        trainer.set_loss_weights({"species": 0, "petal_width": 0})


def test_early_stopping_restores_the_best_epoch(iris_frame, hetero_config):
    hetero_config.epochs = 3000
    hetero_config.lr = 0.05
    hetero_config.early_stopping = True
    hetero_config.patience = 5
    trainer = Trainer(hetero_config, iris_frame)
    result = trainer.run()
    assert result.stopped_reason == "completed"
    assert result.epochs_run < 3000 and "Early stopping" in result.message
    best = trainer.best_epoch
    assert best == result.epochs_run - 5
    monitored = [sum(e.weights[t] * e.val_loss[t] for t in e.val_loss) for e in result.history]
    assert int(np.argmin(monitored)) + 1 == best
    # Every epoch reports the best epoch so far; the result says whose weights the model holds.
    assert [e.best_epoch for e in result.history] == [
        int(np.argmin(monitored[:i])) + 1 for i in range(1, len(monitored) + 1)]
    assert result.weights_epoch == best and result.to_dict()["weights_epoch"] == best
    assert f"restored the weights of epoch {best}" in result.message
    val_now = evaluate(result.model, result.prepared, "val")
    assert val_now["species"]["accuracy"] == pytest.approx(result.history[best - 1].val_metrics["species"]["accuracy"])


def test_default_settings_reach_the_quality_bar_for_most_seeds(iris_frame):
    passed = 0
    for seed in range(3):
        cfg = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")],
                          inputs=["sepal_length", "sepal_width", "petal_length"], shared=[10, 10], head=[],
                          epochs=200, seed=seed)
        metrics = Trainer(cfg, iris_frame).run().test_metrics
        passed += metrics["species"]["accuracy"] >= 0.93 and metrics["petal_width"]["r2"] >= 0.85
    assert passed >= 2


def test_huber_and_l2_and_rmsprop_train(iris_frame, hetero_config):
    hetero_config.regression_loss = "huber"
    hetero_config.l2 = 0.001
    hetero_config.optimizer = "rmsprop"
    result = Trainer(hetero_config, iris_frame).run()
    assert result.history[-1].loss["petal_width"] < result.history[0].loss["petal_width"]
