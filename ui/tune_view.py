"""Tune page: its settings (kept per session), the study read from storage, the Pareto-front chart and tables."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from mtl_core.errors import ConfigError, MTLError
from mtl_core.tuning.space import DEFAULT_SPACE
from ui import state
from ui.charts import color
from ui.plain import html_text, plain_figure

if TYPE_CHECKING:
    from mtl_core.config import TrainConfig
    from mtl_core.store import RunRecord
    from mtl_core.tuning.trials import StudySnapshot, TrialPoint

FRONT_COLOR = color(0)
DOMINATED_COLOR = "#9a9a9a"
OBJECTIVE_TITLES = {"loss": "Validation loss", "metric": "Main metric (accuracy, RMSE)"}
#: A loss axis turns logarithmic when its values spread over more than this factor.
LOG_SPREAD = 10.0
_SETTINGS = "tune.settings"
_STORAGES = "tune.storages"
_RECORDS = "tune.records"


@dataclass
class TuneSettings:
    """What the user chose on the page; empty storage or study means the default one."""

    space: list[str] = field(default_factory=lambda: list(DEFAULT_SPACE))
    objective: str = "loss"
    trials: int = 10
    seed: int = 0
    storage: str = ""
    study: str = ""
    follow: bool = True
    #: The trial whose details are shown (picked on the chart or in the list).
    selected: int | None = None
    #: The trial the chart's selection pointed at last time (a new pick on the chart replaces ``selected``).
    chart_pick: int | None = None


def settings() -> TuneSettings:
    """The session's tuning settings."""
    return state.scratch().setdefault(_SETTINGS, TuneSettings())


def study_name(config: TrainConfig) -> str:
    """The study the page works on: the typed name, else the default name of the session's setup."""
    from mtl_core.tuning.trials import default_study_name

    return settings().study.strip() or default_study_name(config, settings().objective)


def storage_url() -> str:
    """The storage the page works on: the typed URL, else the core's default study storage."""
    from mtl_core.store import default_study_storage

    return settings().storage.strip() or default_study_storage()


def shown_url(url: str) -> str:
    """A storage URL as shown on the page (password masked)."""
    from mtl_core.store.urls import shown

    return shown(url)


def forget_storages() -> None:
    """Drop the opened storages (and remembered errors), so a changed URL is tried again."""
    state.scratch().pop(_STORAGES, None)


def storage(url: str) -> Any:
    """The RDB storage for ``url``, opened once per session; raises the core's ConfigError (remembered, so a
    database that cannot be reached is not retried every second)."""
    from mtl_core.tuning.storage import open_storage

    opened = state.scratch().setdefault(_STORAGES, {})
    if url not in opened:
        try:
            opened[url] = open_storage(url)
        except MTLError as exc:
            opened[url] = exc
    value = opened[url]
    if isinstance(value, MTLError):
        raise value
    return value


def read(url: str, name: str) -> StudySnapshot | None:
    """The study as stored now (trials from every worker); None if the storage has no such study."""
    from mtl_core.tuning.trials import read_study

    try:
        return read_study(storage(url), name)
    except MTLError:
        raise
    except Exception as exc:  # noqa: BLE001 - a database gone away mid-study: one line, not a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"storage={shown_url(url)!r} is invalid: cannot read study {name!r} ({first}).",
                          param="storage", value=shown_url(url)) from None


# ---- the chart ------------------------------------------------------------------------------------------
def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def objective_label(snap: StudySnapshot, k: int) -> str:
    """Axis title of objective ``k``: task, value and direction."""
    better = "lower" if snap.lower_is_better[k] else "higher"
    return f"{snap.tasks[k]} · {snap.objective_names[k].replace('_', ' ')} ({better} is better)"


def _hover(snap: StudySnapshot, trial: TrialPoint) -> str:
    values = "<br>".join(f"{html_text(task)}: {_number(trial.values[task])}" for task in snap.tasks)
    params = "<br>".join(f"{k} = {_number(v)}" for k, v in trial.params.items())
    where = "on the front" if trial.on_front else "dominated"
    return f"<b>trial {trial.number}</b> ({where})<br>{values}" + (f"<br><br>{params}" if params else "")


