"""The Runs page's pieces: the runs table, filters, the loss-curve overlay and the config diff of picked runs.

Everything here works on listed ``RunRecord``s (no history, no model): histories are read only for the runs
picked for the overlay, and kept thinned in the session so that a rerun does not read them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from ui import state
from ui.plain import plain_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from mtl_core.store.record import RunRecord
    from mtl_core.store.runs import RunStore

#: The settings the table shows for each run (config field -> column).
KEY_SETTINGS = {"arch": "arch", "shared": "shared", "weighting": "weighting", "lr": "lr", "epochs": "epochs"}
#: Each metric a task's primary metric may be, for runs recorded without one in their summary (e.g. by another
#: tool): the names ``mtl_core.training.metrics.PRIMARY_METRIC`` uses. Importing that module loads scikit-learn
#: (1-2 s), too slow for opening this page, so recorded runs keep their primary metrics in the summary.
FALLBACK_METRICS = ("accuracy", "rmse")
# At most this many epochs per curve in the overlay (evenly spaced, the last one always).
OVERLAY_POINTS = 1000
_HISTORIES = "runs.histories"
_DASHES = ("dash", "dot", "dashdot", "longdash", "longdashdot")


def when(record: RunRecord) -> datetime | None:
    """When the run ended (or started, for a run recorded without an end)."""
    return record.ended_at or record.started_at


def short_when(record: RunRecord) -> str:
    """The run's time as ``YYYY-MM-DD HH:MM`` UTC."""
    moment = when(record)
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "?"


def label(record: RunRecord) -> str:
    """A run's name with its time and short id, for pickers."""
    return f"{record.name} · {short_when(record)} · {record.id[:6]}"


def text(value: Any) -> str:
    """A config value as short text (lists comma-separated, dicts as ``key: value`` pairs)."""
    if isinstance(value, dict) and "column" in value:  # a task: {"column": name, "kind": kind or None}
        return str(value["column"]) + (f":{value['kind']}" if value.get("kind") else "")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def primary(record: RunRecord) -> dict[str, tuple[str, float]]:
    """Each task's main test metric: ``{task: (metric, value)}``."""
    stored = record.summary.get("primary") if isinstance(record.summary, dict) else None
    if isinstance(stored, dict) and stored:
        return {task: (m["metric"], m["value"]) for task, m in stored.items()}
    out = {}
    for task, metrics in record.test_metrics.items():
        name = next((m for m in FALLBACK_METRICS if m in metrics), None)
        if name is not None:
            out[task] = (name, metrics[name])
    return out


def table(records: Sequence[RunRecord], notebook: str | None) -> pd.DataFrame:
    """One row per run: name, when, kind, dataset, tasks, key settings, status, who sees it, each task's metric."""
    rows = []
    for r in records:
        # What tells runs apart first (name, time, outcome, metrics), then what they were run on and with.
        row = {"name": r.name, "when": when(r), "status": r.status}
        for task, (metric, value) in primary(r).items():
            row[f"{task} · {metric}"] = value
        row.update({"dataset": r.dataset, "tasks": ", ".join(r.tasks)})
        row.update({column: text(r.config.get(name)) for name, column in KEY_SETTINGS.items()})
        row["lr"], row["epochs"] = r.config.get("lr"), r.config.get("epochs")  # numbers: sort as numbers
        row["epochs run"] = r.epochs_run
        row["kind"] = r.kind
        row["visible to"] = ("everyone" if r.shared else "this notebook") if r.notebook == notebook else "shared"
        row["id"] = (r.id or "")[:8]
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["when"] = pd.to_datetime(frame["when"], utc=True)
    return frame


