"""Train: start, stop and watch a run in the background; change loss weights while it trains; see results."""

import copy
import time

import pandas as pd
import streamlit as st

from mtl_core.config import validate_config
from mtl_core.data.splits import small_test_warning
from mtl_core.errors import MTLError
from mtl_core.fields import widget_bounds
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS
from ui import entry, state
from ui.bakeoff_panel import bakeoff_panel
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
from ui.limits import limit_error
from ui.plain import md, plain
from ui.refresh import every, follow_load
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
st.caption(plain(f"Settings: {state.dataset_title(cfg.dataset)} · tasks {', '.join(cfg.task_names) or 'none'} · "
                 f"{arch} · {weighting} · {cfg.optimizer} lr {cfg.lr:g} · {cfg.epochs} epochs"))
if error is None:
    error = limit_error(cfg)  # the server's limit on one run's size (MTL_MAX_RUN_SIZE and the others)
if error is not None:
    st.error(plain(str(error)))
    st.page_link("pages/model.py", label="Fix the settings", icon=":material/tune:")

# A flowing row: each button as wide as its label (never cut to its icon), wrapping on a narrow screen.
paused = running and session.run.paused
buttons = st.container(horizontal=True, wrap=True, key="run_buttons")
play_clicked = buttons.button("Play", key="play_button", type="primary", icon=":material/play_arrow:",
                              disabled=(running and not paused) or (error is not None and not paused),
                              help="Start a run, or go on with the paused one.")
buttons.button("Pause", key="pause_button", icon=":material/pause:", disabled=not running or paused,
               on_click=state.pause_training)
step_clicked = buttons.button("Step", key="step_button", icon=":material/skip_next:",
                              disabled=error is not None and not running, help="Train exactly one more epoch.")
buttons.button("Stop", key="stop_button", icon=":material/stop:", disabled=not running,
               on_click=state.stop_training, help="End the run and show its results.")
buttons.button("Reset", key="reset_button", icon=":material/restart_alt:", disabled=session is None,
               on_click=state.reset_training, help="Stop and forget the current run.")

live_settings = state.live_settings()
with st.container(horizontal=True, wrap=True, key="run_controls", vertical_alignment="center"):
    continuous = st.toggle("Continuous", value=live_settings.continuous, key="continuous",
                           help=f"Train until you pause or stop, instead of {cfg.epochs} epochs.")
    speed = st.segmented_control("Speed (epochs per second)", list(state.SPEEDS), key="speed",
                                 default=live_settings.speed, format_func=lambda s: s if s == "max" else f"{s}/s",
                                 help="Slow enough for a class to follow, or as fast as it trains.")
    st.caption("until paused" if continuous else f"{cfg.epochs} epochs")
if continuous != live_settings.continuous:
    state.set_continuous(continuous)
if speed is not None and speed != live_settings.speed:
    state.set_speed(speed)

if (play_clicked or step_clicked) and not running:
    build_error = None
    with st.spinner("Starting the run…"):
        try:
            dataset = state.dataset()
            # Only validated and handed over here: the model is built where it trains (a worker process).
            new_run = state.new_training(cfg, dataset.frame)
        except MTLError as exc:
            build_error = str(exc)
    if build_error is None:
        state.play_training(new_run, dataset.frame, state.dataset_title(cfg.dataset), step=step_clicked)
        st.rerun()
    st.error(plain(build_error))
elif play_clicked:
    state.resume_training()
    st.rerun()
elif step_clicked:
    state.step_training()
    st.rerun()

if session is None:
    st.info("Press **Play** to start, or **Step** to train one epoch at a time. Training runs in the background: "
            "you can visit other pages while it runs and come back; the Predict page uses the latest weights as "
            "they change, also while paused.", icon=":material/info:")
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
    st.caption("The settings changed since this run started; press **Play** once it has ended (**Reset** ends it "
               "now) to train with the new ones.")

# ---- loss weights, live ------------------------------------------------------------------------------
uses_sliders = run.uses_user_weights
strategy = WEIGHTINGS[run.config.weighting]  # what the method changes, and what its weights chart shows
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
        st.caption(WEIGHTINGS[run.config.weighting].sliders_note)  # the registry says what the method changes
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
            value = st.slider(plain(task), **widget_bounds("loss_weights"), key=key, disabled=not uses_sliders)
        if uses_sliders and abs(value - weights[task]) > 1e-9:
            if running:  # playing or paused: the run's next epoch uses it
                _put_weight(task, value)
            else:
                weights[task] = float(value)
                if task in state.config().task_names:
                    state.config().loss_weights[task] = float(value)
    if session.cache.get("weights_error"):
        st.error(plain(session.cache["weights_error"]))


# ---- live progress and charts ------------------------------------------------------------------------
def _counter(events: list) -> None:
    """The epoch as text ("Epoch N") and what the run is doing: playing (at what speed), paused or ended."""
    with st.container(horizontal=True, vertical_alignment="center", key="epoch_status"):
        with st.container(key="epoch_counter", width="content"):
            st.markdown(f"**Epoch {len(events)}**")
        if running:
            speed = "as fast as it trains" if run.speed is None else f"{run.speed:g} epochs/s"
            kind = "continuous" if run.continuous else f"{run.config.epochs} epochs"
            doing = f"paused ({kind})" if run.paused else f"playing at {speed} ({kind})"
        else:
            doing = "ended" if run.result is not None or run.error else "starting"
        best = events[-1].best_epoch if events else 0
        if running and best and run.continuous:
            # Early stopping does not end a continuous run; it says which epoch's weights Stop will keep.
            doing += f" · lowest validation loss so far: epoch {best} (Stop keeps its weights)"
        st.caption(doing)


