"""The one session-state module: the config being edited, the loaded dataset and the training run.

Every page reads and writes the session's state through these functions; nothing mutable lives at
module level (a module is shared by every user of the server). The TrainConfig in the session is the
single source of truth: widgets are filled from it on every run and write back to it on change
(see ``ui.widgets.bound``), so values survive page switches and presets can fill every page at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.presets import PRESETS

if TYPE_CHECKING:
    import pandas as pd

    from mtl_core.data.registry import Dataset
    from mtl_core.data.sources import UploadStore
    from mtl_core.jobs.job import Job
    from mtl_core.jobs.pool.pool import Pool
    from mtl_core.jobs.pool.proxy import PoolJob, PoolTrainingJob
    from mtl_core.jobs.training import TrainingJob
    from mtl_core.models.stored import StoredModel

DEFAULT_PRESET = "heterogeneous"
# Where users upload a CSV, for the message about a config whose CSV was uploaded in another session.
UPLOAD_PAGE = " on Data & tasks"
# Uploaded frames live in the session; keep a few (the one in use is never dropped) so memory stays bounded.
MAX_KEPT_UPLOADS = 3

# Seconds before Streamlit's reconnect window ends at which a gone browser session is freed (see _watcher).
CLOSE_MARGIN = 15.0

# The session-state keys (public so that tests read the session the way this module writes it).
CONFIG_KEY = "mtl.config"
PRESET_KEY = "mtl.preset"
DATASET_KEY = "mtl.dataset"
UPLOADS_KEY = "mtl.uploads"
RUN_KEY = "mtl.run"
STORED_MODEL_KEY = "mtl.stored_model"
NOTEBOOK_KEY = "mtl.notebook"
RUN_COUNTER_KEY = "mtl.run_counter"
SCRATCH_KEY = "mtl.cache"
LIVE_KEY = "mtl.live"
SESSION_ID_KEY = "mtl.session_id"


@dataclass
class TrainingSession:
    """A training job (or a model read back from the run store) together with the data it was trained on.

    ``label`` names where the model comes from when it is not the session's own training (a stored run).
    """

    run: TrainingJob | PoolTrainingJob | StoredModel
    frame: pd.DataFrame
    dataset_title: str
    token: int
    cache: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def task_names(self) -> list[str]:
        """The run's task names in order."""
        return self.run.info.task_names


def _ss() -> Any:
    return st.session_state


# ---- the config ---------------------------------------------------------------------------------
def config() -> TrainConfig:
    """The session's config being edited (starts as the default preset)."""
    ss = _ss()
    if CONFIG_KEY not in ss:
        _warm_server()
        _watch_session()
        ss[CONFIG_KEY] = PRESETS[DEFAULT_PRESET].make_config()
        ss[PRESET_KEY] = DEFAULT_PRESET
    return ss[CONFIG_KEY]


def preset_name() -> str | None:
    """The preset last applied, or None once the user chose another dataset."""
    config()
    return _ss().get(PRESET_KEY)


def apply_preset(name: str) -> None:
    """Replace the whole config with a preset's; every page shows it from the next run."""
    ss = _ss()
    ss[CONFIG_KEY] = PRESETS[name].make_config()
    ss[PRESET_KEY] = name


def replace_config(new: TrainConfig) -> None:
    """Replace the whole config (from a shared link or an uploaded config file); no preset is in use."""
    ss = _ss()
    ss[CONFIG_KEY] = new
    ss[PRESET_KEY] = None


def has_config() -> bool:
    """True once this session has a config (the first run of a session has none yet)."""
    return CONFIG_KEY in _ss()


def set_dataset(name: str, suggested_tasks: tuple[str, ...] | list[str]) -> None:
    """Switch dataset: default parameters, its suggested tasks, every other column as input."""
    cfg = config()
    if cfg.dataset == name:
        return
    cfg.dataset = name
    cfg.dataset_params = {}
    cfg.tasks = [TaskSpec(t) for t in suggested_tasks]
    cfg.inputs = None
    cfg.heads = {}
    cfg.loss_weights = {}
    _ss()[PRESET_KEY] = None


def set_tasks(columns: list[str]) -> None:
    """Set the task columns, keeping chosen kinds, and drop settings of tasks no longer chosen."""
    cfg = config()
    kinds = {t.column: t.kind for t in cfg.tasks}
    cfg.tasks = [TaskSpec(c, kinds.get(c)) for c in columns]
    cfg.heads = {t: s for t, s in cfg.heads.items() if t in columns}
    cfg.loss_weights = {t: w for t, w in cfg.loss_weights.items() if t in columns}
    if cfg.inputs is not None:
        cfg.inputs = [c for c in cfg.inputs if c not in columns] or None


