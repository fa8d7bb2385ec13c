"""Single-task baselines and Δm (sign conventions, the formula, same split, progress, stop), the compare
CLI, and the relatedness study's frame."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.experiments.compare import Comparison, TaskComparison, delta_m, relative_change, single_task_config

ROOT = Path(__file__).resolve().parents[1]


def test_relative_change_is_positive_when_mtl_is_better():
    assert relative_change(0.9, 0.8, lower_is_better=False) == pytest.approx(12.5)  # higher accuracy
    assert relative_change(0.6, 0.8, lower_is_better=False) == pytest.approx(-25.0)
    assert relative_change(1.0, 2.0, lower_is_better=True) == pytest.approx(50.0)  # lower rmse
    assert relative_change(3.0, 2.0, lower_is_better=True) == pytest.approx(-50.0)
    assert relative_change(2.0, 2.0, lower_is_better=True) == 0.0
    assert math.isnan(relative_change(0.5, 0.0, lower_is_better=False))
    assert math.isnan(relative_change(float("nan"), 1.0, lower_is_better=True))


def test_delta_m_is_the_mean_signed_change_on_given_numbers():
    mtl = {"acc": 0.9, "rmse": 3.0, "rmse2": 1.0}
    single = {"acc": 0.8, "rmse": 2.0, "rmse2": 2.0}
    lower = {"acc": False, "rmse": True, "rmse2": True}
    assert delta_m(mtl, single, lower) == pytest.approx((12.5 - 50.0 + 50.0) / 3)
    assert math.isnan(delta_m({}, {}, {}))


def test_comparison_dict_shape_and_helps_flags():
    tasks = {"species": TaskComparison("species", "accuracy", False, 0.95, 0.9),
             "width": TaskComparison("width", "rmse", True, 0.3, 0.2)}
    comparison = Comparison(TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("width")]), tasks)
    out = comparison.to_dict()
    assert set(out) == {"tasks", "delta_m"}
    assert out["tasks"]["species"] == {"metric": "accuracy", "mtl": 0.95, "single": 0.9,
                                       "relative_change": pytest.approx(100 * 0.05 / 0.9)}
    assert out["tasks"]["width"]["relative_change"] == pytest.approx(-50.0)
    assert out["delta_m"] == pytest.approx((100 * 0.05 / 0.9 - 50.0) / 2)
    assert tasks["species"].helps is True and tasks["width"].helps is False
    assert list(comparison.to_frame().columns) == ["task", "metric", "lower_is_better", "mtl", "single",
                                                   "relative_change"]


def test_single_task_config_keeps_the_network_and_the_stratifying_task_at_weight_zero(hetero_config):
    hetero_config.weighting = "uncertainty"
    hetero_config.loss_weights = {"petal_width": 3.0}
    single = single_task_config(hetero_config, "petal_width", ["sepal_length"], stratify_by="species")
    assert single.task_names == ["species", "petal_width"] and single.loss_weights == {"species": 0.0}
    assert single.weighting == "fixed" and single.inputs == ["sepal_length"]
    assert (single.shared, single.head, single.epochs, single.seed) == (
        hetero_config.shared, hetero_config.head, hetero_config.epochs, hetero_config.seed)
    alone = single_task_config(hetero_config, "species", ["sepal_length"], stratify_by="species")
    assert alone.task_names == ["species"] and alone.loss_weights == {}


def test_compare_trains_baselines_on_the_same_split_and_reports_delta_m(hetero_config, iris_frame):
    from mtl_core.experiments.compare import compare
    from mtl_core.training.metrics import primary_metric

    hetero_config.epochs = 6
    progress = []
    comparison = compare(hetero_config, iris_frame, lambda stage, fraction: progress.append((stage, fraction)))
    out = comparison.to_dict()
    assert set(out["tasks"]) == {"species", "petal_width"}
    mtl = comparison.results["mtl"]
    changes = []
    for task in mtl.prepared.tasks:
        metric, lower = primary_metric(task)
        entry = out["tasks"][task.name]
        single = comparison.results[task.name]
        assert entry["metric"] == metric
        assert entry["mtl"] == mtl.test_metrics[task.name][metric]
        assert entry["single"] == single.test_metrics[task.name][metric]
        # Same test rows, same training rows, and the other task's label never becomes an input.
        np.testing.assert_array_equal(single.prepared.rows["test"], mtl.prepared.rows["test"])
        np.testing.assert_array_equal(single.prepared.x["train"], mtl.prepared.x["train"])
        assert single.prepared.schema.columns == mtl.prepared.schema.columns
        assert single.history[-1].weights[task.name] == 1.0
        by_hand = (-1) ** lower * (entry["mtl"] - entry["single"]) / entry["single"] * 100
        assert entry["relative_change"] == pytest.approx(by_hand)
        changes.append(by_hand)
    assert out["delta_m"] == pytest.approx(sum(changes) / len(changes))
    fractions = [f for _, f in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {s for s, _ in progress} >= {"multi-task model", "single-task model: species",
                                        "single-task model: petal_width"}


def test_compare_needs_a_test_split_and_two_tasks(hetero_config, iris_frame):
    from mtl_core.experiments.compare import compare

    hetero_config.test_fraction = 0.0
    with pytest.raises(ConfigError, match="test_fraction"):
        compare(hetero_config, iris_frame)
    hetero_config.test_fraction = 0.2
    hetero_config.tasks = [TaskSpec("species")]
    with pytest.raises(ConfigError, match="tasks"):
        compare(hetero_config, iris_frame)


def test_should_stop_ends_the_comparison_early(hetero_config, iris_frame):
    from mtl_core.experiments.compare import compare

    hetero_config.epochs = 500
    comparison = compare(hetero_config, iris_frame, should_stop=lambda: True)
    assert comparison.stopped
    assert comparison.results["mtl"].epochs_run < 500
    assert set(comparison.results) == {"mtl"}
    assert all(math.isnan(c.single) for c in comparison.tasks.values())
    assert math.isnan(comparison.delta_m)


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mtl_core", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_cli_compare_json_shape():
    proc = _run_cli("compare", "--preset", "heterogeneous", "--epochs", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"tasks", "delta_m"}
    assert set(out["tasks"]) == {"species", "petal_width"}
    for entry in out["tasks"].values():
        assert set(entry) == {"metric", "mtl", "single", "relative_change"}
    assert out["tasks"]["species"]["metric"] == "accuracy" and out["tasks"]["petal_width"]["metric"] == "rmse"
    changes = [e["relative_change"] for e in out["tasks"].values()]
    assert out["delta_m"] == pytest.approx(sum(changes) / 2)


def test_cli_table_marks_helps_and_hurts_and_bad_input_exits_2(capsys):
    from mtl_core.cli.compare import format_comparison
    from mtl_core.cli.main import main

    tasks = {"species": TaskComparison("species", "accuracy", False, 0.95, 0.9),
             "width": TaskComparison("width", "rmse", True, 0.3, 0.2)}
    text = format_comparison(Comparison(TrainConfig(dataset="iris", tasks=[TaskSpec("species")]), tasks))
    lines = text.splitlines()
    assert lines[2].split()[:2] == ["species", "accuracy"] and lines[2].endswith("helps")
    assert "+5.6%" in lines[2]
    assert lines[3].split()[:2] == ["width", "rmse"] and lines[3].endswith("hurts") and "-50.0%" in lines[3]
    assert "Δm = -22.22%: multi-task learning hurts on average" in text
    assert main(["compare", "--preset", "seed"]) == 2
    assert "test_fraction" in capsys.readouterr().err
    assert main(["compare", "--dataset", "iris", "--task", "species", "--study-p", "0,1"]) == 2
    assert "relatedness" in capsys.readouterr().err
    assert main(["compare", "--dataset", "relatedness", "--study-p", "0,x"]) == 2
    assert "study_p" in capsys.readouterr().err


def test_relatedness_study_returns_the_documented_frame():
    from mtl_core.experiments.relatedness_study import FRAME_COLUMNS, relatedness_study, study_config

    config = study_config(epochs=3)
    config.early_stopping = False
    result = relatedness_study([0.0, 1.0], [0], config, n=200)
    frame = result.to_frame()
    assert list(frame.columns) == FRAME_COLUMNS == ["p", "seed", "model", "task", "test_loss",
                                                    "measured_correlation"]
    assert len(frame) == 2 * 1 * 3 * 2  # p values x seeds x models x tasks
    assert set(frame["model"]) == {"single", "hard", "mmoe"} and set(frame["task"]) == {"y1", "y2"}
    assert np.all(np.isfinite(frame["test_loss"])) and np.all(frame["test_loss"] > 0)
    corr = frame.groupby("p")["measured_correlation"].first()
    assert corr[1.0] > 0.8 and abs(corr[0.0]) < 0.3
    # y1 does not depend on p, and a single-task model never reads y2, so its loss is the same for every p.
    single_y1 = frame[(frame["model"] == "single") & (frame["task"] == "y1")]["test_loss"].to_numpy()
    assert single_y1[0] == pytest.approx(single_y1[1], rel=1e-6)
    summary = result.summary()
    assert list(summary.columns) == ["p", "model", "task", "test_loss_mean", "test_loss_sd", "seeds",
                                     "measured_correlation", "gain_vs_single_pct"]
    assert len(summary) == 12 and set(summary["seeds"]) == {1}
    assert np.allclose(summary[summary["model"] == "single"]["gain_vs_single_pct"], 0.0)
    table = result.to_markdown()
    assert table.count("\n") == 3 and "MMoE y2" in table


def test_cli_study_json(capsys):
    from mtl_core.cli.main import main

    assert main(["compare", "--dataset", "relatedness", "--study-p", "0.5", "--study-seeds", "1",
                 "--study-models", "single,hard", "--dataset-param", "n=120", "--epochs", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"config", "stopped", "rows", "summary"}
    assert out["config"]["epochs"] == 2 and out["stopped"] is False
    assert {(r["model"], r["task"]) for r in out["rows"]} == {("single", "y1"), ("single", "y2"), ("hard", "y1"),
                                                            ("hard", "y2")}
    assert all(r["p"] == 0.5 and r["seed"] == 1 for r in out["rows"])
