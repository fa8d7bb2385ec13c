"""Live views of what each task learned (Train and Predict): output landscapes, trunk units, gates, curves.

The numbers come from ``mtl_core.models.landscape`` (one compiled call per refresh); this module draws them.
Each task's landscape is a plotly heatmap keyed ``landscape_<task>`` with the data points on top; the trunk's
units and the MMoE gates are small images (an image swap costs the browser nothing like a chart remount), sent
inline in one HTML block per gallery: as ``st.image`` media files, each redraw of a class's landscapes made the
browsers fetch about a hundred files a second from the server, and a file replaced before its fetch failed.
TensorFlow is imported only when a model is drawn, never when this module is imported.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from mtl_core.data.tasks import class_label
from mtl_core.errors import MTLError
from ui import state
from ui.charts import LIVE_CONFIG, color
from ui.inputs import most_common, slider_spec
from ui.plain import html_text, plain
from ui.refresh import every, follow_load

if TYPE_CHECKING:
    from mtl_core.models.landscape import Landscape, LandscapeProbe
    from ui.state import TrainingSession

#: Seconds between redraws of the live views while a model trains (at least twice a second).
LIVE_SECONDS = 0.5
#: Class colours: blue and orange first, as TensorFlow Playground draws its two classes.
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf")
_NEGATIVE, _POSITIVE = np.array([245, 147, 34]), np.array([8, 119, 189])  # TensorFlow Playground's orange, blue
_WHITE = np.array([255, 255, 255])
# Pixels per landscape cell in the unit and gate pictures (60 cells -> 120 px).
_SCALE = 2
_PICTURE_WIDTH = 110
_CHART_HEIGHT = 330
#: Inputs with a response curve on Predict (one panel each, side by side in a task's chart).
MAX_CURVE_INPUTS = 8


def class_color(i: int) -> str:
    """The colour of class ``i`` of a task."""
    return CLASS_COLORS[i % len(CLASS_COLORS)]


def _blend(hex_color: str, amount: float) -> str:
    """``hex_color`` mixed with white: 0 is white, 1 the colour itself."""
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    mixed = (_WHITE + (rgb - _WHITE) * amount).round().astype(int)
    return f"rgb({mixed[0]},{mixed[1]},{mixed[2]})"


def _class_scale(n_classes: int) -> list[list[Any]]:
    """A colour scale over [0, n): in [k, k+1) class k's colour, from pale (unsure) to strong (sure)."""
    stops: list[list[Any]] = []
    for k in range(n_classes):
        stops.append([k / n_classes, _blend(class_color(k), 0.12)])
        stops.append([(k + 1) / n_classes - (1e-6 if k < n_classes - 1 else 0.0), _blend(class_color(k), 0.7)])
    return stops


# ---- what the views are drawn for: the model, the held inputs, the axes -----------------------------------
def probe(session: TrainingSession) -> LandscapeProbe:
    """The session's compiled landscape probe, made once per model (a pool job's copy of it included)."""
    predictor = session.run.predictor  # a pool job's property also brings its page-side weights up to date
    cached = session.cache.get("landscape_probe")
    if cached is None or cached.model is not predictor.model:
        from mtl_core.models.landscape import LandscapeProbe

        cached = LandscapeProbe(predictor)
        session.cache["landscape_probe"] = cached
    return cached


def held_values(session: TrainingSession) -> dict[str, object]:
    """The other inputs' values: the Predict sliders' as last set for this run, else each input's median."""
    held = state.held_inputs(session)
    if held is not None:
        return held
    frame, schema = session.frame, session.run.info.schema
    return {c: most_common(frame[c]) if c in schema.categories else slider_spec(frame[c]).default
            for c in schema.columns}


def axis_pickers(session: TrainingSession) -> tuple[str, str] | None:
    """Two selectboxes (``axis_x``, ``axis_y``) choosing the plane; None with fewer than two inputs.

    No key here starts with ``landscape_``: that prefix belongs to the charts, ``landscape_<task>``, and a task
    named ``y`` (or ``units``) would collide with a picker (or a container) keyed in it.
    """
    from mtl_core.models.landscape_data import axis_inputs, default_axes

    schema = session.run.info.schema
    options = axis_inputs(schema)
    axes = state.landscape_axes(session) or default_axes(schema)
    if axes is None:
        return None
    cols = st.columns(2)
    for col, key, current in zip(cols, ("axis_x", "axis_y"), axes):
        st.session_state[key] = current  # the session's choice shows after a page switch as well
        col.selectbox("Across" if key == "axis_x" else "Up", options, key=key,
                      on_change=_put_axes, args=(session,))  # options are plain text already
    return state.landscape_axes(session) or axes


