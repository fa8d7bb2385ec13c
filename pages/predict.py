"""Predict: move the inputs and watch every task's prediction at once, from the latest weights."""

import streamlit as st

from mtl_core.data.tasks import class_label
from mtl_core.errors import MTLError
from mtl_core.presets import IRIS_MEASUREMENTS, TUTORIAL_FLOWERS
from ui import entry, state
from ui.inputs import most_common, slider_spec
from ui.landscape import LIVE_SECONDS as LANDSCAPE_SECONDS
from ui.landscape import curves_panel, landscape_panel
from ui.plain import md, plain
from ui.refresh import every, follow_load

entry.through_app()

# While the model still trains, the predictions, curves and landscapes follow its latest weights this often
# (seconds): the landscapes refresh at least twice a second.
LIVE_SECONDS = LANDSCAPE_SECONDS
# A CSV with 2,000 columns drew 1,999 sliders (a 4.8 s round trip): at most this many inputs get a widget.
MAX_INPUT_WIDGETS = 40

st.title("Predict")
# The session's training, or a run opened from the Runs page since (whichever is newer).
session = state.current_model()
if session is None:
    st.info("Train a model first: the predictions here come from the model on the Train page, even while it is "
            "still training, or from a run you open on the Runs page.", icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

run = session.run
if run.error:
    st.error(plain(run.error))
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
# Each regression task's (min, max, median) in the data, for the range under its prediction.
ranges = session.cache.setdefault("task_ranges", {
    t.name: (float(frame[t.name].min()), float(frame[t.name].max()), float(frame[t.name].median()))
    for t in tasks if t.kind == "regression"})


def _fill(values: dict, example: int | None = None) -> None:
    for column, value in values.items():
        if column in specs:
            st.session_state[key(column)] = specs[column].clamp(value)
        elif column in schema.categories and class_label(value) in schema.categories[column]:
            st.session_state[key(column)] = class_label(value)
    session.cache["example"] = example


def _load_example() -> None:
    rows = run.prepared.rows
    split = next((s for s in ("test", "val", "train") if len(rows[s])), "train")
    pool = rows[split]
    session.cache["example_split"] = {"test": "held-out test", "val": "validation", "train": "training"}[split]
    n = session.cache.get("example_count", 0)
    session.cache["example_count"] = n + 1
    row = int(pool[n % len(pool)])
    _fill({c: frame.at[row, c] for c in schema.columns}, row)


def _load_flower(measurements: list[float]) -> None:
    _fill(dict(zip(IRIS_MEASUREMENTS, measurements)))


# ---- the explorer: inputs and predictions in one fragment ---------------------------------------------------
def _actions() -> None:
    # Buttons as wide as their labels (columns truncated "Load a test example" at 1280 px); the row wraps.
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Load a test example", key="load_example", icon=":material/casino:", on_click=_load_example,
                  help="Fill the inputs from a real held-out row and show its true labels.", width="content")
        if run.config.dataset == "iris" and set(schema.columns) <= set(IRIS_MEASUREMENTS):
            for label, measurements in TUTORIAL_FLOWERS.items():
                st.button(label, key=f"flower:{label}", on_click=_load_flower, args=(measurements,),
                          help="One of the three flowers of the original TF.js tutorial.", width="content")


def _current_values() -> dict:
    """Every input's value as the browser last sent it (the default the first time)."""
    for column in schema.columns:
        if key(column) not in st.session_state:
            st.session_state[key(column)] = (most_common(frame[column]) if column in schema.categories
                                             else specs[column].default)
    return {column: st.session_state[key(column)] for column in schema.columns}


def _inputs() -> None:
    st.markdown("**Inputs**")
    drawn = schema.columns[:MAX_INPUT_WIDGETS]
    cols = st.columns(min(len(drawn), 4))
    for i, column in enumerate(drawn):
        with cols[i % len(cols)]:
            if column in schema.categories:
                st.selectbox(plain(column), schema.categories[column], key=key(column))
            else:
                spec = specs[column]
                st.slider(plain(column), min_value=spec.low, max_value=spec.high, step=spec.step,
                          format=spec.format, key=key(column))
    hidden = len(schema.columns) - len(drawn)
    if hidden:
        st.caption(f"This model has {len(schema.columns):,} inputs; the first {len(drawn)} have a widget here. The "
                   f"other {hidden:,} keep their value: the median (or most common value) of the data, or the "
                   "loaded example's.")


