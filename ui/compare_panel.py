"""Train page: "Compare with single-task models" - the multi-task model against one single-task model per
task (``mtl_core.experiments.compare``), run in the background, then per-task relative changes and Δm."""

from __future__ import annotations

import copy
import math

import streamlit as st

from mtl_core.config import validate_config
from mtl_core.errors import MTLError
from mtl_core.jobs.job import Job
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS
from ui import state

JOB = "compare"
LIVE_SECONDS = 1.0
DELTA_M_FORMULA = (r"$\Delta_m = \frac{1}{T}\sum_t (-1)^{l_t}\,\frac{M_{\mathrm{MTL},t} - M_{\mathrm{single},t}}"
                   r"{M_{\mathrm{single},t}} \times 100\%$, with $l_t = 1$ when lower is better (rmse) and 0 when "
                   r"higher is better (accuracy): positive means multi-task learning helps on average.")


def change_cell(change: float, single: float = math.nan) -> str:
    """A relative change as a coloured markdown cell: green where multi-task helps, red where it hurts."""
    if not math.isfinite(change):
        return "— (undefined: the single-task value is 0)" if single == 0 else "—"
    if change > 0:
        return f":green-background[**{change:+.2f} %**] MTL helps"
    if change < 0:
        return f":red-background[**{change:+.2f} %**] MTL hurts"
    return f"{change:+.2f} % no change"


def stage_text(stage: str) -> str:
    """A progress label from the core's stage name ("starting", "multi-task model", ..., "done")."""
    if stage == "starting":
        return "Starting"
    if stage == "done":
        return "Finishing"
    return f"Training the {stage}"


def comparison_markdown(comparison: dict) -> str:
    """A markdown table from ``Comparison.to_dict()``: per task the metric, both models' values and the
    relative change, coloured."""
    lines = ["| task | metric | multi-task | single-task | relative change |", "|---|---|---:|---:|---|"]
    for task, row in comparison["tasks"].items():
        single = f"{row['single']:.4g}" if math.isfinite(row["single"]) else "not trained"
        lines.append(f"| {task} | {row['metric']} | {row['mtl']:.4g} | {single} | "
                     f"{change_cell(row['relative_change'], row['single'])} |")
    return "\n".join(lines)


def _blocker(cfg) -> str | None:
    """Why a comparison cannot run with these settings (the core's message), or None."""
    from mtl_core.experiments.compare import check_comparable

    try:
        validate_config(copy.deepcopy(cfg))
    except MTLError:
        return "Fix the settings first (see the message at the top of the page)."
    try:
        check_comparable(cfg)
    except MTLError as exc:
        return str(exc)
    return None


def _start(cfg) -> str | None:
    """Build the comparison (bad input raises here, in the page's thread) and start it; an error or None."""
    with st.spinner("Loading TensorFlow and building the multi-task model…"):
        try:
            frame = state.dataset().frame
            from mtl_core.experiments.compare import ComparisonRun

            job = Job(ComparisonRun(cfg, frame))
        except MTLError as exc:
            return str(exc)
    state.start_job(JOB, job)
    return None


def _settings_line(cfg) -> str:
    arch = ARCHITECTURES[cfg.arch].title if cfg.arch in ARCHITECTURES else cfg.arch
    weighting = WEIGHTINGS[cfg.weighting].title if cfg.weighting in WEIGHTINGS else cfg.weighting
    return (f"{state.dataset_title(cfg.dataset)} · tasks {', '.join(cfg.task_names)} · {arch} · {weighting} · "
            f"{cfg.epochs} epochs · seed {cfg.seed}")


def _show_result(job: Job) -> None:
    if job.error:
        st.error(job.error)
        return
    comparison = job.result
    if comparison is None:
        return
    data = comparison.to_dict()
    st.caption(f"Compared in {job.elapsed:.0f} s on the test split; settings: {_settings_line(comparison.config)}")
    if comparison.stopped:
        st.info("Stopped before every model finished; tasks without a single-task model show no change.",
                icon=":material/stop_circle:")
    st.markdown(comparison_markdown(data))
    dm = data["delta_m"]
    if math.isfinite(dm):
        colour = "green" if dm > 0 else "red" if dm < 0 else "gray"
        verdict = "helps" if dm > 0 else "hurts" if dm < 0 else "neither helps nor hurts"
        st.markdown(f"**Δm = :{colour}[{dm:+.2f} %]**: multi-task learning {verdict} on average.")
    elif comparison.stopped:
        st.markdown("**Δm**: not available (a single-task model did not finish).")
    else:
        st.markdown("**Δm**: undefined, since a task's relative change is (its single-task value is 0).")
    st.caption(DELTA_M_FORMULA)
    for note in comparison.notes:
        st.caption(note)


def compare_panel() -> None:
    """The compare action (button ``compare_button``), its progress while it runs, and its results."""
    st.subheader("Multi-task vs single-task")
    st.caption("Trains the current settings' multi-task model again and one single-task model per task (same "
               "network sizes, epochs, seed and train/test split), then compares their test metrics.")
    current = state.job(JOB)
    _panel(current is not None and current.running)


def _panel(was_running: bool) -> None:
    @st.fragment(run_every=LIVE_SECONDS if was_running else None)
    def panel() -> None:
        cfg = state.config()
        current = state.job(JOB)
        running = current is not None and current.running
        if was_running and not running:
            st.rerun()  # finished: a full rerun turns the timer off
        blocker = None if running else _blocker(cfg)
        cols = st.columns([2, 1, 4])
        clicked = cols[0].button("Compare with single-task models", key="compare_button",
                                 icon=":material/compare_arrows:", disabled=running or blocker is not None,
                                 width="stretch")
        cols[1].button("Stop", key="compare_stop", icon=":material/stop:", disabled=not running,
                       on_click=state.stop_job, args=(JOB,), width="stretch")
        if blocker is not None:
            st.warning(blocker, icon=":material/info:")
        if clicked:
            error = _start(cfg)
            if error is None:
                st.rerun()
            st.error(error)
        if running:
            stage, fraction = current.progress()
            st.progress(fraction, text=f"{stage_text(stage)} · {current.elapsed:.0f} s")
        elif current is not None:
            _show_result(current)

    panel()
