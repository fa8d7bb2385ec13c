"""The task-relatedness study of the MMoE paper (Ma et al., KDD 2018, Section 3): as the two synthetic tasks
grow more related (the cosine p of their weight vectors), sharing should help more.

For each p and seed the ``relatedness`` dataset is generated (data seed = model seed), and each model is
trained on the same split: ``single`` (one hard-sharing network per task, i.e. no sharing), ``hard``
(hard parameter sharing) and ``mmoe``. The recorded ``test_loss`` is the test-split mean squared error on
the STANDARDISED target (the target scaled by its training-split mean and standard deviation), i.e.
(test rmse / training std)², the quantity the models are trained on; 1.0 is what predicting the training
mean would score. ``measured_correlation`` is the Pearson correlation of y1 and y2 over all generated rows.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from mtl_core.config import TaskSpec, TrainConfig, validate_config
from mtl_core.errors import bad_value
from mtl_core.experiments import stats
from mtl_core.jobs.work import ModelTrained, ProgressCallback, Work

DATASET = "relatedness"
TASKS = ("y1", "y2")
MODELS = ("single", "hard", "mmoe")
MODEL_TITLES = {"single": "single-task", "hard": "hard sharing", "mmoe": "MMoE"}
FRAME_COLUMNS = ["p", "seed", "model", "task", "test_loss", "measured_correlation"]
#: Rows generated per (p, seed); only TRAIN_FRACTION of them train: few training rows make sharing matter.
DEFAULT_N = 3000
TRAIN_FRACTION = 0.1
TEST_FRACTION = 0.5
#: The study's seeds unless told otherwise (CLI ``--study-seeds``/``--seeds``): each draws a new dataset and new
#: starting weights; several give each gain an interval. Four, not three: with three, t(2) = 4.3 widens the
#: interval so much that hard sharing's gain at p = 1 (about +4 %) could not be told from 0.
DEFAULT_SEEDS = (0, 1, 2, 3)
#: The task relatedness values of the default study (the lab's page starts with these): unrelated, half, identical.
DEFAULT_P = (0.0, 0.5, 1.0)
#: Epochs at most; early stopping (patience 20) ends each model at its best epoch, typically before 40.
DEFAULT_EPOCHS = 150


def study_config(epochs: int = DEFAULT_EPOCHS, train_fraction: float = TRAIN_FRACTION) -> TrainConfig:
    """The study's default config: ``train_fraction`` of the rows train, half test, the rest validates
    (early stopping, so each model stops at its own best epoch)."""
    if not 0 < train_fraction <= 0.5:
        raise bad_value("train_fraction", train_fraction, "expected a number above 0 and at most 0.5")
    val_fraction = round(1 - train_fraction - TEST_FRACTION, 6)
    return validate_config(TrainConfig(
        dataset=DATASET, dataset_params={}, tasks=[TaskSpec(t) for t in TASKS], arch="hard",
        shared=[32, 16], head=[8], experts=4, expert_units=16, optimizer="adam", lr=0.01, batch_size=32,
        epochs=epochs, early_stopping=val_fraction > 0, patience=20, val_fraction=val_fraction,
        test_fraction=TEST_FRACTION, conflict_every=0, seed=0))


def gains_by_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (p, seed, model) for the shared models of a study's tidy frame: gain_vs_single_pct, the mean over
    tasks of (single - model) / single * 100, each task paired with its single-task model on the same dataset
    (positive = sharing helps; NaN without a usable single-task loss)."""
    single = frame[frame["model"] == "single"].set_index(["p", "seed", "task"])["test_loss"]
    shared = frame[frame["model"] != "single"].copy()
    base = [single.get((p, seed, task), math.nan)
            for p, seed, task in zip(shared["p"], shared["seed"], shared["task"])]
    shared["gain_vs_single_pct"] = [(b - loss) / b * 100 if b and math.isfinite(b) else math.nan
                                    for b, loss in zip(base, shared["test_loss"])]
    out = shared.groupby(["p", "seed", "model"], sort=True)["gain_vs_single_pct"].mean().reset_index()
    return out[["p", "seed", "model", "gain_vs_single_pct"]]