def _put_axes(session: TrainingSession) -> None:
    x, y = st.session_state["axis_x"], st.session_state["axis_y"]
    old = state.landscape_axes(session)
    if x == y and old is not None:
        # The same input on both axes: swap, as a picker of two different things would.
        x, y = (x, old[0]) if old[1] == x else (old[1], y)
    if x != y:
        state.set_landscape_axes(session, (x, y))


# ---- figures ------------------------------------------------------------------------------------------------
def _figure(traces: list[dict], layout: dict) -> go.Figure:
    # Built from plain dicts without plotly's validation (50-80 ms a figure, redrawn twice a second while
    # training and on every slider move): every text from the data is escaped here with html_text instead.
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def landscape_figure(view: Landscape, task: str, points: Any, current: tuple[float, float] | None,
                     classes: list[str]) -> go.Figure:
    """One task's prediction over the plane (class colour by confidence, or a colour scale), the data on top."""
    grid, out = view.grid, view.tasks[task]
    traces: list[dict] = []
    targets = points.targets[task]
    if out.kind == "regression":
        low = float(min(targets.min(initial=np.inf), out.value.min()))
        high = float(max(targets.max(initial=-np.inf), out.value.max()))
        traces.append({"type": "heatmap", "x": grid.x, "y": grid.y, "z": out.value, "zmin": low, "zmax": high,
                       "colorscale": "Viridis", "colorbar": {"thickness": 10, "len": 0.9}, "name": html_text(task),
                       "hovertemplate": "%{x:.3g}, %{y:.3g}: %{z:.4g}<extra></extra>"})
        traces.append({"type": "scatter", "x": points.x, "y": points.y, "mode": "markers", "name": "data",
                       "showlegend": False,
                       "marker": {"color": targets, "colorscale": "Viridis", "cmin": low, "cmax": high, "size": 7,
                                  "line": {"color": "white", "width": 1}},
                       "hovertemplate": "%{x:.3g}, %{y:.3g}: true %{marker.color:.4g}<extra></extra>"})
    else:
        n = len(classes)
        sure = (out.confidence - 1.0 / n) / (1.0 - 1.0 / n)
        z = (out.label + np.clip(sure, 0.0, 0.999)).astype(np.float32)
        traces.append({"type": "heatmap", "x": grid.x, "y": grid.y, "z": z, "zmin": 0.0, "zmax": float(n),
                       "colorscale": _class_scale(n), "showscale": False, "customdata": out.confidence,
                       "name": html_text(task),
                       "hovertemplate": "%{x:.3g}, %{y:.3g}: %{customdata:.0%} sure<extra></extra>"})
        for k, label in enumerate(classes):
            mask = targets == k
            traces.append({"type": "scatter", "x": points.x[mask], "y": points.y[mask], "mode": "markers",
                           "name": html_text(label),
                           "marker": {"color": class_color(k), "size": 7, "line": {"color": "white", "width": 1}},
                           "hovertemplate": f"%{{x:.3g}}, %{{y:.3g}}: {html_text(label)}<extra></extra>"})
    if current is not None:
        traces.append({"type": "scatter", "x": [current[0]], "y": [current[1]], "mode": "markers",
                       "name": "current point", "showlegend": False, "hoverinfo": "skip",
                       "marker": {"symbol": "x-thin", "size": 14, "line": {"color": "black", "width": 3}}})
    layout = {"height": _CHART_HEIGHT, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "uirevision": task,
              "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
              "xaxis": {"title": {"text": html_text(grid.x_name)}, "range": [float(grid.x[0]), float(grid.x[-1])]},
              "yaxis": {"title": {"text": html_text(grid.y_name)}, "range": [float(grid.y[0]), float(grid.y[-1])]}}
    return _figure(traces, layout)


