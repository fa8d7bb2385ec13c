"""RLW, MGDA, CAGrad, Nash-MTL and FAMO: each method's defining property on hand-made gradients, then in training."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from mtl_core._tf import tf
from mtl_core.errors import ConfigError
from mtl_core.registries import WEIGHTINGS
from mtl_core.training.trainer import Trainer
from mtl_core.training.weighting.base import MAX_SUBSET_TASKS, WeightingStrategy, support_masks
from mtl_core.training.weighting.cagrad import CAGradWeighting, cagrad_coefficients, cagrad_simplex_weights
from mtl_core.training.weighting.famo import FAMOWeighting
from mtl_core.training.weighting.mgda import MGDAWeighting, min_norm_weights
from mtl_core.training.weighting.nashmtl import NashMTLWeighting, nash_weights
from mtl_core.training.weighting.rlw import SEED_SALT, RandomLossWeighting

NEW = ["rlw", "mgda", "cagrad", "nashmtl", "famo"]

# Hand-made task gradients (rows): agreeing, orthogonal, conflicting, and three tasks with one conflict.
CASES = {
    "agreeing": [[1.0, 2.0, 0.0], [2.0, 1.0, 0.5]],
    "orthogonal": [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
    "conflicting": [[1.0, 0.0, 0.0], [-0.8, 0.6, 0.0]],
    "unequal conflicting": [[3.0, 1.0, 0.0], [-0.2, 0.1, 0.05]],
    "three": [[1.0, 0.0, 0.0], [-0.5, 1.0, 0.0], [0.2, -1.0, 0.3]],
    "three agreeing": [[1.0, 0.2, 0.0], [0.9, 0.4, 0.1], [1.2, 0.0, 0.3]],
}


def gram(g: np.ndarray) -> tf.Tensor:
    return tf.constant(g @ g.T, tf.float32)


def make(cls, n_tasks: int = 2, params: dict | None = None, seed: int = 0, shared: list | None = None):
    strategy = cls(n_tasks, [1.0] * n_tasks, params or {}, seed)
    shared = shared if shared is not None else [tf.Variable(tf.ones([2, 2]))]
    strategy.build(shared, shared[-1] if shared else None)
    return strategy


def gradients_of(strategy, shared: tf.Variable, head: tf.Variable, losses_fn):
    """Run the strategy's hooks on a tiny model: ``losses_fn(shared, head)`` gives the task losses."""
    with tf.GradientTape(persistent=strategy.needs_task_gradients) as tape:
        losses = losses_fn(shared, head)
        objective = strategy.objective(losses, tf.constant(0.0))
        per_task = tf.unstack(losses)
    return strategy.gradients(tape, objective, per_task, tf.constant(0.0), [shared, head], [shared])


# ---- RLW -----------------------------------------------------------------------------------------------
def test_rlw_weights_are_seeded_softmax_of_gaussian_noise_each_step():
    a, b, other = make(RandomLossWeighting, 3, seed=5), make(RandomLossWeighting, 3, seed=5), \
        make(RandomLossWeighting, 3, seed=6)
    draws = [a.draw().numpy() for _ in range(4)]
    np.testing.assert_array_equal(draws, [b.draw().numpy() for _ in range(4)])  # same seed, same draws
    assert not np.allclose(draws[0], other.draw().numpy())
    for step, w in enumerate(draws, start=1):
        expected = tf.nn.softmax(tf.random.stateless_normal([3], seed=[5 ^ SEED_SALT, step])).numpy()
        np.testing.assert_allclose(w, expected, rtol=1e-6)
        assert w.sum() == pytest.approx(1.0, abs=1e-6) and (w > 0).all()
    assert not np.allclose(draws[0], draws[1])  # fresh weights every step
    losses = tf.constant([1.0, 2.0, 4.0])
    a.begin_epoch(tf.constant(1, tf.int64))
    objective = float(a.objective(losses, tf.constant(0.5)))
    w5 = tf.nn.softmax(tf.random.stateless_normal([3], seed=[5 ^ SEED_SALT, 5])).numpy()
    assert objective == pytest.approx(float(w5 @ losses.numpy()) + 0.5, rel=1e-6)
    np.testing.assert_allclose(a.effective_weights().numpy(), w5, rtol=1e-6)


