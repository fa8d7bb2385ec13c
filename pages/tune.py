"""Tune: a multi-objective Optuna study on the session's setup (one objective per task), its Pareto front live."""

import copy

import streamlit as st

from mtl_core.errors import MTLError
from mtl_core.jobs.job import Job
from mtl_core.jobs.pool.proxy import PoolJob
from mtl_core.tuning.objectives import OBJECTIVES
from mtl_core.tuning.space import SPACE
from ui import entry, share, state
from ui import tune_view as view
from ui.plain import md, plain
from ui.refresh import every, follow_load
from ui.widgets import bound, config_error

entry.through_app()

JOB = "tune"
LIVE_SECONDS = 1.0

st.title("Tune")
st.markdown(
    "Search the settings that trade one task against another. Each **trial** trains the session's model with "
    "settings drawn from the space you tick, and scores every task on the validation split: one objective per "
    "task. A trial is on the **Pareto front** when no other trial is at least as good on every task and better "
    "on one; the front is the menu of best trade-offs. The study lives in a database, so `mtl tune` workers on "
    "other machines can add trials to it and they appear here as they land.")

cfg = state.config()
s = view.settings()
if len(cfg.tasks) < 2:
    st.info("Tuning needs at least two tasks to trade off: choose them on **Data & tasks**, or apply a preset "
            "on **Home**.", icon=":material/info:")
    st.page_link("pages/data.py", label="Data & tasks", icon=":material/table:")
    st.stop()
invalid = config_error(cfg)
if invalid is not None:
    st.error(f"{plain(invalid)} Fix it on **Model & losses** or **Train**, then come back.")
    st.stop()

current = state.job(JOB)
running = current is not None and current.running
url, name = view.storage_url(), view.study_name(cfg)
st.caption(md("Setup: **{}** · tasks {} · each trial trains up to {} epochs (set on Train) from the settings of "
              "Model & losses.", state.dataset_title(cfg.dataset), ", ".join(cfg.task_names), cfg.epochs))


def _put(attr: str, cast=None):
    return lambda value: setattr(view.settings(), attr, cast(value) if cast and value is not None else value)


def _tick(name: str):
    def put(on: bool) -> None:
        chosen = set(view.settings().space) | {name} if on else set(view.settings().space) - {name}
        view.settings().space = [n for n in SPACE if n in chosen]
    return put


space_col, run_col = st.columns([1.4, 1], gap="large")
with space_col:
    st.markdown("**Search space**")
    for dim in SPACE.values():
        bound(st.checkbox, dim.help[:1].upper() + dim.help[1:], f"tune_space_{dim.name}",
              lambda n=dim.name: n in view.settings().space, _tick(dim.name), help=f"{dim.name}: {dim.sampling}",
              disabled=running)
with run_col:
    bound(st.radio, "Objective per task", "tune_objective", lambda: view.settings().objective, _put("objective"),
          options=list(OBJECTIVES), format_func=lambda o: view.OBJECTIVE_TITLES.get(o, o), disabled=running,
          help="What each task's objective is, measured on the validation split at the kept epoch.")
    row = st.columns(2)
    with row[0]:
        bound(st.number_input, "Trials", "tune_trials", lambda: view.settings().trials, _put("trials", int),
              min_value=1, max_value=1000, step=1, disabled=running, help="How many trials this page runs.")
    with row[1]:
        bound(st.number_input, "Seed", "tune_seed", lambda: view.settings().seed, _put("seed", int), min_value=0,
              max_value=2**31 - 1, step=1, disabled=running,
              help="Seeds the sampler (each trial's draws depend on the seed and its number) and the models.")
where = st.columns([3, 2], gap="large")
with where[0]:
    bound(st.text_input, "Study storage", "tune_storage", lambda: view.settings().storage,
          lambda v: (_put("storage")(v), view.forget_storages()), placeholder=view.shown_url(url), disabled=running,
          help="Optuna's RDB storage: sqlite:///PATH, or postgresql+psycopg://USER@HOST:PORT/DB for a study "
               "shared by many workers. Empty: the default.")
with where[1]:
    bound(st.text_input, "Study name", "tune_study", lambda: view.settings().study, _put("study"),
          placeholder=name, disabled=running,
          help="An existing study gets more trials. Empty: named after the dataset, tasks and objective.")

buttons = st.columns([1, 1, 3], vertical_alignment="center")
start = buttons[0].button("Start", key="tune_start", type="primary", icon=":material/play_arrow:",
                          disabled=running, width="stretch")
buttons[1].button("Stop", key="tune_stop", icon=":material/stop:", disabled=not running, on_click=state.stop_job,
                  args=(JOB,), width="stretch")
with buttons[2]:
    bound(st.toggle, "Follow the study live", "tune_follow", lambda: view.settings().follow, _put("follow"),
          help="Read the study every second, to see trials from other workers as they land.")

if start:
    error = None
    with st.spinner("Opening the study…"):
        try:
            from mtl_core.store import default_store_url
            from mtl_core.tuning.job import Tuning
            from mtl_core.tuning.study import TuneRequest

            base = copy.deepcopy(cfg)
            base.seed = int(s.seed)
            request = TuneRequest(base=base, study=name, n_trials=int(s.trials), space=list(s.space),
                                  objective=s.objective, storage=url, notebook=share.notebook(),
                                  # The worker process files the trials' runs in this server's store.
                                  db_url=default_store_url())
            # In a worker process of the pool (its trials train there); the storage and space are checked here.
            job = state.new_job("tuning", Tuning, request, state.dataset().frame)
        except MTLError as exc:
            error = str(exc)
    if error is None:
        state.start_job(JOB, job)
        st.rerun()
    st.error(plain(error))


