"""Widgets bound to the session's config, and the core's validation messages shown next to them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import streamlit as st

from mtl_core.config import TrainConfig, validate_config
from mtl_core.errors import MTLError
from mtl_core.fields import MAX_LAYERS, widget_bounds
from ui.plain import md, plain

# Wide enough for "4096" and the label "Layer 6" (the +/- buttons are hidden by ui.layout's rules).
SIZE_BOX_PX = 88


def bound(widget: Callable[..., Any], label: str, key: str, get: Callable[[], Any],
          put: Callable[[Any], None], **kwargs: Any) -> Any:
    """Draw ``widget`` showing ``get()``; a change calls ``put(new_value)`` before the next run.

    The config is the source of truth: the widget's state is refilled from it on every run, so values
    survive page switches (Streamlit drops the state of widgets that are not drawn) and presets show.
    """
    st.session_state[key] = get()
    return widget(label, key=key, on_change=_commit, args=(key, put), **kwargs)


def box_bounds(name: str) -> dict[str, Any]:
    """A number box's step, without its minimum and maximum: the core checks the range.

    With bounds, a value typed outside them (0 in a layer size) stays in the box while the browser never sends
    it, so the page said "valid" and the diagram kept the old size. Without, the value reaches the config,
    the core's message marks the page invalid, and the diagram shows what the box holds.
    """
    return {k: v for k, v in widget_bounds(name).items() if k == "step"}


def _commit(key: str, put: Callable[[Any], None]) -> None:
    put(st.session_state[key])


def config_error(config: TrainConfig) -> MTLError | None:
    """The core's message for the first invalid setting, or None when the config is valid."""
    try:
        validate_config(copy.deepcopy(config))
    except MTLError as exc:
        return exc
    return None


def show_error(error: MTLError | None, *params: str) -> bool:
    """Show ``error`` here if it names one of ``params`` (its ``param``); True when shown."""
    if error is not None and error.param in params:
        st.error(plain(str(error)))
        return True
    return False


def sizes_editor(label: str, key: str, get: Callable[[], list[int]], put: Callable[[list[int]], None],
                 *, min_layers: int = 0, help: str | None = None) -> None:
    """Edit a list of layer sizes: one number input per layer, plus add/remove buttons."""
    sizes = list(get())
    # Label and boxes in one keyed container, so a classroom link hides both (ui/classroom.py: layers).
    with st.container(key=f"sizes_{key}"):
        _sizes_row(label, key, sizes, get, put, min_layers, help)


def _sizes_row(label: str, key: str, sizes: list[int], get: Callable[[], list[int]],
               put: Callable[[list[int]], None], min_layers: int, help: str | None) -> None:
    st.markdown(md("**{}**", label), help=help)  # the label can hold a task's name
    # A flowing row of fixed-width boxes, not st.columns: seven columns left one digit of "32" visible at
    # 1024 px; these keep their width and wrap to a second row on a narrow screen. A config from elsewhere
    # (an old saved file) may list more layers than allowed: all are drawn, so the core's "at most N layers"
    # message sits next to boxes the user can remove, instead of failing here.
    row = st.container(horizontal=True, wrap=True, vertical_alignment="bottom", gap="small")
    with row:
        for i in range(len(sizes)):
            bound(st.number_input, f"Layer {i + 1}", f"{key}.{i}",
                  lambda i=i: int(get()[i]), lambda v, i=i: put(_replaced(get(), i, v)),
                  width=SIZE_BOX_PX, **box_bounds("shared"))
        st.button("", key=f"{key}.add", icon=":material/add:", help="Add a layer",
                  disabled=len(sizes) >= MAX_LAYERS, on_click=lambda: put([*get(), get()[-1] if get() else 8]))
        st.button("", key=f"{key}.remove", icon=":material/remove:", help="Remove the last layer",
                  disabled=len(sizes) <= min_layers, on_click=lambda: put(list(get())[:-1]))
    if not sizes:
        st.caption("No hidden layers: the output sits directly on what comes before.")


def _replaced(sizes: list[int], index: int, value: Any) -> list[int]:
    out = list(sizes)
    if value is not None and index < len(out):
        out[index] = int(value)
    return out
