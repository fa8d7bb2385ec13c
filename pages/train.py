"""Train: start, stop and watch a run in the background; change loss weights while it trains; see results."""

import copy
import time

import pandas as pd
import streamlit as st

from mtl_core.config import validate_config
from mtl_core.errors import MTLError
from mtl_core.fields import widget_bounds
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS
from ui import entry, state
from ui.charts import (
    LIVE_CONFIG,
    LIVE_POINTS,
    MAX_POINTS,
    conflict_figure,
    confusion_figure,
    loss_figure,
    scatter_figure,
    weight_changes,
    weights_figure,
)
from ui.compare_panel import compare_panel
from ui.exports import export_section
from ui.gates import gate_panel
from ui.landscape import live_landscape
from ui.results import held_out
from ui.widgets import config_error

entry.through_app()

# How often the progress, the metrics and the loss chart redraw while training runs. Streamlit remounts a
# plotly chart whenever its figure changes, and each remount costs the browser a redraw from scratch, so
# the weights and conflict charts are rebuilt less often (in between the same figure is sent again,
# which keeps the chart mounted and costs the browser nothing).
LIVE_SECONDS = 1.0
SLOW_SECONDS = 3.0

st.title("Train")
cfg = state.config()
error = config_error(cfg)
session = state.training()
running = session is not None and session.run.running

arch = ARCHITECTURES[cfg.arch].title if cfg.arch in ARCHITECTURES else cfg.arch
weighting = WEIGHTINGS[cfg.weighting].title if cfg.weighting in WEIGHTINGS else cfg.weighting
st.caption(f"Settings: {state.dataset_title(cfg.dataset)} · tasks {', '.join(cfg.task_names) or 'none'} · "
           f"{arch} · {weighting} · {cfg.optimizer} lr {cfg.lr:g} · {cfg.epochs} epochs")
if error is not None:
    st.error(str(error))
    st.page_link("pages/model.py", label="Fix the settings", icon=":material/tune:")

buttons = st.columns([1, 1, 1, 5])
train_clicked = buttons[0].button("Train", key="train_button", type="primary", icon=":material/play_arrow:",
                                  disabled=running or error is not None, width="stretch")
buttons[1].button("Stop", key="stop_button", icon=":material/stop:", disabled=not running,
                  on_click=state.stop_training, width="stretch")
buttons[2].button("Reset", key="reset_button", icon=":material/restart_alt:", disabled=session is None,
                  on_click=state.reset_training, width="stretch", help="Stop and forget the current run.")

if train_clicked:
    build_error = None
    with st.spinner("Loading TensorFlow and building the model…"):
        try:
            dataset = state.dataset()
            # TensorFlow loads here, on first use, never on the home page.
            from mtl_core.jobs.training import TrainingJob

            new_run = TrainingJob(cfg, dataset.frame)
        except MTLError as exc:
            build_error = str(exc)
    if build_error is None:
        state.start_training(new_run, dataset.frame, state.dataset_title(cfg.dataset))
        st.rerun()
    st.error(build_error)

if session is None:
    st.info("Press **Train** to start. Training runs in the background: you can visit other pages while it "
            "runs and come back; the Predict page uses the latest weights as they change.",
            icon=":material/info:")
    st.stop()

run = session.run
tasks = session.task_names
try:
    current = validate_config(copy.deepcopy(cfg)).to_dict()
except MTLError:
    current = None
started = run.config.to_dict()
if current is not None:
    # Loss weights moved during this run belong to it, not to "changed settings".
    current.pop("loss_weights")
    started.pop("loss_weights")
if current != started:
    st.caption("The settings changed since this run started; press **Train** to train with the new ones.")

# ---- loss weights, live ------------------------------------------------------------------------------
uses_sliders = run.uses_user_weights
weights = session.cache.setdefault("weights", run.config.weights_for(tasks))