def _job_status(job: Job | PoolJob | None) -> None:
    if job is None:
        return
    if job.running:
        stage, fraction = job.progress()
        st.progress(fraction, text=f"{stage.capitalize()} · {job.elapsed:.0f} s")
    elif job.error:
        st.error(plain(job.error))
    elif job.result is not None:
        done = len(job.events())
        how = "Stopped" if job.stop_requested else "Finished"
        st.caption(f"{how}: this page ran {done} trial{'s' if done != 1 else ''} in {job.elapsed:.0f} s.")


def _trial_panel(trial, left, right) -> None:
    record = view.run_record(trial.run_id)
    with left:
        st.markdown(f"**Trial {trial.number}** · {trial.state}" + (" · on the front" if trial.on_front else ""))
        if trial.values:
            st.caption("Objectives: " + " · ".join(f"{t} {view._number(v)}" for t, v in trial.values.items()))
        if trial.params:
            st.dataframe({"parameter": list(trial.params), "value": [view._number(v) for v in trial.params.values()]},
                         hide_index=True, key="tune_trial_params")
    with right:
        if record is not None:
            st.markdown(f"**Run** `{record.id[:8]}` · {record.status} · {record.epochs_run} epochs")
            st.caption("Test metrics:")
            for line in view.metric_lines(record):
                st.markdown(f"- {line}")
            with st.expander("The run's config"):
                st.json(record.config, expanded=False)
            st.page_link("pages/runs.py", label="Compare it with other runs on Runs", icon=":material/history:")
        elif trial.run_id:
            st.caption(f"Run {trial.run_id[:8]} is not in this page's run store (a worker's own --db).")
        st.button("Use these settings", key="tune_use", icon=":material/tune:", on_click=view.use_settings,
                  args=(trial, record), help="Put this trial's config into the session: Model & losses and Train "
                                             "show it.")


LIVE_EVERY = every(LIVE_SECONDS, running or s.follow)


@st.fragment(run_every=LIVE_EVERY)
def live(was_running: bool) -> None:
    """The job's progress and the study as stored now: chart, front, the picked trial."""
    job = state.job(JOB)
    if was_running and job is not None and not job.running:
        st.rerun()  # finished: a full rerun resets the buttons and the timer
    follow_load(LIVE_SECONDS, LIVE_EVERY)
    _job_status(job)
    cfg_now = state.config()
    url_now, name_now = view.storage_url(), view.study_name(cfg_now)
    try:
        snap = view.read(url_now, name_now)
    except MTLError as exc:
        st.error(plain(str(exc)))
        return
    if snap is None:
        st.info(md("No study {} in {} yet: press **Start**, or start `mtl tune` workers on it (below).",
                   repr(name_now), view.shown_url(url_now)), icon=":material/info:")
        _workers(url_now, name_now)
        return
    if snap.tasks != cfg_now.task_names or (snap.dataset and snap.dataset != cfg_now.dataset) or \
            (snap.objective and snap.objective != view.settings().objective):
        st.info(plain(f"This study was created for {snap.dataset or 'another setup'}: tasks {', '.join(snap.tasks)}, "
                      f"objective {snap.objective}. Start adds trials only to a study of the session's setup."),
                icon=":material/info:")
    st.caption(plain(view.counts_line(snap)))
    event = st.plotly_chart(view.pareto_figure(snap), key="pareto_chart", on_select="rerun",
                            selection_mode="points")
    if len(snap.tasks) > 2:
        st.caption("Each panel pairs two tasks' objectives. Blue: the Pareto front over all tasks; grey: "
                   "dominated trials.")
    s_now = view.settings()
    picked = view.picked_trial(event)
    if picked is not None and picked != s_now.chart_pick:
        s_now.selected = picked  # a new click on the chart; a pick in the list below stays until the next click
    s_now.chart_pick = picked if picked is not None else s_now.chart_pick
    numbers = [t.number for t in snap.front] + [t.number for t in snap.complete if not t.on_front]
    if s_now.selected not in numbers:
        s_now.selected = None
    pick_col, run_col = st.columns(2, gap="large")
    with pick_col:
        bound(st.selectbox, "Trial", "tune_trial", lambda: view.settings().selected, _put("selected"),
              options=numbers, placeholder="Click a point, or pick a trial",
              format_func=lambda n: f"trial {n}" + (" (front)" if snap.trial(n).on_front else ""))
    trial = snap.trial(s_now.selected) if s_now.selected is not None else None
    flash = view.pop_flash()
    if flash:
        st.success(plain(flash), icon=":material/check_circle:")
    if trial is not None:
        _trial_panel(trial, pick_col, run_col)
    if snap.front:
        st.markdown("**Pareto front**")
        st.dataframe(view.front_table(snap), hide_index=True, key="pareto_table")
    _workers(url_now, name_now)


def _workers(url_now: str, name_now: str) -> None:
    with st.expander("Add workers: more processes or machines on the same study"):
        st.markdown("Each worker trains its own trials and writes them to the study; this page shows them as they "
                    "land. Several workers on one SQLite file work on one machine; a PostgreSQL storage serves "
                    "many machines. Save the session's config, then run on each worker:")
        st.code(view.worker_command(url_now, name_now, int(view.settings().trials)), language="bash")
        st.download_button("tune-config.json", view.config_file(state.config()), file_name="tune-config.json",
                           mime="application/json", icon=":material/download:", key="tune_config_file")


live(running)