def pareto_figure(snap: StudySnapshot) -> go.Figure:
    """The study's trials: x = the first task's objective, y = the second's (a pairs view for three or more);
    front trials highlighted (and joined, for two tasks), dominated ones faded; hover shows the params."""
    if len(snap.tasks) == 2:
        fig = _scatter(snap)
    else:
        fig = _pairs(snap)
    fig.update_layout(height=460, margin={"l": 10, "r": 10, "t": 30, "b": 10}, clickmode="event+select",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0}, hovermode="closest")
    return plain_figure(fig)  # task names in axis titles: plain text (the hover text escapes its own)


def _scatter(snap: StudySnapshot) -> go.Figure:
    a, b = snap.tasks
    fig = go.Figure()
    dominated = [t for t in snap.complete if not t.on_front]
    front = sorted(snap.front, key=lambda t: (t.values[a], t.values[b]))
    fig.add_trace(go.Scatter(
        x=[t.values[a] for t in dominated], y=[t.values[b] for t in dominated], mode="markers",
        name="dominated", customdata=[t.number for t in dominated], hovertext=[_hover(snap, t) for t in dominated],
        hovertemplate="%{hovertext}<extra></extra>",
        marker={"color": DOMINATED_COLOR, "size": 8, "opacity": 0.45},
        unselected={"marker": {"opacity": 0.3}}))  # plotly's default fades the others to near-invisible
    fig.add_trace(go.Scatter(
        x=[t.values[a] for t in front], y=[t.values[b] for t in front], mode="lines+markers", name="Pareto front",
        customdata=[t.number for t in front], hovertext=[_hover(snap, t) for t in front],
        hovertemplate="%{hovertext}<extra></extra>",
        marker={"color": FRONT_COLOR, "size": 12, "line": {"color": "white", "width": 1}},
        line={"color": FRONT_COLOR, "width": 2}, unselected={"marker": {"opacity": 0.6}},
        selected={"marker": {"size": 16}}))
    for k, axis in enumerate((fig.update_xaxes, fig.update_yaxes)):
        log = _axis_type(snap, k) == "log"
        # On a log axis one label per decade: plotly's default labels 2..9 in between crowd the axis.
        axis(title=objective_label(snap, k), type="log" if log else "linear", **({"dtick": 1} if log else {}))
    return fig


def _axis_type(snap: StudySnapshot, k: int) -> str:
    """Log for a loss spread over more than a factor of LOG_SPREAD (a few bad trials would squeeze the front
    into a corner), linear otherwise (metrics such as accuracy live in a fixed range)."""
    values = [t.values[snap.tasks[k]] for t in snap.complete]
    values = [v for v in values if math.isfinite(v)]
    if snap.objective_names[k] != "val_loss" or not values or min(values) <= 0:
        return "linear"
    return "log" if max(values) / min(values) > LOG_SPREAD else "linear"


def _pairs(snap: StudySnapshot) -> go.Figure:
    trials = snap.complete
    fig = go.Figure(go.Splom(
        dimensions=[{"label": f"{task} · {snap.objective_names[k].replace('_', ' ')}",
                     "values": [t.values[task] for t in trials]} for k, task in enumerate(snap.tasks)],
        customdata=[t.number for t in trials], hovertext=[_hover(snap, t) for t in trials],
        hovertemplate="%{hovertext}<extra></extra>", showupperhalf=False, diagonal={"visible": False},
        name="trials",
        marker={"color": [FRONT_COLOR if t.on_front else DOMINATED_COLOR for t in trials],
                "size": [11 if t.on_front else 7 for t in trials],
                "opacity": [1.0 if t.on_front else 0.45 for t in trials], "line": {"color": "white", "width": 0.5}}))
    return fig


