"""Synthetic two-task regression with controllable task relatedness (MMoE paper, Ma et al., KDD 2018)."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mtl_core.errors import DataError, bad_value

if TYPE_CHECKING:
    from mtl_core.data.registry import Dataset

#: The paper's label noise is N(0, 0.01). Here each label's own noise defaults to a standard deviation of 1, about
#: a fifth of a label's variance with c = 1 and m = 3: with labels that clean, two tasks on the same rows tell a
#: shared model little that one task does not, and sharing cannot help even when the tasks are the same (p = 1).
DEFAULT_NOISE = 1.0
# Above this share of label variance coming from noise, the dataset gets a warning note.
_NOISY_SHARE = 0.5


def _check_real(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not low <= float(value) <= high:
        raise bad_value(name, value, f"expected a number in [{low:g}, {high:g}]", DataError)
    return float(value)


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < low:
        raise bad_value(name, value, f"expected an integer >= {low}", DataError)
    return int(value)


def generate_relatedness(
    p: float = 0.8,
    c: float = 1.0,
    m: int = 3,
    d: int = 16,
    noise: float = DEFAULT_NOISE,
    n: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """Generate n rows of inputs x0..x{d-1} and two regression labels y1, y2 whose weight vectors have cosine p:
    y_k = w_k.x + sum_i sin(alpha_i w_k.x + beta_i) + N(0, noise^2), with ``|w_k| = c``."""
    p = _check_real("p", p, -1.0, 1.0)
    c = _check_real("c", c, 0.0, math.inf)
    m = _check_int("m", m, 0)
    d = _check_int("d", d, 2)
    noise = _check_real("noise", noise, 0.0, math.inf)
    n = _check_int("n", n, 1)
    seed = _check_int("seed", seed, 0)

    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, 2)))
    u1, u2 = basis[:, 0], basis[:, 1]
    w1 = c * u1
    # max() guards against a tiny negative from rounding when |p| == 1.
    w2 = c * (p * u1 + math.sqrt(max(0.0, 1.0 - p * p)) * u2)
    # The paper's alpha_i and beta_i are "given parameters" shared by both tasks, so the tasks differ only
    # through their weight vectors; it gives no values. These are google-research's (alpha_i = i,
    # beta_i = (i-1)^2): fixed, so a seed changes the directions, inputs and noise but never the shape of the
    # curve (drawn per seed, the sines sometimes cancelled the linear term and left labels of pure noise).
    alpha = np.arange(1.0, m + 1)
    beta = np.arange(m, dtype=float) ** 2
    x = rng.standard_normal((n, d))
    eps = rng.normal(0.0, noise, size=(n, 2))

    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(d)])
    for k, w in enumerate((w1, w2)):
        z = x @ w
        frame[f"y{k + 1}"] = z + np.sin(np.outer(z, alpha) + beta).sum(axis=1) + eps[:, k]
    return frame


def load_relatedness(
    p: float = 0.8,
    c: float = 1.0,
    m: int = 3,
    d: int = 16,
    noise: float = DEFAULT_NOISE,
    n: int = 4000,
    seed: int = 0,
) -> Dataset:
    """Load the relatedness generator as a Dataset, with the measured label correlation in info and notes."""
    # Imported here because datasets.py imports this module to build its registry.
    from mtl_core.data.registry import Dataset

    frame = generate_relatedness(p=p, c=c, m=m, d=d, noise=noise, n=n, seed=seed)
    measured = float(np.corrcoef(frame["y1"], frame["y2"])[0, 1]) if n > 1 else float("nan")
    notes = [
        f"Label correlation measured: {measured:.2f} (target p = {p:.2f}).",
        (
            "The sine terms and the noise make the labels less correlated than the "
            "weight vectors, whose cosine similarity is exactly p."
        ),
    ]
    # The noise variance is known, so the share of each label's variance it explains needs no second pass.
    noise_share = min(1.0, noise**2 / max(float(frame[["y1", "y2"]].var().min()), 1e-12))
    if noise_share > _NOISY_SHARE:
        notes.append(
            f"Labels are mostly noise: noise explains about {noise_share:.0%} of a label's variance "
            f"(noise = {noise:g} against the signal of c = {c:g} and m = {m}). Try a smaller noise or a larger c."
        )
    info = {
        "p": p,
        "measured_correlation": measured,
        "c": c,
        "m": m,
        "d": d,
        "noise": noise,
        "n": n,
        "seed": seed,
        "noise_share": noise_share,
    }
    return Dataset(
        name="relatedness",
        frame=frame,
        notes=notes,
        suggested_tasks=("y1", "y2"),
        info=info,
    )
