"""Relatedness lab: the study's settings (kept per session), its figures and its table; each shared model's gain
over the single-task models is shown with its 95 % interval across seeds (error bars) and a verdict in words."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mtl_core.experiments import stats
from mtl_core.experiments.relatedness_study import (
    DEFAULT_EPOCHS,
    DEFAULT_N,
    DEFAULT_P,
    DEFAULT_SEEDS,
    MODEL_TITLES,
    MODELS,
    TASKS,
    gains_by_seed,
)
from ui import state
from ui.charts import NEGATIVE_COLOR, color

#: The p values offered (the generator accepts any cosine in [-1, 1]).
P_OPTIONS = (-1.0, -0.5, 0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
# Not red or green: on these pages those colours mean "sharing hurts" and "sharing helps".
MODEL_COLORS = {"single": "#7f7f7f", "hard": color(0), "mmoe": color(4)}
CORRELATION_COLOR = "#b07aa1"
# With error bars, each model's points shift this far along p so the bars stay apart.
DODGE = 0.012
_SETTINGS = "relatedness.settings"


@dataclass
class StudySettings:
    """What the user chose on the page; it starts as the core's default study (48 small models)."""

    p_values: list[float] = field(default_factory=lambda: list(DEFAULT_P))
    seeds: int = len(DEFAULT_SEEDS)
    rows: int = DEFAULT_N
    epochs: int = DEFAULT_EPOCHS
    models: list[str] = field(default_factory=lambda: list(MODELS))

    def seed_list(self) -> list[int]:
        """Seeds 0 .. seeds-1 (each seed draws a new dataset and new starting weights)."""
        return list(range(self.seeds))

    def trainings(self) -> int:
        """How many models the study trains (a single-task model per task, one shared model per type)."""
        per_dataset = sum(len(TASKS) if m == "single" else 1 for m in self.models)
        return len(self.p_values) * self.seeds * per_dataset


def settings() -> StudySettings:
    """The session's study settings."""
    return state.scratch().setdefault(_SETTINGS, StudySettings())


def _dodged(p: pd.Series, model: str, dodge: bool) -> np.ndarray:
    """p, nudged sideways per model when error bars are drawn, so the models' bars do not hide each other."""
    x = p.to_numpy(dtype=float)
    return x + (MODELS.index(model) - 1) * DODGE if dodge else x


def gain_spread(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (p, model) of a study's tidy frame: mean, sd, lo, hi (95 % interval), verdict and seeds of the shared
    model's per-seed gain over the single-task models (``mtl_core.experiments.stats``)."""
    gains = gains_by_seed(frame)
    rows = []
    for (p, model), group in gains.groupby(["p", "model"], sort=True):
        spread = stats.spread(group["gain_vs_single_pct"].tolist())
        rows.append({"p": float(p), "model": model, "mean": spread.mean, "sd": spread.sd, "lo": spread.ci[0],
                     "hi": spread.ci[1], "verdict": spread.verdict, "seeds": spread.n})
    return pd.DataFrame(rows, columns=["p", "model", "mean", "sd", "lo", "hi", "verdict", "seeds"])


def gain_figure(frame: pd.DataFrame) -> go.Figure:
    """Each shared model's gain over the single-task models against p (mean over seeds, 95 % interval as error
    bars, verdict on hover); below 0 (red band) sharing hurts: negative transfer."""
    spread = gain_spread(frame)
    fig = go.Figure()
    fig.add_hrect(y0=-1000, y1=0, fillcolor=NEGATIVE_COLOR, opacity=0.06, line_width=0)
    fig.add_hline(y=0, line={"color": "#888888", "width": 1})
    several = bool((spread["seeds"] > 1).any())
    for model in MODELS[1:]:
        rows = spread[spread["model"] == model].sort_values("p")
        if rows.empty:
            continue
        mean = rows["mean"].to_numpy(dtype=float)
        above, below = rows["hi"].to_numpy(dtype=float) - mean, mean - rows["lo"].to_numpy(dtype=float)
        fig.add_trace(go.Scatter(
            x=_dodged(rows["p"], model, several), y=mean, name=MODEL_TITLES[model],
            mode="lines+markers", line={"color": MODEL_COLORS[model], "width": 2.5}, marker={"size": 8},
            customdata=np.stack([rows["p"].to_numpy(dtype=float), rows["sd"].to_numpy(dtype=float),
                                 rows["seeds"].to_numpy(dtype=float)], axis=1),
            text=rows["verdict"].tolist(),
            error_y={"type": "data", "symmetric": False, "array": np.nan_to_num(above),
                     "arrayminus": np.nan_to_num(below), "visible": several, "thickness": 1.2},
            hovertemplate=f"{MODEL_TITLES[model]}, p=%{{customdata[0]:g}}: %{{y:+.1f}} % ± %{{customdata[1]:.1f}} "
                          "vs single-task over %{customdata[2]} seeds: %{text}<extra></extra>"))
    ends = np.concatenate([spread["mean"], spread["lo"], spread["hi"]]).astype(float)
    finite = ends[np.isfinite(ends)]
    # Always show both sides of 0 (at least ±5 %), with room for the error bars.
    low = min(float(finite.min()) if finite.size else 0.0, -5.0) * 1.15
    high = max(float(finite.max()) if finite.size else 0.0, 5.0) * 1.15
    fig.update_yaxes(range=[low, high], title_text="gain vs single-task (%)", zeroline=False)
    fig.update_xaxes(title_text="task relatedness p")
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="closest",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0})
    return fig