def picked_trial(event: Any) -> int | None:
    """The trial number of the point selected on the chart (its customdata), or None."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points or []:
        data = point.get("customdata")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        if isinstance(data, int | float):
            return int(data)
    return None


# ---- tables ---------------------------------------------------------------------------------------------
def front_table(snap: StudySnapshot) -> pd.DataFrame:
    """The front, one row per trial: its objectives, its parameters and its run."""
    rows = []
    for t in sorted(snap.front, key=lambda t: t.values[snap.tasks[0]] * (1 if snap.lower_is_better[0] else -1)):
        row: dict[str, Any] = {"trial": t.number}
        row.update({f"{task} {snap.objective_names[k].replace('_', ' ')}": t.values[task]
                    for k, task in enumerate(snap.tasks)})
        row.update({k: _number(v) for k, v in t.params.items()})
        row["run"] = (t.run_id or "")[:8]
        rows.append(row)
    return pd.DataFrame(rows)


def counts_line(snap: StudySnapshot) -> str:
    """E.g. "12 trials: 9 complete, 2 pruned, 1 running · 3 on the front"."""
    counts = snap.counts()
    order = ["complete", "pruned", "running", "fail", "waiting"]
    parts = [f"{counts[s]} {'failed or stopped' if s == 'fail' else s}" for s in order if counts.get(s)]
    total = len(snap.trials)
    return f"{total} trial{'s' if total != 1 else ''}" + (f": {', '.join(parts)}" if parts else "") + \
        f" · {len(snap.front)} on the front"


def worker_command(url: str, name: str, trials: int) -> str:
    """The ``mtl tune`` line that adds workers to this study from any machine reaching the storage."""
    s = settings()
    return (f"mtl tune --config tune-config.json --space {','.join(s.space) or '…'} --objective {s.objective} "
            f"--trials {trials} --storage '{shown_url(url)}' --study '{name}'")


def config_file(config: TrainConfig) -> bytes:
    """The session's config as the JSON file ``mtl tune --config`` reads (with the page's seed)."""
    from mtl_core.io.strict_json import finite

    data = config.to_dict()
    data["seed"] = int(settings().seed)
    return (json.dumps(finite(data), indent=2) + "\n").encode("utf-8")


# ---- a trial's run ----------------------------------------------------------------------------------------
def run_record(run_id: str | None) -> RunRecord | None:
    """The trial's run from the run store (cached per session: a finished run does not change), or None."""
    if not run_id:
        return None
    cache = state.scratch().setdefault(_RECORDS, {})
    if run_id not in cache:
        from mtl_core.store import open_store

        try:
            with open_store() as store:
                cache[run_id] = store.get_run(run_id)
        except MTLError:
            return None  # another store (a worker's --db), or deleted: the trial's params still apply
    return cache[run_id]


def metric_lines(record: RunRecord) -> list[str]:
    """The run's test metrics, one line per task (a task has only its kind's metrics)."""
    return [f"{task}: " + " · ".join(f"{name} {_number(float(v))}" for name, v in metrics.items() if v is not None)
            for task, metrics in record.test_metrics.items()]


def trial_config(trial: TrialPoint, record: RunRecord | None) -> TrainConfig:
    """The trial's config: its run's, else the trial's parameters applied to the session's config."""
    from mtl_core.config import TrainConfig
    from mtl_core.tuning.trials import apply_params

    if record is not None and record.config:
        return TrainConfig.from_dict(record.config)
    return apply_params(state.config(), trial.params)


def use_settings(trial: TrialPoint, record: RunRecord | None) -> None:
    """Put the trial's config into the session (Model & losses and Train show it from the next run)."""
    state.replace_config(trial_config(trial, record))
    state.scratch()["tune.flash"] = (f"The session's settings are trial {trial.number}'s now: see **Model & "
                                     "losses** and **Train**.")


def pop_flash() -> str | None:
    """The message left by the last action, once."""
    return state.scratch().pop("tune.flash", None)
