"""Train page: the bake-off - every weighting method on the current setup with K seeds against single-task
models on the same seeds (``mtl_core.experiments.bakeoff``), run as a job, then one table and one chart with
95 % intervals, the best of each column marked."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from mtl_core.errors import MTLError
from mtl_core.registries import WEIGHTINGS
from ui import state
from ui.charts import NEGATIVE_COLOR
from ui.compare_panel import (
    LIVE_SECONDS,
    POSITIVE_COLOR,
    comparison_blocker,
    interval_text,
    seeds_input,
    seeds_text,
    stage_text,
    verdict_text,
)
from ui.plain import html_text, md, plain, plain_figure
from ui.refresh import every, follow_load
from ui.widgets import bound

JOB = "bakeoff"
_METHODS = "bakeoff.methods"
BEST = "★"


def methods() -> list[str]:
    """The weighting methods the session's bake-off trains (every registered one until changed)."""
    chosen = state.scratch().get(_METHODS)
    return [m for m in WEIGHTINGS if chosen is None or m in chosen]


def _put_methods(value: list[str]) -> None:
    state.scratch()[_METHODS] = [m for m in WEIGHTINGS if m in value]


def _cell(mean: float, ci: list[float], digits: int = 4, best: bool = False) -> str:
    if not math.isfinite(mean):
        return "—"
    lo, hi = ci
    text = f"{mean:.{digits}g}"
    if best:
        text = f"**{text}** {BEST}"
    if math.isfinite(lo) and math.isfinite(hi):
        text += f" [{lo:.{digits}g}, {hi:.{digits}g}]"
    return text


def bakeoff_markdown(data: dict) -> str:
    """A markdown table from ``BakeOffResult.to_dict()``: one row per method (then the single-task models), per
    task the test metric's mean and 95 % interval, then Δm with its interval and verdict; ★ marks the best."""
    tasks = data["tasks"]
    best = data["best"]
    head = ["method"] + [f"{plain(t)} {info['metric']} ({'lower' if info['lower_is_better'] else 'higher'} is "
                         "better)" for t, info in tasks.items()] + ["Δm vs single-task", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method in data["methods"]:
        name = method["weighting"]
        cells = [plain(method["title"])]
        for task in tasks:
            entry = method["tasks"][task]
            cells.append(_cell(entry["mean"], entry["ci"], best=name in best[task]))
        dm = method["delta_m"]
        dm_text = "—" if not math.isfinite(dm) else f"{dm:+.2f} %"
        if name in best["delta_m"] and math.isfinite(dm):
            dm_text = f"**{dm_text}** {BEST}"
        cells += [f"{dm_text} {interval_text(method['delta_m_ci'])}", verdict_text(method["delta_m_verdict"])]
        lines.append("| " + " | ".join(cells) + " |")
    single = ["single-task models"] + [_cell(info["single_mean"], info["single_ci"]) for info in tasks.values()]
    lines.append("| " + " | ".join(single + ["(the baseline)", ""]) + " |")
    return "\n".join(lines)


def bakeoff_figure(data: dict) -> go.Figure:
    """Δm of each method against the single-task models (mean over seeds) with its 95 % interval as error bars;
    the best is drawn larger, green/red where the verdict is helps/hurts."""
    rows = data["methods"]
    names = [html_text(m["title"]) for m in rows]
    means = [m["delta_m"] for m in rows]
    lows = [m["delta_m"] - m["delta_m_ci"][0] if math.isfinite(m["delta_m_ci"][0]) else 0.0 for m in rows]
    highs = [m["delta_m_ci"][1] - m["delta_m"] if math.isfinite(m["delta_m_ci"][1]) else 0.0 for m in rows]
    colours = [POSITIVE_COLOR if m["delta_m_verdict"] == "helps" else NEGATIVE_COLOR
               if m["delta_m_verdict"] == "hurts" else "#7f7f7f" for m in rows]
    sizes = [16 if m["weighting"] in data["best"]["delta_m"] else 10 for m in rows]
    fig = go.Figure(go.Scatter(
        x=names, y=means, mode="markers", marker={"size": sizes, "color": colours,
                                                  "symbol": ["star" if s == 16 else "circle" for s in sizes]},
        error_y={"type": "data", "symmetric": False, "array": highs, "arrayminus": lows, "thickness": 1.5,
                 "width": 6},
        customdata=[m["delta_m_verdict"] for m in rows],
        hovertemplate="%{x}: Δm %{y:+.2f} % (%{customdata})<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#888888", "width": 1})
    fig.add_hrect(y0=-1e4, y1=0, fillcolor=NEGATIVE_COLOR, opacity=0.06, line_width=0)
    finite = [v for m, lo, hi in zip(means, lows, highs) for v in (m - lo, m + hi) if math.isfinite(v)]
    fig.update_yaxes(range=[min([*finite, -5.0]) * 1.15, max([*finite, 5.0]) * 1.15], zeroline=False,
                     title_text="Δm vs single-task (%)")
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False)
    return plain_figure(fig)


