"""The fast trainer: whole chunks of epochs run inside one compiled ``tf.function``.

``keras.Model.fit`` spends tens of milliseconds per epoch on fixed overhead, which dominates on small
tabular data. Here each call of the compiled function runs as many epochs as fit in about
``chunk_seconds``; per-epoch figures come back as stacked tensors and are emitted as events afterwards.
Loss weights and the stop flag are ``tf.Variable`` objects read at every epoch boundary, so both take
effect at the next epoch even in the middle of a chunk.

A run can be driven in steps: ``advance`` trains some more epochs (or seconds) and returns their events,
``done`` says when the run has ended, and ``result`` finishes it; ``run`` is advance-until-done, then result.
``interrupt`` makes the ``advance`` in progress return at the next epoch boundary without ending the run
(pause, a speed change), and ``continuous`` runs past the epoch budget until stopped.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtl_core._tf import keras, tf
from mtl_core.config import TrainConfig, check_weight, validate_config
from mtl_core.data.prepare import Prepared, prepare
from mtl_core.data.tasks import Task
from mtl_core.errors import bad_value
from mtl_core.models.blocks import shared_layers
from mtl_core.models.forward import NumpyNet, named_weights
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS
from mtl_core.training.conflict import CONFLICT_SAMPLE_ROWS, gradient_conflict
from mtl_core.training.events import EpochEvent, build_events, conflict_pairs, pair_key
from mtl_core.training.graph_metrics import graph_metrics
from mtl_core.training.losses import task_losses
from mtl_core.training.metrics import task_metrics
from mtl_core.training.optimizers import make_optimizer
from mtl_core.training.snapshots import EarlyStopping, WeightSnapshot

__all__ = ["EpochEvent", "TrainResult", "Trainer", "conflict_pairs", "evaluate", "pair_key", "train"]

RUNNING, STOP_REQUESTED, DIVERGED, EARLY_STOPPED, INTERRUPTED = 0, 1, 2, 3, 4
#: Bounds of a chunk's epoch count: one epoch at least, and not so many that stop or events lag.
MAX_CHUNK_EPOCHS = 10_000


@dataclass
class TrainResult:
    """The outcome of a run: the trained model, its history and test metrics."""

    config: TrainConfig
    prepared: Prepared
    model: keras.Model
    history: list[EpochEvent]
    stopped_reason: str
    message: str
    test_metrics: dict[str, dict[str, float]]
    seconds: float
    #: The epoch whose weights the model holds: early stopping's best epoch when it restored them, else the
    #: last epoch applied (0 when none ran).
    weights_epoch: int = 0

    @property
    def epochs_run(self) -> int:
        """Number of epochs whose weights were applied."""
        return len(self.history)

    @property
    def net(self) -> NumpyNet:
        """The trained network as a ``NumpyNet`` (a numpy copy of the current weights)."""
        return NumpyNet(self.config, self.prepared, named_weights(self.model))

    def to_dict(self) -> dict:
        """The CLI's ``--json`` object."""
        return {"config": self.config.to_dict(), "epochs_run": self.epochs_run,
                "stopped_reason": self.stopped_reason, "message": self.message,
                "history": [e.to_dict() for e in self.history], "test_metrics": self.test_metrics,
                "weights_epoch": self.weights_epoch}


