"""Plotly figures of a training run: losses, weights, gradient conflict, confusion matrices, predicted vs true."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from mtl_core.training.events import weight_changes as user_weight_changes
from ui.plain import plain_figure

PALETTE = qualitative.Plotly
TOTAL_COLOR = "#222222"
NEGATIVE_COLOR = "#d62728"
# Above this many epochs a chart plots evenly spaced epochs (the last one always); plotly stays fast.
MAX_POINTS = 500
# While training the charts are rebuilt every second, and Streamlit remounts a plotly chart whenever its
# figure changes (its element ID hashes the whole figure): fewer points and no mode bar make each remount,
# and so the blank moment while plotly draws, short. (staticPlot, without hover, measured no better.)
LIVE_POINTS = 200
LIVE_CONFIG = {"displayModeBar": False}
# Weight changes marked on the loss chart: the latest ones (each is a shape plotly has to draw).
MAX_MARKED_CHANGES = 20


def color(i: int) -> str:
    """The colour of the i-th task (or task pair)."""
    return PALETTE[i % len(PALETTE)]


def _thin(events: Sequence[Any], max_points: int = MAX_POINTS) -> list[Any]:
    if len(events) <= max_points:
        return list(events)
    # Evenly spaced indices from the first to the last event: the newest epoch is always drawn.
    index = np.unique(np.linspace(0, len(events) - 1, max_points).round().astype(int))
    return [events[i] for i in index]


def _series(events: Sequence[Any], value: Any) -> np.ndarray:
    # numpy arrays, not lists: plotly validates lists element by element (5x slower on live charts).
    return np.array([value(e) for e in events], dtype=float)


def _layout(fig: go.Figure, *, height: int, y_title: str, log: bool = False) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
                      xaxis_title="epoch", yaxis_title=y_title)
    if log:
        fig.update_yaxes(type="log")
    return plain_figure(fig)  # task names in legends: plain text, not plotly HTML


def weight_changes(events: Sequence[Any]) -> list[int]:
    """Epochs whose loss weights differ from the epoch before (where the user moved a slider)."""
    return [change["epoch"] for change in user_weight_changes(list(events))]


def loss_figure(events: Sequence[Any], tasks: list[str], *, log: bool = False, mark_changes: bool = True,
                changes: Sequence[int] | None = None, max_points: int = MAX_POINTS) -> go.Figure:
    """Each task's training (solid) and validation (dotted) loss, and the weighted total, per epoch.

    ``mark_changes`` draws a dashed line where the loss weights changed (``changes``, or found in ``events``).
    """
    shown = _thin(events, max_points)
    epochs = _series(shown, lambda e: e.epoch)
    fig = go.Figure()
    for i, task in enumerate(tasks):
        fig.add_trace(go.Scatter(x=epochs, y=_series(shown, lambda e, t=task: e.loss.get(t, np.nan)), name=task,
                                 mode="lines",
                                 line={"color": color(i), "width": 2}, legendgroup=task))
        if shown and shown[-1].val_loss:
            fig.add_trace(go.Scatter(x=epochs, y=_series(shown, lambda e, t=task: e.val_loss.get(t, np.nan)),
                                     name=f"{task} (val)",
                                     mode="lines", line={"color": color(i), "width": 2, "dash": "dot"},
                                     legendgroup=task))
    fig.add_trace(go.Scatter(x=epochs, y=_series(shown, lambda e: e.total_loss), name="weighted total", mode="lines",
                             line={"color": TOTAL_COLOR, "width": 3}))
    if mark_changes:
        # One layout update for all marks: add_vline per mark costs ~1 ms each in plotly.
        fig.update_layout(shapes=[
            {"type": "line", "xref": "x", "yref": "paper", "x0": epoch - 0.5, "x1": epoch - 0.5, "y0": 0, "y1": 1,
             "line": {"color": "#888888", "dash": "dash", "width": 1}}
            for epoch in list(weight_changes(events) if changes is None else changes)[-MAX_MARKED_CHANGES:]])
    return _layout(fig, height=380, y_title="loss (log)" if log else "loss", log=log)


def weights_figure(events: Sequence[Any], tasks: list[str], *, max_points: int = MAX_POINTS,
                   y_title: str = "loss weight") -> go.Figure:
    """The weight of each task at every epoch: the loss weight in force, or (``y_title="effective weight"``)
    the coefficient a gradient-changing method gave its gradient."""
    shown = _thin(events, max_points)
    fig = go.Figure()
    for i, task in enumerate(tasks):
        fig.add_trace(go.Scatter(x=_series(shown, lambda e: e.epoch),
                                 y=_series(shown, lambda e, t=task: e.weights.get(t, np.nan)), name=task,
                                 mode="lines", line={"color": color(i), "width": 2, "shape": "hv"}))
    return _layout(fig, height=260, y_title=y_title)


def conflict_figure(events: Sequence[Any], *, max_points: int = MAX_POINTS) -> go.Figure:
    """Cosine similarity of each task pair's gradients on the shared layers; negative points in red."""
    shown = [e for e in _thin(events, max_points) if e.conflict]
    pairs = list(shown[-1].conflict) if shown else []
    fig = go.Figure()
    fig.add_hrect(y0=-1, y1=0, fillcolor=NEGATIVE_COLOR, opacity=0.06, line_width=0)
    fig.add_hline(y=0, line={"color": "#888888", "width": 1})
    for i, pair in enumerate(pairs):
        with_pair = [e for e in shown if pair in e.conflict]
        xs = _series(with_pair, lambda e: e.epoch)
        ys = _series(with_pair, lambda e, p=pair: e.conflict[p])
        fig.add_trace(go.Scatter(
            x=xs, y=ys, name=pair, mode="lines+markers", line={"color": color(i), "width": 1.5},
            marker={"size": np.where(ys < 0, 6, 0), "color": NEGATIVE_COLOR}))
    fig.update_yaxes(range=[-1.05, 1.05])
    return _layout(fig, height=260, y_title="gradient cosine")


def confusion_figure(classes: list[str], y_true: np.ndarray, y_pred: np.ndarray) -> go.Figure:
    """A confusion matrix heatmap: rows are true classes, columns predicted ones."""
    n = len(classes)
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    labels = [str(c) for c in classes]
    fig = go.Figure(go.Heatmap(z=counts.tolist(), x=labels, y=labels, colorscale="Blues", showscale=False,
                               text=counts.tolist(), texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    # Categorical axes: class labels such as Waist 31..46 are names, one cell and one tick each, not points on
    # a number line (plotly would read "31", "46" as numbers, space the cells by value and tick in between).
    # The cells keep the classes' order (the traces'); dtick 1 labels every one.
    axes = {"type": "category", "tickmode": "linear", "dtick": 1}
    fig.update_yaxes(autorange="reversed", title="true", **axes)
    fig.update_xaxes(title="predicted", side="bottom", **axes)
    fig.update_layout(height=80 + 45 * n, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return plain_figure(fig)  # class labels as ticks: plain text


def scatter_figure(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> go.Figure:
    """Predicted against true values, with the diagonal a perfect model would sit on."""
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    low = float(min(y_true.min(), y_pred.min()))
    high = float(max(y_true.max(), y_pred.max()))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect",
                             line={"color": "#888888", "dash": "dash"}))
    fig.add_trace(go.Scatter(x=y_true, y=y_pred, mode="markers", name=task, marker={"color": color(0), "size": 7,
                                                                                     "opacity": 0.75}))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False,
                      xaxis_title=f"true {task}", yaxis_title=f"predicted {task}")
    return plain_figure(fig)
