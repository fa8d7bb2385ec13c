"""Train page: "Compare with single-task models" - the multi-task model against one single-task model per
task on K seeds (``mtl_core.experiments.compare``), run in the background, then per-task relative changes and
Δm with their 95 % intervals (error bars), mean ± sd over seeds and a verdict in words."""

from __future__ import annotations

import copy
import math

import plotly.graph_objects as go
import streamlit as st

from mtl_core.config import validate_config
from mtl_core.errors import MTLError
from mtl_core.jobs.job import Job
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS
from ui import state
from ui.charts import NEGATIVE_COLOR
from ui.limits import limit_error
from ui.plain import html_text, md, plain, plain_figure
from ui.refresh import every, follow_load
from ui.widgets import bound

JOB = "compare"
LIVE_SECONDS = 1.0
_SEEDS = "compare.seeds"
#: The most seeds the page offers (each adds a multi-task and T single-task trainings).
MAX_PAGE_SEEDS = 10
POSITIVE_COLOR = "#2ca02c"
VERDICT_COLOURS = {"helps": "green", "hurts": "red", "no clear difference": "gray"}
DELTA_M_FORMULA = (r"$\Delta_m = \frac{1}{T}\sum_t (-1)^{l_t}\,\frac{M_{\mathrm{MTL},t} - M_{\mathrm{single},t}}"
                   r"{M_{\mathrm{single},t}} \times 100\%$, with $l_t = 1$ when lower is better (rmse) and 0 when "
                   r"higher is better (accuracy): positive means multi-task learning helps on average.")


def change_cell(change: float, single: float = math.nan, verdict: str = "no clear difference") -> str:
    """A relative change (mean over seeds) as a markdown cell, coloured by its verdict: green where multi-task
    reliably helps, red where it reliably hurts, plain where the interval holds 0 (or there is one seed)."""
    if not math.isfinite(change):
        return "— (undefined: the single-task value is 0)" if single == 0 else "—"
    if verdict == "helps":
        return f":green-background[**{change:+.2f} %**]"
    if verdict == "hurts":
        return f":red-background[**{change:+.2f} %**]"
    return f"{change:+.2f} %"


def seeds() -> int:
    """The session's seed count for comparisons (the core's default until changed)."""
    from mtl_core.experiments.compare import DEFAULT_SEEDS

    return int(state.scratch().get(_SEEDS, DEFAULT_SEEDS))


def _put_seeds(value: object) -> None:
    state.scratch()[_SEEDS] = int(value) if value else 1


def seeds_input(key: str, help_text: str, disabled: bool = False) -> int:
    """The seed count box (shared by the compare panel and the bake-off)."""
    bound(st.number_input, "Seeds", key, seeds, _put_seeds, min_value=1, max_value=MAX_PAGE_SEEDS, step=1,
          help=help_text, disabled=disabled)
    return seeds()


def verdict_text(verdict: str) -> str:
    """A verdict in words, coloured: green "helps", red "hurts", grey "no clear difference"."""
    return f":{VERDICT_COLOURS.get(verdict, 'gray')}[**{verdict}**]"


def interval_text(ci: list[float] | tuple[float, float], digits: int = 1) -> str:
    """``[-3.2, +5.1] %``, or "no interval" with one seed."""
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "no interval (1 seed)"
    return f"[{lo:+.{digits}f}, {hi:+.{digits}f}] %"


def mean_sd(mean: float, sd: float) -> str:
    """``0.953 ± 0.012`` (the mean alone with one seed, "—" when missing)."""
    if not math.isfinite(mean):
        return "—"
    return f"{mean:.4g} ± {sd:.2g}" if math.isfinite(sd) else f"{mean:.4g}"


def stage_text(stage: str) -> str:
    """A progress label from the core's stage name ("starting", "multi-task model", ..., "done")."""
    if stage == "starting":
        return "Starting"
    if stage == "done":
        return "Finishing"
    return f"Training the {stage}"