def _truth(values: dict) -> dict | None:
    """The loaded example's true labels, while the inputs still hold its values."""
    example = session.cache.get("example")
    if example is None:
        return None
    same = all(
        (str(values[c]) == class_label(frame.at[example, c])) if c in schema.categories
        else abs(float(values[c]) - float(specs[c].clamp(frame.at[example, c]))) < 1e-9
        for c in schema.columns)
    return {t.name: frame.at[example, t.name] for t in tasks} if same else None


def _md(text: str) -> str:
    """``text`` shown as plain text in Markdown (class labels come from the data)."""
    return plain(text)


# Native progress bars, not charts: a slider move updates them in the same render as the numbers, where a
# chart (plotly: rebuilt and remounted; vega-lite: its data decoded and the view updated) adds 10-40 ms.
def _probability_bars(probabilities: dict[str, float], predicted: str) -> None:
    """A bar per class, the predicted one in bold: the task's probability bar chart."""
    with st.container(gap="xsmall"):
        for label, probability in probabilities.items():
            name = f"**{_md(label)}**" if label == predicted else _md(label)
            st.progress(min(max(float(probability), 0.0), 1.0), text=f"{name} · {probability:.1%}")


def _range_bar(value: float, low: float, high: float, median: float) -> None:
    """Where a predicted value falls between the smallest and largest value of the task in the data."""
    where = f"in the data {low:.4g} to {high:.4g}, median {median:.4g}"
    if not low <= value <= high:
        where += "; this prediction is outside that range"
    st.progress(min(max((value - low) / ((high - low) or 1.0), 0.0), 1.0), text=where)


def _predictions(values: dict, truth: dict | None) -> dict | None:
    st.markdown("**Predictions**" + (f" (live, epoch {len(run.events())}/{run.config.epochs})" if run.running
                                     else ""))
    try:
        predicted = run.predictor.predict_one(values)
    except MTLError as exc:
        st.error(plain(str(exc)))
        return None
    pred_cols = st.columns(min(len(tasks), 3), gap="large")
    for i, task in enumerate(tasks):
        p = predicted[task.name]
        with pred_cols[i % len(pred_cols)]:
            if task.kind == "regression":
                true_value = float(truth[task.name]) if truth else None
                delta = None if true_value is None else f"true {true_value:.4g}"
                st.metric(plain(task.name), f"{p.value:.4g}", delta=delta, delta_color="off", delta_arrow="off")
                _range_bar(p.value, *ranges[task.name])
            else:
                # A metric's value renders Markdown too (a label "$$x$$" was typeset as math): plain text.
                st.metric(plain(task.name), plain(p.label), delta=f"{p.probabilities[p.label]:.1%} sure",
                          delta_color="off", delta_arrow="off")
                _probability_bars(p.probabilities, p.label)
                if truth is not None:
                    actual = class_label(truth[task.name])
                    mark = ":green[right]" if actual == p.label else ":red[wrong]"
                    st.caption(f"True class: **{_md(actual)}** ({mark})")
    if truth is not None:
        st.caption(f"Inputs from row {session.cache['example']} of the data, a "
                   f"{session.cache.get('example_split')} row.")
    return predicted


EXPLORER_EVERY = every(LIVE_SECONDS, running)


@st.fragment(run_every=EXPLORER_EVERY)
def explorer(was_running: bool) -> None:
    """The inputs and every task's prediction; a slider move reruns only this, as does each second of training.

    The boxes are laid out in page order, then the predictions are filled first: they are what changed, so
    their elements reach the browser before the inputs' (which only echo what the browser already shows).
    The buttons that fill the inputs stay outside: their callbacks set the inputs' state before the rerun.
    """
    if was_running and not run.running:
        # Training ended since the page was drawn: a full rerun stops the timer and the "(live)" label.
        st.rerun()
    follow_load(LIVE_SECONDS, EXPLORER_EVERY)
    features = st.container(key="features", border=True)
    prediction = st.container(key="prediction", border=True)
    views = st.container()
    values = _current_values()
    state.set_held_inputs(session, values)  # the landscapes on Train hold the other inputs here too
    with prediction:
        predicted = _predictions(values, _truth(values))
    if predicted is not None:
        with views:
            curves_panel(session, values, predicted)
            landscape_panel(session, live=run.running, held=values)
    with features:
        _inputs()


# Outside the fragment: a slider move re-sends nothing that did not change (a button click reruns the page).
if session.label:
    st.caption(md("Model of the {} on {}.", session.label, session.dataset_title))
elif running:
    st.caption(md("Model of run {} on {}, still training: the predictions follow the latest weights.",
                  session.token, session.dataset_title))
else:
    st.caption(md("Model of run {} on {} (epoch {}/{}).", session.token, session.dataset_title,
                  len(run.events()), run.config.epochs))
_actions()
explorer(running)
