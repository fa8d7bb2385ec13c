"""AppTest tests of the MTL-science views: the MMoE diagram, adaptive weights and gate weights on Train, the
multi-task vs single-task comparison, and the Relatedness lab. AppTest cannot fire ``run_every`` timers, so
each test waits on the background thread and reruns the page."""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import config_of, has_run, job, new_app, open_page, train, training, wait


def array(value) -> np.ndarray:
    """A plotly spec's array (plain list, or the typed base64 form plotly writes for numpy arrays)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def y_title(fig: dict) -> str | None:
    """A plotly spec's y-axis title text, None when it has none."""
    title = fig["layout"].get("yaxis", {}).get("title", {})
    return title.get("text") if isinstance(title, dict) else title


# ---- Model page: the MMoE diagram -------------------------------------------------------------------------
def test_model_page_draws_experts_gates_and_towers_for_mmoe():
    at = open_page("pages/model.py")
    at.selectbox(key="arch").set_value("mmoe").run()
    at.number_input(key="experts").set_value(3).run()
    config_of(at).heads = {"species": [6]}
    at.run()
    assert not at.exception
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "3 shared experts, 16 units each (relu)" in dot
    for i in (1, 2, 3):
        assert f'label="expert {i}\n16 units"' in dot
        for task in ("species", "petal_width"):
            assert f'"expert_{i}" -> "gate:{task}";' in dot  # every gate mixes every expert
    assert "expert_4" not in dot
    assert "gate of species\nsoftmax mix of 3 experts" in dot and "gate of petal_width" in dot
    assert '"gate:species" -> "head:species:1";' in dot and "species tower 1\n6 units" in dot
    assert '"gate:petal_width" -> "out:petal_width";' in dot  # no tower layers: the gate feeds the output
    # Many experts: the first few, a gap and the last one.
    at.number_input(key="experts").set_value(12).run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "expert_12" in dot and "… 7 more" in dot and "expert_6" not in dot


# ---- Train page: adaptive weights, gate weights, compare -------------------------------------------------------
@pytest.fixture(scope="module")
def mmoe_dwa() -> AppTest:
    """MMoE with Dynamic Weight Average chosen on the Model page, trained for a few epochs."""
    at = open_page("pages/model.py")
    at.selectbox(key="arch").set_value("mmoe").run()
    at.selectbox(key="weighting").set_value("dwa").run()
    assert config_of(at).weighting == "dwa"
    config_of(at).epochs = 8
    return train(at, 90)


def test_dwa_weights_change_in_the_weights_chart(mmoe_dwa):
    run = training(mmoe_dwa).run
    assert run.result.stopped_reason == "completed"
    chart = next(f for f in figures(mmoe_dwa) if f["layout"]["yaxis"]["title"]["text"] == "loss weight")
    traces = {d["name"]: array(d["y"]) for d in chart["data"]}
    assert set(traces) == {"species", "petal_width"}
    logged = {t: np.array([e.weights[t] for e in run.events()]) for t in traces}
    for task, ys in traces.items():
        np.testing.assert_allclose(ys, logged[task], rtol=1e-6)
        assert np.ptp(ys) > 1e-3, f"DWA left {task}'s weight at {ys[0]}"
    # DWA keeps the weights summing to the number of tasks.
    np.testing.assert_allclose(traces["species"] + traces["petal_width"], 2.0, rtol=1e-5)


def test_gate_weights_heatmap_after_an_mmoe_run(mmoe_dwa):
    from mtl_core.models.mmoe import gate_weights

    result = training(mmoe_dwa).run.result
    # The gate chart (gates_fig), not the live landscapes' heatmaps (their x is a binary-encoded grid).
    heatmaps = [json.loads(c.proto.spec)["data"][0] for c in mmoe_dwa.get("plotly_chart") if c.key == "gates_fig"]
    assert len(heatmaps) == 1 and heatmaps[0]["type"] == "heatmap"
    gates = heatmaps[0]
    assert gates["y"] == ["species", "petal_width"] and gates["x"] == [f"expert {i}" for i in range(1, 5)]
    z = np.array(gates["z"]) if not isinstance(gates["z"], dict) else array(gates["z"]).reshape(2, 4)
    expected = gate_weights(result.model, result.prepared, split="test")
    np.testing.assert_allclose(z, [expected["species"], expected["petal_width"]], atol=1e-6)
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-5)
    assert any(m.value.startswith("**Gate weights**") for m in mmoe_dwa.markdown)


