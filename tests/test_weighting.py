"""Adaptive loss weighting: each strategy against its formula on tiny hand-computed cases, then in training."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtl_core._tf import tf
from mtl_core.cli.main import main
from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.registries import WEIGHTINGS
from mtl_core.training.trainer import Trainer
from mtl_core.training.weighting.dwa import DynamicWeightAverage
from mtl_core.training.weighting.gradnorm import GradNormWeighting
from mtl_core.training.weighting.pcgrad import PCGradWeighting, project_conflicting
from mtl_core.training.weighting.uncertainty import UncertaintyWeighting

ROOT = Path(__file__).resolve().parents[1]
ADAPTIVE = ["uncertainty", "gradnorm", "dwa", "pcgrad", "rlw", "mgda", "cagrad", "nashmtl", "famo"]


def make(cls, n_tasks: int = 2, params: dict | None = None, seed: int = 0, shared: list | None = None):
    strategy = cls(n_tasks, [1.0] * n_tasks, params or {}, seed)
    kernel = tf.Variable(tf.ones([2, 2])) if shared is None else (shared[-1] if shared else None)
    strategy.build([kernel] if shared is None else shared, kernel)
    return strategy


# ---- DWA ----------------------------------------------------------------------------------------------
def test_dwa_weights_from_two_epochs_of_losses():
    dwa = make(DynamicWeightAverage)
    seen = []
    for epoch, losses in enumerate([[1.0, 1.0], [0.5, 1.0], [0.25, 0.5]], start=1):
        dwa.begin_epoch(tf.constant(epoch, tf.int64))
        seen.append(dwa.weights().numpy())
        dwa.end_epoch(tf.constant(epoch, tf.int64), tf.constant(losses))
    dwa.begin_epoch(tf.constant(4, tf.int64))
    seen.append(dwa.weights().numpy())
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(seen[1], [1.0, 1.0])
    # Epoch 3: r = [0.5/1, 1/1]; lambda = 2 e^{0.25} / (e^{0.25} + e^{0.5}) = 2 * 1.284025 / 2.932747, ...
    np.testing.assert_allclose(seen[2], [0.875643, 1.124357], atol=1e-5)
    # Epoch 4: r = [0.25/0.5, 0.5/1] are equal, so are the weights.
    np.testing.assert_allclose(seen[3], [1.0, 1.0], atol=1e-6)


def test_dwa_temperature_flattens_the_weights():
    sharp, flat = make(DynamicWeightAverage, params={"temperature": 0.5}), make(DynamicWeightAverage,
                                                                                params={"temperature": 50.0})
    for dwa in (sharp, flat):
        for epoch, losses in enumerate([[1.0, 1.0], [0.5, 1.0]], start=1):
            dwa.begin_epoch(tf.constant(epoch, tf.int64))
            dwa.end_epoch(tf.constant(epoch, tf.int64), tf.constant(losses))
        dwa.begin_epoch(tf.constant(3, tf.int64))
    # tau = 0.5: 2 e^1 / (e^1 + e^2) = 0.537882
    np.testing.assert_allclose(sharp.weights().numpy(), [0.537882, 1.462118], atol=1e-5)
    assert abs(flat.weights().numpy()[0] - 1.0) < 0.01


# ---- GradNorm ------------------------------------------------------------------------------------------
def test_gradnorm_first_steps_by_hand():
    gn = make(GradNormWeighting)
    # Step 1 fixes L(0) = [1, 1]; r = 1 and equal norms put G on its target: nothing moves.
    np.testing.assert_allclose(gn.update(tf.constant([1.0, 1.0]), tf.constant([1.0, 1.0])).numpy(), [1.0, 1.0])
    # Step 2: task 2 learned less (0.9 vs 0.5): r = [5/7, 9/7], target = r^1.5 = [0.60, 1.46] vs G = [1, 1], so
    # the weights' gradient is sign(G - target) * ||grad L|| = [1, -1]. Adam's 2nd step: m = [0.1, -0.1],
    # v = 0.001, m_hat = 0.1/0.19, v_hat = 0.001/0.001999, step = 0.025 * 0.526316 / 0.707284 = 0.0186035.
    new = gn.update(tf.constant([1.0, 1.0]), tf.constant([0.5, 0.9])).numpy()
    np.testing.assert_allclose(new, [1 - 0.0186035, 1 + 0.0186035], atol=1e-5)


def test_gradnorm_slow_task_gains_weight_and_weights_sum_to_t():
    gn = make(GradNormWeighting, n_tasks=3)
    gn.update(tf.constant([1.0, 1.0, 1.0]), tf.constant([2.0, 1.0, 1.0]))
    for step in range(1, 40):
        # Task 0 learns slowest, task 2 fastest.
        losses = tf.constant([2.0 * 0.99**step, 1.0 * 0.95**step, 0.9**step])
        weights = gn.update(tf.constant([1.0, 1.0, 1.0]), losses).numpy()
        assert weights.sum() == pytest.approx(3.0, abs=1e-5)
        assert (weights > 0).all()
    assert weights[0] > weights[1] > weights[2]


def test_gradnorm_equalises_gradient_norms_when_rates_are_equal():
    gn = make(GradNormWeighting)
    for _ in range(20):
        weights = gn.update(tf.constant([4.0, 1.0]), tf.constant([1.0, 1.0])).numpy()
    assert weights[0] < 1.0 < weights[1]
    assert weights.sum() == pytest.approx(2.0, abs=1e-5)


def test_gradnorm_gradients_are_the_weighted_sum_and_norms_come_from_the_kernel():
    kernel = tf.Variable([[1.0], [2.0]])
    head = tf.Variable([3.0])
    gn = make(GradNormWeighting, shared=[kernel])
    x = tf.constant([[1.0, 1.0]])
    with tf.GradientTape(persistent=True) as tape:
        h = tf.matmul(x, kernel)[0, 0]
        losses = tf.stack([2.0 * h, h * head[0]])  # dL/dW: [2, 2] and [3, 3]
        objective = gn.objective(losses, tf.constant(0.0))
        per_task = tf.unstack(losses)
    grads = gn.gradients(tape, objective, per_task, tf.constant(0.0), [kernel, head], [kernel])
    np.testing.assert_allclose(grads[0].numpy(), [[5.0], [5.0]])  # weights were 1 and 1
    np.testing.assert_allclose(grads[1].numpy(), [3.0])
    weights = gn.weights().numpy()
    assert weights[0] > weights[1]  # the task with the smaller gradient norm is pulled up


# ---- PCGrad --------------------------------------------------------------------------------------------
def test_pcgrad_projects_conflicting_gradients_by_hand():
    grads = tf.constant([[1.0, 0.0], [-1.0, 1.0]])  # dot = -1
    for orders in ([[0, 1], [0, 1]], [[1, 0], [1, 0]]):
        projected = project_conflicting(grads, tf.constant(orders)).numpy()
        # g1 - (-1/2) g2 = [0.5, 0.5];  g2 - (-1/1) g1 = [0, 1]
        np.testing.assert_allclose(projected, [[0.5, 0.5], [0.0, 1.0]], atol=1e-6)
        assert projected[0] @ grads.numpy()[1] >= -1e-6
        assert projected[1] @ grads.numpy()[0] >= -1e-6


def test_pcgrad_leaves_no_conflict_on_random_pairs_and_keeps_agreeing_ones():
    rng = np.random.default_rng(0)
    for _ in range(20):
        grads = rng.normal(size=(2, 7)).astype(np.float32)
        projected = project_conflicting(tf.constant(grads), tf.constant([[0, 1], [1, 0]])).numpy()
        assert projected[0] @ grads[1] >= -1e-5
        assert projected[1] @ grads[0] >= -1e-5
        if grads[0] @ grads[1] >= 0:
            np.testing.assert_array_equal(projected, grads)
    agreeing = tf.constant([[1.0, 2.0], [3.0, -1.0]])  # dot = 1
    np.testing.assert_array_equal(project_conflicting(agreeing, tf.constant([[1, 0], [0, 1]])).numpy(),
                                  agreeing.numpy())


def test_pcgrad_gradients_project_shared_and_keep_task_specific():
    shared = tf.Variable([0.0, 0.0])
    head = tf.Variable([0.0])
    pc = make(PCGradWeighting, shared=[shared])
    with tf.GradientTape(persistent=True) as tape:
        losses = tf.stack([shared[0] + 2.0 * head[0], -shared[0] + shared[1]])
        objective = pc.objective(losses, tf.constant(0.0))
        per_task = tf.unstack(losses)
    grads = pc.gradients(tape, objective, per_task, tf.constant(0.0), [shared, head], [shared])
    np.testing.assert_allclose(grads[0].numpy(), [0.5, 1.5], atol=1e-6)  # [0.5, 0.5] + [0, 1]
    np.testing.assert_allclose(grads[1].numpy(), [2.0])


def test_pcgrad_orders_are_seeded_permutations():
    a, b, c = make(PCGradWeighting, 4, seed=7), make(PCGradWeighting, 4, seed=7), make(PCGradWeighting, 4, seed=8)
    orders_a = a.orders().numpy()
    np.testing.assert_array_equal(orders_a, b.orders().numpy())
    assert all(sorted(row) == [0, 1, 2, 3] for row in orders_a)
    steps = [orders_a]
    for _ in range(5):
        a._step.assign_add(1)
        steps.append(a.orders().numpy())
    assert any((s != orders_a).any() for s in steps[1:])  # a new order each step
    assert (c.orders().numpy() != orders_a).any()  # and another seed, other orders


# ---- Uncertainty ---------------------------------------------------------------------------------------
def test_uncertainty_objective_and_log_variance_gradient_by_hand():
    unc = make(UncertaintyWeighting)
    np.testing.assert_allclose(unc.weights().numpy(), [0.5, 0.5])
    losses = tf.constant([0.2, 3.0])
    with tf.GradientTape() as tape:
        objective = unc.objective(losses, tf.constant(0.1))
    assert float(objective) == pytest.approx(0.5 * 3.2 + 0.1)
    # d/ds_t = 0.5 - 0.5 exp(-s_t) L_t = [0.4, -1.0] at s = 0
    np.testing.assert_allclose(tape.gradient(objective, unc.variables[0]).numpy(), [0.4, -1.0], atol=1e-6)
    unc.log_vars.assign([0.0, math.log(3.0)])
    np.testing.assert_allclose(unc.weights().numpy(), [0.5, 0.5 / 3.0], atol=1e-6)


def test_uncertainty_gives_the_noisier_regression_less_weight():
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=400),
                          "quiet": x + 0.1 * rng.normal(size=400), "noisy": x + 1.0 * rng.normal(size=400)})
    config = TrainConfig(dataset="synthetic", tasks=[TaskSpec("quiet"), TaskSpec("noisy")], inputs=["x", "z"],
                         shared=[8], head=[], lr=0.05, epochs=25, weighting="uncertainty", conflict_every=0,
                         early_stopping=False)  # the weights after all 25 epochs
    result = Trainer(config, frame).run()
    last = result.history[-1].weights
    assert last["quiet"] > 2.0 * last["noisy"]
    assert result.history[0].weights == {"quiet": 0.5, "noisy": 0.5}


# ---- Validation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("cls", "params", "needles"), [
    (GradNormWeighting, {"alpha": -1.0}, ["weighting_params['alpha']=-1.0", "'gradnorm'"]),
    (GradNormWeighting, {"lr": 0.0}, ["weighting_params['lr']=0.0", "> 0"]),
    (DynamicWeightAverage, {"temperature": 0.0}, ["weighting_params['temperature']=0.0"]),
    (DynamicWeightAverage, {"tau": 2.0}, ["weighting_params['tau']=2.0", "temperature"]),
    (UncertaintyWeighting, {"alpha": 1.0}, ["weighting_params['alpha']", "'uncertainty'"]),
    (PCGradWeighting, {"lr": 1.0}, ["weighting_params['lr']", "'pcgrad'"]),
])
def test_bad_params_raise_config_error_naming_them(cls, params, needles):
    with pytest.raises(ConfigError) as info:
        cls(2, [1.0, 1.0], params, 0)
    for needle in needles:
        assert needle in str(info.value)


@pytest.mark.parametrize("name", ["gradnorm", "pcgrad"])
def test_gradient_strategies_need_a_shared_layer(name, iris_frame, hetero_config):
    hetero_config.weighting = name
    hetero_config.shared = []
    with pytest.raises(ConfigError, match=f"weighting='{name}'.*shared"):
        Trainer(hetero_config, iris_frame)


def test_cli_reports_a_bad_weighting_param_in_one_line(capsys):
    code = main(["train", "--dataset", "iris", "--task", "species", "--task", "petal_width", "--epochs", "1",
                 "--weighting", "gradnorm", "--weighting-param", "alpha=-2"])
    assert code == 2
    err = capsys.readouterr().err
    assert "weighting_params['alpha']=-2.0" in err and "Traceback" not in err


# ---- Training ------------------------------------------------------------------------------------------
def test_every_adaptive_strategy_is_registered():
    for name in ADAPTIVE:
        cls = WEIGHTINGS[name].load()
        assert cls.__doc__ and "20" in cls.__doc__  # the docstring cites the paper (with its year)


@pytest.mark.parametrize("name", ADAPTIVE)
def test_strategy_trains_iris_and_is_deterministic(name, iris_frame, hetero_config):
    hetero_config.weighting = name
    hetero_config.epochs = 5
    hetero_config.conflict_every = 0

    def run(chunk_seconds: float) -> list[dict]:
        history = Trainer(hetero_config, iris_frame, chunk_seconds=chunk_seconds).run().history
        return [{k: v for k, v in e.to_dict().items() if k != "elapsed"} for e in history]

    # One epoch per compiled call, then chunks of several: state lives in variables, so no difference.
    first, second = run(0.0), run(10.0)
    assert first == second
    assert [e["epoch"] for e in first] == [1, 2, 3, 4, 5]
    for event in first:
        weights = event["weights"]
        assert set(weights) == {"species", "petal_width"}
        assert all(math.isfinite(w) and w > 0 for w in weights.values())
    sums = [sum(e["weights"].values()) for e in first]
    if name in ("gradnorm", "dwa"):
        assert sums == pytest.approx([2.0] * 5, abs=1e-5)
    if name in ("rlw", "mgda", "famo"):
        assert sums == pytest.approx([1.0] * 5, abs=1e-5)
    if name == "pcgrad":
        # Effective weights: a projection adds to the coefficient of the gradient projected against, so
        # each is at least 1, and above 1 in an epoch with a conflict.
        values = [w for e in first for w in e["weights"].values()]
        assert min(values) >= 1.0 - 1e-6 and max(values) > 1.0
    assert first[-1]["weights"] != first[0]["weights"]  # adaptive: the weights moved


def test_cli_trains_with_dwa():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mtl_core", "train", "--dataset", "iris", "--task", "species",
                           "--task", "petal_width", "--weighting", "dwa", "--epochs", "5", "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["config"]["weighting"] == "dwa" and out["epochs_run"] == 5
    weights = [e["weights"] for e in out["history"]]
    assert weights[0] == weights[1] == {"species": 1.0, "petal_width": 1.0}
    assert sum(weights[2].values()) == pytest.approx(2.0, abs=1e-5)
    assert weights[2] != weights[0]