class Trainer:
    """Trains one multi-task model; thread-safe ``stop`` and ``set_loss_weights``; emits one event per epoch."""

    def __init__(self, config: TrainConfig, frame: pd.DataFrame,
                 on_epoch: Callable[[EpochEvent], None] | None = None, *, chunk_seconds: float = 0.1) -> None:
        self.config = validate_config(copy.deepcopy(config))
        self.prepared = prepare(frame, self.config)
        self.tasks: list[Task] = self.prepared.tasks
        self.on_epoch = on_epoch
        self.chunk_seconds = chunk_seconds
        self.history: list[EpochEvent] = []
        self._lock = threading.Lock()
        build = ARCHITECTURES[self.config.arch].load()
        self.model: keras.Model = build(self.config, self.prepared)
        names = [t.name for t in self.tasks]
        strategy_cls = WEIGHTINGS[self.config.weighting].load()
        self.strategy = strategy_cls(len(names), list(self.config.weights_for(names).values()),
                                     self.config.weighting_params, self.config.seed)
        self._shared = [v for layer in shared_layers(self.model) for v in layer.trainable_variables]
        kernels = [layer.kernel for layer in shared_layers(self.model) if hasattr(layer, "kernel")]
        self.strategy.build(self._shared, kernels[-1] if kernels else None)
        self._variables = list(self.model.trainable_variables) + list(self.strategy.variables)
        self._optimizer = make_optimizer(self.config)
        self._optimizer.build(self._variables)
        self._stop = tf.Variable(False, trainable=False)
        self._stop_event = threading.Event()
        # Read in the graph at every epoch boundary, like the stop flag: an interrupt ends the compiled call
        # (not the run), and a continuous run keeps training when early stopping's patience runs out.
        self._interrupt = tf.Variable(False, trainable=False)
        self._continuous = tf.Variable(False, trainable=False)
        self._status = RUNNING
        self._reason, self._message = "completed", ""
        self._n_chunk = 1
        self._seconds = 0.0  # time spent in advance (a pause does not count)
        self._result: TrainResult | None = None
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        # Rollback point before every epoch (divergence), and early stopping's best weights.
        self._backup = WeightSnapshot(self.model.variables)
        self._early = EarlyStopping(self.model.variables, self.config.patience)
        self._data = self._tensors()
        self._chunk = tf.function(self._run_chunk)

    # ---- control from other threads -------------------------------------------------------------
    def stop(self) -> None:
        """Ask the run to stop at the next epoch boundary; ``run`` then returns what it has."""
        self._stop_event.set()
        self._stop.assign(True)

    @property
    def stop_requested(self) -> bool:
        """True once ``stop`` was called."""
        return self._stop_event.is_set()

    def interrupt(self) -> None:
        """Make the ``advance`` in progress return at the next epoch boundary; the run goes on at the next call."""
        self._interrupt.assign(True)

    @property
    def continuous(self) -> bool:
        """True when the run ignores its epoch budget (and early stopping's patience) until stopped."""
        return bool(self._continuous.numpy())

    @continuous.setter
    def continuous(self, on: bool) -> None:
        self._continuous.assign(bool(on))

    @property
    def epoch(self) -> int:
        """Epochs applied so far."""
        with self._lock:
            return len(self.history)

    @property
    def done(self) -> bool:
        """True once the run completed its epochs, was stopped, diverged or early-stopped."""
        if self._status != RUNNING or self._stop_event.is_set():
            return True
        return not self.continuous and self.epoch >= self.config.epochs

    @property
    def best_epoch(self) -> int:
        """With early stopping, the epoch whose weights are kept (0 before any, and without early stopping)."""
        return self._early.epoch if self.config.early_stopping else 0

    def set_loss_weights(self, weights: dict[str, float]) -> None:
        """Change the loss weights (fixed weighting); they apply from the next epoch."""
        names = [t.name for t in self.tasks]
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise bad_value("loss_weight", unknown[0], f"not a task; tasks are {names}")
        current = dict(zip(names, self.strategy.user_weights.numpy().tolist()))
        current.update({t: check_weight(t, w) for t, w in weights.items()})
        if all(w == 0 for w in current.values()):
            raise bad_value("loss_weights", current, "at least one loss weight must be above 0")
        self.strategy.user_weights.assign([current[n] for n in names])

    # ---- compiled loop ---------------------------------------------------------------------------
    def _tensors(self) -> dict:
        p = self.prepared
        data = {}
        for split in ("train", "val"):
            data[f"x_{split}"] = tf.constant(p.x[split])
            data[f"y_{split}"] = [tf.constant(p.y[split][t.name]) for t in self.tasks]
        sample = min(p.size("train"), CONFLICT_SAMPLE_ROWS)
        data["x_probe"] = data["x_train"][:sample]
        data["y_probe"] = [y[:sample] for y in data["y_train"]]
        return data

    def _task_losses(self, outputs: dict, ys: list) -> tf.Tensor:
        return task_losses(self.tasks, outputs, ys, self.config.regression_loss)

    def _reg_loss(self) -> tf.Tensor:
        losses = self.model.losses
        return tf.add_n(losses) if losses else tf.constant(0.0)

    def _train_step(self, xb: tf.Tensor, ybs: list) -> tf.Tensor:
        with tf.GradientTape(persistent=self.strategy.needs_task_gradients) as tape:
            outputs = self.model(xb, training=True)
            losses = self._task_losses(outputs, ybs)
            reg = self._reg_loss()
            objective = self.strategy.objective(losses, reg)
            # Unstacked on the tape: a slice taken after the tape closes has no gradient.
            per_task = tf.unstack(losses)
        grads = self.strategy.gradients(tape, objective, per_task, reg, self._variables, self._shared)
        del tape
        self._optimizer.apply_gradients(zip(grads, self._variables))
        if self.strategy.needs_losses_after_step:
            # FAMO's extra step: the same batch's losses after the update drive its weights.
            self.strategy.after_step(self._task_losses(self.model(xb, training=True), ybs))
        return losses

    def _conflict(self) -> tf.Tensor:
        def losses() -> tf.Tensor:
            outputs = self.model(self._data["x_probe"], training=False)
            return self._task_losses(outputs, self._data["y_probe"])

        return gradient_conflict(losses, self._shared)

    def _run_chunk(self, n_epochs: tf.Tensor):
        cfg = self.config
        n_tasks = len(self.tasks)
        n_metrics = sum(len(t.metrics) for t in self.tasks)
        n_pairs = n_tasks * (n_tasks - 1) // 2
        monitor = cfg.conflict_every > 0 and n_pairs > 0 and bool(self._shared)
        has_val = self.prepared.size("val") > 0
        n_train = self.prepared.size("train")
        n_batches = math.ceil(n_train / cfg.batch_size)
        x_train, y_train = self._data["x_train"], self._data["y_train"]
        def array(width: int) -> tf.TensorArray:
            return tf.TensorArray(tf.float32, size=n_epochs, element_shape=[width])

        # Separate names, not a dict: autograph tracks loop variables by name.
        ta_loss, ta_val, ta_metrics = array(n_tasks), array(n_tasks), array(n_metrics)
        ta_weights, ta_conflict = array(n_tasks), array(n_pairs)
        ta_best = array(1)  # early stopping's best epoch so far, after each epoch
        status = tf.constant(RUNNING)
        done = tf.constant(0)
        for i in tf.range(n_epochs):
            if self._stop:
                status = tf.constant(STOP_REQUESTED)
                break
            if self._interrupt:
                status = tf.constant(INTERRUPTED)
                break
            self._epoch.assign_add(1)
            self._backup.take()
            self.strategy.begin_epoch(self._epoch)
            weights = self.strategy.weights()
            noise = tf.random.stateless_uniform([n_train], seed=tf.stack([tf.cast(cfg.seed, tf.int64),
                                                                           self._epoch]))
            order = tf.argsort(noise)
            sums = tf.zeros([n_tasks])
            for b in tf.range(n_batches):
                idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
                sums += self._train_step(tf.gather(x_train, idx), [tf.gather(y, idx) for y in y_train])
            train_loss = sums / n_batches
            if has_val:
                val_out = self.model(self._data["x_val"], training=False)
                val_loss = self._task_losses(val_out, self._data["y_val"])
                metrics = graph_metrics(self.tasks, val_out, self._data["y_val"])
            else:
                val_loss = tf.zeros([n_tasks])
                metrics = tf.zeros([n_metrics])
            finite = tf.reduce_all(tf.math.is_finite(train_loss)) & tf.reduce_all(tf.math.is_finite(val_loss))
            for var in self.model.trainable_variables:
                finite = finite & tf.reduce_all(tf.math.is_finite(var))
            if not finite:
                self._backup.restore()
                self._epoch.assign_add(-1)
                ta_loss = ta_loss.write(i, train_loss)
                status = tf.constant(DIVERGED)
                break
            self.strategy.end_epoch(self._epoch, train_loss)
            if monitor and self._epoch % cfg.conflict_every == 0:
                conflict = self._conflict()
            else:
                conflict = tf.fill([n_pairs], np.nan)
            ta_loss = ta_loss.write(i, train_loss)
            ta_val = ta_val.write(i, val_loss)
            ta_metrics = ta_metrics.write(i, metrics)
            # Strategies whose weights change within the epoch (or that change gradients) log what they did in
            # it, so their weights are read after the steps; the others log the weights the epoch began with.
            logged = self.strategy.effective_weights() if self.strategy.reports_effective_weights else weights
            ta_weights = ta_weights.write(i, logged)
            ta_conflict = ta_conflict.write(i, tf.cast(conflict, tf.float32))
            done += 1
            if cfg.early_stopping:
                patience_out = self._early.update(tf.reduce_sum(weights * val_loss), self._epoch)
                ta_best = ta_best.write(i, tf.cast(tf.reshape(self._early.best_epoch, [1]), tf.float32))
                if patience_out and not self._continuous:
                    status = tf.constant(EARLY_STOPPED)
                    break
        stacked = {"loss": ta_loss.stack(), "val_loss": ta_val.stack(), "metrics": ta_metrics.stack(),
                   "weights": ta_weights.stack(), "conflict": ta_conflict.stack()}
        if cfg.early_stopping:
            stacked["best_epoch"] = ta_best.stack()[:, 0]
        return done, status, stacked

    # ---- driving loop ----------------------------------------------------------------------------
    def _events(self, done: int, stacked: dict, seconds: float) -> list[EpochEvent]:
        arrays = {k: v.numpy() for k, v in stacked.items()}
        return build_events(self.tasks, arrays, done, len(self.history) + 1, seconds,
                            self.prepared.size("val") > 0)

    def advance(self, max_epochs: int | None = None, max_seconds: float | None = None) -> list[EpochEvent]:
        """Train until ``max_epochs`` more epochs ran, about ``max_seconds`` passed, the run is done or
        ``interrupt`` was called; emit ``on_epoch`` per epoch and return the new events."""
        start = time.perf_counter()
        new: list[EpochEvent] = []
        while not self.done:
            budget = MAX_CHUNK_EPOCHS
            if not self.continuous:
                budget = self.config.epochs - len(self.history)
            if max_epochs is not None:
                budget = min(budget, max_epochs - len(new))
            if budget <= 0:
                break
            t0 = time.perf_counter()
            done, status_t, stacked = self._chunk(tf.constant(min(self._n_chunk, budget), tf.int32))
            done, status = int(done), int(status_t)
            t1 = time.perf_counter()
            events = self._events(done, stacked, self._seconds + t1 - start)
            with self._lock:
                self.history.extend(events)
            new.extend(events)
            if self.on_epoch is not None:
                for event in events:
                    self.on_epoch(event)
            if done:
                self._n_chunk = next_chunk_size((t1 - t0) / done, self.chunk_seconds)
            if status == INTERRUPTED:
                self._interrupt.assign(False)
                break
            if status != RUNNING:
                self._finish_status(status, stacked, done)
                break
            if max_seconds is not None and time.perf_counter() - start >= max_seconds:
                break
        self._seconds += time.perf_counter() - start
        return new

    def _finish_status(self, status: int, stacked: dict, done: int) -> None:
        self._status = status
        if status == DIVERGED:
            bad = stacked["loss"].numpy()[done]
            tasks = [t.name for t, v in zip(self.tasks, bad) if not math.isfinite(v)] or ["(weights)"]
            self._reason = "diverged"
            self._message = (f"Training diverged in epoch {len(self.history) + 1}: the loss of "
                             f"{', '.join(tasks)} became NaN or infinite. The weights from epoch "
                             f"{len(self.history)} are kept. Try a lower learning rate (lr={self.config.lr:g}), "
                             f"a smaller batch, or the adam optimizer.")
        elif status == STOP_REQUESTED:
            self._reason, self._message = "stopped", f"Stopped by request after epoch {len(self.history)}."
        elif status == EARLY_STOPPED:
            self._message = (f"Early stopping after epoch {len(self.history)}: no better validation loss for "
                             f"{self.config.patience} epochs; restored the weights of epoch "
                             f"{self._early.epoch}.")

    def result(self) -> TrainResult:
        """End the run (also a paused one): restore early stopping's best weights, compute the test metrics."""
        if self._result is not None:
            return self._result
        if self._status == RUNNING and (self.continuous or len(self.history) < self.config.epochs):
            # Ended before its budget (stopped, or a paused run ended): a continuous run always ends so.
            self._finish_status(STOP_REQUESTED, {}, 0)
        if not self._message:
            self._message = f"Completed {len(self.history)} epochs."
        if self.config.early_stopping and self._early.epoch > 0 and self._reason != "diverged":
            self._early.best.restore()
            if self._status != EARLY_STOPPED and self._early.epoch < len(self.history):
                self._message += f" Restored the weights of epoch {self._early.epoch} (best validation loss)."
        restored = self.config.early_stopping and self._early.epoch > 0 and self._reason != "diverged"
        self._result = TrainResult(self.config, self.prepared, self.model, list(self.history), self._reason,
                                   self._message, self.test_metrics(), self._seconds,
                                   self._early.epoch if restored else len(self.history))
        return self._result

    def run(self) -> TrainResult:
        """Train until done, stopped, diverged or early-stopped; return the model, history and test metrics."""
        while not self.done:
            self.advance()
        return self.result()

    def test_metrics(self) -> dict[str, dict[str, float]]:
        """Metrics of the current weights on the test split (original units)."""
        return evaluate(self.model, self.prepared, "test")


def evaluate(model: keras.Model, prepared: Prepared, split: str) -> dict[str, dict[str, float]]:
    """Metrics of a model on one split of prepared data; empty when the split is empty."""
    if prepared.size(split) == 0:
        return {}
    outputs = model(prepared.x[split], training=False)
    return {t.name: task_metrics(t, prepared.y[split][t.name], np.asarray(outputs[t.output]))
            for t in prepared.tasks}


def next_chunk_size(seconds_per_epoch: float, chunk_seconds: float) -> int:
    """How many epochs the next compiled call should run so that it lasts about ``chunk_seconds``."""
    return int(max(1, min(MAX_CHUNK_EPOCHS, chunk_seconds / max(seconds_per_epoch, 1e-6))))


def train(config: TrainConfig, frame: pd.DataFrame,
          on_epoch: Callable[[EpochEvent], None] | None = None) -> TrainResult:
    """Train a model in one call."""
    return Trainer(config, frame, on_epoch).run()