def _start(cfg, chosen: list[str], k: int) -> str | None:
    """Check the setup (bad input raises here) and start the bake-off job; an error message or None."""
    with st.spinner("Loading TensorFlow and building the first model…"):
        try:
            from mtl_core.experiments.bakeoff import BakeOff, parse_strategies

            parse_strategies(chosen)
            frame = state.dataset().frame
            # A method this setup cannot run (gradient surgery without shared layers) is left out and named.
            job = state.new_job("bakeoff", BakeOff, cfg, frame, chosen, seeds=k, skip_unusable=True)
        except MTLError as exc:
            return str(exc)
    state.start_job(JOB, job)
    return None


def _show_result(job) -> None:
    if job.error:
        st.error(plain(job.error))
        return
    result = job.result
    if result is None:
        return
    data = result.to_dict()
    st.caption(md("Bake-off of {} methods in {} s over {}, on the test split.", len(data["methods"]),
                  f"{job.elapsed:.0f}", seeds_text(data["seeds"])))
    if result.stopped:
        st.info("Stopped before every model finished; methods or seeds that did not finish show —.",
                icon=":material/stop_circle:")
    st.markdown(bakeoff_markdown(data))
    st.plotly_chart(bakeoff_figure(data), key="bakeoff_fig")
    st.caption(f"{BEST} best of its column (highest accuracy, lowest error, highest Δm). Task columns: the test "
               "metric's mean over seeds [95 % interval]. Δm: the mean relative change against the single-task "
               "models trained on the same seeds (positive = sharing helps), its interval (error bars) and the "
               "verdict: \"helps\"/\"hurts\" only when the interval lies above/below 0.")
    for name, reason in data["skipped"].items():
        st.caption(md("Left out {}: {}", name, reason))


def bakeoff_panel() -> None:
    """The bake-off action (button ``bakeoff_button``), its progress while it runs, and its table and chart."""
    st.subheader("Bake-off: every weighting method")
    st.caption("Trains the current setup once per weighting method and seed, and the single-task models once per "
               "seed, then ranks the methods in one table (LibMTL's benchmark table, on your data).")
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
        bound(st.multiselect, "Methods", "bakeoff_methods", methods, _put_methods, options=list(WEIGHTINGS),
              format_func=lambda m: WEIGHTINGS[m].title, disabled=running)
        chosen = methods()
        cols = st.columns([2, 1, 1, 3], vertical_alignment="bottom")
        with cols[2]:
            k = seeds_input("bakeoff_seeds", "Seeds seed, seed+1, ...; the compare panel uses the same count.",
                            disabled=running)
        cols[3].caption(f"{k * (len(chosen) + len(cfg.task_names))} trainings")
        clicked = cols[0].button("Run the bake-off", key="bakeoff_button", icon=":material/leaderboard:",
                                 disabled=running or blocker is not None or not chosen, width="stretch")
        cols[1].button("Stop", key="bakeoff_stop", icon=":material/stop:", disabled=not running,
                       on_click=state.stop_job, args=(JOB,), width="stretch")
        if blocker is not None:
            st.warning(plain(blocker), icon=":material/info:")
        if clicked:
            error = _start(cfg, chosen, k)
            if error is None:
                st.rerun()
            st.error(plain(error))
        if running:
            stage, fraction = current.progress()
            st.progress(fraction, text=f"{stage_text(stage)} · {current.elapsed:.0f} s")
        elif current is not None:
            _show_result(current)

    panel()
