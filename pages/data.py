"""Data & tasks: choose a dataset (or generator parameters), the target columns and the inputs."""

import streamlit as st

from mtl_core.config import TASK_KINDS
from mtl_core.data.prepare import choose_inputs
from mtl_core.data.registry import DATASETS
from mtl_core.data.splits import small_test_warning, split_sizes
from mtl_core.data.tasks import infer_kind, resolve_tasks
from mtl_core.errors import MTLError
from ui import entry, state
from ui.plain import md, plain
from ui.summaries import column_summary, task_profile
from ui.upload import csv_upload_section
from ui.widgets import bound, config_error, show_error

entry.through_app()

st.title("Data & tasks")
cfg = state.config()


def _put_dataset(name: str) -> None:
    state.set_dataset(name, state.suggested_tasks(name))


options = list(DATASETS) + list(state.uploads())
if cfg.dataset not in options:
    options.append(cfg.dataset)
top = st.columns([2, 3], vertical_alignment="bottom")
with top[0]:
    bound(st.selectbox, "Dataset", "dataset", lambda: state.config().dataset, _put_dataset,
          options=options, format_func=state.dataset_title)
with top[1]:
    spec = DATASETS.get(cfg.dataset)
    if spec is not None:
        st.caption(spec.description)
csv_upload_section()

# ---- generator parameters (the relatedness dataset) ----------------------------------------------
if spec is not None and spec.params:
    st.subheader("Generator parameters")
    param_cols = st.columns(3)
    for i, param in enumerate(spec.params):
        def get(param=param):
            return state.config().dataset_params.get(param.name, param.default)

        def put(value, param=param):
            state.config().dataset_params[param.name] = value

        with param_cols[i % 3]:
            if param.choices:
                bound(st.selectbox, param.name, f"param:{param.name}", get, put, options=list(param.choices),
                      help=param.help)
            elif param.kind is int and param.high - param.low > 1000:
                bound(st.number_input, param.name, f"param:{param.name}", get, put, min_value=int(param.low),
                      max_value=int(param.high), step=1, help=param.help)
            elif param.kind is int:
                bound(st.slider, param.name, f"param:{param.name}", get, put, min_value=int(param.low),
                      max_value=int(param.high), step=1, help=param.help)
            else:
                step = 0.05 if param.high - param.low <= 2 else 0.01
                bound(st.slider, param.name, f"param:{param.name}", lambda get=get: float(get()), put,
                      min_value=float(param.low), max_value=float(param.high), step=step, help=param.help)

try:
    dataset = state.dataset()
except MTLError as exc:
    st.error(plain(str(exc)))
    st.stop()
frame = dataset.frame

notes_area = st.container()
if "measured_correlation" in dataset.info:
    metric_col, notes_area = st.columns([1, 3])
    target = dataset.info.get("p")
    metric_col.metric("Measured label correlation", f"{dataset.info['measured_correlation']:.3f}",
                      help="Pearson correlation of y1 and y2 in the generated rows.",
                      delta=f"target p = {target:.2f}" if target is not None else None, delta_color="off",
                      delta_arrow="off")
for note in dataset.notes:
    notes_area.info(plain(note), icon=":material/info:")

# ---- the table ---------------------------------------------------------------------------------
st.subheader("The data")
st.caption(f"{len(frame):,} rows × {len(frame.columns)} columns")
sizes = split_sizes(len(frame), cfg.val_fraction, cfg.test_fraction)
st.caption(f"Split for training: {sizes['train']:,} train · {sizes['val']:,} validation · {sizes['test']:,} test rows "
           "(fractions on Model & losses, More settings).")
small_test = small_test_warning(len(frame), cfg.val_fraction, cfg.test_fraction, " (Model & losses, More settings)")
if small_test:
    st.warning(small_test, icon=":material/warning:")
preview, summary = st.tabs(["Preview", "Column summary"])
with preview:
    st.dataframe(frame.head(200), height=280)
with summary:
    st.dataframe(column_summary(frame), height=280)

# ---- tasks ---------------------------------------------------------------------------------------
st.subheader("Tasks")
st.caption("Each task is a target column the network predicts with its own head. The kind is inferred from "
           "the column; change it if the guess is wrong.")
columns = list(frame.columns)
bound(st.multiselect, "Target columns", "tasks", lambda: [t for t in state.config().task_names if t in columns],
      state.set_tasks, options=columns, placeholder="Choose one or more target columns")
error = config_error(cfg)
show_error(error, "tasks")

kinds = []
for task_spec in cfg.tasks:
    column = task_spec.column
    if column not in frame.columns:
        continue
    inferred = infer_kind(frame[column])
    row = st.columns([1, 1, 3], vertical_alignment="center")
    row[0].markdown(md("**{}**", column))
    with row[1]:
        bound(st.selectbox, plain(f"Kind of {column}"), f"kind:{column}",
              lambda task_spec=task_spec, inferred=inferred: task_spec.kind or inferred,
              lambda v, column=column, inferred=inferred: state.set_task_kind(column, None if v == inferred else v),
              options=list(TASK_KINDS), label_visibility="collapsed",
              format_func=lambda k, inferred=inferred: f"{k} (inferred)" if k == inferred else k)
    kind = task_spec.kind or inferred
    kinds.append(kind)
    row[2].caption(plain(task_profile(frame[column], kind)))
    try:
        resolve_tasks(frame, [task_spec])
    except MTLError as exc:
        st.error(plain(str(exc)))

if kinds:
    n_class = sum(k != "regression" for k in kinds)
    n_reg = len(kinds) - n_class
    if len(kinds) == 1:
        flavour = "a single task: no sharing yet, add a second task to see multi-task learning"
    elif n_class and n_reg:
        flavour = "heterogeneous multi-task learning (classification and regression together)"
    else:
        flavour = "homogeneous multi-task learning (all tasks of one kind)"
    st.caption(f"{n_class} classification and {n_reg} regression task(s): {flavour}.")

# ---- inputs ----------------------------------------------------------------------------------------
st.subheader("Inputs")
candidates = [c for c in columns if c not in cfg.task_names]


def _put_inputs(values: list[str]) -> None:
    state.config().inputs = None if set(values) == set(candidates) else list(values)


bound(st.multiselect, "Input columns", "inputs",
      lambda: [c for c in (state.config().inputs or candidates) if c in candidates], _put_inputs,
      options=candidates, placeholder="Choose the input columns")
show_error(error, "inputs")
if cfg.inputs is None and cfg.tasks:
    try:
        _, input_notes = choose_inputs(frame, cfg)
    except MTLError as exc:
        st.error(plain(str(exc)))
    else:
        for note in input_notes:
            st.caption(plain(note))

st.page_link("pages/model.py", label="Next: Model & losses", icon=":material/arrow_forward:")