@dataclass
class RelatednessResult:
    """Every trained model's test loss per task, with the generated data's measured label correlation."""

    config: TrainConfig
    records: list[dict] = field(default_factory=list)
    stopped: bool = False

    def to_frame(self) -> pd.DataFrame:
        """A tidy frame, one row per (p, seed, model, task): p, seed, model, task, test_loss, measured_correlation."""
        return pd.DataFrame(self.records, columns=FRAME_COLUMNS)

    def summary(self) -> pd.DataFrame:
        """Per (p, model, task) over seeds: test_loss_mean, test_loss_sd, seeds, measured_correlation (mean),
        and gain_vs_single_pct, the mean over seeds of (single - model) / single * 100 on the same dataset
        (paired by seed; positive = sharing helps; 0 for the single-task rows)."""
        frame = self.to_frame()
        columns = ["p", "model", "task", "test_loss_mean", "test_loss_sd", "seeds", "measured_correlation",
                   "gain_vs_single_pct"]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        single = frame[frame["model"] == "single"].set_index(["p", "seed", "task"])["test_loss"]
        base = [single.get((p, seed, task), math.nan)
                for p, seed, task in zip(frame["p"], frame["seed"], frame["task"])]
        frame["gain"] = [(b - loss) / b * 100 if b and math.isfinite(b) else math.nan
                         for b, loss in zip(base, frame["test_loss"])]
        grouped = frame.groupby(["p", "model", "task"], sort=True)
        out = grouped.agg(test_loss_mean=("test_loss", "mean"), test_loss_sd=("test_loss", "std"),
                          seeds=("seed", "nunique"), measured_correlation=("measured_correlation", "mean"),
                          gain_vs_single_pct=("gain", "mean")).reset_index()
        order = {m: i for i, m in enumerate(MODELS)}
        out = out.sort_values(["p", "model", "task"], key=lambda s: s.map(order) if s.name == "model" else s)
        return out[columns].reset_index(drop=True)

    def gains(self) -> pd.DataFrame:
        """Per (p, seed, model) for the shared models: gain_vs_single_pct (see ``gains_by_seed``)."""
        return gains_by_seed(self.to_frame())

    def gain_spread(self) -> list[dict]:
        """Per p and shared model, the gain over the single-task models across seeds: ``{"p", "model", "mean",
        "sd", "ci": [lo, hi], "p_value", "verdict", "seeds"}`` (gains in %, paired by seed; "helps" when the
        95 % interval lies above 0, "hurts" below, else "no clear difference", as with one seed)."""
        gains = self.gains()
        out = []
        for (p, model), rows in gains.groupby(["p", "model"], sort=False):
            spread = stats.spread(rows["gain_vs_single_pct"].tolist(), higher_is_better=True)
            out.append({"p": float(p), "model": model, "mean": spread.mean, "sd": spread.sd,
                        "ci": list(spread.ci), "p_value": spread.p_value, "verdict": spread.verdict,
                        "seeds": spread.n})
        order = {m: i for i, m in enumerate(MODELS)}
        return sorted(out, key=lambda g: (g["p"], order[g["model"]]))

    def to_markdown(self) -> str:
        """A markdown table, one row per p: measured correlation, mean ± sd (over seeds) test loss per model
        and task, and each shared model's gain over the single-task models (mean, 95 % interval over seeds and
        verdict; ``gain_spread``)."""
        summary = self.summary()
        gains = {(g["p"], g["model"]): g for g in self.gain_spread()}
        present = set(summary["model"])
        models = [m for m in MODELS if m in present]
        shared = [m for m in models if m != "single"]
        header = ["p", "measured corr."] + [f"{MODEL_TITLES[m]} {t}" for m in models for t in TASKS]
        header += [f"{MODEL_TITLES[m]} gain" for m in shared if "single" in present]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for p, rows in summary.groupby("p", sort=True):
            by = rows.set_index(["model", "task"])
            cells = [f"{p:g}", f"{rows['measured_correlation'].mean():.2f}"]
            for m in models:
                for t in TASKS:
                    if (m, t) not in by.index:
                        cells.append("")
                        continue
                    mean, sd = by.loc[(m, t), "test_loss_mean"], by.loc[(m, t), "test_loss_sd"]
                    cells.append(f"{mean:.4f} ± {sd:.4f}" if math.isfinite(sd) else f"{mean:.4f}")
            if "single" in present:
                for m in shared:
                    cells.append(_gain_cell(gains.get((float(p), m))))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready: the config, the tidy rows, the summary and ``gains`` (``gain_spread``; may hold NaN)."""
        return {"config": self.config.to_dict(), "stopped": self.stopped,
                "rows": self.to_frame().to_dict(orient="records"),
                "summary": self.summary().to_dict(orient="records"), "gains": self.gain_spread()}


def _gain_cell(gain: dict | None) -> str:
    """``+4.2% [+1.0, +7.4] helps``, or the mean alone with one seed."""
    if gain is None or not math.isfinite(gain["mean"]):
        return ""
    lo, hi = gain["ci"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{gain['mean']:+.1f}% (1 seed)"
    return f"{gain['mean']:+.1f}% [{lo:+.1f}, {hi:+.1f}] {gain['verdict']}"


def _check_models(models: Sequence[str]) -> list[str]:
    models = list(models)
    if not models or any(m not in MODELS for m in models):
        raise bad_value("models", models, f"expected a non-empty list drawn from {list(MODELS)}")
    return models


def _check_values(name: str, values: Sequence, low: float, high: float, whole: bool) -> list:
    values = list(values)
    if not values:
        raise bad_value(name, values, "expected at least one value")
    for v in values:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and low <= v <= high
        if not ok or (whole and int(v) != v):
            kind = "whole numbers" if whole else "numbers"
            raise bad_value(name, values, f"expected {kind} from {low:g} to {high:g}")
    return [int(v) for v in values] if whole else [float(v) for v in values]


class RelatednessStudy(Work):
    """Runs the study; ``stop()`` (thread-safe) ends the current model at its next epoch and skips the rest.

    Run it directly (``run()``) or as a ``mtl_core.jobs.job.Job``; its events are one ``ModelTrained`` per finished
    model.
    """

    label = "Relatedness study"

    def __init__(self, p_values: Sequence[float], seeds: Sequence[int], base_config: TrainConfig | None = None,
                 n: int = DEFAULT_N, epochs: int | None = None, models: Sequence[str] = MODELS,
                 on_progress: ProgressCallback | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        super().__init__(on_progress, should_stop)
        self.p_values = _check_values("p_values", p_values, -1.0, 1.0, whole=False)
        self.seeds = _check_values("seeds", seeds, 0, 2**31 - 1, whole=True)
        self.models = _check_models(models)
        config = copy.deepcopy(base_config) if base_config is not None else study_config()
        if config.dataset != DATASET:
            config.dataset, config.dataset_params = DATASET, {}
        config.dataset_params = {k: v for k, v in config.dataset_params.items() if k not in ("p", "seed", "n")}
        config.tasks = [TaskSpec(t) for t in TASKS]
        config.inputs, config.loss_weights = None, {}
        config.heads = {t: s for t, s in config.heads.items() if t in TASKS}
        config.conflict_every = 0
        if epochs is not None:
            config.epochs = epochs
        if config.test_fraction <= 0:
            raise bad_value("test_fraction", config.test_fraction, "the study scores models on the test split; "
                            "choose a test_fraction above 0")
        self.config = validate_config(config)
        self.n = int(_check_values("n", [n], 10, 200_000, whole=True)[0])

    def _runs(self) -> list[tuple[str, list[str]]]:
        runs = []
        for model in self.models:
            if model == "single":
                runs.extend(("single", [t]) for t in TASKS)
            else:
                runs.append((model, list(TASKS)))
        return runs

    def run(self) -> RelatednessResult:
        """Generate each dataset, train every model on it and collect the test losses."""
        from mtl_core.data.sources import load_source
        from mtl_core.training.trainer import Trainer

        result = RelatednessResult(self.config)
        runs = self._runs()
        total = len(self.p_values) * len(self.seeds) * len(runs)
        unit = 0
        for p in self.p_values:
            for seed in self.seeds:
                # The base config's generator parameters (c, m, d) apply; p, seed and n are the study's.
                params = {**self.config.dataset_params, "p": p, "seed": seed, "n": self.n}
                data = load_source(replace(self.config, dataset_params=params))  # self.config names DATASET
                measured = float(data.info["measured_correlation"])
                for model, tasks in runs:
                    if self.stop_requested:
                        result.stopped = True
                        return result
                    config = copy.deepcopy(self.config)
                    config.dataset_params, config.seed = dict(params), seed
                    config.arch = "hard" if model == "single" else model
                    if model == "single":
                        config.weighting, config.weighting_params = "fixed", {}
                    config.tasks = [TaskSpec(t) for t in tasks]
                    # Explicit inputs: otherwise a single-task model would read the other task's label as input.
                    config.inputs = [c for c in data.frame.columns if c not in TASKS]
                    config.heads = {t: s for t, s in config.heads.items() if t in tasks}
                    stage = f"p={p:g} seed={seed}: {MODEL_TITLES[model]}" + (f" {tasks[0]}" if model == "single"
                                                                             else "")
                    trained = self.train(Trainer(config, data.frame), stage, unit / total, 1 / total)
                    self.emit(ModelTrained(stage, trained.stopped_reason, trained.epochs_run, trained.seconds))
                    if trained.stopped_reason == "stopped":
                        result.stopped = True
                        return result
                    for task in trained.prepared.tasks:
                        rmse = trained.test_metrics[task.name]["rmse"]
                        result.records.append({"p": p, "seed": seed, "model": model, "task": task.name,
                                               "test_loss": (rmse / task.std) ** 2,
                                               "measured_correlation": measured})
                    unit += 1
        self.finish()
        return result


def relatedness_study(p_values: Sequence[float], seeds: Sequence[int], base_config: TrainConfig | None = None,
                      n: int = DEFAULT_N, epochs: int | None = None, models: Sequence[str] = MODELS,
                      on_progress: Callable[[str, float], None] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> RelatednessResult:
    """Train single-task, hard-sharing and MMoE models on the relatedness data for every p and seed.

    ``base_config`` (default ``study_config()``) sets the network, optimiser and split; its dataset, tasks
    (y1, y2), dataset params and seed are set by the study. ``epochs`` overrides its epochs.
    ``on_progress(stage, fraction)`` reports progress; ``should_stop()`` is polled after every epoch.
    """
    return RelatednessStudy(p_values, seeds, base_config, n, epochs, models, on_progress, should_stop).run()
