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
    from mtl_core.jobs.training import TrainingJob
    from mtl_core.models.stored import StoredModel

DEFAULT_PRESET = "heterogeneous"
# Where users upload a CSV, for the message about a config whose CSV was uploaded in another session.
UPLOAD_PAGE = " on Data & tasks"
# Uploaded frames live in the session; keep a few (the one in use is never dropped) so memory stays bounded.
MAX_KEPT_UPLOADS = 3

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


@dataclass
class TrainingSession:
    """A training job (or a model read back from the run store) together with the data it was trained on.

    ``label`` names where the model comes from when it is not the session's own training (a stored run).
    """

    run: TrainingJob | StoredModel
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


def start_training(run: TrainingJob, frame: pd.DataFrame, title: str) -> TrainingSession:
    """Stop any previous run, then start ``run`` and keep it for the session (the job frees its traced graph
    when it ends)."""
    from ui.run_store import record_when_done

    stop_training()
    session = TrainingSession(run, frame, title, _next_token())
    _ss()[RUN_KEY] = session
    record_when_done(run)
    run.start()
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


def start_job(name: str, new: Job) -> Job:
    """Stop the session's previous ``name`` job, if any, then start ``new`` in its place."""
    from ui.run_store import record_when_done

    stop_job(name)
    scratch().setdefault(_JOBS, {})[name] = new
    record_when_done(new)
    return new.start()


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