def _progress(events: list) -> None:
    total = run.config.epochs
    done = len(events)
    waiting = run.queue_position() if running and hasattr(run, "queue_position") else None
    if waiting is not None:  # every worker of the server is busy: the run waits its turn in the queue
        st.progress(0.0, text=f"Waiting for a free worker: number {waiting[0]} in the queue, starts in about "
                              f"{max(waiting[1], 1):.0f} s")
        return
    if running and done == 0:
        st.progress(0.0, text=f"Epoch 0/{total} · compiling the training step ({run.elapsed:.0f} s)…")
        return
    elapsed = events[-1].elapsed if events else 0.0
    text = f"Epoch {done}/{total} · {elapsed:.1f} s"
    if running and run.continuous:
        text = f"Epoch {done} · {elapsed:.1f} s · continuous (past {total} epochs it goes on until paused)"
    elif running and done:
        left = elapsed / done * (total - done)
        text += f" · about {left:.0f} s left"
        if events[-1].best_epoch:
            text += f" · lowest validation loss so far: epoch {events[-1].best_epoch}"
    elif run.result is not None:
        text += f" · {run.result.stopped_reason} · weights of epoch {run.result.weights_epoch}"
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
    y_title = "effective weight" if strategy.changes == "gradients" else "loss weight"
    cached = {"at": now, "epochs": len(events),
              "weights": weights_figure(events, tasks, max_points=points, y_title=y_title) if events else None,
              "conflict": conflict_figure(events, max_points=points) if with_conflict else None}
    session.cache["slow_figures"] = cached
    return cached


LIVE_EVERY = every(LIVE_SECONDS, running)


@st.fragment(run_every=LIVE_EVERY)
def live(was_running: bool) -> None:
    """Everything that changes while training runs; redrawn every LIVE_SECONDS (one second) by the fragment.

    While live the charts plot at most LIVE_POINTS epochs and have no mode bar (cheaper to remount); the
    last draw, once training ended, has the full resolution and the usual plotly tools.
    """
    events = run.events()
    if was_running and not run.running:
        # Finished since the page was drawn: a full rerun shows the results and resets the buttons.
        st.rerun()
    follow_load(LIVE_SECONDS, LIVE_EVERY)
    live_now = was_running
    config = LIVE_CONFIG if live_now else None
    _counter(events)
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
        st.markdown(f"**{strategy.weights_label}**")
        if slow["weights"] is not None:
            st.plotly_chart(slow["weights"], key="weights_fig", config=config)
            if strategy.weights_note:
                st.caption(strategy.weights_note)
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


# Each fragment in a container of its own: the elements after it (Results) keep their place in the page whatever
# the fragment draws, so a late fragment run cannot overwrite or clear them (Streamlit's frontend does either,
# now and then, when a fragment's st.rerun() and its timer cross: the Results heading went missing for seconds).
with st.container(key="live_view"):
    live(running)

# ---- what each task learned: landscapes, trunk units, gates (ui/landscape.py), twice a second while training --
with st.container(key="live_landscape"):
    live_landscape(session, running and not getattr(session.run, "paused", False))

# ---- results -------------------------------------------------------------------------------------------
if run.running:
    st.stop()
if run.error:
    st.error(plain(run.error))
    st.stop()
result = run.result
if result is None:
    st.stop()
st.subheader("Results")
if result.stopped_reason == "diverged":
    st.warning(plain(result.message), icon=":material/warning:")
elif result.stopped_reason == "stopped":
    st.info(plain(result.message), icon=":material/stop_circle:")
else:
    st.success(plain(f"{result.message} ({result.seconds:.1f} s)"), icon=":material/check_circle:")

held = held_out(session)
if result.config.early_stopping and result.weights_epoch and result.stopped_reason != "diverged":
    kept = f"epoch {result.weights_epoch}, the lowest validation loss (early stopping)"
else:
    kept = f"epoch {result.weights_epoch}, the last one trained"
st.caption(f"Everything below (test metrics, plots, Predict, downloads) uses the weights of {kept}.")
n_rows = sum(len(rows) for rows in result.prepared.rows.values())
small_test = small_test_warning(n_rows, result.config.val_fraction, result.config.test_fraction,
                                " (Model & losses, More settings)")
if small_test:
    st.warning(small_test, icon=":material/warning:")
if result.test_metrics:
    st.markdown(f"**Test metrics** ({len(result.prepared.rows['test'])} held-out rows, original units, weights of "
                f"epoch {result.weights_epoch})")
    metric_cols = st.columns(min(len(result.test_metrics), 3))
    for i, (task, metrics) in enumerate(result.test_metrics.items()):
        with metric_cols[i % len(metric_cols)].container(border=True):
            st.markdown(md("**{}**", task))
            # Side by side while they fit, else on the next line: never a value cut to "0.7…".
            with st.container(horizontal=True, wrap=True):
                for name, value in metrics.items():
                    st.metric(name, f"{value:.3g}", width="content")
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
                st.markdown(md("**{}**: confusion matrix ({} rows)", name, split_name))
                st.plotly_chart(confusion_figure(task.classes, held.truth[name], held.predicted[name]),
                                key=f"confusion:{name}")
            else:
                st.markdown(md("**{}**: predicted vs true ({} rows)", name, split_name))
                st.plotly_chart(scatter_figure(name, held.truth[name], held.predicted[name]),
                                key=f"scatter:{name}")

gate_panel(session)
# Keyed, so a classroom link or presenter mode can hide them (ui/classroom.py: compare, exports).
with st.container(key="compare_panel"):
    compare_panel()
with st.container(key="bakeoff_panel"):
    bakeoff_panel()
with st.container(key="exports_section"):
    export_section(session)
st.page_link("pages/predict.py", label="Next: Predict", icon=":material/arrow_forward:")
