"""Train page, after an MMoE run: each task's mean gate weight per expert (``NumpyNet.gate_weights``)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from mtl_core.errors import MTLError
from ui.plain import plain, plain_figure
from ui.state import TrainingSession


def gate_figure(gates: dict[str, np.ndarray]) -> go.Figure:
    """A tasks x experts heatmap of mean gate weights (each row sums to 1), with the values written in."""
    tasks = list(gates)
    n_experts = len(next(iter(gates.values()))) if gates else 0
    z = np.array([np.asarray(gates[t], dtype=float) for t in tasks]).reshape(len(tasks), n_experts)
    experts = [f"expert {i}" for i in range(1, n_experts + 1)]
    fig = go.Figure(go.Heatmap(
        z=z, x=experts, y=tasks, zmin=0.0, zmax=max(float(z.max(initial=0.0)), 1.0 / max(n_experts, 1)),
        colorscale="Blues", text=np.round(z, 2), texttemplate="%{text:.2f}", colorbar={"title": "weight"},
        hovertemplate="%{y} → %{x}: %{z:.3f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=90 + 45 * len(tasks), margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return plain_figure(fig)


def _gates(session: TrainingSession) -> tuple[str, dict[str, np.ndarray]] | str:
    """(rows used, gate weights) computed once per run and kept with it, or the core's message."""
    if "gates" not in session.cache:
        result = session.run.result
        prepared = result.prepared
        split = "test" if prepared.size("test") else None
        try:
            # The numpy copy: a pool run's needs no TensorFlow in the server.
            weights = result.net.gate_weights(prepared, split=split)
        except MTLError as exc:
            session.cache["gates"] = str(exc)
        else:
            session.cache["gates"] = ("test rows" if split else "all rows", weights)
    return session.cache["gates"]


def gate_panel(session: TrainingSession) -> None:
    """After a finished MMoE run: the mean gate weights per task as a heatmap; nothing for other models."""
    result = session.run.result
    if result is None or result.config.arch != "mmoe":
        return
    gates = _gates(session)
    st.markdown("**Gate weights**: how much each task's gate draws on each expert")
    if isinstance(gates, str):
        st.caption(plain(gates))
        return
    rows, weights = gates
    st.plotly_chart(gate_figure(weights), key="gates_fig")
    st.caption(f"Mean over the {rows}; each row sums to 1 (even use: {1 / len(next(iter(weights.values()))):.2f} "
               "per expert). Tasks leaning on the same experts share what those experts learn; an expert only "
               "one task uses keeps that task apart from the others.")
