"""Model & losses: architecture, layer sizes, optimiser, loss weighting, with a live diagram of the network."""

import streamlit as st

from mtl_core.config import kind_param
from mtl_core.data.splits import small_test_warning, split_sizes
from mtl_core.errors import MTLError
from mtl_core.fields import FIELDS, widget_bounds
from mtl_core.models.shape import model_shape
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS
from ui import entry, state
from ui.config_upload import config_upload_section
from ui.diagrams import architecture_dot
from ui.limits import limit_error
from ui.plain import md, plain
from ui.share import share_link
from ui.widgets import bound, box_bounds, config_error, show_error, sizes_editor

entry.through_app()

st.title("Model & losses")
cfg = state.config()
error = config_error(cfg)
shown: list[bool] = []
status = st.empty()


def field(widget, label: str, name: str, **kwargs):
    """A widget bound to ``config.<name>`` (bounds and step from the field table, choices for a selectbox), with
    the core's message below it when that field is invalid."""
    spec = FIELDS[name]
    if widget is st.selectbox:
        kwargs.setdefault("options", list(spec.options()))
    elif widget is st.number_input:
        kwargs = {**box_bounds(name), **kwargs}  # out-of-range values reach the core's message
    elif spec.kind in (int, float):
        kwargs = {**spec.widget_bounds(), **kwargs}
    value = bound(widget, label, name, lambda: getattr(state.config(), name),
                  lambda v: setattr(state.config(), name, v), **kwargs)
    shown.append(show_error(error, name))
    return value


settings, picture = st.columns([3, 2], gap="large")
with settings:
    # ---- architecture ------------------------------------------------------------------------------
    st.subheader("Architecture")
    field(st.selectbox, "Architecture", "arch", format_func=lambda n: ARCHITECTURES[n].title)
    st.caption(ARCHITECTURES[cfg.arch].description if cfg.arch in ARCHITECTURES else "")
    arch_fields = ARCHITECTURES[cfg.arch].fields if cfg.arch in ARCHITECTURES else ()
    if "shared" in arch_fields:
        sizes_editor("Shared trunk", "shared", lambda: state.config().shared,
                     lambda v: setattr(state.config(), "shared", v),
                     help="Dense layers every task uses; their weights are shared.")
        shown.append(show_error(error, "shared"))
    if "experts" in arch_fields:
        cols = st.columns(2)
        with cols[0]:
            field(st.number_input, "Experts", "experts", help="Shared expert networks; each task's gate mixes them.")
        with cols[1]:
            field(st.number_input, "Units per expert", "expert_units")
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
        field(st.selectbox, "Activation", "activation")
    with row[1]:
        field(st.slider, "Dropout", "dropout")
    with row[2]:
        field(st.number_input, "L2 penalty", "l2", format="%g")
    row = st.columns(3)
    with row[0]:
        field(st.selectbox, "Optimizer", "optimizer")
    with row[1]:
        field(st.number_input, "Learning rate", "lr", format="%g")
    with row[2]:
        field(st.number_input, "Batch size", "batch_size")
    row = st.columns(3)
    with row[0]:
        field(st.number_input, "Epochs", "epochs")
    with row[1]:
        field(st.number_input, "Seed", "seed", help="Same seed, same split and same starting weights.")

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
    # The registry entry declares the strategy's parameters and whether it uses the sliders: no TensorFlow.
    uses_sliders = entry.uses_user_weights if entry is not None else True
    for spec in entry.params if entry is not None else ():
        bound(st.number_input, spec.name, f"wp:{cfg.weighting}:{spec.name}",
              lambda spec=spec: float(state.config().weighting_params.get(spec.name, spec.default)),
              lambda v, spec=spec: state.config().weighting_params.__setitem__(spec.name, float(v)),
              min_value=float(spec.low), max_value=float(spec.high), format="%g", help=spec.help or None)
        shown.append(show_error(error, f"weighting_params[{spec.name!r}]"))
    if not uses_sliders:
        st.caption(entry.sliders_note)
    for task in tasks:
        bound(st.slider, plain(f"Loss weight of {task}"), f"lw:{task}",
              lambda task=task: float(state.config().weights_for([task])[task]),
              lambda v, task=task: state.config().loss_weights.__setitem__(task, float(v)),
              **widget_bounds("loss_weights"), disabled=not uses_sliders)
        shown.append(show_error(error, f"loss_weight[{task!r}]", "loss_weight"))
    shown.append(show_error(error, "loss_weights"))

    # ---- more ------------------------------------------------------------------------------------------
    try:
        n_rows = len(state.dataset().frame)
    except MTLError:
        n_rows = None  # the data page says what is wrong with the data
    # Outside the expander: a tiny test split must be seen without opening "More settings".
    small_test = small_test_warning(n_rows, cfg.val_fraction, cfg.test_fraction, " (More settings, below)") \
        if n_rows else None
    if small_test:
        st.warning(small_test, icon=":material/warning:")
    with st.expander("More settings: splits, early stopping, regression loss", key="more_settings"):
        row = st.columns(2)
        with row[0]:
            field(st.slider, "Validation fraction", "val_fraction")
        with row[1]:
            field(st.slider, "Test fraction", "test_fraction")
        if n_rows:
            sizes = split_sizes(n_rows, cfg.val_fraction, cfg.test_fraction)
            st.caption(f"{n_rows} rows: {sizes['train']} to train on, {sizes['val']} for validation (early "
                       f"stopping watches these), {sizes['test']} held out for the test metrics.")
        row = st.columns(2)
        with row[0]:
            field(st.selectbox, "Regression loss", "regression_loss",
                  help="Computed on standardised targets, so tasks in different units weigh alike.")
        with row[1]:
            field(st.number_input, "Gradient-conflict check every N epochs (0 = off)", "conflict_every")
        row = st.columns(2)
        with row[0]:
            field(st.checkbox, "Early stopping", "early_stopping",
                  help="On by default: the run ends once the validation loss stops improving, and the results "
                       "use the weights of the epoch with the lowest validation loss.")
            field(st.checkbox, "Standardise inputs", "standardize_inputs")
        with row[1]:
            field(st.number_input, "Patience (epochs)", "patience")

with picture:
    st.subheader("The network")
    try:
        shape = model_shape(state.dataset().frame, cfg)
    except MTLError as exc:
        shape = model_shape(None, cfg)
        st.caption(plain(str(exc)))
    st.graphviz_chart(architecture_dot(cfg, shape), width="stretch")

too_large = limit_error(cfg) if error is None else None  # the server's limit on one run's size
if too_large is not None:
    status.warning(plain(str(too_large)), icon=":material/speed:")
elif error is None:
    status.success("These settings are valid.", icon=":material/check_circle:")
elif not any(shown):
    status.error(plain(str(error)))
    # Errors about the tasks or inputs are fixed on the data page.
    if error.param in ("tasks", "inputs", "task", *(kind_param(t) for t in tasks)):
        st.page_link("pages/data.py", label="Fix it on Data & tasks", icon=":material/table:")
else:
    status.warning(md("One setting needs fixing: {} (see below).", error.param), icon=":material/warning:")
share_link()
with st.container(key="config_file"):  # a key, so a classroom link can hide it (ui/classroom.py: share)
    config_upload_section()
st.page_link("pages/train.py", label="Next: Train", icon=":material/arrow_forward:")