def comparison_markdown(comparison: dict) -> str:
    """A markdown table from ``Comparison.to_dict()``: per task the metric, both models' values (mean ± sd
    over seeds), the relative change (mean, coloured by sign), its 95 % interval and the verdict."""
    lines = ["| task | metric | multi-task | single-task | relative change | 95 % interval | verdict |",
             "|---|---|---:|---:|---|---|---|"]
    for task, row in comparison["tasks"].items():
        trained = math.isfinite(row.get("single_mean", row["single"]))
        single = mean_sd(row["single"], row.get("single_sd", math.nan)) if trained else "not trained"
        verdict = row.get("verdict", "no clear difference")
        lines.append(f"| {plain(task)} | {row['metric']} | {mean_sd(row['mtl'], row.get('mtl_sd', math.nan))} | "
                     f"{single} | {change_cell(row['relative_change'], row['single'], verdict)} | "
                     f"{interval_text(row.get('change_ci', [math.nan, math.nan]))} | {verdict_text(verdict)} |")
    return "\n".join(lines)


def change_figure(comparison: dict) -> go.Figure:
    """Each task's relative change and Δm (mean over seeds) with 95 % intervals as error bars; below 0 (red
    band) multi-task learning hurts."""
    names = [*comparison["tasks"], "Δm"]
    rows = [*comparison["tasks"].values(), {"relative_change": comparison["delta_m"],
                                            "change_ci": comparison.get("delta_m_ci", [math.nan, math.nan]),
                                            "verdict": comparison.get("delta_m_verdict", "")}]
    means = [r["relative_change"] for r in rows]
    lows = [m - r["change_ci"][0] if math.isfinite(r["change_ci"][0]) else 0.0 for m, r in zip(means, rows)]
    highs = [r["change_ci"][1] - m if math.isfinite(r["change_ci"][1]) else 0.0 for m, r in zip(means, rows)]
    colours = [POSITIVE_COLOR if r["verdict"] == "helps" else NEGATIVE_COLOR if r["verdict"] == "hurts"
               else "#7f7f7f" for r in rows]
    fig = go.Figure(go.Scatter(
        x=[html_text(n) for n in names], y=means, mode="markers", marker={"size": 11, "color": colours},
        error_y={"type": "data", "symmetric": False, "array": highs, "arrayminus": lows, "thickness": 1.5,
                 "width": 8},
        customdata=[r["verdict"] for r in rows],
        hovertemplate="%{x}: %{y:+.2f} % (%{customdata})<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#888888", "width": 1})
    fig.add_hrect(y0=-1e4, y1=0, fillcolor=NEGATIVE_COLOR, opacity=0.06, line_width=0)
    finite = [v for m, lo, hi in zip(means, lows, highs) for v in (m - lo, m + hi) if math.isfinite(v)]
    low, high = min([*finite, -5.0]) * 1.15, max([*finite, 5.0]) * 1.15
    fig.update_yaxes(range=[low, high], title_text="change vs single-task (%)", zeroline=False)
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False)
    return plain_figure(fig)


def comparison_blocker(cfg) -> str | None:
    """Why a comparison cannot run with these settings (the core's message), or None."""
    from mtl_core.experiments.compare import check_comparable

    try:
        validate_config(copy.deepcopy(cfg))
    except MTLError:
        return "Fix the settings first (see the message at the top of the page)."
    too_large = limit_error(cfg)  # each model of a comparison (or a bake-off) is a run of this size
    if too_large is not None:
        return str(too_large)
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

            job = state.new_job("compare", ComparisonRun, cfg, frame, seeds=seeds())
        except MTLError as exc:
            return str(exc)
    state.start_job(JOB, job)
    return None


def _settings_line(cfg) -> str:
    arch = ARCHITECTURES[cfg.arch].title if cfg.arch in ARCHITECTURES else cfg.arch
    weighting = WEIGHTINGS[cfg.weighting].title if cfg.weighting in WEIGHTINGS else cfg.weighting
    return (f"{state.dataset_title(cfg.dataset)} · tasks {', '.join(cfg.task_names)} · {arch} · {weighting} · "
            f"{cfg.epochs} epochs")


