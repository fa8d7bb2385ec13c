"""Single-task baselines and Δm (sign conventions, the formula, same split, progress, stop), the compare
CLI, and the relatedness study's frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.experiments.compare import Comparison, TaskComparison, delta_m, relative_change, single_task_config


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
    tasks = {"species": TaskComparison("species", "accuracy", False, [0.95, 0.97, 0.96], [0.9, 0.9, 0.91]),
             "width": TaskComparison("width", "rmse", True, [0.3, 0.31, 0.29], [0.2, 0.21, 0.2])}
    comparison = Comparison(TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("width")], seed=4),
                            tasks)
    out = comparison.to_dict()
    assert {"tasks", "delta_m", "delta_m_ci", "delta_m_verdict"} <= set(out) and out["seeds"] == [4, 5, 6]
    species = out["tasks"]["species"]
    assert {"metric", "mtl", "single", "relative_change", "mtl_mean", "single_mean", "mtl_sd", "single_sd",
            "change_ci", "p_value", "verdict"} <= set(species)
    assert species["mtl"] == species["mtl_mean"] == pytest.approx(0.96)
    assert species["single"] == species["single_mean"] == pytest.approx(0.9033333)
    assert species["mtl_sd"] == pytest.approx(0.01) and species["single_sd"] == pytest.approx(np.std([.9, .9, .91],
                                                                                                     ddof=1))
    per_seed = [100 * (m - s) / s for m, s in zip([0.95, 0.97, 0.96], [0.9, 0.9, 0.91])]
    assert species["relative_change"] == pytest.approx(np.mean(per_seed))  # the mean of the paired changes
    lo, hi = species["change_ci"]
    assert lo < species["relative_change"] < hi and lo > 0 and species["verdict"] == "helps"
    assert out["tasks"]["width"]["verdict"] == "hurts" and out["tasks"]["width"]["change_ci"][1] < 0
    dm_runs = [(a + b) / 2 for a, b in zip(per_seed, tasks["width"].changes)]
    assert out["delta_m_runs"] == pytest.approx(dm_runs) and out["delta_m"] == pytest.approx(np.mean(dm_runs))
    assert out["delta_m_ci"][0] < out["delta_m"] < out["delta_m_ci"][1]
    assert tasks["species"].helps is True and tasks["width"].helps is False
    assert list(comparison.to_frame().columns) == ["task", "metric", "lower_is_better", "mtl", "single", "mtl_sd",
                                                   "single_sd", "relative_change", "change_lo", "change_hi",
                                                   "p_value", "verdict"]
    # One seed: the mean change as before, but no interval and no verdict.
    one = TaskComparison("species", "accuracy", False, 0.95, 0.9)
    assert one.relative_change == pytest.approx(100 * 0.05 / 0.9) and one.verdict == "no clear difference"
    assert one.helps is None and all(math.isnan(v) for v in one.to_dict()["change_ci"])


def test_seeds_are_consecutive_from_the_configs_seed_and_checked():
    from mtl_core.experiments.compare import DEFAULT_SEEDS, check_seeds, seed_list

    assert DEFAULT_SEEDS == 3 and seed_list(7, 3) == [7, 8, 9]
    for bad in (0, -1, 2.0, True, "3", 10_000):
        with pytest.raises(ConfigError, match="seeds="):
            check_seeds(bad)
    with pytest.raises(ConfigError, match="largest seed"):
        seed_list(2**31 - 1, 2)


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
    comparison = compare(hetero_config, iris_frame, lambda stage, fraction: progress.append((stage, fraction)),
                         seeds=2)
    out = comparison.to_dict()
    assert set(out["tasks"]) == {"species", "petal_width"} and out["seeds"] == [3, 4]
    mtl = comparison.results["mtl"]  # the first seed's models
    assert mtl.config.seed == 3 and comparison.results["species"].config.seed == 3
    changes = []
    for task in mtl.prepared.tasks:
        metric, lower = primary_metric(task)
        entry = out["tasks"][task.name]
        single = comparison.results[task.name]
        assert entry["metric"] == metric and len(entry["mtl_runs"]) == len(entry["single_runs"]) == 2
        assert entry["mtl_runs"][0] == mtl.test_metrics[task.name][metric]
        assert entry["single_runs"][0] == single.test_metrics[task.name][metric]
        assert entry["mtl"] == pytest.approx(np.mean(entry["mtl_runs"]))
        # Same test rows, same training rows, and the other task's label never becomes an input.
        np.testing.assert_array_equal(single.prepared.rows["test"], mtl.prepared.rows["test"])
        np.testing.assert_array_equal(single.prepared.x["train"], mtl.prepared.x["train"])
        assert single.prepared.schema.columns == mtl.prepared.schema.columns
        assert single.history[-1].weights[task.name] == 1.0
        by_hand = [(-1) ** lower * (m - s) / s * 100 for m, s in zip(entry["mtl_runs"], entry["single_runs"])]
        assert entry["relative_change"] == pytest.approx(np.mean(by_hand))
        lo, hi = entry["change_ci"]
        assert lo <= entry["relative_change"] <= hi
        changes.append(by_hand)
    assert out["delta_m_runs"] == pytest.approx(np.mean(changes, axis=0))
    assert out["delta_m"] == pytest.approx(np.mean(changes))
    fractions = [f for _, f in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {s for s, _ in progress} >= {f"{model}, seed {seed}" for seed in (3, 4) for model in (
        "multi-task model", "single-task model: species", "single-task model: petal_width")}


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
    comparison = compare(hetero_config, iris_frame, should_stop=lambda: True, seeds=2)
    assert comparison.stopped
    assert comparison.results["mtl"].epochs_run < 500
    assert set(comparison.results) == {"mtl"}
    assert all(math.isnan(c.single) for c in comparison.tasks.values())
    assert math.isnan(comparison.delta_m) and comparison.to_dict()["delta_m_verdict"] == "no clear difference"


def test_cli_table_shows_spread_verdicts_and_bad_input_exits_2(capsys):
    from mtl_core.cli.compare import format_comparison
    from mtl_core.cli.main import main

    tasks = {"species": TaskComparison("species", "accuracy", False, [0.95, 0.96, 0.955], [0.9, 0.9, 0.9]),
             "width": TaskComparison("width", "rmse", True, [0.3, 0.31, 0.305], [0.2, 0.2, 0.2])}
    text = format_comparison(Comparison(TrainConfig(dataset="iris", tasks=[TaskSpec("species")]), tasks))
    lines = text.splitlines()
    assert lines[0].split() == ["task", "metric", "multi-task", "single-task", "change", "95%", "CI", "p", "verdict"]
    assert lines[2].split()[:2] == ["species", "accuracy"] and lines[2].endswith("helps")
    assert "0.9550 ± 0.0050" in lines[2] and "+6.1%" in lines[2] and "0.9000 ± 0.0000" in lines[2]
    assert lines[3].split()[:2] == ["width", "rmse"] and lines[3].endswith("hurts") and "-52.5%" in lines[3]
    dm = Comparison(TrainConfig(dataset="iris", tasks=[TaskSpec("species")]), tasks).delta_m_spread
    assert f"Δm = {dm.mean:+.2f}% (95% CI [{dm.ci[0]:+.2f}, {dm.ci[1]:+.2f}], p = {dm.p_value:.3f}) over 3 seeds " \
           f"(0..2): {dm.verdict}" in text
    one = {"a": TaskComparison("a", "rmse", True, 0.3, 0.2), "b": TaskComparison("b", "rmse", True, 0.2, 0.2)}
    text = format_comparison(Comparison(TrainConfig(dataset="iris", tasks=[TaskSpec("a")]), one))
    assert "over 1 seed (0): no interval, so no verdict: no clear difference" in text
    assert " ".join(text.splitlines()[2].split()).endswith("-50.0% n/a n/a no clear difference")
    assert main(["compare", "--preset", "seed"]) == 2
    assert "test_fraction" in capsys.readouterr().err
    assert main(["compare", "--dataset", "iris", "--task", "species", "--study-p", "0,1"]) == 2
    assert "relatedness" in capsys.readouterr().err
    assert main(["compare", "--dataset", "relatedness", "--study-p", "0,x"]) == 2
    assert "study_p" in capsys.readouterr().err


def test_bakeoff_methods_share_the_single_task_models_and_skip_what_cannot_run(hetero_config, iris_frame):
    from mtl_core.experiments.bakeoff import BakeOff, method_configs, parse_strategies
    from mtl_core.registries import WEIGHTINGS

    assert parse_strategies("all") == list(WEIGHTINGS) and parse_strategies(" dwa, fixed ") == ["dwa", "fixed"]
    for bad in ("", "dwa,nope", "dwa,dwa"):
        with pytest.raises(ConfigError, match="strategies="):
            parse_strategies(bad)
    hetero_config.weighting, hetero_config.weighting_params = "dwa", {"temperature": 5.0}
    configs, _ = method_configs(hetero_config, ["dwa", "famo"], skip_unusable=False)
    assert configs["dwa"].weighting_params == {"temperature": 5.0} and configs["famo"].weighting_params == {}

    # No shared layers: gradient surgery cannot run. Asked for by name, that is an error before any training;
    # in "all" (skip_unusable) it is left out with the core's reason.
    flat = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")],
                       inputs=["sepal_length", "sepal_width", "petal_length"], shared=[], head=[8], epochs=3, seed=3)
    with pytest.raises(ConfigError, match="weighting='pcgrad'"):
        BakeOff(flat, iris_frame, "pcgrad,fixed", seeds=2)
    stages = []
    result = BakeOff(flat, iris_frame, ["pcgrad", "fixed", "dwa"], seeds=2, skip_unusable=True,
                     on_progress=lambda stage, _: stages.append(stage)).run()
    assert list(result.comparisons) == ["fixed", "dwa"] and result.seeds == [3, 4] and not result.stopped
    assert list(result.skipped) == ["pcgrad"] and "shared layers" in result.skipped["pcgrad"]
    fixed, dwa = result.comparisons["fixed"], result.comparisons["dwa"]
    assert fixed.config.weighting == "fixed" and dwa.config.weighting == "dwa"
    for task in ("species", "petal_width"):
        assert fixed.tasks[task].single_runs == dwa.tasks[task].single_runs  # trained once per seed
        assert all(math.isfinite(v) for v in fixed.tasks[task].mtl_runs + dwa.tasks[task].single_runs)
    # Each seed: one model per method, then the single-task models once (2 seeds x (2 + 2)).
    assert len({s for s in stages if s.startswith(("multi", "single"))}) == 8
    assert "multi-task model (dwa), seed 4" in stages
    best = result.best()
    lower = {t: low for t, _, low in result.tasks}
    for task in ("species", "petal_width"):
        values = {m: c.tasks[task].mtl for m, c in result.comparisons.items()}
        pick = min(values.values()) if lower[task] else max(values.values())
        assert best[task] == [m for m, v in values.items() if v == pick]
    assert best["delta_m"] == [max(result.comparisons, key=lambda m: result.comparisons[m].delta_m)]
    frame = result.to_frame()
    assert list(frame["method"]) == ["fixed", "dwa", "single-task"]
    assert frame.loc[0, "delta_m"] == pytest.approx(fixed.delta_m)


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
    # Each label's own noise (a fifth of its variance by default) keeps identical tasks' correlation near 0.8.
    assert corr[1.0] > 0.6 and abs(corr[0.0]) < 0.3
    # y1 does not depend on p, and a single-task model never reads y2, so its loss is the same for every p.
    single_y1 = frame[(frame["model"] == "single") & (frame["task"] == "y1")]["test_loss"].to_numpy()
    assert single_y1[0] == pytest.approx(single_y1[1], rel=1e-6)
    summary = result.summary()
    assert list(summary.columns) == ["p", "model", "task", "test_loss_mean", "test_loss_sd", "seeds",
                                     "measured_correlation", "gain_vs_single_pct"]
    assert len(summary) == 12 and set(summary["seeds"]) == {1}
    assert np.allclose(summary[summary["model"] == "single"]["gain_vs_single_pct"], 0.0)
    table = result.to_markdown()
    assert table.count("\n") == 3 and "MMoE y2" in table and "(1 seed)" in table