def test_logged_weights_are_the_epochs_mean_read_after_its_steps(iris_frame, hetero_config):
    # RLW's weights of every step can be recomputed, so the logged epoch weights must be their exact mean;
    # read before the steps they would be the ones of weights().
    hetero_config.weighting, hetero_config.epochs, hetero_config.conflict_every = "rlw", 2, 0
    trainer = Trainer(hetero_config, iris_frame)
    history = trainer.run().history
    n_batches = math.ceil(trainer.prepared.size("train") / hetero_config.batch_size)
    seed = hetero_config.seed ^ SEED_SALT
    for epoch, event in enumerate(history):
        steps = range(epoch * n_batches + 1, (epoch + 1) * n_batches + 1)
        draws = [tf.nn.softmax(tf.random.stateless_normal([2], seed=[seed, s])).numpy() for s in steps]
        np.testing.assert_allclose(list(event.weights.values()), np.mean(draws, axis=0), rtol=1e-5)


# ---- MGDA ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_mgda_is_the_min_norm_point_every_task_gradient_agrees_with(case):
    g = np.array(CASES[case])
    alpha = min_norm_weights(gram(g), support_masks(len(g), "mgda")).numpy()
    assert (alpha >= 0).all() and alpha.sum() == pytest.approx(1.0, abs=1e-9)
    d = alpha @ g
    # The defining property: g_t . d >= ||d||^2 for every task (equal where alpha_t > 0), so the step
    # lowers every loss; this is also the optimality condition of the min-norm problem.
    assert (g @ d >= d @ d - 1e-6).all()
    np.testing.assert_allclose((g @ d)[alpha > 1e-6], d @ d, atol=1e-6)


def test_mgda_two_tasks_closed_form_and_dominated_cases():
    g = np.array(CASES["conflicting"])
    alpha = min_norm_weights(gram(g), support_masks(2, "mgda")).numpy()
    # Sener & Koltun's two-task solution: alpha_1 = (g2 - g1) . g2 / ||g1 - g2||^2
    a1 = (g[1] - g[0]) @ g[1] / ((g[0] - g[1]) @ (g[0] - g[1]))
    np.testing.assert_allclose(alpha, [a1, 1 - a1], atol=1e-6)
    # A gradient inside the hull of the others' closest point: it alone is the min-norm point.
    g = np.array([[1.0, 0.0], [0.0, 1.0], [0.4, 0.4]])
    np.testing.assert_allclose(min_norm_weights(gram(g), support_masks(3, "mgda")).numpy(), [0, 0, 1], atol=1e-7)
    # Exactly opposite gradients: the origin is in the hull (Pareto-stationary), the step is zero.
    g = np.array([[1.0, 2.0], [-1.0, -2.0]])
    alpha = min_norm_weights(gram(g), support_masks(2, "mgda")).numpy()
    np.testing.assert_allclose(alpha @ g, [0.0, 0.0], atol=1e-6)


def test_mgda_gradients_combine_shared_and_keep_task_specific():
    shared, head = tf.Variable([0.0, 0.0]), tf.Variable([0.0])
    mgda = make(MGDAWeighting, shared=[shared])
    mgda.begin_epoch(tf.constant(1, tf.int64))
    # Shared gradients [1, 0] and [-0.8, 0.6]; the head only in task 1's loss.
    grads = gradients_of(mgda, shared, head, lambda s, h: tf.stack([s[0] + 2.0 * h[0], -0.8 * s[0] + 0.6 * s[1]]))
    g = np.array(CASES["conflicting"])[:, :2]
    alpha = min_norm_weights(tf.constant(g @ g.T, tf.float32), support_masks(2, "mgda")).numpy()
    np.testing.assert_allclose(grads[0].numpy(), alpha @ g, atol=1e-6)
    np.testing.assert_allclose(grads[1].numpy(), [2.0])  # task-specific: its own gradient, weight 1
    np.testing.assert_allclose(mgda.effective_weights().numpy(), alpha, atol=1e-6)


def test_subset_solvers_refuse_too_many_tasks():
    with pytest.raises(ConfigError, match=f"weighting='mgda'.*up to {MAX_SUBSET_TASKS} tasks"):
        support_masks(MAX_SUBSET_TASKS + 1, "mgda")
    assert support_masks(3, "mgda").shape == (7, 3)


# ---- CAGrad --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_cagrad_with_c_zero_is_the_mean_gradient(case):
    g = np.array(CASES[case])
    coef = cagrad_coefficients(gram(g), 0.0, support_masks(len(g), "cagrad")).numpy()
    np.testing.assert_allclose(coef @ g, g.mean(axis=0), atol=1e-7)