def seeds_text(seed_list: list[int]) -> str:
    """``3 seeds (0-2)``, or ``1 seed (0): no interval, so no verdict``."""
    if len(seed_list) == 1:
        return f"1 seed ({seed_list[0]}): no interval, so no verdict"
    return f"{len(seed_list)} seeds ({seed_list[0]}-{seed_list[-1]})"


def _show_result(job: Job) -> None:
    if job.error:
        st.error(plain(job.error))
        return
    comparison = job.result
    if comparison is None:
        return
    data = comparison.to_dict()
    st.caption(md("Compared in {} s on the test split over {}; settings: {}", f"{job.elapsed:.0f}",
                  seeds_text(comparison.seeds), _settings_line(comparison.config)))
    if comparison.stopped:
        st.info("Stopped before every model finished; tasks without a single-task model show no change.",
                icon=":material/stop_circle:")
    st.markdown(comparison_markdown(data))
    dm = data["delta_m"]
    if math.isfinite(dm):
        verdict = data["delta_m_verdict"]
        colour = VERDICT_COLOURS.get(verdict, "gray")  # by the verdict: a negative mean inside noise is not red
        words = {"helps": "multi-task learning helps on average",
                 "hurts": "multi-task learning hurts on average"}.get(verdict, "on average")
        p = data["delta_m_p_value"]
        detail = (f"95 % interval {interval_text(data['delta_m_ci'], 2)}, paired t-test p = {p:.3f}"
                  if math.isfinite(p) else "one seed: no interval; add seeds for a verdict")
        st.markdown(f"**Δm = :{colour}[{dm:+.2f} %]** ({detail}): {verdict_text(verdict)} {words}.")
        st.plotly_chart(change_figure(data), key="compare_fig")
    elif comparison.stopped:
        st.markdown("**Δm**: not available (a single-task model did not finish).")
    else:
        st.markdown("**Δm**: undefined, since a task's relative change is (its single-task value is 0).")
    st.caption(DELTA_M_FORMULA + " Each seed trains both models on its own split; the interval is the Student-t "
               "95 % interval of the mean change over seeds (error bars), and the verdict is \"helps\" or "
               "\"hurts\" only when that interval lies above or below 0.")
    for note in comparison.notes:
        st.caption(plain(note))


def compare_panel() -> None:
    """The compare action (button ``compare_button``), its progress while it runs, and its results."""
    st.subheader("Multi-task vs single-task")
    st.caption("Trains the current settings' multi-task model again and one single-task model per task (same "
               "network sizes, epochs and train/test split) on each seed, then compares their test metrics.")
    current = state.job(JOB)
    _panel(current is not None and current.running)


def _panel(was_running: bool) -> None:
    interval = every(LIVE_SECONDS, was_running)

    @st.fragment(run_every=interval)
    def panel() -> None:
        cfg = state.config()
        current = state.job(JOB)
        running = current is not None and current.running
        if was_running and not running:
            st.rerun()  # finished: a full rerun turns the timer off
        follow_load(LIVE_SECONDS, interval)
        blocker = None if running else comparison_blocker(cfg)
        cols = st.columns([2, 1, 1, 3], vertical_alignment="bottom")
        with cols[2]:
            k = seeds_input("compare_seeds", "Seeds seed, seed+1, ...: each trains every model again on its own "
                            "split. Two or more give an interval and a verdict.", disabled=running)
        cols[3].caption(f"{k * (1 + len(cfg.task_names))} trainings")
        clicked = cols[0].button("Compare with single-task models", key="compare_button",
                                 icon=":material/compare_arrows:", disabled=running or blocker is not None,
                                 width="stretch")
        cols[1].button("Stop", key="compare_stop", icon=":material/stop:", disabled=not running,
                       on_click=state.stop_job, args=(JOB,), width="stretch")
        if blocker is not None:
            st.warning(plain(blocker), icon=":material/info:")
        if clicked:
            error = _start(cfg)
            if error is None:
                st.rerun()
            st.error(plain(error))
        if running:
            stage, fraction = current.progress()
            st.progress(fraction, text=f"{stage_text(stage)} · {current.elapsed:.0f} s")
        elif current is not None:
            _show_result(current)

    panel()
