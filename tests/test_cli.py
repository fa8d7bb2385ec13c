"""The CLI as a user runs it: JSON output, the tutorial preset, predict, and one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mtl_core.cli.main import main
from mtl_core.config import TaskSpec, TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mtl_core", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_train_json_is_one_object_with_the_documented_shape(tmp_path):
    model = tmp_path / "m.keras"
    proc = run_cli("train", "--dataset", "iris", "--task", "species", "--task", "petal_width",
                   "--inputs", "sepal_length,sepal_width,petal_length", "--shared", "10,10", "--head", "",
                   "--epochs", "4", "--loss-weight", "petal_width=0.5", "--json", "--save", str(model))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["epochs_run"] == 4 and out["stopped_reason"] == "completed"
    assert out["config"]["shared"] == [10, 10] and out["config"]["head"] == []
    assert [h["epoch"] for h in out["history"]] == [1, 2, 3, 4]
    first = out["history"][0]
    assert set(first["loss"]) == set(first["val_loss"]) == {"species", "petal_width"}
    assert first["weights"] == {"species": 1.0, "petal_width": 0.5}
    assert set(first["val_metrics"]["petal_width"]) == {"mae", "rmse", "r2"}
    assert set(out["test_metrics"]["species"]) == {"accuracy", "f1_macro"}
    assert model.exists()
    pred = run_cli("predict", "--model", str(model), "--row", "5.1,3.5,1.4")
    assert pred.returncode == 0, pred.stderr
    lines = pred.stdout.strip().splitlines()
    assert lines[0].startswith("species: ") and "setosa" in lines[0]
    assert lines[1].startswith("petal_width: ")
    float(lines[1].split(": ")[1])


def test_seed_preset_reproduces_the_tutorial(capsys):
    assert main(["train", "--preset", "seed", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    cfg = out["config"]
    assert cfg["inputs"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert cfg["shared"] == [10, 10] and cfg["head"] == [] and cfg["optimizer"] == "sgd"
    assert cfg["lr"] == 0.01 and cfg["epochs"] == 10 and cfg["batch_size"] == 32
    assert cfg["val_fraction"] == 0 and cfg["test_fraction"] == 0 and cfg["standardize_inputs"] is False
    assert out["epochs_run"] == 10 and out["test_metrics"] == {}
    flowers = out["tutorial_predictions"]
    assert len(flowers) == 3
    for probs in flowers.values():
        assert set(probs) == {"setosa", "versicolor", "virginica"}
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
    # Same config, same seed: the same numbers on a second run.
    assert main(["train", "--preset", "seed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tutorial_predictions"] == flowers


def test_readable_output_has_a_metrics_table(capsys):
    assert main(["train", "--dataset", "linnerud", "--task", "Weight", "--task", "Waist", "--epochs", "3",
                 "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "task" in out and "rmse" in out and "Weight" in out and "Completed 3 epochs." in out


def test_datasets_lists_columns_and_suggestions(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "iris:" in out and "suggested tasks: species, petal_width" in out
    assert "relatedness:" in out and "p=0.8" in out


@pytest.mark.parametrize(("args", "needle"), [
    (["train", "--dataset", "nope", "--task", "x"], "dataset='nope'"),
    (["train", "--dataset", "iris", "--task", "colour"], "task='colour'"),
    (["train", "--dataset", "iris"], "tasks=[]"),
    (["train", "--dataset", "iris", "--task", "species", "--inputs", "sepal_length,stem"], "inputs='stem'"),
    (["train", "--dataset", "iris", "--task", "species", "--shared", "10,0"], "shared=[10, 0]"),
    (["train", "--dataset", "iris", "--task", "species", "--head", "-1"], "head=[-1]"),
    (["train", "--dataset", "iris", "--task", "species", "--loss-weight", "species=-1"], "loss_weight['species']=-1"),
    (["train", "--dataset", "iris", "--task", "species", "--loss-weight", "species=0"], "loss_weights="),
    (["train", "--dataset", "iris", "--task", "species", "--lr", "0"], "lr=0.0"),
    (["train", "--dataset", "iris", "--task", "species", "--epochs", "0"], "epochs=0"),
    (["train", "--dataset", "iris", "--task", "petal_width:binary"], "choose multiclass"),
    (["train", "--dataset", "iris", "--task", "species:regression"], "must be numeric"),
    (["train", "--dataset", "relatedness", "--dataset-param", "p=3", "--task", "y1"], "p"),
    (["train", "--preset", "nope"], "preset='nope'"),
    (["train", "--config", "/nonexistent.json"], "config='/nonexistent.json'"),
    (["predict", "--model", "/nonexistent.keras", "--row", "1"], "model='/nonexistent.keras'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(args, needle, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert needle in lines[0]
    assert "Traceback" not in captured.err


def test_one_class_target_is_refused(tmp_path, capsys):
    csv = tmp_path / "one.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n")
    assert main(["train", "--csv", str(csv), "--task", "label", "--epochs", "1"]) == 2
    assert "one class" in capsys.readouterr().err


def test_config_file_reruns_the_same_history(tmp_path, capsys):
    assert main(["train", "--preset", "heterogeneous", "--epochs", "5", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(first))
    assert main(["train", "--config", str(path), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    strip = [{k: v for k, v in h.items() if k != "elapsed"} for h in first["history"]]
    assert [{k: v for k, v in h.items() if k != "elapsed"} for h in second["history"]] == strip
    assert second["test_metrics"] == first["test_metrics"]


def test_subprocess_bad_input_has_no_traceback():
    proc = run_cli("train", "--dataset", "iris", "--task", "species", "--lr", "-1")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: lr=-1.0 is invalid: expected a number > 0.0 and <= 100.0."


def test_bare_command_lists_the_commands(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: mtl ")
    for command in ("datasets", "train", "predict", "compare", "export"):
        assert f"\n    {command} " in out, out
    assert "mtl COMMAND --help" in out


# Each case runs main() in a fresh interpreter and prints whether TensorFlow was imported: bad input must be
# found from the data and the model file alone (TensorFlow's import takes seconds).
_TF_FREE = """
import sys
from mtl_core.cli.main import main
code = main(sys.argv[1:])
print(code, "tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.mark.parametrize(("args", "needle"), [
    (["train", "--dataset", "iris", "--task", "colour"], "task='colour'"),
    (["train", "--dataset", "iris", "--task", "species", "--inputs", "stem"], "inputs='stem'"),
    (["train", "--dataset", "nope", "--task", "x"], "dataset='nope'"),
    (["train", "--csv", "{tmp}/missing.csv", "--task", "a"], "csv='{tmp}/missing.csv' is invalid: no such file"),
    (["train", "--csv", "{tmp}/one_row.csv", "--task", "a"], "csv='{tmp}/one_row.csv' is invalid: file has only 1"),
    (["train", "--csv", "{tmp}/ok.csv", "--task", "label", "--task", "nope"], "task='nope'"),
    (["compare", "--csv", "{tmp}/ok.csv", "--task", "label", "--task", "nope"], "task='nope'"),
    (["compare", "--preset", "heterogeneous", "--seeds", "0"], "seeds=0 is invalid"),
    (["compare", "--preset", "heterogeneous", "--strategies", "all,nope"], "strategies='all,nope' is invalid"),
    (["predict", "--model", "{tmp}/missing.keras", "--row", "1"], "model='{tmp}/missing.keras' is invalid"),
    (["predict", "--model", "{tmp}/ok.csv", "--row", "1"], "not a .keras file saved by mtl_core"),
    (["export", "--model", "{tmp}/ok.csv", "--out", "{tmp}/web"], "not a .keras file saved by mtl_core"),
])
def test_bad_input_is_reported_without_importing_tensorflow(tmp_path, args, needle):
    (tmp_path / "one_row.csv").write_text("a,b\n1,2\n")
    (tmp_path / "ok.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    args = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, "-c", _TF_FREE, *args], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.stdout.split() == ["2", "False", "False"], proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle.format(tmp=tmp_path) in lines[0], proc.stderr
    assert "upload" not in proc.stderr


def test_compare_table_has_a_header_for_every_column():
    from mtl_core.cli.compare import format_comparison
    from mtl_core.experiments.compare import Comparison, TaskComparison

    tasks = {"species": TaskComparison("species", "accuracy", False, [0.95, 0.96, 0.97], [0.9, 0.9, 0.9])}
    lines = format_comparison(Comparison(TrainConfig(dataset="iris", tasks=[TaskSpec("species")]), tasks)).splitlines()
    header, rule, row = lines[:3]
    names = ["task", "metric", "multi-task", "single-task", "change", "95% CI", "p", "verdict"]
    starts = [header.index(name) for name in names]
    assert [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")] == starts
    cells = [row[a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
    assert cells[:2] == ["species", "accuracy"] and cells[2] == "0.9600 ± 0.0100" and cells[-1] == "helps"
    assert cells[5].startswith("[+") and float(cells[6]) < 0.05


def _compare_json(capsys, *args: str) -> dict:
    assert main(["compare", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_compare_json_has_means_spread_intervals_and_verdicts(capsys):
    out = _compare_json(capsys, "--preset", "heterogeneous", "--epochs", "3", "--seeds", "2", "--seed", "5")
    assert {"tasks", "delta_m", "delta_m_ci", "delta_m_verdict"} <= set(out) and out["seeds"] == [5, 6]
    assert set(out["tasks"]) == {"species", "petal_width"}
    for entry in out["tasks"].values():
        assert {"metric", "mtl", "single", "relative_change", "mtl_mean", "single_mean", "mtl_sd", "single_sd",
                "change_ci", "p_value", "verdict"} <= set(entry)
        assert entry["mtl"] == entry["mtl_mean"] and entry["single"] == entry["single_mean"]
        assert len(entry["change_ci"]) == 2 and entry["verdict"] in ("helps", "hurts", "no clear difference")
        lo, hi = entry["change_ci"]
        assert lo <= entry["relative_change"] <= hi and 0 <= entry["p_value"] <= 1
        assert entry["verdict"] == ("helps" if lo > 0 else "hurts" if hi < 0 else "no clear difference")
    assert out["tasks"]["species"]["metric"] == "accuracy" and out["tasks"]["petal_width"]["metric"] == "rmse"
    changes = [e["relative_change"] for e in out["tasks"].values()]
    assert out["delta_m"] == pytest.approx(sum(changes) / 2)
    assert out["delta_m_ci"][0] <= out["delta_m"] <= out["delta_m_ci"][1]


def test_compare_trains_three_seeds_unless_told(monkeypatch, capsys):
    import mtl_core.experiments.compare as compare

    asked = []

    class Seen(Exception):
        pass

    def fake(config, frame, on_progress=None, should_stop=None, seeds=None):
        asked.append((config.seed, seeds))
        raise Seen

    monkeypatch.setattr(compare, "ComparisonRun", fake)
    for flags, expected in (([], (0, 3)), (["--seeds", " 5 ", "--seed", "2"], (2, 5))):
        with pytest.raises(Seen):
            main(["compare", "--preset", "heterogeneous", *flags])
        assert asked.pop() == expected
    for bad in ("-1", "x", "2.5", "", "21"):
        assert main(["compare", "--preset", "heterogeneous", "--seeds", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("error: seeds=") and "is invalid" in err, err


def test_bakeoff_json_has_every_method_best_per_column_and_intervals(capsys):
    out = _compare_json(capsys, "--preset", "heterogeneous", "--epochs", "2", "--seeds", "2", "--strategies",
                        "fixed,rlw")
    assert set(out) == {"seeds", "tasks", "methods", "best", "skipped", "stopped", "seconds"}
    assert out["seeds"] == [0, 1] and out["stopped"] is False and out["skipped"] == {}
    assert set(out["tasks"]) == {"species", "petal_width"}
    for task in out["tasks"].values():
        assert {"metric", "lower_is_better", "single_mean", "single_sd", "single_ci", "single_runs"} <= set(task)
        assert len(task["single_runs"]) == 2
    assert [m["weighting"] for m in out["methods"]] == ["fixed", "rlw"]
    for method in out["methods"]:
        assert {"weighting", "title", "tasks", "delta_m", "delta_m_ci", "delta_m_verdict"} <= set(method)
        for entry in method["tasks"].values():
            assert {"mean", "sd", "ci", "runs", "change", "change_ci", "p_value", "verdict"} <= set(entry)
            assert entry["ci"][0] <= entry["mean"] <= entry["ci"][1]
    assert set(out["best"]) == {"species", "petal_width", "delta_m"}
    dms = {m["weighting"]: m["delta_m"] for m in out["methods"]}
    assert out["best"]["delta_m"] == [w for w, v in dms.items() if v == max(dms.values())]
    rmse = {m["weighting"]: m["tasks"]["petal_width"]["mean"] for m in out["methods"]}
    assert out["best"]["petal_width"] == [w for w, v in rmse.items() if v == min(rmse.values())]  # lower better


def test_bakeoff_table_marks_the_best_of_each_column():
    from mtl_core.cli.compare import format_bakeoff
    from mtl_core.experiments.bakeoff import BakeOffResult
    from mtl_core.experiments.compare import Comparison, TaskComparison

    config = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")])
    single = {"species": [0.9, 0.92, 0.91], "petal_width": [0.2, 0.21, 0.2]}
    methods = {"fixed": ([0.95, 0.96, 0.97], [0.19, 0.2, 0.19]), "dwa": ([0.93, 0.9, 0.91], [0.17, 0.18, 0.17])}
    comparisons = {name: Comparison(config, {
        "species": TaskComparison("species", "accuracy", False, acc, single["species"]),
        "petal_width": TaskComparison("petal_width", "rmse", True, rmse, single["petal_width"])})
        for name, (acc, rmse) in methods.items()}
    result = BakeOffResult(config, comparisons, {"pcgrad": "weighting='pcgrad' is invalid: no shared layers"})
    assert result.best() == {"species": ["fixed"], "petal_width": ["dwa"],
                             "delta_m": [max(comparisons, key=lambda m: comparisons[m].delta_m)]}
    lines = format_bakeoff(result).splitlines()
    assert lines[0].startswith("Bake-off: 2 weighting methods on 3 seeds (0..2)")
    header = lines[2]
    assert header.split()[:2] == ["method", "species"] and "Δm 95% CI" in header and header.endswith("verdict")
    rows = {line.split()[0]: line for line in lines[4:7]}
    assert set(rows) == {"fixed", "dwa", "single-task"}
    assert "0.9600*" in rows["fixed"] and "0.1733*" in rows["dwa"] and "0.1733*" not in rows["fixed"]
    assert "*" not in rows["single-task"]
    assert any(line.startswith("Left out pcgrad: weighting='pcgrad'") for line in lines)


def test_study_json_has_gains_with_intervals_per_p_and_model(capsys):
    out = _compare_json(capsys, "--dataset", "relatedness", "--study-p", "1", "--study-seeds", "1,2",
                        "--study-models", "single,hard", "--dataset-param", "n=120", "--epochs", "2")
    assert {"config", "stopped", "rows", "summary", "gains"} <= set(out)
    assert out["config"]["epochs"] == 2 and out["stopped"] is False
    assert {(r["model"], r["task"]) for r in out["rows"]} == {("single", "y1"), ("single", "y2"), ("hard", "y1"),
                                                            ("hard", "y2")}
    assert {r["seed"] for r in out["rows"]} == {1, 2}
    assert [(g["p"], g["model"]) for g in out["gains"]] == [(1.0, "hard")]
    loss = {(r["p"], r["seed"], r["model"], r["task"]): r["test_loss"] for r in out["rows"]}
    for gain in out["gains"]:
        per_seed = [sum((loss[gain["p"], s, "single", t] - loss[gain["p"], s, "hard", t])
                        / loss[gain["p"], s, "single", t] * 100 for t in ("y1", "y2")) / 2 for s in (1, 2)]
        assert gain["mean"] == pytest.approx(sum(per_seed) / 2)
        lo, hi = gain["ci"]
        assert lo <= gain["mean"] <= hi
        assert gain["verdict"] == ("helps" if lo > 0 else "hurts" if hi < 0 else "no clear difference")
    # --seeds K gives the study seeds 0..K-1; both at once is refused.
    assert main(["compare", "--dataset", "relatedness", "--study-p", "1", "--seeds", "2", "--study-seeds", "0"]) == 2
    assert "seeds=" in capsys.readouterr().err


def test_a_bad_row_is_reported_before_tensorflow(tmp_path):
    """A model file exists, but the row does not fit its inputs: still no TensorFlow."""
    from mtl_core.io.saving import INFO_ENTRY

    model = tmp_path / "m.keras"
    info = {"format": "mtl_core/1", "config": {},
            "tasks": [{"name": "y", "kind": "regression", "output": "y"}],
            "inputs": {"columns": ["a", "colour"], "categories": {"colour": ["blue", "red"]}}}
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr(INFO_ENTRY, json.dumps(info))
    for row, needle in (("1", "row='1' is invalid: expected 2"), ("1,green", "colour='green' is invalid")):
        proc = subprocess.run([sys.executable, "-c", _TF_FREE, "predict", "--model", str(model), "--row", row],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert proc.stdout.split() == ["2", "False", "False"], proc.stdout + proc.stderr
        assert needle in proc.stderr, proc.stderr
