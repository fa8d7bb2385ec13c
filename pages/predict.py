"""Predict: move the inputs and watch every task's prediction at once, from the latest weights."""

import streamlit as st

from mtl_core.errors import MTLError
from mtl_core.presets import IRIS_MEASUREMENTS, TUTORIAL_FLOWERS
from mtl_core.tasks import class_label
from ui import state
from ui.charts import probability_figure, range_figure
from ui.inputs import most_common, slider_spec

st.title("Predict")
session = state.training()
if session is None:
    st.info("Train a model first: the predictions here come from the model on the Train page, even while it is "
            "still training.", icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

run = session.run
if run.error:
    st.error(run.error)
    st.stop()
schema = run.info.schema
frame = session.frame
tasks = run.info.tasks
running = run.running


def key(column: str) -> str:
    """The widget key of an input; per run, so a new run with other ranges starts fresh."""
    return f"x{session.token}:{column}"


specs = session.cache.setdefault(
    "slider_specs", {c: slider_spec(frame[c]) for c in schema.columns if c not in schema.categories})


def _fill(values: dict, example: int | None = None) -> None:
    for column, value in values.items():
        if column in specs:
            st.session_state[key(column)] = specs[column].clamp(value)
        elif column in schema.categories and class_label(value) in schema.categories[column]:
            st.session_state[key(column)] = class_label(value)
    session.cache["example"] = example


def _load_example() -> None:
    rows = run.trainer.prepared.rows
    split = next((s for s in ("test", "val", "train") if len(rows[s])), "train")
    pool = rows[split]
    session.cache["example_split"] = {"test": "held-out test", "val": "validation", "train": "training"}[split]
    n = session.cache.get("example_count", 0)
    session.cache["example_count"] = n + 1
    row = int(pool[n % len(pool)])
    _fill({c: frame.at[row, c] for c in schema.columns}, row)


def _load_flower(measurements: list[float]) -> None:
    _fill(dict(zip(IRIS_MEASUREMENTS, measurements)))


# ---- inputs -----------------------------------------------------------------------------------------------
epochs = len(run.events())
where = f"epoch {epochs}/{run.config.epochs}" + (", still training: predictions follow the latest weights"
                                                 if running else "")
st.caption(f"Model of run {session.token} on {session.dataset_title} ({where}).")

actions = st.columns([1, 4], vertical_alignment="center")
actions[0].button("Load a test example", key="load_example", icon=":material/casino:", on_click=_load_example,
                  help="Fill the inputs from a real held-out row and show its true labels.")
if run.config.dataset == "iris" and set(schema.columns) <= set(IRIS_MEASUREMENTS):
    with actions[1]:
        flower_cols = st.columns(len(TUTORIAL_FLOWERS))
        for col, (label, measurements) in zip(flower_cols, TUTORIAL_FLOWERS.items()):
            col.button(label, key=f"flower:{label}", on_click=_load_flower, args=(measurements,),
                       help="One of the three flowers of the original TF.js tutorial.", width="stretch")

values: dict = {}
with st.container(key="features", border=True):
    st.markdown("**Inputs**")
    cols = st.columns(min(len(schema.columns), 4))
    for i, column in enumerate(schema.columns):
        with cols[i % len(cols)]:
            if column in schema.categories:
                options = schema.categories[column]
                if key(column) not in st.session_state:
                    st.session_state[key(column)] = most_common(frame[column])
                values[column] = st.selectbox(column, options, key=key(column))
            else:
                spec = specs[column]
                if key(column) not in st.session_state:
                    st.session_state[key(column)] = spec.default
                values[column] = st.slider(column, min_value=spec.low, max_value=spec.high, step=spec.step,
                                           format=spec.format, key=key(column))

example = session.cache.get("example")
truth = None
if example is not None:
    # The true labels apply only while the inputs still hold the example's values.
    same = all(
        (str(values[c]) == class_label(frame.at[example, c])) if c in schema.categories
        else abs(float(values[c]) - float(specs[c].clamp(frame.at[example, c]))) < 1e-9
        for c in schema.columns)
    truth = {t.name: frame.at[example, t.name] for t in tasks} if same else None


# ---- predictions --------------------------------------------------------------------------------------------
@st.fragment(run_every=1.0 if running else None)
def predictions() -> None:
    """Every task's prediction for the inputs above; refreshed each second while the model trains."""
    with st.container(key="prediction", border=True):
        st.markdown("**Predictions**" + (" (live)" if run.running else ""))
        try:
            predicted = run.predictor.predict_one(values)
        except MTLError as exc:
            st.error(str(exc))
            return
        pred_cols = st.columns(min(len(tasks), 3))
        for i, task in enumerate(tasks):
            p = predicted[task.name]
            with pred_cols[i % len(pred_cols)]:
                if task.kind == "regression":
                    true_value = truth.get(task.name) if truth else None
                    delta = f"true {float(true_value):.4g}" if true_value is not None else None
                    st.metric(task.name, f"{p.value:.4g}", delta=delta, delta_color="off",
                              delta_arrow="off")
                    series = frame[task.name]
                    st.plotly_chart(range_figure(p.value, float(series.min()), float(series.max()),
                                                 true=float(true_value) if true_value is not None else None),
                                    key=f"range:{task.name}", config={"displayModeBar": False})
                    st.caption(f"Data range {series.min():.4g} to {series.max():.4g} (median {series.median():.4g}).")
                else:
                    st.metric(task.name, p.label, delta=f"{p.probabilities[p.label]:.1%} sure", delta_color="off",
                              delta_arrow="off")
                    st.plotly_chart(probability_figure(p.probabilities, highlight=p.label), key=f"proba:{task.name}",
                                    config={"displayModeBar": False})
                    if truth is not None:
                        actual = class_label(truth[task.name])
                        mark = ":green[right]" if actual == p.label else ":red[wrong]"
                        st.caption(f"True class: **{actual}** ({mark})")
        if truth is not None:
            st.caption(f"Inputs from row {example} of the data, a {session.cache.get('example_split')} row.")


predictions()
