"""Relatedness lab: does sharing help more as tasks grow more related? (the MMoE paper's synthetic study)."""

import streamlit as st

from mtl_core.errors import MTLError
from mtl_core.experiments.relatedness_study import MODEL_TITLES, MODELS
from mtl_core.io.safe_csv import frame_csv
from mtl_core.jobs.job import Job
from ui import entry, state
from ui.plain import plain
from ui.refresh import every, follow_load
from ui.relatedness_view import P_OPTIONS, findings, gain_figure, settings, study_figure, summary_table
from ui.widgets import bound

entry.through_app()

JOB = "relatedness"
LIVE_SECONDS = 1.0

st.title("Relatedness lab")
st.markdown(
    "Two synthetic regression tasks, `y1` and `y2`, built like in the MMoE paper (Ma et al., KDD 2018): each "
    "is the same non-linear curve (a line plus three sines) of the 16 inputs seen through its own weight vector, "
    "plus its own noise, and **p** is the cosine between the two weight vectors. p = 1: the tasks are the same "
    "function with independent noise; p = 0: unrelated. For each "
    "p the study generates a dataset and trains, on the same split, **single-task** models (one network per "
    "task, nothing shared), **hard sharing** (one shared trunk, a head per task) and **MMoE** (shared experts "
    "mixed by one gate per task).")
st.markdown(
    "**What to look for**: sharing helps more as the tasks are more related. With the default settings "
    "(300 training rows, 4 seeds) hard sharing's gain over the single-task models rises from about −6 % at "
    "p = 0, where unrelated tasks squeeze through one trunk (**negative transfer**), to +4.5 % at p = 1, with "
    "its 95 % interval (+1.4 to +7.5 %) above 0. The paper's other finding, that MMoE copes with weakly related "
    "tasks better than hard sharing, does **not** show at this scale: at p ≤ 0.5 MMoE's gain is about "
    "9 points below hard sharing's (−15.6 % against −6.2 % at p = 0). It needs more data than the default "
    "study trains: with 900 training rows (3000 rows, train fraction 0.3) the gap shrank to "
    "1–2 points, MMoE still behind; the paper trained on far more. Error bars in the gain chart are 95 % "
    "intervals over seeds.")

cfg = settings()
current = state.job(JOB)
running = current is not None and current.running


def _put(name: str):
    return lambda value: setattr(settings(), name, value)


left, right = st.columns(2, gap="large")
with left:
    bound(st.multiselect, "Relatedness values p", "rel_p", lambda: settings().p_values,
          lambda v: setattr(settings(), "p_values", sorted(float(x) for x in v)), options=list(P_OPTIONS),
          help="Cosine of the two tasks' weight vectors; one dataset per value (and seed).")
    bound(st.multiselect, "Models", "rel_models", lambda: settings().models,
          lambda v: setattr(settings(), "models", [m for m in MODELS if m in v]), options=list(MODELS),
          format_func=lambda m: MODEL_TITLES[m])
with right:
    row = st.columns(3)
    with row[0]:
        bound(st.number_input, "Seeds", "rel_seeds", lambda: settings().seeds, _put("seeds"), min_value=1,
              max_value=8, step=1, help="Each seed draws a new dataset and new starting weights; the gains' "
              "95 % intervals need several (with fewer than four they are too wide to tell +4 % from 0).")
    with row[1]:
        bound(st.number_input, "Rows per dataset", "rel_rows", lambda: settings().rows, _put("rows"),
              min_value=200, max_value=20_000, step=500,
              help="Only a tenth train (few rows make sharing matter: 300 of the default 3000); half test; "
                   "the rest validates for early stopping.")
    with row[2]:
        bound(st.number_input, "Epochs (at most)", "rel_epochs", lambda: settings().epochs, _put("epochs"),
              min_value=1, max_value=500, step=10, help="Early stopping ends each model at its best epoch.")
    st.caption(f"{cfg.trainings()} models to train (about 2-4 s each on a 2-core machine).")

buttons = st.container(horizontal=True, wrap=True)  # as wide as their labels: never cut at 800 px
run_clicked = buttons.button("Run the study", key="relatedness_run", type="primary", icon=":material/play_arrow:",
                             disabled=running)
buttons.button("Stop", key="relatedness_stop", icon=":material/stop:", disabled=not running,
               on_click=state.stop_job, args=(JOB,))

if run_clicked:
    error = None
    with st.spinner("Loading TensorFlow…"):
        try:
            import mtl_core._tf  # noqa: F401 - import TensorFlow here, not in the study's thread
            from mtl_core.experiments.relatedness_study import RelatednessStudy, study_config

            job = state.new_job("study", RelatednessStudy, cfg.p_values, cfg.seed_list(),
                                study_config(int(cfg.epochs)), n=int(cfg.rows), models=cfg.models)
        except MTLError as exc:
            error = str(exc)
    if error is None:
        state.start_job(JOB, job)
        st.rerun()
    st.error(plain(error))


def _results(job: Job) -> None:
    if job.error:
        st.error(plain(job.error))
        return
    result = job.result
    if result is None:
        return
    summary = result.summary()
    if result.stopped:
        st.info(f"Stopped after {len(result.records)} test losses; showing what finished.",
                icon=":material/stop_circle:")
    if summary.empty:
        return
    c = result.config
    ps = ", ".join(f"{p:g}" for p in sorted(set(summary["p"])))
    st.caption(f"{len(result.records)} test losses in {job.elapsed:.0f} s · p {ps}"
               f" · seeds {sorted(set(result.to_frame()['seed']))} · hard sharing {c.shared} + head {c.head}, MMoE "
               f"{c.experts}×{c.expert_units} experts + tower {c.head} · up to {c.epochs} epochs, lr {c.lr:g}")
    st.plotly_chart(study_figure(summary), key="relatedness_fig")
    st.caption("Test loss is the test-split mean squared error of the standardised target: 1.0 is what "
               "predicting the training mean scores, lower is better. The dotted line (right axis) is the "
               "measured correlation of y1 and y2 in the generated data.")
    if "single" in set(summary["model"]) and len(set(summary["model"])) > 1:
        st.markdown("**Gain of sharing**: each shared model against the single-task models on the same data")
        st.plotly_chart(gain_figure(result.to_frame()), key="relatedness_gain_fig")
        for line in findings(summary, result.gain_spread()):
            st.markdown(f"- {line}")
    st.dataframe(summary_table(summary, result.gain_spread()), hide_index=True)
    st.download_button("Download every test loss (CSV)", frame_csv(result.to_frame()),
                       file_name="relatedness_study.csv", mime="text/csv", icon=":material/download:",
                       key="relatedness_csv")


LIVE_EVERY = every(LIVE_SECONDS, running)


@st.fragment(run_every=LIVE_EVERY)
def live(was_running: bool) -> None:
    """Progress while the study runs; the results once it ends."""
    job = state.job(JOB)
    if job is None:
        st.info("Choose the settings and press **Run the study**. It runs in the background: you can visit other "
                "pages and come back.", icon=":material/info:")
        return
    if was_running and not job.running:
        st.rerun()  # finished: a full rerun resets the buttons and the timer
    follow_load(LIVE_SECONDS, LIVE_EVERY)
    if job.running:
        stage, fraction = job.progress()
        left_s = job.elapsed / fraction * (1 - fraction) if fraction > 0.02 else None
        label = {"starting": "Starting", "done": "Finishing"}.get(stage, f"Training {stage}")
        text = f"{label} · {job.elapsed:.0f} s" + (f" · about {left_s:.0f} s left" if left_s is not None else "")
        st.progress(fraction, text=text)
        return
    _results(job)


live(running)
