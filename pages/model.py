"""Model & losses: architecture, layer sizes, optimiser, loss weighting, with a live diagram of the network."""

import sys

import streamlit as st

from mtl_core.config import ACTIVATIONS, MAX_EPOCHS, MAX_LAYER_UNITS, OPTIMIZERS, REGRESSION_LOSSES
from mtl_core.errors import MTLError
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS
from ui import state
from ui.config_upload import config_upload_section
from ui.diagrams import architecture_dot
from ui.model_shape import network_shape
from ui.share import share_link
from ui.widgets import bound, config_error, error_param, show_error, sizes_editor

st.title("Model & losses")
cfg = state.config()
error = config_error(cfg)
shown: list[bool] = []
status = st.empty()


def field(widget, label: str, name: str, **kwargs):
    """A widget bound to ``config.<name>``, with the core's message below it when that field is invalid."""
    value = bound(widget, label, name, lambda: getattr(state.config(), name),
                  lambda v: setattr(state.config(), name, v), **kwargs)
    shown.append(show_error(error, name))
    return value


settings, picture = st.columns([3, 2], gap="large")
with settings:
    # ---- architecture ------------------------------------------------------------------------------
    st.subheader("Architecture")
    field(st.selectbox, "Architecture", "arch", options=list(ARCHITECTURES),
          format_func=lambda n: ARCHITECTURES[n].title)
    st.caption(ARCHITECTURES[cfg.arch].description if cfg.arch in ARCHITECTURES else "")
    if cfg.arch == "hard":
        sizes_editor("Shared trunk", "shared", lambda: state.config().shared,
                     lambda v: setattr(state.config(), "shared", v),
                     help="Dense layers every task uses; their weights are shared.")
        shown.append(show_error(error, "shared"))
    else:
        cols = st.columns(2)
        with cols[0]:
            field(st.number_input, "Experts", "experts", min_value=1, max_value=64, step=1,
                  help="Shared expert networks; each task's gate mixes them.")
        with cols[1]:
            field(st.number_input, "Units per expert", "expert_units", min_value=1, max_value=MAX_LAYER_UNITS,
                  step=1)
    tasks = cfg.task_names
    if not tasks:
        st.info("No tasks yet: choose target columns on the Data & tasks page.")
    for task in tasks:
        part = "Tower" if cfg.arch == "mmoe" else "Head"  # MMoE's name for a task's own layers
        sizes_editor(f"{part} of {task}", f"head:{task}", lambda task=task: state.config().head_sizes(task),
                     lambda v, task=task: state.config().heads.__setitem__(task, v),
                     help="Dense layers only this task uses, before its output layer.")
        shown.append(show_error(error, f"heads[{task!r}]"))

    # ---- training ----------------------------------------------------------------------------------
    st.subheader("Training")
    row = st.columns(3)
    with row[0]:
        field(st.selectbox, "Activation", "activation", options=list(ACTIVATIONS))
    with row[1]:
        field(st.slider, "Dropout", "dropout", min_value=0.0, max_value=0.95, step=0.05)
    with row[2]:
        field(st.number_input, "L2 penalty", "l2", min_value=0.0, max_value=10.0, step=0.0001, format="%g")
    row = st.columns(3)
    with row[0]:
        field(st.selectbox, "Optimizer", "optimizer", options=list(OPTIMIZERS))
    with row[1]:
        field(st.number_input, "Learning rate", "lr", min_value=0.0, max_value=100.0, step=0.001, format="%g")
    with row[2]:
        field(st.number_input, "Batch size", "batch_size", min_value=1, max_value=1_000_000, step=8)
    row = st.columns(3)
    with row[0]:
        field(st.number_input, "Epochs", "epochs", min_value=1, max_value=MAX_EPOCHS, step=10)
    with row[1]:
        field(st.number_input, "Seed", "seed", min_value=0, max_value=2**31 - 1, step=1,
              help="Same seed, same split and same starting weights.")

    # ---- loss weighting ----------------------------------------------------------------------------
    st.subheader("Loss weighting")

    def _put_weighting(name: str) -> None:
        cfg_now = state.config()
        if name != cfg_now.weighting:
            cfg_now.weighting = name
            cfg_now.weighting_params = {}

    bound(st.selectbox, "Weighting strategy", "weighting", lambda: state.config().weighting, _put_weighting,
          options=list(WEIGHTINGS), format_func=lambda n: WEIGHTINGS[n].title)
    shown.append(show_error(error, "weighting"))
    entry = WEIGHTINGS.get(cfg.weighting)
    if entry is not None:
        st.caption(entry.description)
    # A strategy's class says whether it uses the sliders and which parameters it takes, but importing
    # it loads TensorFlow (seconds); read it only once TensorFlow is loaded or the user asks.
    strategy = None
    if entry is not None and ("tensorflow" in sys.modules or st.session_state.get("load_strategy")):
        with st.spinner("Loading the strategy…"):
            import mtl_core._tf  # noqa: F401 - imports TensorFlow quietly before the strategy does

            strategy = entry.load()
    uses_sliders = getattr(strategy, "uses_user_weights", True)
    for pname, spec in (getattr(strategy, "PARAMS", None) or {}).items():
        bound(st.number_input, pname, f"wp:{cfg.weighting}:{pname}",
              lambda pname=pname, spec=spec: float(state.config().weighting_params.get(pname, spec.default)),
              lambda v, pname=pname: state.config().weighting_params.__setitem__(pname, float(v)),
              min_value=float(spec.low), max_value=float(spec.high), format="%g", help=spec.description or None)
        shown.append(show_error(error, f"weighting_params[{pname!r}]"))
    if strategy is None:
        st.caption("Adaptive strategies set the loss weights themselves while training; the sliders below "
                   "are the weights of *Fixed weights*.")
        st.button("Show the parameters this strategy takes", key="load_strategy", type="tertiary",
                  icon=":material/expand_more:", help="Loads TensorFlow once (a few seconds).")
    elif not uses_sliders:
        st.caption(f"{entry.title} sets the loss weights itself, so the sliders below are not used.")
    for task in tasks:
        bound(st.slider, f"Loss weight of {task}", f"lw:{task}",
              lambda task=task: float(state.config().weights_for([task])[task]),
              lambda v, task=task: state.config().loss_weights.__setitem__(task, float(v)),
              min_value=0.0, max_value=5.0, step=0.05, disabled=not uses_sliders)
        shown.append(show_error(error, f"loss_weight[{task!r}]", "loss_weight"))
    shown.append(show_error(error, "loss_weights"))

    # ---- more ------------------------------------------------------------------------------------------
    with st.expander("More settings: splits, early stopping, regression loss"):
        row = st.columns(2)
        with row[0]:
            field(st.slider, "Validation fraction", "val_fraction", min_value=0.0, max_value=0.5, step=0.05)
        with row[1]:
            field(st.slider, "Test fraction", "test_fraction", min_value=0.0, max_value=0.5, step=0.05)
        row = st.columns(2)
        with row[0]:
            field(st.selectbox, "Regression loss", "regression_loss", options=list(REGRESSION_LOSSES),
                  help="Computed on standardised targets, so tasks in different units weigh alike.")
        with row[1]:
            field(st.number_input, "Gradient-conflict check every N epochs (0 = off)", "conflict_every",
                  min_value=0, max_value=MAX_EPOCHS, step=1)
        row = st.columns(2)
        with row[0]:
            field(st.checkbox, "Early stopping", "early_stopping")
            field(st.checkbox, "Standardise inputs", "standardize_inputs")
        with row[1]:
            field(st.number_input, "Patience (epochs)", "patience", min_value=1, max_value=MAX_EPOCHS, step=1)

with picture:
    st.subheader("The network")
    try:
        n_inputs, shapes = network_shape(state.dataset().frame, cfg)
    except MTLError as exc:
        n_inputs, shapes = None, []
        st.caption(str(exc))
    st.graphviz_chart(architecture_dot(cfg, n_inputs, shapes), width="stretch")

if error is None:
    status.success("These settings are valid.", icon=":material/check_circle:")
elif not any(shown):
    status.error(str(error))
    if error_param(error) in ("tasks", "inputs", "task") or str(error).startswith("kind of task"):
        st.page_link("pages/data.py", label="Fix it on Data & tasks", icon=":material/table:")
else:
    status.warning(f"One setting needs fixing: {error_param(error)} (see below).", icon=":material/warning:")
share_link()
config_upload_section()
st.page_link("pages/train.py", label="Next: Train", icon=":material/arrow_forward:")
