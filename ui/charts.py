"""Plotly figures of a training run: losses, weights, gradient conflict, confusion matrices and predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.Plotly
TOTAL_COLOR = "#222222"
NEGATIVE_COLOR = "#d62728"
# Above this many epochs the live charts plot every k-th epoch (the last one always); plotly stays fast.
MAX_POINTS = 500


def color(i: int) -> str:
    """The colour of the i-th task (or task pair)."""
    return PALETTE[i % len(PALETTE)]


def _thin(events: Sequence[Any]) -> list[Any]:
    if len(events) <= MAX_POINTS:
        return list(events)
    step = int(np.ceil(len(events) / MAX_POINTS))
    kept = list(events[::step])
    if kept[-1] is not events[-1]:
        kept.append(events[-1])
    return kept


def _series(events: Sequence[Any], value: Any) -> np.ndarray:
    # numpy arrays, not lists: plotly validates lists element by element (5x slower on live charts).
    return np.array([value(e) for e in events], dtype=float)


def _layout(fig: go.Figure, *, height: int, y_title: str, log: bool = False) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
                      xaxis_title="epoch", yaxis_title=y_title)
    if log:
        fig.update_yaxes(type="log")
    return fig


def weight_changes(events: Sequence[Any]) -> list[int]:
    """Epochs whose loss weights differ from the epoch before (where the user moved a slider)."""
    changes = []
    for before, after in zip(events, events[1:]):
        if any(abs(after.weights[t] - before.weights.get(t, after.weights[t])) > 1e-9 for t in after.weights):
            changes.append(after.epoch)
    return changes


def loss_figure(events: Sequence[Any], tasks: list[str], *, log: bool = False,
                mark_changes: bool = True) -> go.Figure:
    """Each task's training (solid) and validation (dotted) loss, and the weighted total, per epoch."""
    shown = _thin(events)
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
        for epoch in weight_changes(events):
            fig.add_vline(x=epoch - 0.5, line={"color": "#888888", "dash": "dash", "width": 1})
    return _layout(fig, height=380, y_title="loss (log)" if log else "loss", log=log)


def weights_figure(events: Sequence[Any], tasks: list[str]) -> go.Figure:
    """The loss weight of each task in force at every epoch."""
    shown = _thin(events)
    fig = go.Figure()
    for i, task in enumerate(tasks):
        fig.add_trace(go.Scatter(x=_series(shown, lambda e: e.epoch),
                                 y=_series(shown, lambda e, t=task: e.weights.get(t, np.nan)), name=task,
                                 mode="lines", line={"color": color(i), "width": 2, "shape": "hv"}))
    return _layout(fig, height=260, y_title="loss weight")


def conflict_figure(events: Sequence[Any]) -> go.Figure:
    """Cosine similarity of each task pair's gradients on the shared layers; negative points in red."""
    shown = [e for e in _thin(events) if e.conflict]
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
    fig = go.Figure(go.Heatmap(z=counts.tolist(), x=classes, y=classes, colorscale="Blues", showscale=False,
                               text=counts.tolist(), texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="true")
    fig.update_xaxes(title="predicted", side="bottom")
    fig.update_layout(height=80 + 45 * n, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


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
    return fig


def range_figure(value: float, low: float, high: float, *, true: float | None = None) -> go.Figure:
    """Where a predicted value (and the true one, if known) falls in the data's range."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[low, high], y=[0, 0], mode="lines+text", line={"color": "#c8d3e3", "width": 8},
                             text=[f"{low:.4g}", f"{high:.4g}"], textposition=["bottom right", "bottom left"],
                             hoverinfo="skip", showlegend=False))
    if true is not None:
        fig.add_trace(go.Scatter(x=[true], y=[0], mode="markers", name="true",
                                 marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": TOTAL_COLOR}}))
    fig.add_trace(go.Scatter(x=[value], y=[0], mode="markers", name="predicted",
                             marker={"size": 14, "color": color(0), "line": {"width": 1, "color": "white"}}))
    span = (high - low) or 1.0
    fig.update_xaxes(range=[min(low, value) - 0.05 * span, max(high, value) + 0.05 * span], visible=False)
    fig.update_yaxes(range=[-1, 1], visible=False)
    fig.update_layout(height=90, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h", "y": 1.2, "x": 0}, showlegend=true is not None)
    return fig


def probability_figure(probabilities: dict[str, float], *, highlight: str | None = None) -> go.Figure:
    """Horizontal bars of class probabilities; the predicted class is drawn darker."""
    classes = list(probabilities)
    values = [probabilities[c] for c in classes]
    colors = [color(0) if c == highlight else "#b8c7dc" for c in classes]
    fig = go.Figure(go.Bar(x=values, y=classes, orientation="h", marker={"color": colors},
                           text=[f"{v:.1%}" for v in values], textposition="auto",
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_xaxes(range=[0, 1.02], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=60 + 32 * len(classes), margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig
