"""Tuning core: the search-space table, objectives and fronts, the pruning rule, storage checks, the sampler, and
a small study run in-process (trials recorded in the run store, a second worker adding to the same study)."""

from __future__ import annotations

import math
import random

import pytest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.tuning.objectives import Objective, dominates, oriented, pareto_indices
from mtl_core.tuning.pruning import FrontPruner, checkpoints
from mtl_core.tuning.space import SPACE, apply_space, parse_space


class FakeTrial:
    """Records what was suggested; returns the low end (or the first choice)."""

    def __init__(self) -> None:
        self.asked: dict[str, object] = {}

    def suggest_float(self, name, low, high, *, log=False):
        self.asked[name] = (low, high, log)
        return high

    def suggest_int(self, name, low, high, *, log=False):
        self.asked[name] = (low, high, log)
        return high

    def suggest_categorical(self, name, choices):
        self.asked[name] = tuple(choices)
        return choices[-1] if name == "head" else choices[0]


def base_config(**changes) -> TrainConfig:
    config = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")],
                         inputs=["sepal_length", "sepal_width", "petal_length"], shared=[10, 10], head=[],
                         epochs=12, seed=3)
    for key, value in changes.items():
        setattr(config, key, value)
    return config


def test_tuning_imports_without_tensorflow():
    import subprocess
    import sys

    code = ("import sys, mtl_core.tuning.study, mtl_core.cli.tune; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---- space ---------------------------------------------------------------------------------------------
def test_space_table_lists_every_dimension_with_help_and_sampling():
    assert list(SPACE) == ["weighting", "weights", "width", "depth", "head", "lr", "dropout"]
    assert all(d.help and d.sampling for d in SPACE.values())


def test_parse_space_orders_and_rejects_bad_input():
    assert parse_space("lr, weights") == ["weights", "lr"]
    assert parse_space(None) == ["weights", "lr"]
    with pytest.raises(ConfigError, match=r"space='' is invalid: choose at least one") as info:
        parse_space("")
    assert info.value.param == "space"
    with pytest.raises(ConfigError, match=r"space='momentum' is invalid: expected one of weighting"):
        parse_space("lr,momentum")


def test_apply_space_draws_each_ticked_dimension_onto_a_copy():
    base = base_config()
    trial = FakeTrial()
    config = apply_space(trial, base, ["weights", "width", "depth", "head", "lr", "dropout"])
    assert base.lr == 0.01 and base.shared == [10, 10]  # the base is untouched
    assert config.loss_weights == {"species": 10.0, "petal_width": 10.0}
    assert config.shared == [128] * 4 and config.head == [32]
    assert config.lr == 0.1 and config.dropout == 0.5
    assert set(trial.asked) == {"weight[species]", "weight[petal_width]", "width", "depth", "head", "lr", "dropout"}
    assert trial.asked["lr"] == (1e-4, 0.1, True)


def test_weights_are_drawn_only_for_a_weighting_that_uses_them():
    trial = FakeTrial()
    config = apply_space(trial, base_config(weighting="uncertainty"), ["weights", "lr"])
    assert "weight[species]" not in trial.asked and config.loss_weights == {}
    trial = FakeTrial()
    config = apply_space(trial, base_config(weighting="uncertainty"), ["weighting", "weights"])
    assert config.weighting == "fixed" and "weight[species]" in trial.asked  # the first choice is fixed


# ---- objectives and fronts -----------------------------------------------------------------------------
def test_objective_value_reads_loss_or_metric_and_nan_when_missing():
    event = {"val_loss": {"a": 0.5}, "val_metrics": {"a": {"accuracy": 0.9}}}
    assert Objective("a", "val_loss", True).value(event) == 0.5
    assert Objective("a", "accuracy", False).value(event) == 0.9
    assert Objective("a", "accuracy", False).direction == "maximize"
    assert math.isnan(Objective("b", "val_loss", True).value(event))


def test_pareto_indices_match_a_brute_force_definition():
    rng = random.Random(0)
    points = [[rng.random(), rng.random()] for _ in range(60)] + [[0.5, 0.5], [0.5, 0.5]]
    front = set(pareto_indices(points))
    for i, p in enumerate(points):
        beaten = any(all(q[k] <= p[k] for k in range(2)) and any(q[k] < p[k] for k in range(2))
                     for q in points)
        assert (i in front) == (not beaten)
    assert dominates([1, 1], [1, 2]) and not dominates([1, 2], [1, 2])
    assert oriented([0.9, math.nan], [False, True]) == [-0.9, math.inf]


# ---- pruning rule --------------------------------------------------------------------------------------
def test_checkpoints_are_even_and_end_at_the_last_epoch():
    assert checkpoints(200) == list(range(20, 201, 20))
    assert checkpoints(7) == list(range(1, 8))
    assert checkpoints(25)[-1] == 25


def test_front_pruner_prunes_only_a_trial_worse_than_the_front_everywhere():
    pruner = FrontPruner([True, True], min_trials=3, warmup=0.25)
    for a, b in ((0.1, 0.9), (0.5, 0.5), (0.9, 0.1), (0.95, 0.95)):
        pruner.add_trial({"40": [a, b]})
    # Front: (0.1,0.9), (0.5,0.5), (0.9,0.1); nadir (0.9, 0.9). The dominated (0.95,0.95) doesn't widen it.
    assert pruner.nadir(40) == [0.9, 0.9]
    assert pruner.should_prune(40, 100, [0.92, 0.91])
    assert not pruner.should_prune(40, 100, [0.92, 0.05])  # good at one task: survives
    assert not pruner.should_prune(20, 100, [5.0, 5.0])  # in the warm-up
    assert not pruner.should_prune(100, 100, [5.0, 5.0])  # the last epoch: nothing left to save
    assert not pruner.should_prune(60, 100, [5.0, 5.0])  # no finished trial reported at epoch 60


def test_front_pruner_needs_enough_trials_and_respects_directions():
    pruner = FrontPruner([False, True], min_trials=2)
    pruner.add_trial({"10": [0.9, 0.2]})
    assert pruner.nadir(10) is None
    pruner.add_trial({"10": [0.8, 0.1]})
    # accuracy (maximise) 0.5 is worse than 0.8, loss 0.3 worse than 0.2: pruned
    assert pruner.should_prune(10, 20, [0.5, 0.3])
    assert not pruner.should_prune(10, 20, [0.95, 0.3])


# ---- storage -------------------------------------------------------------------------------------------
def test_storage_rejects_an_unknown_scheme_and_an_unreachable_database():
    from mtl_core.tuning.storage import open_storage

    with pytest.raises(ConfigError, match=r"^storage='mysql://u@h/db' is invalid: unknown scheme") as info:
        open_storage("mysql://u@h/db")
    assert info.value.param == "storage"
    with pytest.raises(ConfigError, match=r"^storage='postgresql\+psycopg://u:\*\*\*@127.0.0.1:9/db' is invalid: "
                                          r"cannot use the database") as info:
        open_storage("postgresql+psycopg://u:secret@127.0.0.1:9/db")
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_transient_errors_are_recognised_through_causes():
    from mtl_core.tuning.storage import is_transient

    try:
        try:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        except RuntimeError as inner:
            raise ValueError("commit failed") from inner
    except ValueError as exc:
        assert is_transient(exc)
    assert not is_transient(ValueError("no such table"))


# ---- sampler -------------------------------------------------------------------------------------------
def _toy(seed, tmp_path, name, workers=1, n=6):
    import optuna

    from mtl_core.tuning.sampler import TrialSeededSampler, quiet_optuna
    from mtl_core.tuning.storage import open_storage

    quiet_optuna()
    storage = open_storage(f"sqlite:///{tmp_path / 'toy.db'}")
    studies = [optuna.create_study(storage=storage, study_name=name, directions=["minimize", "minimize"],
                                   sampler=TrialSeededSampler(seed), load_if_exists=True) for _ in range(workers)]
    # Interleave asks like workers running at once: every worker asks before any tells.
    for _ in range(n // workers):
        trials = [(s, s.ask()) for s in studies]
        for s, t in trials:
            x, y = t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)
            s.tell(t, [x, y])
    return [(t.params["x"], t.params["y"]) for t in studies[0].get_trials()]


def test_sampler_is_reproducible_and_parallel_workers_draw_different_params(tmp_path):
    one = _toy(7, tmp_path, "a")
    assert one == _toy(7, tmp_path, "b")
    assert one != _toy(8, tmp_path, "c")
    two = _toy(7, tmp_path, "d", workers=2)
    assert len(set(two)) == len(two) == 6  # two workers with one seed never draw the same start-up params


# ---- a study in-process --------------------------------------------------------------------------------
def _request(tmp_path, **changes):
    from mtl_core.tuning.study import TuneRequest

    values = dict(base=base_config(), study="unit", n_trials=2, space=["weights", "lr"],
                  storage=f"sqlite:///{tmp_path / 'studies.db'}", db_url=f"sqlite:///{tmp_path / 'runs.db'}",
                  save_models=False)
    values.update(changes)
    return TuneRequest(**values)


def test_study_refuses_other_tasks_objective_or_bad_request(tmp_path, iris_frame):
    from mtl_core.tuning.study import Tuner

    Tuner(_request(tmp_path, n_trials=0), iris_frame)
    other = base_config(tasks=[TaskSpec("species"), TaskSpec("sepal_width")], inputs=None)
    with pytest.raises(ConfigError, match=r"^task=\['species', 'sepal_width'\] is invalid: study 'unit' was "
                                          r"created for tasks \['species', 'petal_width'\]") as info:
        Tuner(_request(tmp_path, base=other), iris_frame)
    assert info.value.param == "task"
    with pytest.raises(ConfigError, match=r"^objective='metric' is invalid") as info:
        Tuner(_request(tmp_path, objective="metric"), iris_frame)
    with pytest.raises(ConfigError, match=r"^trials=-1 is invalid"):
        Tuner(_request(tmp_path, n_trials=-1), iris_frame)
    with pytest.raises(ConfigError, match=r"^val_fraction=0.0 is invalid"):
        Tuner(_request(tmp_path, base=base_config(val_fraction=0.0, early_stopping=False)), iris_frame)


def test_trials_are_runs_in_the_store_and_a_second_worker_adds_to_the_study(tmp_path, iris_frame):
    from mtl_core.store import open_store
    from mtl_core.tuning.study import Tuner

    outcomes = []
    first = Tuner(_request(tmp_path, objective="metric"), iris_frame).run(outcomes.append)
    assert first["n_trials"] == 2 and first["directions"] == ["maximize", "minimize"]
    assert first["objectives"] == {"species": "accuracy", "petal_width": "rmse"}
    second = Tuner(_request(tmp_path, objective="metric", n_trials=1), iris_frame).run(outcomes.append)
    assert second["n_trials"] == 3 and [o.number for o in outcomes] == [0, 1, 2]
    runs = open_store(f"sqlite:///{tmp_path / 'runs.db'}").list_runs(kind="trial", study="unit")
    assert sorted(r.trial for r in runs) == [0, 1, 2]
    by_id = {r.id: r for r in runs}
    for entry in second["pareto"]:
        run = by_id[entry["run_id"]]
        assert run.trial == entry["trial"] and run.summary["values"] == pytest.approx(entry["values"])
    best = second["best_by_task"]
    values = [o.values for o in outcomes if o.state == "complete"]
    assert best["species"]["value"] == max(v["species"] for v in values)
    assert best["petal_width"]["value"] == min(v["petal_width"] for v in values)


def test_a_trial_the_rule_prunes_stops_early_and_is_recorded_as_stopped(tmp_path, iris_frame, monkeypatch):
    from mtl_core.store import open_store
    from mtl_core.tuning import study as study_module
    from mtl_core.tuning.study import Tuner

    seen = []

    def prune_at_first_chance(self, epoch, epochs, values):
        seen.append((epoch, list(values)))
        return epoch >= 0.25 * epochs

    monkeypatch.setattr(study_module.FrontPruner, "should_prune", prune_at_first_chance)
    base = base_config(epochs=400, early_stopping=False)  # only the pruner ends the trial early
    tuner = Tuner(_request(tmp_path, base=base, n_trials=1), iris_frame)
    outcome = tuner.run_trial()
    assert outcome.state == "pruned" and outcome.pruned_at == 120  # checkpoints every 40 epochs: 40, 80, 120
    assert [e for e, _ in seen] == [40, 80, 120] and all(len(v) == 2 for _, v in seen)
    (trial,) = tuner.study.get_trials()
    assert trial.state.name == "PRUNED" and set(trial.user_attrs["intermediate"]) == {"40", "80", "120"}
    run = open_store(f"sqlite:///{tmp_path / 'runs.db'}").get_run(trial.user_attrs["run_id"])
    assert run.status == "stopped" and run.summary["pruned_at"] == 120
    assert 120 <= len(run.history) < 400  # stopped within a chunk of the decision, far before the end


def test_workers_opening_a_new_sqlite_study_at_once_all_succeed(tmp_path):
    # Found by the benchmark: two workers creating the schema of a fresh file collided on Optuna's version row.
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = ("import sys, time, optuna; from mtl_core.tuning.storage import open_storage; "
            "t = float(sys.argv[1]); time.sleep(max(0, t - time.time())); "
            "optuna.create_study(storage=open_storage(sys.argv[2]), study_name='s', "
            "directions=['minimize', 'minimize'], load_if_exists=True)")
    import time

    start = time.time() + 4  # every process imports first, then all open at the same moment
    procs = [subprocess.Popen([sys.executable, "-c", code, str(start), url], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