def set_task_kind(column: str, kind: str | None) -> None:
    """Set one task's kind (None: inferred from the column)."""
    for task in config().tasks:
        if task.column == column:
            task.kind = kind


# ---- datasets -----------------------------------------------------------------------------------
def uploads() -> UploadStore:
    """The CSV files uploaded in this session, by dataset name (``csv:<file>``)."""
    from mtl_core.data.sources import UploadStore

    return _ss().setdefault(UPLOADS_KEY, UploadStore(keep=MAX_KEPT_UPLOADS, where=UPLOAD_PAGE))


def dataset() -> Dataset:
    """The session config's dataset; raises DataError on a bad name or parameters."""
    return dataset_for(config())


def dataset_for(cfg: TrainConfig) -> Dataset:
    """A config's dataset, with this session's uploads; a built-in one is loaded once per (name, parameters)."""
    from mtl_core.data.sources import load_source, parse_source

    if parse_source(cfg.dataset).is_csv:
        return load_source(cfg, uploads())  # already in memory; a corrected file replaces it under the same name
    key = (cfg.dataset, tuple(sorted(cfg.dataset_params.items())))
    cached = _ss().get(DATASET_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    from mtl_core.limits import RunLimits, check_data

    # A link can ask a generator for a huge table: refuse it before making it (the server's limit).
    check_data(cfg.dataset, cfg.dataset_params, RunLimits.from_env())
    loaded = load_source(cfg, uploads())
    _ss()[DATASET_KEY] = (key, loaded)
    return loaded


def dataset_title(name: str) -> str:
    """A dataset's display title (registry title, or the uploaded file name)."""
    from mtl_core.data.sources import source_title

    return source_title(name, uploads())


def suggested_tasks(name: str) -> tuple[str, ...]:
    """The tasks a dataset (built-in or uploaded here) suggests."""
    from mtl_core.data.sources import suggested_tasks as suggested

    return suggested(name, uploads())


# ---- the training run ---------------------------------------------------------------------------
def training() -> TrainingSession | None:
    """The session's training run (running or finished), if any."""
    return _ss().get(RUN_KEY)


def new_training(cfg: TrainConfig, frame: pd.DataFrame) -> TrainingJob | PoolTrainingJob:
    """A training job for ``cfg`` (not started): in the server's worker pool, or a thread when ``MTL_WORKERS=0``.

    Bad input raises here (MTLError). The pool's job only validates and prepares the data: no TensorFlow in
    the page, so a press of Train registers its run in milliseconds.
    """
    from mtl_core.jobs.pool.pool import pool_enabled

    if pool_enabled():
        from mtl_core.jobs.pool.proxy import PoolTrainingJob

        return PoolTrainingJob(cfg, frame, session=_session_id(), pool=_pool())
    from mtl_core.jobs.training import TrainingJob

    return TrainingJob(cfg, frame)


def new_job(kind: str, factory: type, *args: Any, **kwargs: Any) -> Job | PoolJob:
    """A job running ``factory(*args, **kwargs)`` (a Work class; ``kind`` is "compare", "study" or "tuning").

    In the pool, the work is built in the worker; the core's TF-free checks of it run here first, so bad input
    raises here as it does for a job built in this process.
    """
    from mtl_core.jobs.pool.pool import pool_enabled

    if pool_enabled():
        from mtl_core.jobs.pool.checks import precheck
        from mtl_core.jobs.pool.proxy import PoolJob
        from mtl_core.jobs.pool.spec import WorkSpec

        precheck(factory, *args, **kwargs)
        return PoolJob(WorkSpec.of(kind, factory, *args, **kwargs), session=_session_id(), pool=_pool())
    from mtl_core.jobs.job import Job

    return Job(factory(*args, **kwargs))


@st.cache_resource(show_spinner=False)
def _pool() -> Pool:
    """The server's worker pool, kept in Streamlit's resource cache: a module reload (the server reloads edited
    source files) must not start a second pool next to the first."""
    from mtl_core.jobs.pool.pool import get_pool

    return get_pool()


@st.cache_resource(show_spinner=False)
def _warm_server() -> bool:
    """On a real server, once: start the worker pool and import what a press of Train needs, in the background,
    so the first student's press does not wait for them (AppTest sessions start the pool on first use)."""
    import threading

    if _server_runtime() is None:
        return False
    from mtl_core.jobs.pool.checks import warm
    from mtl_core.jobs.pool.pool import pool_enabled

    if pool_enabled():
        _pool().start()
    threading.Thread(target=warm, name="mtl-warm", daemon=True).start()
    return True


def _session_id() -> str | None:
    """This browser session's id (None outside a Streamlit script run); its jobs stop when it ends.

    AppTest gives every session the same id ("test session id"), so there the session's own id, kept in its
    state, tells sessions apart: the pool's per-session limits must count each session's runs alone.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    if _server_runtime() is not None:
        return ctx.session_id
    if SESSION_ID_KEY not in _ss():
        import uuid

        _ss()[SESSION_ID_KEY] = f"{ctx.session_id}:{uuid.uuid4().hex}"
    return _ss()[SESSION_ID_KEY]


def _server_runtime() -> Any:
    """Streamlit's runtime when this is a real server (None in scripts, and in AppTest, which mocks it)."""
    from streamlit.runtime import Runtime

    runtime = Runtime._instance if Runtime.exists() else None
    return runtime if type(runtime) is Runtime else None


def _is_active_session(session_id: str) -> bool:
    runtime = _server_runtime()
    return runtime is not None and runtime.is_active_session(session_id)


def _close_ended_session(session_id: str) -> None:
    """Free a browser session gone for longer than Streamlit keeps it for a reconnect.

    Streamlit drops an expired session only when a later one disconnects, so after a class has left, every
    student's histories and figures would stay in memory. ``Runtime.close_session`` must run on the server's
    event loop (Streamlit offers no public handle to it: ``_get_async_objs`` is read defensively).
    """
    runtime = _server_runtime()
    get_loop = getattr(runtime, "_get_async_objs", None)
    if get_loop is None:
        return

    def close() -> None:
        if not runtime.is_active_session(session_id):  # not reconnected meanwhile
            runtime.close_session(session_id)

    get_loop().eventloop.call_soon_threadsafe(close)


def _watcher() -> Any:
    """The server's session watcher (None without a server: AppTest and scripts have no browser to go away)."""
    if _server_runtime() is None:
        return None
    from streamlit import config as st_config

    from mtl_core.jobs.sessions import session_jobs

    # Before Streamlit's TTL runs out: an expired session can no longer be looked up, so close_session would
    # miss it, and Streamlit's cache would keep it until some later disconnect.
    ttl = float(st_config.get_option("server.disconnectedSessionTTL"))
    return session_jobs(_is_active_session, _close_ended_session, close_after=max(ttl - CLOSE_MARGIN, 0.0))


def _watch_session() -> None:
    """List this browser session with the watcher, so that it is freed once it has gone, jobs or not."""
    session_id, watcher = _session_id(), _watcher()
    if session_id is not None and watcher is not None:
        watcher.watch(session_id)


def _watch(job: Any) -> None:
    """Register ``job`` with the server's session watcher, which stops it once the browser session has ended."""
    session_id, watcher = _session_id(), _watcher()
    if session_id is not None and watcher is not None:
        watcher.add(session_id, job)


def start_training(run: TrainingJob | PoolTrainingJob, frame: pd.DataFrame, title: str) -> TrainingSession:
    """Stop any previous run, then start ``run`` (from ``new_training``) and keep it for the session (the job
    frees its traced graph when it ends; it stops once the browser session has ended)."""
    from ui.run_store import record_when_done

    stop_training()
    session = TrainingSession(run, frame, title, _next_token())
    _ss()[RUN_KEY] = session
    record_when_done(run)
    run.start()
    _watch(run)
    return session


def _next_token() -> int:
    ss = _ss()
    token = ss.get(RUN_COUNTER_KEY, 0) + 1
    ss[RUN_COUNTER_KEY] = token
    return token


def stop_training() -> None:
    """Ask the current run, if any, to stop at the next epoch boundary."""
    session = training()
    if session is not None and session.run.running:
        session.run.stop()


def reset_training() -> None:
    """Stop and forget the current run."""
    stop_training()
    _ss().pop(RUN_KEY, None)


# ---- play, pause, step: how a run is watched (continuous, speed) and its controls -------------------
#: Speed choices, epochs per second by label ("max": as fast as it trains).
SPEEDS: dict[str, float | None] = {"1": 1.0, "10": 10.0, "100": 100.0, "max": None}


@dataclass
class LiveSettings:
    """How the next run plays: continuous (until paused or stopped) or for the configured epochs, and its speed.

    The defaults are what a class can watch: continuous at a moderate speed (a preset's 200 epochs in 20 s).
    """

    continuous: bool = True
    speed: str = "10"


def live_settings() -> LiveSettings:
    """The session's play settings (kept across page switches and runs)."""
    return _ss().setdefault(LIVE_KEY, LiveSettings())


def set_continuous(on: bool) -> None:
    """Play until paused (True) or for the configured epochs; applies to the run in progress at once."""
    live_settings().continuous = bool(on)
    run = _live_run()
    if run is not None:
        run.set_continuous(bool(on))


def set_speed(label: str) -> None:
    """Set the speed (a key of SPEEDS); applies to the run in progress at once."""
    if label not in SPEEDS:
        return
    live_settings().speed = label
    run = _live_run()
    if run is not None:
        run.set_speed(SPEEDS[label])


def _live_run() -> TrainingJob | PoolTrainingJob | None:
    session = training()
    return session.run if session is not None and session.run.running else None


def play_training(run: TrainingJob | PoolTrainingJob, frame: pd.DataFrame, title: str, *,
                  step: bool = False) -> TrainingSession:
    """Start a new run with the session's play settings; ``step``: exactly one epoch, then paused."""
    live = live_settings()
    run.set_continuous(live.continuous)
    run.set_speed(SPEEDS[live.speed])
    session = start_training(run, frame, title)
    if step:
        # One call, right after the start: it lands while the first epoch is still being traced (seconds), so
        # the run pauses before any epoch and then trains exactly one. (A pause sent before the start, then a
        # step, could reach a worker process in the other order.)
        run.step(1)
    return session


def resume_training() -> None:
    """Go on with the paused run (same optimizer state, same history)."""
    run = _live_run()
    if run is not None:
        run.resume()


def pause_training() -> None:
    """Pause the run in progress at the next epoch boundary."""
    run = _live_run()
    if run is not None:
        run.pause()


def step_training() -> None:
    """Train the run in progress exactly one more epoch, then pause it."""
    run = _live_run()
    if run is not None:
        run.step(1)


# ---- the model Predict uses: the latest training, or a stored run opened since ----------------------
def open_stored_model(model: StoredModel, frame: pd.DataFrame, title: str, label: str) -> TrainingSession:
    """Make a model read back from the run store the session's current model (the training stays as it is)."""
    session = TrainingSession(model, frame, title, _next_token(), label=label)
    _ss()[STORED_MODEL_KEY] = session
    return session


def current_model() -> TrainingSession | None:
    """The model to predict with: the session's training or the stored run opened, whichever came last."""
    ss = _ss()
    candidates = [s for s in (ss.get(RUN_KEY), ss.get(STORED_MODEL_KEY)) if s is not None]
    return max(candidates, key=lambda s: s.token, default=None)


# ---- what the live views of a model show: the Predict inputs' values and the landscape's two axes ----------
def held_inputs(session: TrainingSession) -> dict[str, Any] | None:
    """The Predict page's input values as last set for ``session``'s model (None until the page ran)."""
    return session.cache.get("held_inputs")


def set_held_inputs(session: TrainingSession, values: dict[str, Any]) -> None:
    """Remember the Predict inputs, so the landscapes on Train hold the other inputs at the same values."""
    session.cache["held_inputs"] = dict(values)


def landscape_axes(session: TrainingSession) -> tuple[str, str] | None:
    """The two inputs the landscapes of ``session``'s model are drawn over, once chosen."""
    return session.cache.get("landscape_axes")


def set_landscape_axes(session: TrainingSession, axes: tuple[str, str]) -> None:
    """Choose the landscapes' two inputs (across, up)."""
    session.cache["landscape_axes"] = tuple(axes)


# ---- the notebook: the id (kept in the URL) that the session's recorded runs belong to ---------------
def notebook() -> str | None:
    """The session's notebook id, once ``ui.share`` read or made it."""
    return _ss().get(NOTEBOOK_KEY)


def set_notebook(notebook_id: str) -> None:
    """Set the session's notebook id."""
    _ss()[NOTEBOOK_KEY] = notebook_id


# ---- other jobs (a comparison, a relatedness study), by name, in the scratch space ---------------
_JOBS = "jobs"


def job(name: str) -> Job | None:
    """The session's job called ``name`` (running or finished), if any."""
    return scratch().get(_JOBS, {}).get(name)


def start_job(name: str, new: Job | PoolJob) -> Job | PoolJob:
    """Stop the session's previous ``name`` job, if any, then start ``new`` in its place."""
    from ui.run_store import record_when_done

    stop_job(name)
    scratch().setdefault(_JOBS, {})[name] = new
    record_when_done(new)
    new.start()
    _watch(new)
    return new


def stop_job(name: str) -> None:
    """Ask the session's ``name`` job to stop, if it is running."""
    current = job(name)
    if current is not None and current.running:
        current.stop()


def forget_job(name: str) -> None:
    """Stop and forget the session's ``name`` job."""
    stop_job(name)
    scratch().get(_JOBS, {}).pop(name, None)


# ---- small per-session scratch space --------------------------------------------------------------
def scratch() -> dict[str, Any]:
    """A per-session dict for UI bits that are not config (selected example, last flash message)."""
    return _ss().setdefault(SCRATCH_KEY, {})