def _row_cells(table: str) -> dict[str, list[str]]:
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


def _error_bars(trace: dict) -> tuple[np.ndarray, np.ndarray]:
    """(below, above) half-widths of a trace's asymmetric error bars."""
    return array(trace["error_y"]["arrayminus"]), array(trace["error_y"]["array"])


def test_compare_marks_each_task_green_or_red_and_shows_delta_m(mmoe_dwa):
    at = mmoe_dwa
    at.switch_page("pages/train.py").run()
    assert at.button(key="compare_button").disabled is False
    assert at.number_input(key="compare_seeds").value == 3  # the core's default
    at.number_input(key="compare_seeds").set_value(2).run()
    assert any(c.value == "6 trainings" for c in at.caption)  # 2 seeds x (1 + 2 tasks)
    at.button(key="compare_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    comparing = job(at, "compare")
    assert wait(comparing, 600)
    assert comparing.error is None, comparing.error
    at.run()
    assert not at.exception
    data = comparing.result.to_dict()
    assert set(data["tasks"]) == {"species", "petal_width"} and data["seeds"] == [0, 1]
    table = next(m.proto.body for m in at.markdown if m.value.startswith("| task | metric"))
    rows = _row_cells(table)
    for task, row in data["tasks"].items():
        task_cells = rows[task]
        assert task_cells[1] == row["metric"]
        assert task_cells[2] == f"{row['mtl']:.4g} ± {row['mtl_sd']:.2g}"
        assert task_cells[3] == f"{row['single']:.4g} ± {row['single_sd']:.2g}"
        change = row["relative_change"]
        assert math.isfinite(change)
        assert f"{change:+.2f} %" in task_cells[4]
        # Coloured by the verdict, not the sign: a change whose interval holds 0 stays plain.
        assert (":green-background[" in task_cells[4]) == (row["verdict"] == "helps")
        assert (":red-background[" in task_cells[4]) == (row["verdict"] == "hurts")
        lo, hi = row["change_ci"]
        assert task_cells[5] == f"[{lo:+.1f}, {hi:+.1f}] %"
        assert f"**{row['verdict']}**" in task_cells[6]
    # Δm is the mean of the relative changes, shown with its sign's colour, its interval, its verdict, the formula.
    dm = data["delta_m"]
    assert dm == pytest.approx(np.mean([r["relative_change"] for r in data["tasks"].values()]))
    line = next(m.proto.body for m in at.markdown if m.value.startswith("**Δm = "))
    match = re.search(r":(green|red|gray)\[([+-]\d+\.\d\d) %\]", line)
    assert match and float(match.group(2)) == pytest.approx(dm, abs=0.006)
    assert match.group(1) == {"helps": "green", "hurts": "red"}.get(data["delta_m_verdict"], "gray")
    assert f"[{data['delta_m_ci'][0]:+.2f}, {data['delta_m_ci'][1]:+.2f}] %" in line
    assert f"**{data['delta_m_verdict']}**" in line
    assert any("\\Delta_m" in c.proto.body for c in at.caption)
    assert any("over 2 seeds (0-1)" in c.value for c in at.caption)
    # The chart: each task's change and Δm with its 95 % interval as error bars.
    fig = next(f for f in figures(at) if y_title(f) == "change vs single-task (%)")
    trace = fig["data"][0]
    assert trace["x"] == ["species", "petal_width", "Δm"]
    cis = [data["tasks"]["species"]["change_ci"], data["tasks"]["petal_width"]["change_ci"], data["delta_m_ci"]]
    means = array(trace["y"])
    below, above = _error_bars(trace)
    np.testing.assert_allclose(means - below, [c[0] for c in cis], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(means + above, [c[1] for c in cis], rtol=1e-6, atol=1e-9)
    # The comparison used the session's config (MMoE) for the multi-task model, fixed weights for the baselines.
    assert comparing.result.config.arch == "mmoe"
    assert comparing.result.results["species"].config.weighting == "fixed"


def test_bakeoff_ranks_the_methods_with_intervals_and_marks_the_best(mmoe_dwa):
    at = mmoe_dwa  # the panel shows under a finished training, like the comparison
    at.switch_page("pages/train.py").run()
    from mtl_core.registries import WEIGHTINGS

    assert at.multiselect(key="bakeoff_methods").value == list(WEIGHTINGS)  # every method until changed
    at.multiselect(key="bakeoff_methods").set_value(["fixed", "rlw"]).run()
    at.number_input(key="bakeoff_seeds").set_value(2).run()
    assert any(c.value == "8 trainings" for c in at.caption)  # 2 seeds x (2 methods + 2 tasks)
    at.button(key="bakeoff_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    baking = job(at, "bakeoff")
    assert at.button(key="bakeoff_stop").disabled is False
    assert wait(baking, 600) and baking.error is None, baking.error
    at.run()
    assert not at.exception
    data = baking.result.to_dict()
    assert [m["weighting"] for m in data["methods"]] == ["fixed", "rlw"] and data["seeds"] == [0, 1]
    table = next(m.proto.body for m in at.markdown if m.value.startswith("| method |"))
    rows = _row_cells(table)
    assert set(rows) == {"Fixed weights", "Random Loss Weighting", "single-task models"}
    for column, task in enumerate(data["tasks"], start=1):
        marked = [m["title"] for m in data["methods"] if "★" in rows[m["title"]][column]]
        assert marked == [m["title"] for m in data["methods"] if m["weighting"] in data["best"][task]]
        for m in data["methods"]:
            entry = m["tasks"][task]
            assert f"{entry['mean']:.4g}" in rows[m["title"]][column]
            assert f"[{entry['ci'][0]:.4g}, {entry['ci'][1]:.4g}]" in rows[m["title"]][column]
    for m in data["methods"]:
        assert f"{m['delta_m']:+.2f} %" in rows[m["title"]][3] and f"**{m['delta_m_verdict']}**" in rows[m["title"]][4]
        assert ("★" in rows[m["title"]][3]) == (m["weighting"] in data["best"]["delta_m"])
    fig = next(f for f in figures(at) if y_title(f) == "Δm vs single-task (%)")
    trace = fig["data"][0]
    assert trace["x"] == ["Fixed weights", "Random Loss Weighting"]
    below, above = _error_bars(trace)
    np.testing.assert_allclose(array(trace["y"]) - below, [m["delta_m_ci"][0] for m in data["methods"]], rtol=1e-6)
    np.testing.assert_allclose(array(trace["y"]) + above, [m["delta_m_ci"][1] for m in data["methods"]], rtol=1e-6)


def test_compare_needs_a_test_split_and_says_so(mmoe_dwa):
    at = mmoe_dwa
    before = config_of(at).test_fraction
    config_of(at).test_fraction = 0.0
    try:
        at.switch_page("pages/train.py").run()
        assert not at.exception
        assert at.button(key="compare_button").disabled is True
        assert any(w.value.startswith("test_fraction=0.0 is invalid") for w in at.warning), \
            [w.value for w in at.warning]
    finally:
        config_of(at).test_fraction = before


def test_a_strategy_needing_shared_layers_shows_the_core_message_on_train():
    at = open_page("pages/model.py")
    at.selectbox(key="weighting").set_value("pcgrad").run()
    config_of(at).shared = []
    config_of(at).epochs = 2
    at.switch_page("pages/train.py").run()
    at.button(key="play_button").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "weighting='pcgrad' is invalid: this strategy compares the tasks' gradients on the shared layers, and the "
        "model has none; add a shared layer (e.g. shared=[16]) or use 'fixed'."]
    assert not has_run(at)


# ---- Relatedness lab -----------------------------------------------------------------------------------------
def test_relatedness_lab_runs_a_tiny_study_and_plots_every_model():
    at = new_app("pages/relatedness.py")
    assert at.multiselect(key="rel_p").value == [0.0, 0.5, 1.0]
    assert any(i.value.startswith("Choose the settings") for i in at.info)
    at.multiselect(key="rel_p").set_value([1.0]).run()
    at.number_input(key="rel_seeds").set_value(1).run()
    at.number_input(key="rel_rows").set_value(300).run()
    at.number_input(key="rel_epochs").set_value(2).run()
    assert any(c.value.startswith("4 models to train") for c in at.caption)
    at.button(key="relatedness_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    study = job(at, "relatedness")
    assert wait(study, 120) and study.error is None, study.error
    at.run()
    assert not at.exception
    summary = study.result.summary()
    assert list(summary["p"].unique()) == [1.0] and study.result.config.epochs == 2
    fig = next(f for f in figures(at) if any(d.get("name") == "MMoE" for d in f["data"]))
    names = [d["name"] for d in fig["data"]]
    assert names.count("single-task") == names.count("hard sharing") == names.count("MMoE") == 2  # one per task
    y1 = summary[(summary["task"] == "y1")]
    for trace in fig["data"][:3]:
        model = {"single-task": "single", "hard sharing": "hard", "MMoE": "mmoe"}[trace["name"]]
        np.testing.assert_allclose(array(trace["y"]), y1[y1["model"] == model]["test_loss_mean"], rtol=1e-9)
    corr = [d for d in fig["data"] if d["name"] == "measured label correlation"]
    assert len(corr) == 2 and {d["yaxis"] for d in corr} == {"y2", "y4"}  # the secondary axes
    # p = 1: strongly correlated labels; each label's own noise (a fifth of its variance by default, see
    # tests/test_compare.py) keeps identical tasks' correlation near 0.8.
    assert array(corr[0]["y"])[0] > 0.6
    table = at.dataframe[0].value
    assert list(table["p"]) == ["1"] and {"hard sharing gain %", "MMoE gain %"} <= set(table.columns)
    assert any(m.value.startswith("- hard sharing vs single-task models") and "one seed: no interval" in m.value
               for m in at.markdown)
    assert list(table["hard sharing verdict"]) == ["no clear difference"]
    gain = next(f for f in figures(at) if f["layout"]["yaxis"]["title"]["text"] == "gain vs single-task (%)")
    assert [d["name"] for d in gain["data"]] == ["hard sharing", "MMoE"]


def test_relatedness_figure_has_mean_lines_with_sd_error_bars():
    from mtl_core.experiments.relatedness_study import RelatednessResult, study_config
    from ui.relatedness_view import findings, gain_figure, study_figure, summary_table

    records = [{"p": p, "seed": seed, "model": model, "task": task,
                "test_loss": base + 0.1 * p + 0.01 * seed + (0.002 if task == "y2" else 0.0),
                "measured_correlation": 0.9 * p}
               for p in (0.0, 0.5, 1.0) for seed in (0, 1)
               for model, base in (("single", 0.5), ("hard", 0.4), ("mmoe", 0.3)) for task in ("y1", "y2")]
    summary = RelatednessResult(study_config(), records).summary()
    fig = json.loads(study_figure(summary).to_json())
    hard_y2 = next(d for d in fig["data"] if d["name"] == "hard sharing" and d["xaxis"] == "x2")
    np.testing.assert_allclose(array(hard_y2["x"]), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(array(hard_y2["y"]), [0.407, 0.457, 0.507])  # mean over the two seeds
    assert hard_y2["error_y"]["visible"] is True
    np.testing.assert_allclose(array(hard_y2["error_y"]["array"]), np.std([0.0, 0.01], ddof=1), rtol=1e-6)
    corr = next(d for d in fig["data"] if d["name"] == "measured label correlation")
    np.testing.assert_allclose(array(corr["y"]), [0.0, 0.45, 0.9])
    table = summary_table(summary)
    assert list(table["p"]) == ["0", "0.5", "1"]
    # Gain = (single - model) / single * 100 on the same dataset, averaged over seeds and tasks.
    loss = {(r["p"], r["seed"], r["model"], r["task"]): r["test_loss"] for r in records}
    for model, column in (("hard", "hard sharing gain %"), ("mmoe", "MMoE gain %")):
        expected = [np.mean([(loss[p, s, "single", t] - loss[p, s, model, t]) / loss[p, s, "single", t] * 100
                             for s in (0, 1) for t in ("y1", "y2")]) for p in (0.0, 0.5, 1.0)]
        np.testing.assert_allclose(table[column], expected, atol=0.051)
    # The gain figure: mean over seeds of the per-seed gain (itself a mean over tasks), its 95 % Student-t
    # interval as error bars, the verdict on hover.
    from scipy import stats as sp

    result = RelatednessResult(study_config(), records)
    gain = json.loads(gain_figure(result.to_frame()).to_json())
    mmoe = next(d for d in gain["data"] if d["name"] == "MMoE")
    per_seed = [[np.mean([(loss[p, s, "single", t] - loss[p, s, "mmoe", t]) / loss[p, s, "single", t] * 100
                          for t in ("y1", "y2")]) for s in (0, 1)] for p in (0.0, 0.5, 1.0)]
    np.testing.assert_allclose(array(mmoe["y"]), np.mean(per_seed, axis=1), rtol=1e-9)
    half = sp.t.ppf(0.975, 1) * np.std(per_seed, axis=1, ddof=1) / np.sqrt(2)
    below, above = _error_bars(mmoe)
    np.testing.assert_allclose(above, half, rtol=1e-6)
    np.testing.assert_allclose(below, half, rtol=1e-6)
    assert [d["name"] for d in gain["data"]] == ["hard sharing", "MMoE"]
    assert set(mmoe["text"]) <= {"helps", "hurts", "no clear difference"}
    # The table and the sentences say the same, from RelatednessResult.gain_spread().
    spread = result.gain_spread()
    table = summary_table(summary, spread)
    for g in (g for g in spread if g["model"] == "mmoe"):
        row = table[table["p"] == f"{g['p']:g}"].iloc[0]
        assert row["MMoE verdict"] == g["verdict"]
        lo, hi = g["ci"]
        assert row["MMoE gain ± sd [95 % CI]"] == f"{g['mean']:+.1f} ± {g['sd']:.1f} [{lo:+.1f}, {hi:+.1f}]"
    lines = findings(summary, spread)
    assert "(2 seeds; 95 % intervals)" in lines[1] and lines[1].startswith("MMoE vs single-task models")


def test_relatedness_lab_stop_keeps_what_finished():
    at = new_app("pages/relatedness.py")
    at.multiselect(key="rel_p").set_value([0.0, 0.5, 1.0]).run()
    at.number_input(key="rel_epochs").set_value(500).run()
    at.button(key="relatedness_run").click().run()
    study = job(at, "relatedness")
    assert at.button(key="relatedness_stop").disabled is False
    at.button(key="relatedness_stop").click().run()
    assert wait(study, 30)
    at.run()
    assert not at.exception
    assert study.result.stopped
    assert any(i.value.startswith("Stopped after") for i in at.info)
    assert at.button(key="relatedness_run").disabled is False


def test_comparison_table_colours_changes_by_verdict_and_marks_undefined_ones():
    from ui.compare_panel import comparison_markdown

    table = comparison_markdown({"tasks": {
        "a": {"metric": "rmse", "mtl": 1.0, "single": 2.0, "relative_change": 50.0, "mtl_sd": 0.1, "single_sd": 0.2,
              "change_ci": [40.0, 60.0], "verdict": "helps"},
        "b": {"metric": "accuracy", "mtl": 0.5, "single": 0.6, "relative_change": -100 / 6,
              "change_ci": [-20.0, -10.0], "verdict": "hurts"},
        "e": {"metric": "accuracy", "mtl": 0.5, "single": 0.6, "relative_change": -100 / 6,
              "change_ci": [-40.0, 5.0], "verdict": "no clear difference"},
        "c": {"metric": "accuracy", "mtl": 0.0, "single": 0.0, "relative_change": math.nan},
        "d": {"metric": "rmse", "mtl": 1.0, "single": math.nan, "relative_change": math.nan}}, "delta_m": math.nan})
    rows = _row_cells(table)
    assert rows["a"][2:7] == ["1 ± 0.1", "2 ± 0.2", ":green-background[**+50.00 %**]", "[+40.0, +60.0] %",
                              ":green[**helps**]"]
    assert rows["b"][4] == ":red-background[**-16.67 %**]" and rows["b"][6] == ":red[**hurts**]"
    assert rows["e"][4] == "-16.67 %" and rows["e"][6] == ":gray[**no clear difference**]"
    assert rows["c"][4] == "— (undefined: the single-task value is 0)" and rows["c"][5] == "no interval (1 seed)"
    assert rows["d"][3] == "not trained" and rows["d"][4] == "—"