def _png(image: np.ndarray) -> bytes:
    """An RGB array as PNG bytes (kept with the view, so a redraw of the same view encodes nothing)."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def _picture(values: np.ndarray, bars: list[tuple[str, float]] = (), signed: bool = True) -> np.ndarray:
    """An RGB image of a map over the plane (y up): orange below 0, blue above, white at 0; bars under it."""
    top = np.abs(values).max() or 1.0
    scaled = np.clip(values / top, -1.0, 1.0)[::-1]  # row 0 of the image is the top of the plane
    if not signed:
        scaled = np.clip(values[::-1], 0.0, 1.0)
    far = np.where(scaled[..., None] < 0, _NEGATIVE, _POSITIVE)
    rgb = _WHITE + (far - _WHITE) * np.abs(scaled)[..., None]
    image = np.repeat(np.repeat(rgb, _SCALE, axis=0), _SCALE, axis=1)
    width = image.shape[1]
    for hex_color, share in bars:
        strip = np.full((6, width, 3), 240.0)
        strip[1:5, : max(int(round(share * width)), 0)] = [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]
        image = np.concatenate([image, strip], axis=0)
    return image.round().astype(np.uint8)


def _pictures(view: Landscape, tasks: list[str]) -> dict[str, Any]:
    """The trunk's unit pictures and the gates' (PNG bytes) with their captions."""
    most = max((float(u.max()) for u in view.usage.values()), default=0.0) or 1.0
    images, captions = [], []
    for k, unit in enumerate(view.unit_index):
        bars = [(color(i), float(view.usage[t][k]) / most) for i, t in enumerate(tasks) if t in view.usage]
        images.append(_png(_picture(view.units[k], bars)))
        # Short enough for one line under a picture: "3 · y1 17% y2 6%" (unit 3; each task's usage).
        shares = " ".join(f"{t} {view.usage[t][k]:.0%}" for t in tasks if t in view.usage)
        captions.append(f"{unit + 1} · {shares}")
    gates = {}
    for i, task in enumerate(tasks):
        if task in view.gates:
            maps = view.gates[task]
            gates[task] = ([_png(_picture(g, [(color(i), float(g.mean()))], signed=False)) for g in maps],
                           [f"expert {e + 1}: {g.mean():.0%}" for e, g in enumerate(maps)])
    return {"units": (images, captions), "gates": gates}


def gallery_html(images: list[bytes], captions: list[str]) -> str:
    """PNG pictures side by side, inline (data URIs), each above its caption (escaped: captions hold task names)."""
    figures = "".join(
        f'<figure style="margin:0;width:{_PICTURE_WIDTH}px">'
        f'<img alt="" width="{_PICTURE_WIDTH}" style="display:block;image-rendering:pixelated" '
        f'src="data:image/png;base64,{base64.b64encode(image).decode()}">'
        f'<figcaption style="font-size:0.75rem;color:rgba(49,51,63,0.6);text-align:center;overflow-wrap:anywhere">'
        f"{html.escape(caption)}</figcaption></figure>"
        for image, caption in zip(images, captions))
    return f'<div style="display:flex;flex-wrap:wrap;gap:0.75rem">{figures}</div>'


def _units(pictures: dict[str, Any]) -> None:
    images, captions = pictures["units"]
    if not images:
        st.caption("This model has no shared layer to picture.")
        return
    st.html(gallery_html(images, captions))


def _gates(pictures: dict[str, Any]) -> None:
    for task, (images, captions) in pictures["gates"].items():
        st.markdown(f"Gate of **{plain(task)}**: the weight it gives each expert across the plane")
        st.html(gallery_html(images, captions))


# ---- the panel ----------------------------------------------------------------------------------------------
def landscape_panel(session: TrainingSession, *, live: bool, held: dict[str, object] | None = None) -> None:
    """The views in a container keyed ``landscape``: axis pickers, each task's landscape, the trunk, the gates."""
    from mtl_core.models.landscape_data import data_points

    run = session.run
    tasks = session.task_names
    with st.container(key="landscape"):
        st.markdown("**What each task learned**: its prediction over two inputs, the other inputs held at the "
                    "Predict page's values")
        axes = axis_pickers(session)
        if axes is None:
            st.caption("A landscape needs two numeric inputs; this model has fewer (the response curves on "
                       "Predict show each input).")
            return
        held = held if held is not None else held_values(session)
        # The same model state, axes and other inputs (a move of an axis' own slider): the same view and pictures.
        version = (axes, tuple(sorted((k, str(v)) for k, v in held.items() if k not in axes)), len(run.events()),
                   id(run.predictor.model))
        cached = session.cache.get("landscape_view")
        if cached is not None and cached[0] == version and not live:
            view, pictures = cached[1], cached[2]
        else:
            try:
                view = probe(session).landscape(run.prepared, held, *axes)
            except MTLError as exc:
                st.error(plain(str(exc)))
                return
            pictures = _pictures(view, tasks)
            session.cache["landscape_view"] = (version, view, pictures)
        points = session.cache.get("landscape_points")
        if points is None or points[0] != axes:
            points = (axes, data_points(run.prepared, *axes))
            session.cache["landscape_points"] = points
        current = (float(held[axes[0]]), float(held[axes[1]]))
        config = LIVE_CONFIG if live else None
        task_by_name = {t.name: t for t in run.info.tasks}
        cols = st.columns(min(len(tasks), 3))
        for i, task in enumerate(tasks):
            with cols[i % len(cols)]:
                st.markdown(f"**{plain(task)}**")
                figure = landscape_figure(view, task, points[1], current, list(task_by_name[task].classes or []))
                st.plotly_chart(figure, key=f"landscape_{task}", config=config)
        with st.container(key="trunk_units"):
            st.markdown(f"**The shared trunk** (`{view.unit_layer}`): each unit's activation over the same plane "
                        "(blue above 0, orange below). The bars under a unit, one per task in the loss chart's "
                        "colours, and the caption (unit · each task's share) say how strongly that task's head "
                        "uses it: the unit's share of the weights of the head's first layer")
            _units(pictures)
        if pictures["gates"]:
            with st.container(key="trunk_gates"):
                _gates(pictures)