def study_figure(summary: pd.DataFrame) -> go.Figure:
    """Test loss against p, one panel per task and one line per model type (mean over seeds, sd as error
    bars), with the measured label correlation on a second y axis."""
    tasks = [t for t in TASKS if t in set(summary["task"])]
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=[f"task {t}" for t in tasks],
                        specs=[[{"secondary_y": True}] * len(tasks)], horizontal_spacing=0.12)
    several_seeds = bool((summary["seeds"] > 1).any())
    by_p = summary.groupby("p", sort=True)["measured_correlation"].mean()
    for col, task in enumerate(tasks, start=1):
        rows = summary[summary["task"] == task]
        for model in MODELS:
            line = rows[rows["model"] == model].sort_values("p")
            if line.empty:
                continue
            sd = np.nan_to_num(line["test_loss_sd"].to_numpy(dtype=float))
            fig.add_trace(go.Scatter(
                x=_dodged(line["p"], model, several_seeds), y=line["test_loss_mean"].to_numpy(dtype=float),
                customdata=line["p"].to_numpy(dtype=float),
                name=MODEL_TITLES[model], legendgroup=model, showlegend=col == 1, mode="lines+markers",
                line={"color": MODEL_COLORS[model], "width": 2.5}, marker={"size": 8},
                error_y={"type": "data", "array": sd, "visible": several_seeds, "thickness": 1.2},
                hovertemplate=f"{MODEL_TITLES[model]}, p=%{{customdata:g}}: test loss %{{y:.4f}}<extra></extra>"),
                row=1, col=col, secondary_y=False)
        fig.add_trace(go.Scatter(
            x=by_p.index.to_numpy(dtype=float), y=by_p.to_numpy(dtype=float), name="measured label correlation",
            legendgroup="corr", showlegend=col == 1, mode="lines+markers",
            line={"color": CORRELATION_COLOR, "dash": "dot", "width": 1.5}, marker={"symbol": "diamond", "size": 7},
            hovertemplate="p=%{x:g}: correlation of y1 and y2 %{y:.2f}<extra></extra>"),
            row=1, col=col, secondary_y=True)
        fig.update_yaxes(title_text="test loss (standardised MSE)" if col == 1 else None, row=1, col=col,
                         secondary_y=False, rangemode="tozero")
        low = min(0.0, float(by_p.min()) if len(by_p) else 0.0)
        # One correlation scale, on the last panel only: between two panels its ticks ran into the next
        # panel's loss ticks once the page was narrower than about 1000 px (the range is the same in every panel).
        last = col == len(tasks)
        fig.update_yaxes(title_text="label correlation" if last else None, row=1, col=col, showticklabels=last,
                         secondary_y=True, range=[low - 0.05, 1.05], showgrid=False, tickmode="linear", tick0=0,
                         dtick=0.25)
        fig.update_xaxes(title_text="task relatedness p", row=1, col=col)
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 60, "b": 10}, hovermode="closest",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.08, "x": 0})
    return fig