def test_cagrad_gradients_with_c_zero_are_the_mean_on_shared_parameters():
    shared, head = tf.Variable([0.0, 0.0]), tf.Variable([0.0])
    cag = make(CAGradWeighting, params={"c": 0.0}, shared=[shared])
    grads = gradients_of(cag, shared, head, lambda s, h: tf.stack([s[0] + 2.0 * h[0], -0.8 * s[0] + 0.6 * s[1]]))
    np.testing.assert_allclose(grads[0].numpy(), [0.1, 0.3], atol=1e-7)  # mean of [1, 0] and [-0.8, 0.6]
    np.testing.assert_allclose(grads[1].numpy(), [2.0])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("c", [0.2, 0.5, 0.9])
def test_cagrad_maximises_the_worst_task_improvement_in_the_ball(case, c):
    g = np.array(CASES[case])
    g0 = g.mean(axis=0)
    d = cagrad_coefficients(gram(g), c, support_masks(len(g), "cagrad")).numpy() @ g * (1 + c ** 2)
    radius = c * np.linalg.norm(g0)
    # The defining property: d lies in the ball ||d - g0|| <= c ||g0|| and no point of the ball does better
    # on the worst task, min_t g_t . d.
    assert np.linalg.norm(d - g0) <= radius * (1 + 1e-5) + 1e-7
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(4000, g.shape[1]))
    ball = g0 + radius * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    worst = (g @ d).min()
    assert worst >= (ball @ g.T).min(axis=1).max() - 1e-6
    assert worst >= (g @ g0).min() - 1e-9  # never worse than the mean gradient's worst task


@pytest.mark.parametrize("case", list(CASES))
def test_cagrad_dual_solution_matches_scipy_slsqp(case):
    g = np.array(CASES[case])
    k = g @ g.T / np.mean(g @ g.T)
    n, c = len(g), 0.5
    w = cagrad_simplex_weights(tf.constant(k, tf.float64), c, support_masks(n, "cagrad")).numpy()

    def value(x):
        return x @ k @ np.full(n, 1 / n) + c * np.sqrt(x @ k @ x + 1e-12)

    ref = minimize(value, np.full(n, 1 / n), bounds=[(0, 1)] * n,
                   constraints={"type": "eq", "fun": lambda x: 1 - x.sum()})
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0)
    assert value(w) <= ref.fun + 1e-7


# ---- Nash-MTL ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["agreeing", "orthogonal", "conflicting", "unequal conflicting", "three",
                                  "three agreeing"])
def test_nash_weights_solve_the_bargaining_equation(case):
    g = np.array(CASES[case])
    alpha = nash_weights(gram(g)).numpy()
    k = g @ g.T / np.linalg.norm(g @ g.T)
    assert (alpha > 0).all()
    # The defining equation (G'G) alpha = 1/alpha, for the Gram matrix normalised as in the paper's code, to
    # the documented tolerance (the ridge's 1e-6 ||alpha||, float32 Gram entries) and the paper's 1e-3.
    residual = np.linalg.norm(k @ alpha - 1 / alpha)
    assert residual <= 1e-6 * np.linalg.norm(alpha) + 1e-6 and residual < 1e-3
    # Scale-free: ten times the gradients, the same weights; and alpha_t g_t . d is the same for every task.
    np.testing.assert_allclose(nash_weights(gram(10 * g)).numpy(), alpha, rtol=1e-5)
    d = alpha @ g
    np.testing.assert_allclose(alpha * (g @ d), np.linalg.norm(g @ g.T), rtol=1e-3)


def test_nash_orthogonal_gradients_by_hand_and_gradients_weight_every_parameter():
    g = np.array(CASES["orthogonal"])  # G'G = diag(4, 1): alpha_t = 1 / sqrt(K_tt), K = G'G / sqrt(17)
    np.testing.assert_allclose(nash_weights(gram(g)).numpy(), [17 ** 0.25 / 2, 17 ** 0.25], rtol=1e-5)
    shared, head = tf.Variable([0.0, 0.0]), tf.Variable([0.0])
    nash = make(NashMTLWeighting, shared=[shared])
    grads = gradients_of(nash, shared, head, lambda s, h: tf.stack([2.0 * s[0] + 3.0 * h[0], s[1]]))
    np.testing.assert_allclose(grads[0].numpy(), [17 ** 0.25, 17 ** 0.25], rtol=1e-5)
    np.testing.assert_allclose(grads[1].numpy(), [3.0 * 17 ** 0.25 / 2], rtol=1e-5)  # the loss is weighted