def _put_weight(task: str, value: float) -> None:
    new = dict(weights, **{task: float(value)})
    try:
        run.set_loss_weights(new)
    except MTLError as exc:
        session.cache["weights_error"] = str(exc)
        return
    session.cache["weights_error"] = None
    weights.update(new)
    if task in state.config().task_names:
        # The next run (and the Model page) starts from the weights last used.
        state.config().loss_weights[task] = float(value)


with st.expander("Loss weights (change them while it trains)", expanded=uses_sliders and running,
                 icon=":material/tune:"):
    if not uses_sliders:
        st.caption(f"{WEIGHTINGS[run.config.weighting].title} sets the weights itself; watch them in the "
                   "chart of loss weights below.")
    elif not running:
        st.caption("Training is not running; these take effect on the next run.")
    else:
        st.caption("A change applies from the next epoch; the loss chart marks where weights changed.")
    # Read in the full run, not through on_change: the live fragments rerun every second, and a rerun
    # racing a slider drag must never send a stale value to the trainer.
    slider_cols = st.columns(min(len(tasks), 4))
    for i, task in enumerate(tasks):
        key = f"train.lw{session.token}:{task}"
        if key not in st.session_state:
            st.session_state[key] = float(weights[task])
        with slider_cols[i % len(slider_cols)]:
            value = st.slider(task, **widget_bounds("loss_weights"), key=key,
                              disabled=not (uses_sliders and running))
        if uses_sliders and running and abs(value - weights[task]) > 1e-9:
            _put_weight(task, value)
    if session.cache.get("weights_error"):
        st.error(session.cache["weights_error"])


# ---- live progress and charts ------------------------------------------------------------------------
def _progress(events: list) -> None:
    total = run.config.epochs
    done = len(events)
    if running and done == 0:
        st.progress(0.0, text=f"Epoch 0/{total} · compiling the training step ({run.elapsed:.0f} s)…")
        return
    elapsed = events[-1].elapsed if events else 0.0
    text = f"Epoch {done}/{total} · {elapsed:.1f} s"
    if running and done:
        left = elapsed / done * (total - done)
        text += f" · about {left:.0f} s left"
    elif run.result is not None:
        text += f" · {run.result.stopped_reason}"
    st.progress(min(done / total, 1.0), text=text)


def _metrics_table(events: list) -> None:
    if not events:
        st.caption("Appears after the first epoch.")
        return
    if not events[-1].val_metrics:
        st.caption("No validation split (validation fraction 0), so no validation metrics.")
        return
    metrics = events[-1].val_metrics
    names = list(dict.fromkeys(m for task in metrics.values() for m in task))
    table = pd.DataFrame([{"task": task, **{m: f"{values[m]:.4f}" if m in values else "" for m in names}}
                          for task, values in metrics.items()]).set_index("task")
    # A key keeps the table's identity while its numbers change: updated in place, not remounted.
    st.dataframe(table, key="live_metrics")


def _slow_figures(events: list, live: bool) -> dict:
    """The weights and conflict figures; while training, rebuilt only every SLOW_SECONDS."""
    cached = session.cache.get("slow_figures")
    now = time.monotonic()
    if live and cached is not None and cached["epochs"] and now - cached["at"] < SLOW_SECONDS:
        return cached
    points = LIVE_POINTS if live else MAX_POINTS
    with_conflict = len(tasks) >= 2 and any(e.conflict for e in events)
    cached = {"at": now, "epochs": len(events),
              "weights": weights_figure(events, tasks, max_points=points) if events else None,
              "conflict": conflict_figure(events, max_points=points) if with_conflict else None}
    session.cache["slow_figures"] = cached
    return cached