def filter_runs(records: Iterable[RunRecord], *, statuses: Sequence[str] = (), datasets: Sequence[str] = (),
                kinds: Sequence[str] = (), search: str = "") -> list[RunRecord]:
    """The runs that pass every filter given (an empty filter passes all); ``search`` matches name, dataset,
    tasks, status, kind or id, case-insensitively."""
    needle = search.strip().lower()
    out = []
    for r in records:
        if (statuses and r.status not in statuses) or (datasets and r.dataset not in datasets) or (
                kinds and r.kind not in kinds):
            continue
        if needle and needle not in " ".join([r.name, r.dataset, " ".join(r.tasks), r.status, r.kind,
                                              r.id or ""]).lower():
            continue
        out.append(r)
    return out


# ---- the overlay of picked runs ------------------------------------------------------------------------------
def _thin(history: list[dict], points: int) -> list[dict]:
    if len(history) <= points:
        return history
    step = len(history) / (points - 1)
    picked = [history[int(i * step)] for i in range(points - 1)]
    return picked + [history[-1]]


def curves(store: RunStore, run_ids: Sequence[str]) -> dict[str, dict]:
    """Each picked run's thinned loss curves ``{"epoch": [...], "total": [...], "tasks": {task: [...]}}``.

    Read from the store once per run and kept in the session (only for runs still picked).
    """
    cache: dict[str, dict] = state.scratch().setdefault(_HISTORIES, {})
    for stale in set(cache) - set(run_ids):
        del cache[stale]
    for run_id in run_ids:
        if run_id not in cache:
            history = _thin(store.get_run(run_id).history, OVERLAY_POINTS)
            tasks = list(dict.fromkeys(t for e in history for t in e.get("loss", {})))
            cache[run_id] = {"epoch": [e.get("epoch") for e in history],
                             "total": [e.get("total_loss") for e in history],
                             "tasks": {t: [e.get("loss", {}).get(t) for e in history] for t in tasks}}
    return {run_id: cache[run_id] for run_id in run_ids}


def overlay_figure(records: Sequence[RunRecord], series: dict[str, dict], *, log: bool = False) -> go.Figure:
    """Total (solid, thick) and per-task training loss (dashed) by epoch; one colour per run."""
    import plotly.graph_objects as go

    from ui.charts import color

    fig = go.Figure()
    for i, record in enumerate(records):
        data = series[record.id]
        group = label(record)
        fig.add_trace(go.Scatter(x=data["epoch"], y=data["total"], name=f"{record.name}: weighted total",
                                 mode="lines", line={"color": color(i), "width": 3}, legendgroup=group,
                                 legendgrouptitle_text=group))
        for j, (task, values) in enumerate(data["tasks"].items()):
            fig.add_trace(go.Scatter(x=data["epoch"], y=values, name=f"{record.name}: {task}", mode="lines",
                                     line={"color": color(i), "width": 1.5, "dash": _DASHES[j % len(_DASHES)]},
                                     legendgroup=group))
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="epoch",
                      yaxis_title="training loss", yaxis_type="log" if log else "linear",
                      legend={"groupclick": "toggleitem"})
    return plain_figure(fig)  # run and task names in the legend: plain text


# ---- configs side by side ------------------------------------------------------------------------------------
def config_diff(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per config field (those that differ first), one column per run, and ``differs`` (True where the
    runs' values differ)."""
    names = list(dict.fromkeys(name for r in records for name in r.config))
    columns = []
    for r in records:
        column = label(r)
        while column in columns:  # two runs with the same name and minute
            column += " "
        columns.append(column)
    rows = []
    for name in names:
        values = [text(r.config.get(name)) for r in records]
        rows.append({"field": name, "differs": len(set(values)) > 1, **dict(zip(columns, values))})
    rows.sort(key=lambda row: not row["differs"])  # what differs first (stable: the config's order otherwise)
    return pd.DataFrame(rows, columns=["field", "differs", *columns])


def highlight(frame: pd.DataFrame) -> Any:
    """``config_diff``'s frame as a Styler: rows that differ on a yellow background."""
    def row_style(row: pd.Series) -> list[str]:
        return ["background-color: rgba(255, 210, 0, 0.35)" if row["differs"] else ""] * len(row)

    return frame.style.apply(row_style, axis=1)
