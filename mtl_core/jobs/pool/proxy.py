"""The page's side of a job that runs in a worker process: the ``Job``/``TrainingJob`` interface, fed by messages.

A proxy is registered in the session the moment it is made (it only holds a spec: no TensorFlow, no model), so a
press of Train is never lost. The worker's events, progress and state arrive through the pool's reader thread;
a training's weights (by layer name) arrive about twice a second and go into a numpy copy of the network
(``NumpyNet``: no TensorFlow in the server) that ``predictor`` answers with, so Predict and the landscapes
follow the training live. A Keras copy (``result.model``) is built only when something asks for one.
``stop`` takes effect at once for a job that is queued or still compiling (the worker drops it), and within
``STOP_DEADLINE`` seconds otherwise.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from mtl_core.config import TrainConfig, check_weight, validate_config
from mtl_core.errors import bad_value
from mtl_core.jobs.job import FinishHook
from mtl_core.jobs.pool.spec import TRAINING, WorkSpec

if TYPE_CHECKING:
    from mtl_core.data.prepare import Prepared
    from mtl_core.io.model_info import ModelInfo
    from mtl_core.jobs.pool.pool import Pool, Worker
    from mtl_core.models.predict import Predictor

#: Seconds after ``stop`` by which a running job reports stopped even if its worker has not answered yet.
STOP_DEADLINE = 1.5
#: The same for a comparison, study or tuning run, whose worker may still be loading TensorFlow.
EXPERIMENT_STOP_DEADLINE = 30.0
WAITING = "waiting for a free worker"

_log = logging.getLogger(__name__)


class PoolJob:
    """A ``Job`` run by the pool: start, stop, join, running/finished, progress, events, result, error, elapsed."""

    #: A stopped comparison, study or tuning run keeps what finished: only its worker can build that partial
    #: result (the page has no TensorFlow), so a stop waits for the worker's answer, up to ``STOP_SECONDS``.
    KEEPS_PARTIAL = True
    STOP_SECONDS = EXPERIMENT_STOP_DEADLINE

    def __init__(self, spec: WorkSpec, *, session: str | None = None, pool: Pool | None = None,
                 on_finish: FinishHook | None = None) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.label = spec.label
        self.session = session
        self._pool = pool
        self.job_id: int | None = None
        self.worker: Worker | None = None
        self.result: Any = None
        self.error: str | None = None
        self.started_at: float | None = None
        self.placed_at: float | None = None
        self._ended_at: float | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ending = False
        self._stop = False
        self._events: list[Any] = []
        self._progress: tuple[str, float] = (WAITING, 0.0)
        self._pending: list[tuple] = []
        self._calls_sent = 0  # control calls made (the worker counts those it applied)
        self._calls_seen = 0  # how many of them the worker's latest state had applied
        self._hooks: list[FinishHook] = [on_finish] if on_finish is not None else []

    @property
    def pool(self) -> Pool:
        """The pool that runs this job (the server's, unless one was given)."""
        if self._pool is None:
            from mtl_core.jobs.pool.pool import get_pool

            self._pool = get_pool()
        return self._pool

    # ---- the Job interface ------------------------------------------------------------------------------
    def on_finish(self, hook: FinishHook) -> PoolJob:
        """Call ``hook(job)`` once the work has ended (add before ``start``); returns self."""
        if self.started_at is not None:
            raise RuntimeError("add on_finish hooks before the job starts")
        self._hooks.append(hook)
        return self

    def start(self) -> PoolJob:
        """Hand the job to the pool (queued if every worker is busy); returns self at once."""
        from mtl_core.jobs.pool.pool import PoolLimitError

        self.started_at = time.perf_counter()
        try:
            self.pool.submit(self)
        except PoolLimitError as exc:
            self._finish(error=str(exc))  # shown where the job's result would be
        return self

    def stop(self) -> None:
        """Stop the job: at once if it is queued or still compiling, else at its next epoch (within 2 s)."""
        with self._lock:
            if self._stop or self._ending:
                self._stop = True
                return
            self._stop = True
        if self.started_at is None:
            return
        self.pool.stop(self)
        if self.worker is None or (not self._began() and not self.KEEPS_PARTIAL):
            self._finish(result=self._stopped_result())
        else:
            timer = threading.Timer(self.STOP_SECONDS, self._stop_deadline)
            timer.daemon = True
            timer.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the work; True once it has finished (also when it was never started)."""
        if self.started_at is None:
            return True
        return self._done.wait(timeout)

    @property
    def stop_requested(self) -> bool:
        """True once ``stop`` was called."""
        return self._stop

    @property
    def running(self) -> bool:
        """True from ``start`` until the job ended (queued included)."""
        return self.started_at is not None and not self._done.is_set()

    @property
    def finished(self) -> bool:
        """True once the work ended (completed, stopped or failed)."""
        return self.started_at is not None and self._done.is_set()

    @property
    def queued(self) -> bool:
        """True while the job waits for a free worker slot."""
        return self.running and self.worker is None

    def queue_position(self) -> tuple[int, float] | None:
        """``(place in the queue from 1, about how many seconds until it starts)``; None once it runs."""
        if not self.queued:
            return None
        return self.pool.queue_position(self)

    @property
    def elapsed(self) -> float:
        """Seconds since the start, waiting in the queue included (the total once finished)."""
        if self.started_at is None:
            return 0.0
        end = self._ended_at if self._ended_at is not None else time.perf_counter()
        return end - self.started_at

    def progress(self) -> tuple[str, float]:
        """The latest (stage, fraction done); "waiting for a free worker" while queued."""
        with self._lock:
            return self._progress

    def events(self) -> list[Any]:
        """A copy of the events so far."""
        with self._lock:
            return list(self._events)

    def seconds_left(self, typical: float) -> float:
        """A guess of how long the job still runs (``typical`` when there is nothing to go on yet)."""
        stage, fraction = self.progress()
        if self.placed_at is None or fraction <= 0.02:
            return typical
        spent = time.perf_counter() - self.placed_at
        return spent * (1 - fraction) / fraction

    # ---- from the pool ------------------------------------------------------------------------------------
    def _placed(self, worker: Worker) -> None:
        self.worker = worker
        self.placed_at = time.perf_counter()
        with self._lock:
            if self._progress[0] == WAITING:
                self._progress = ("starting", 0.0)

    def _submitted(self) -> None:
        """Send the calls made while the job waited in the queue (after the worker has it)."""
        with self._lock:
            pending, self._pending = self._pending, []
        for name, args in pending:
            self.pool.call(self, name, *args)

    def _call(self, name: str, *args: Any) -> None:
        with self._lock:
            self._calls_sent += 1
            if self.worker is None:
                self._pending.append((name, args))
                return
        self.pool.call(self, name, *args)

    def _on_message(self, kind: str, args: tuple) -> None:
        if kind == "events":
            with self._lock:
                self._events.extend(args[0])
        elif kind == "progress":
            with self._lock:
                self._progress = tuple(args[0])
        elif kind == "started":
            self._started(args[0])
        elif kind == "done":
            payload = args[0]
            self._finish(result=self._make_result(payload))
        elif kind == "failed":
            self._finish(error=str(args[0]))
        else:
            self._other(kind, args)

    def _began(self) -> bool:
        return bool(self._events) or self._progress[1] > 0

    def _started(self, info: dict) -> None:
        pass

    def _other(self, kind: str, args: tuple) -> None:
        pass

    def _make_result(self, payload: dict) -> Any:
        return payload.get("result")

    def _stopped_result(self) -> Any:
        return None

    def _stop_deadline(self) -> None:
        if not self._done.is_set() and not self._ending:
            _log.warning("%s %s: its worker did not answer the stop in %.1f s", self.label, self.job_id,
                         self.STOP_SECONDS)
            self._finish(result=self._stopped_result())

    def _finish(self, result: Any = None, error: str | None = None) -> None:
        with self._lock:
            if self._ending:
                return
            self._ending = True
            if error is None and not self._stop:
                self._progress = ("done", 1.0)
        self.result, self.error = result, error
        self._ended_at = time.perf_counter()
        threading.Thread(target=self._run_hooks, name="mtl-pool-finish", daemon=True).start()

    def _run_hooks(self) -> None:
        try:
            for hook in self._hooks:
                try:
                    hook(self)
                except Exception:  # noqa: BLE001 - a hook (recording the run) must never break the job
                    _log.exception("%s: an on_finish hook failed", self.label)
        finally:
            self._done.set()


class PoolTrainResult:
    """A finished training's result as a page sees a ``TrainResult``; ``model`` (page-side) is built on first use."""

    def __init__(self, job: PoolTrainingJob, history: list, stopped_reason: str, message: str,
                 test_metrics: dict, seconds: float, weights: dict | None, keras_bytes: bytes | None,
                 weights_epoch: int = 0, tfjs: tuple[bytes | None, str | None] | None = None) -> None:
        self._job = job
        self.config = job.config
        self.prepared = job.prepared
        self.history = list(history)
        self.stopped_reason = stopped_reason
        self.message = message
        self.test_metrics = test_metrics
        self.seconds = seconds
        self.keras_bytes = keras_bytes
        #: The TF.js zip and None, or None and why the model has none (None: not made, as for a stopped run).
        self.tfjs_zip = tfjs
        #: The epoch whose weights the model holds (early stopping's best, else the last one applied).
        self.weights_epoch = weights_epoch
        self._weights = weights

    @property
    def model(self) -> Any:
        """The trained Keras model (a page-side copy holding the final weights; loads TensorFlow)."""
        return self._job._model_with(self._weights)

    @property
    def net(self) -> Any:
        """The trained network as a ``NumpyNet`` (the final weights; no TensorFlow)."""
        return self._job.predictor.model

    @property
    def epochs_run(self) -> int:
        """Number of epochs whose weights were applied."""
        return len(self.history)

    def to_dict(self) -> dict:
        """The CLI's ``--json`` object."""
        return {"config": self.config.to_dict(), "epochs_run": self.epochs_run,
                "stopped_reason": self.stopped_reason, "message": self.message,
                "history": [e.to_dict() for e in self.history], "test_metrics": self.test_metrics,
                "weights_epoch": self.weights_epoch}


class PoolTrainingJob(PoolJob):
    """A training run by the pool, with ``TrainingJob``'s interface (config, info, prepared, predictor, controls).

    The config is validated and the data prepared here, in the caller's thread (bad input raises at once, as a
    ``TrainingJob`` does); the model is built in the worker.
    """

    # A stopped training ends within STOP_DEADLINE: its partial result is built here from the events it sent.
    KEEPS_PARTIAL = False
    STOP_SECONDS = STOP_DEADLINE

    result: PoolTrainResult | None

    def __init__(self, config: TrainConfig, frame: pd.DataFrame, *, session: str | None = None,
                 pool: Pool | None = None, on_finish: FinishHook | None = None) -> None:
        from mtl_core.data.prepare import prepare
        from mtl_core.io.model_info import ModelInfo
        from mtl_core.jobs.pool.checks import check_shared_layers
        from mtl_core.registries import WEIGHTINGS

        checked = validate_config(copy.deepcopy(config))
        check_shared_layers(checked)  # raised at build in the worker; here so the page shows it at Play
        self._config = checked
        self._prepared = prepare(frame, checked)
        self._info = ModelInfo.from_prepared(self._prepared, checked.to_dict())
        super().__init__(WorkSpec(TRAINING, "mtl_core.jobs.training:TrainingJob", (checked, frame), {}, "Training"),
                         session=session, pool=pool, on_finish=on_finish)
        entry = WEIGHTINGS.get(checked.weighting)
        self._uses_user_weights = bool(entry.uses_user_weights) if entry is not None else False
        self._learns_weights = False
        names = [t.name for t in self._prepared.tasks]
        self._user_weights = dict(checked.weights_for(names))
        self._state: dict[str, Any] = {"paused": False, "epoch": 0, "continuous": False, "speed": None}
        self._weights: tuple[int, dict] | None = None  # (epoch, weights by layer name)
        self._model: Any = None
        self._model_epoch = self._net_epoch = -1
        self._model_lock = threading.RLock()
        self._predictor: Predictor | None = None

    # ---- what a page reads ----------------------------------------------------------------------------------
    @property
    def config(self) -> TrainConfig:
        """The validated config being trained."""
        return self._config

    @property
    def info(self) -> ModelInfo:
        """The model's description (tasks, input schema), as saved with it."""
        return self._info

    @property
    def prepared(self) -> Prepared:
        """The prepared data: splits (``rows``), scaled inputs, tasks."""
        return self._prepared

    @property
    def uses_user_weights(self) -> bool:
        """True when the weighting follows the user's loss weights (``set_loss_weights`` changes them)."""
        return self._uses_user_weights

    @property
    def learns_weights(self) -> bool:
        """True when the weighting trains weights of its own alongside the model (e.g. uncertainty)."""
        return self._learns_weights

    @property
    def predictor(self) -> Predictor:
        """Predicts with the latest weights the worker sent (live while it trains), in numpy."""
        with self._model_lock:
            latest = self._weights
            if self.result is not None and self.result._weights is not None:
                latest = (10**9, self.result._weights)
            if self._predictor is None:
                from mtl_core.models.forward import NumpyNet
                from mtl_core.models.predict import Predictor

                self._predictor = Predictor(NumpyNet(self._config, self._prepared), self._info)
            if latest is not None and latest[0] != self._net_epoch:
                self._predictor.model.set_weights(latest[1])
                self._net_epoch = latest[0]
            return self._predictor

    def _model_with(self, weights: dict | None) -> Any:
        """A Keras copy of the model (built once from the config), with ``weights`` put in when given."""
        with self._model_lock:
            if self._model is None:
                from mtl_core.registries import ARCHITECTURES

                self._model = ARCHITECTURES[self._config.arch].load()(self._config, self._prepared)
            if weights is not None and self._model_epoch != 10**9:
                from mtl_core.models.forward import set_named_weights

                set_named_weights(self._model, weights)
                self._model_epoch = 10**9
            return self._model

    def release(self) -> None:
        """Drop the page-side model and weights once nobody will look at them (the session ended)."""
        if self.running:
            return
        with self._model_lock:
            self._model = self._predictor = self._weights = None
            self._model_epoch = self._net_epoch = -1
            if self.result is not None:
                self.result._weights = None

    # ---- controls ---------------------------------------------------------------------------------------------
    def set_loss_weights(self, weights: dict[str, float]) -> None:
        """Change loss weights for the coming epochs (ConfigError naming the task or weight if invalid)."""
        names = list(self._user_weights)
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise bad_value("loss_weight", unknown[0], f"not a task; tasks are {names}")
        current = dict(self._user_weights)
        current.update({t: check_weight(t, w) for t, w in weights.items()})
        if all(w == 0 for w in current.values()):
            raise bad_value("loss_weights", current, "at least one loss weight must be above 0")
        self._user_weights = current
        self._call("set_loss_weights", dict(weights))

    def pause(self) -> None:
        """Pause after the epoch in progress."""
        self._state["paused"] = True
        self._call("pause")

    def resume(self) -> None:
        """Go on training after a pause."""
        self._state["paused"] = False
        self._call("resume")

    def step(self, n: int = 1) -> None:
        """Train exactly ``n`` more epochs, then pause."""
        self._state["paused"] = True
        self._call("step", int(n))

    def set_speed(self, epochs_per_second: float | None) -> None:
        """Limit the speed to ``epochs_per_second`` (None: as fast as possible)."""
        self._state["speed"] = epochs_per_second
        self._call("set_speed", epochs_per_second)

    def set_continuous(self, on: bool) -> None:
        """Train past the epoch budget until stopped (True) or back to the budget (False)."""
        self._state["continuous"] = bool(on)
        self._call("set_continuous", bool(on))

    @property
    def paused(self) -> bool:
        """True while paused."""
        return bool(self._state.get("paused"))

    @property
    def epoch(self) -> int:
        """Epochs applied so far."""
        with self._lock:
            return len(self._events)

    @property
    def best_epoch(self) -> int:
        """Early stopping's best epoch so far (0 without early stopping or before any epoch)."""
        events = self.events()
        return int(getattr(events[-1], "best_epoch", 0) or 0) if events else 0

    @property
    def continuous(self) -> bool:
        """True when the epoch budget is ignored until stopped."""
        return bool(self._state.get("continuous"))

    @property
    def speed(self) -> float | None:
        """The speed limit in epochs per second (None: as fast as possible)."""
        return self._state.get("speed")

    # ---- from the worker ------------------------------------------------------------------------------------
    def _started(self, info: dict) -> None:
        self._uses_user_weights = bool(info.get("uses_user_weights", self._uses_user_weights))
        self._learns_weights = bool(info.get("learns_weights", False))

    def _other(self, kind: str, args: tuple) -> None:
        if kind == "weights":
            self._weights = (int(args[0]), args[1])
        elif kind == "state":
            state = dict(args[0])
            # A state the worker sent before it applied our latest call would undo that call here for a moment
            # (a Play showing as still paused): only a state that has seen every call we sent counts.
            self._calls_seen = int(state.pop("calls", 0))
            if self._calls_seen >= self._calls_sent:
                self._state.update({k: v for k, v in state.items() if v is not None or k == "speed"})

    def _make_result(self, payload: dict) -> PoolTrainResult:
        with self._lock:
            self._events = list(payload["history"])
        return PoolTrainResult(self, payload["history"], payload["stopped_reason"], payload["message"],
                               payload["test_metrics"], float(payload["seconds"]), payload["weights"],
                               payload.get("keras"), int(payload.get("weights_epoch", len(payload["history"]))),
                               payload.get("tfjs"))

    def _stopped_result(self) -> PoolTrainResult:
        history = self.events()
        message = (f"Stopped by request after epoch {len(history)}." if history else
                   "Stopped by request before the first epoch.")
        latest = self._weights[1] if self._weights is not None else None
        seconds = history[-1].elapsed if history else 0.0
        shipped = self._weights[0] if self._weights is not None else 0
        return PoolTrainResult(self, history, "stopped", message, {}, seconds, latest, None, shipped)