def _cell(mean: float, sd: float) -> str:
    return f"{mean:.3f} ± {sd:.3f}" if math.isfinite(sd) else f"{mean:.4f}"


def _gain_text(gain: dict) -> str:
    """``+4.2 ± 1.3 [+1.0, +7.4]`` (mean ± sd [95 % interval]), or the mean alone with one seed."""
    lo, hi = gain["ci"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{gain['mean']:+.1f} (1 seed)" if math.isfinite(gain["mean"]) else "—"
    return f"{gain['mean']:+.1f} ± {gain['sd']:.1f} [{lo:+.1f}, {hi:+.1f}]"


def summary_table(summary: pd.DataFrame, gains: list[dict] | None = None) -> pd.DataFrame:
    """One row per p: measured correlation, each model's test loss per task (mean ± sd over seeds) and each
    shared model's gain over the single-task models (mean over tasks, percent; positive = sharing helps); with
    ``gains`` (``RelatednessResult.gain_spread()``) also its mean ± sd [95 % interval] and verdict."""
    present = [m for m in MODELS if m in set(summary["model"])]
    by_gain = {(g["p"], g["model"]): g for g in gains or []}
    rows = []
    for p, group in summary.groupby("p", sort=True):
        by = group.set_index(["model", "task"])
        correlation = round(float(group["measured_correlation"].mean()), 3)
        row: dict[str, object] = {"p": f"{p:g}", "measured corr.": correlation}
        for model in present:
            for task in TASKS:
                if (model, task) in by.index:
                    row[f"{MODEL_TITLES[model]} {task}"] = _cell(by.loc[(model, task), "test_loss_mean"],
                                                                 by.loc[(model, task), "test_loss_sd"])
        if "single" in present:
            for model in present:
                if model != "single":
                    row[f"{MODEL_TITLES[model]} gain %"] = round(float(by.loc[model, "gain_vs_single_pct"].mean()), 1)
                    gain = by_gain.get((float(p), model))
                    if gain is not None:
                        row[f"{MODEL_TITLES[model]} gain ± sd [95 % CI]"] = _gain_text(gain)
                        row[f"{MODEL_TITLES[model]} verdict"] = gain["verdict"]
        rows.append(row)
    return pd.DataFrame(rows)


def findings(summary: pd.DataFrame, gains: list[dict] | None = None) -> list[str]:
    """Plain sentences on what this run shows: each shared model's gain at the lowest and the highest p, with
    its 95 % interval and verdict when ``gains`` (``RelatednessResult.gain_spread()``) is given."""
    if "single" not in set(summary["model"]) or summary.empty:
        return []
    ps = sorted(set(summary["p"]))
    by_gain = {(g["p"], g["model"]): g for g in gains or []}
    out = []
    for model in MODELS[1:]:
        rows = summary[summary["model"] == model]
        if rows.empty:
            continue
        gain = rows.groupby("p")["gain_vs_single_pct"].mean()
        parts = []
        for p in dict.fromkeys([ps[0], ps[-1]]):
            if p not in gain.index:
                continue
            spread = by_gain.get((float(p), model))
            if spread is None or not math.isfinite(spread["ci"][0]):
                parts.append(f"{gain[p]:+.1f} % at p = {p:g}")
            else:
                lo, hi = spread["ci"]
                parts.append(f"{spread['mean']:+.1f} % [{lo:+.1f}, {hi:+.1f}] at p = {p:g}: {spread['verdict']}")
        seeds = max((g["seeds"] for g in by_gain.values() if g["model"] == model), default=0)
        tail = f" ({seeds} seeds; 95 % intervals)" if seeds > 1 else " (one seed: no interval, so no verdict)" \
            if by_gain else ""
        out.append(f"{MODEL_TITLES[model]} vs single-task models (lower test loss = positive): " + ", ".join(parts)
                   + tail + ".")
    return out