@st.fragment(run_every=LIVE_SECONDS if running else None)
def live(was_running: bool) -> None:
    """Everything that changes while training runs; redrawn every LIVE_SECONDS (one second) by the fragment.

    While live the charts plot at most LIVE_POINTS epochs and have no mode bar (cheaper to remount); the
    last draw, once training ended, has the full resolution and the usual plotly tools.
    """
    events = run.events()
    if was_running and not run.running:
        # Finished since the page was drawn: a full rerun shows the results and resets the buttons.
        st.rerun()
    live_now = was_running
    config = LIVE_CONFIG if live_now else None
    _progress(events)
    with st.container(key="loss_chart"):
        log = st.toggle("Log scale", key="loss_log")
        if events:
            # Strategies that set the weights themselves change them every epoch: nothing worth marking.
            changes = weight_changes(events) if uses_sliders else []
            st.plotly_chart(loss_figure(events, tasks, log=log, mark_changes=bool(changes), changes=changes,
                                        max_points=LIVE_POINTS if live_now else MAX_POINTS),
                            key="loss_fig", config=config)
            if changes:
                st.caption(f"Dashed lines: loss weights changed at epoch {', '.join(map(str, changes[-5:]))}.")
        else:
            st.caption("The loss chart appears after the first epoch.")
    slow = _slow_figures(events, live_now)
    left, right = st.columns(2)
    with left, st.container(key="weights_chart"):
        st.markdown("**Validation metrics** (latest epoch)")
        _metrics_table(events)
        st.markdown("**Loss weights in force**")
        if slow["weights"] is not None:
            st.plotly_chart(slow["weights"], key="weights_fig", config=config)
    with right, st.container(key="conflict_chart"):
        st.markdown("**Gradient conflict** (cosine of two tasks' gradients on the shared layers)")
        if len(tasks) < 2:
            st.caption("Needs two or more tasks.")
        elif slow["conflict"] is not None:
            st.plotly_chart(slow["conflict"], key="conflict_fig", config=config)
            st.caption("Below 0 (red): the tasks pull the shared layers in opposite directions.")
        elif run.config.conflict_every == 0:
            st.caption("Switched off (Model page, More settings).")
        else:
            st.caption("Appears after the first epoch.")


live(running)

# ---- what each task learned: landscapes, trunk units, gates (ui/landscape.py), twice a second while training --
live_landscape(session, running and not getattr(session.run, "paused", False))

# ---- results -------------------------------------------------------------------------------------------
if run.running:
    st.stop()
if run.error:
    st.error(run.error)
    st.stop()
result = run.result
if result is None:
    st.stop()
st.subheader("Results")
if result.stopped_reason == "diverged":
    st.warning(result.message, icon=":material/warning:")
elif result.stopped_reason == "stopped":
    st.info(result.message, icon=":material/stop_circle:")
else:
    st.success(f"{result.message} ({result.seconds:.1f} s)", icon=":material/check_circle:")

held = held_out(session)
if result.test_metrics:
    st.markdown(f"**Test metrics** ({len(result.prepared.rows['test'])} held-out rows, original units)")
    metric_cols = st.columns(min(len(result.test_metrics), 3))
    for i, (task, metrics) in enumerate(result.test_metrics.items()):
        with metric_cols[i % len(metric_cols)].container(border=True):
            st.markdown(f"**{task}**")
            for col, (name, value) in zip(st.columns(len(metrics)), metrics.items()):
                col.metric(name, f"{value:.3g}")
else:
    where = {"val": "validation", "train": "training"}.get(held.split, held.split) if held else "training"
    st.caption(f"This run has no test split (test fraction 0); the plots below use the {where} rows.")

if held is not None:
    split_name = {"test": "test", "val": "validation", "train": "training"}[held.split]
    task_by_name = {t.name: t for t in result.prepared.tasks}
    plot_cols = st.columns(min(len(tasks), 3))
    for i, name in enumerate(tasks):
        task = task_by_name[name]
        with plot_cols[i % len(plot_cols)]:
            if task.is_classification:
                st.markdown(f"**{name}**: confusion matrix ({split_name} rows)")
                st.plotly_chart(confusion_figure(task.classes, held.truth[name], held.predicted[name]),
                                key=f"confusion:{name}")
            else:
                st.markdown(f"**{name}**: predicted vs true ({split_name} rows)")
                st.plotly_chart(scatter_figure(name, held.truth[name], held.predicted[name]),
                                key=f"scatter:{name}")

gate_panel(session)
compare_panel()
export_section(session)
st.page_link("pages/predict.py", label="Next: Predict", icon=":material/arrow_forward:")