# ---- response curves (Predict) ------------------------------------------------------------------------------
def curves_figure(curves: Any, task: str, held: dict[str, object], predicted: Any, classes: list[str],
                  inputs: list[str]) -> go.Figure:
    """One task's prediction as each input sweeps its values (one panel per input), the current point marked."""
    traces: list[dict] = []
    n = len(inputs)
    gap = 0.04
    width = (1.0 - gap * (n - 1)) / n
    layout: dict[str, Any] = {}
    for j, column in enumerate(inputs):
        axis = "" if j == 0 else str(j + 1)
        on = {"xaxis": f"x{axis}", "yaxis": f"y{axis}"}
        xs = curves.values[column]
        categorical = isinstance(xs, list)
        xs = [html_text(v) for v in xs] if categorical else xs
        out = curves.tasks[column][task]
        at = html_text(class_label(held[column])) if categorical else float(held[column])
        mode = "lines+markers" if categorical else "lines"
        if out.kind == "regression":
            traces.append({"type": "scatter", "x": xs, "y": out.value, "mode": mode, **on,
                           "line": {"color": color(0)}, "showlegend": False, "name": html_text(task)})
            traces.append({"type": "scatter", "x": [at], "y": [predicted.value], "mode": "markers", **on,
                           "showlegend": False, "hoverinfo": "skip", "marker": {"color": "black", "size": 9}})
        else:
            chosen = classes.index(predicted.label) if predicted.label in classes else 0
            for k, label in enumerate(classes):
                traces.append({"type": "scatter", "x": xs, "y": out.probabilities[:, k], "mode": mode, **on,
                               "name": html_text(label), "legendgroup": str(k), "showlegend": j == 0,
                               "line": {"color": class_color(k)}})
            traces.append({"type": "scatter", "x": [at], "y": [predicted.probabilities[predicted.label]],
                           "mode": "markers", **on, "showlegend": False, "hoverinfo": "skip",
                           "marker": {"color": class_color(chosen), "size": 10,
                                      "line": {"color": "black", "width": 2}}})
        start = j * (width + gap)
        layout[f"xaxis{axis}"] = {"domain": [start, start + width], "title": {"text": html_text(column)},
                                  "anchor": f"y{axis}", **({"type": "category"} if categorical else {})}
        y_axis: dict[str, Any] = {"anchor": f"x{axis}"}
        if out.kind != "regression":
            y_axis["range"] = [-0.02, 1.02]
        if j:
            y_axis["matches"] = "y"
            y_axis["showticklabels"] = False
        layout[f"yaxis{axis}"] = y_axis
    layout.update(height=230, margin={"l": 10, "r": 10, "t": 10, "b": 10}, uirevision=task,
                  legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0})
    return _figure(traces, layout)


def curves_panel(session: TrainingSession, held: dict[str, object], predicted: dict[str, Any]) -> None:
    """Every task's response curves, in a container keyed ``curves``; charts keyed ``curves_<task>``."""
    run = session.run
    with st.container(key="curves"):
        st.markdown("**Response curves**: each task's prediction as one input moves through its range, the others "
                    "held at the sliders (the dot: the current inputs)")
        # A CSV of 2,000 columns would sweep every one and squeeze 1,999 panels into a row: the first few.
        inputs = run.info.schema.columns[:MAX_CURVE_INPUTS]
        try:
            curves = probe(session).curves(run.prepared, held, columns=inputs)
        except MTLError as exc:
            st.error(plain(str(exc)))
            return
        hidden = len(run.info.schema.columns) - len(inputs)
        if hidden:
            st.caption(f"Curves for the first {len(inputs)} inputs; the other {hidden:,} are held.")
        config = LIVE_CONFIG if run.running else None
        for task in run.info.tasks:
            st.markdown(f"**{plain(task.name)}**" + ("" if task.kind == "regression" else
                                                     ": probability of each class"))
            st.plotly_chart(curves_figure(curves, task.name, held, predicted[task.name], list(task.classes or []),
                                          inputs), key=f"curves_{task.name}", config=config)


def _live_panel(session: TrainingSession, live: bool, interval: float | None) -> None:
    follow_load(LIVE_SECONDS, interval)
    landscape_panel(session, live=live)


def live_landscape(session: TrainingSession, live: bool) -> None:
    """The panel in its own fragment, redrawn every LIVE_SECONDS (longer under load) while ``live`` (training)."""
    interval = every(LIVE_SECONDS, live)
    st.fragment(_live_panel, run_every=interval)(session, live, interval)