# ---- FAMO ----------------------------------------------------------------------------------------------
def test_famo_takes_no_task_gradients_and_weights_the_log_losses():
    assert FAMOWeighting.needs_task_gradients is False
    assert FAMOWeighting.gradients is WeightingStrategy.gradients  # one backward pass of the objective
    assert FAMOWeighting.needs_losses_after_step is True
    famo = make(FAMOWeighting)
    famo.logits.assign([0.5, 0.0])
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        losses = tf.stack([x[0] ** 2, 3.0 * x[1]])  # L = [1, 6]; dL1/dx = [2, 0], dL2/dx = [0, 3]
        objective = famo.objective(losses, tf.constant(0.0))
    z = np.exp([0.5, 0.0]) / np.exp([0.5, 0.0]).sum()
    w = z / np.array([1.0, 6.0])
    w /= w.sum()  # z_t / (c L_t)
    np.testing.assert_allclose(tape.gradient(objective, x).numpy(), [2 * w[0], 3 * w[1]], rtol=1e-5)
    famo.begin_epoch(tf.constant(1, tf.int64))
    famo.objective(losses, tf.constant(0.0))
    np.testing.assert_allclose(famo.effective_weights().numpy(), w, rtol=1e-5)


def test_famo_gives_more_weight_to_the_task_whose_loss_fell_less():
    famo = make(FAMOWeighting, params={"gamma": 0.0})
    famo.objective(tf.constant([1.0, 1.0]), tf.constant(0.0))
    famo.after_step(tf.constant([0.5, 0.9]))  # task 1's loss fell less
    logits = famo.logits.numpy()
    assert logits[1] > logits[0]
    np.testing.assert_allclose(logits, [-0.025, 0.025], atol=1e-6)  # Adam's first step is lr * sign
    # J' delta by hand: z = [0.5, 0.5], delta = [log 2, log(1/0.9)]
    delta = np.log([2.0, 1 / 0.9])
    famo.logits.assign([0.0, 0.0])
    np.testing.assert_allclose(famo.logit_gradient(tf.constant([1.0, 1.0]), tf.constant([0.5, 0.9])).numpy(),
                               0.5 * (delta - delta.mean()), rtol=1e-5)


# ---- Registry and training -----------------------------------------------------------------------------
def test_new_methods_are_registered_with_papers_and_texts():
    for name in NEW:
        cls = WEIGHTINGS[name].load()
        assert cls.name == name and cls.__doc__ and "20" in cls.__doc__
        assert not WEIGHTINGS[name].uses_user_weights
    assert WEIGHTINGS["cagrad"].param_specs["c"].default == 0.5
    for name in ("pcgrad", "mgda", "cagrad", "nashmtl"):
        entry = WEIGHTINGS[name]
        assert entry.changes_gradients and entry.description.startswith("Changes gradients")
        assert "changes the tasks' gradients" in entry.sliders_note
        assert "sets the loss weights" not in entry.sliders_note
    assert "sets the loss weights itself" in WEIGHTINGS["gradnorm"].sliders_note
    assert WEIGHTINGS["fixed"].sliders_note == ""


@pytest.mark.parametrize("name", ["mgda", "cagrad", "nashmtl"])
def test_new_gradient_methods_need_a_shared_layer(name, iris_frame, hetero_config):
    hetero_config.weighting = name
    hetero_config.shared = []
    with pytest.raises(ConfigError, match=f"weighting='{name}'.*shared"):
        Trainer(hetero_config, iris_frame)


@pytest.mark.parametrize("name", NEW)
def test_new_method_trains_penguins_deterministically(name):
    from mtl_core.data.registry import load_dataset
    from mtl_core.presets import PRESETS

    config = PRESETS["penguins"].make_config()
    config.weighting, config.epochs, config.conflict_every = name, 3, 0
    frame = load_dataset("penguins").frame

    def run(chunk_seconds: float) -> list[dict]:
        history = Trainer(config, frame, chunk_seconds=chunk_seconds).run().history
        return [{k: v for k, v in e.to_dict().items() if k != "elapsed"} for e in history]

    first, second = run(0.0), run(10.0)
    assert first == second
    for event in first:
        weights = list(event["weights"].values())
        assert all(math.isfinite(w) and w >= 0 for w in weights)
        if name in ("rlw", "mgda", "famo"):
            assert sum(weights) == pytest.approx(1.0, abs=1e-5)


def test_model_page_says_cagrad_changes_gradients_and_shows_c_without_tensorflow():
    from test_app_description import render_light_pages

    shown = render_light_pages({"ds": "iris", "t": "species,petal_width", "wt": "cagrad"})
    assert shown["loaded"] == []
    assert shown["inputs"] == {"wp:cagrad:c": 0.5}
    assert shown["sliders"] and all(shown["sliders"].values())
    assert any("changes the tasks' gradients" in c for c in shown["captions"])
    assert not any("sets the loss weights" in c for c in shown["captions"])
