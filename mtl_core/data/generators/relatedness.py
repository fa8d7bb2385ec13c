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

NOISE_STD = 0.1
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
    c: float = 0.3,
    m: int = 5,
    d: int = 16,
    n: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """Generate n rows of inputs x0..x{d-1} and two regression labels y1, y2 whose weight vectors have cosine p."""
    p = _check_real("p", p, -1.0, 1.0)
    c = _check_real("c", c, 0.0, math.inf)
    m = _check_int("m", m, 0)
    d = _check_int("d", d, 2)
    n = _check_int("n", n, 1)
    seed = _check_int("seed", seed, 0)

    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, 2)))
    u1, u2 = basis[:, 0], basis[:, 1]
    w1 = c * u1
    # max() guards against a tiny negative from rounding when |p| == 1.
    w2 = c * (p * u1 + math.sqrt(max(0.0, 1.0 - p * p)) * u2)
    # alpha and beta are shared, so the tasks differ only through their weight vectors.
    alpha = rng.standard_normal(m)
    beta = rng.standard_normal(m)
    x = rng.standard_normal((n, d))
    noise = rng.normal(0.0, NOISE_STD, size=(n, 2))

    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(d)])
    for k, w in enumerate((w1, w2)):
        z = x @ w
        frame[f"y{k + 1}"] = z + np.sin(np.outer(z, alpha) + beta).sum(axis=1) + noise[:, k]
    return frame


def load_relatedness(
    p: float = 0.8,
    c: float = 0.3,
    m: int = 5,
    d: int = 16,
    n: int = 4000,
    seed: int = 0,
) -> Dataset:
    """Load the relatedness generator as a Dataset, with the measured label correlation in info and notes."""
    # Imported here because datasets.py imports this module to build its registry.
    from mtl_core.data.registry import Dataset

    frame = generate_relatedness(p=p, c=c, m=m, d=d, n=n, seed=seed)
    measured = float(np.corrcoef(frame["y1"], frame["y2"])[0, 1]) if n > 1 else float("nan")
    notes = [
        f"Label correlation measured: {measured:.2f} (target p = {p:.2f}).",
        (
            "The sine terms and the noise make the labels less correlated than the "
            "weight vectors, whose cosine similarity is exactly p."
        ),
    ]
    # The noise variance is known, so the share of each label's variance it explains needs no
    # second pass; for some seeds the sine terms cancel the linear slope and the labels go flat.
    noise_share = min(1.0, NOISE_STD**2 / max(float(frame[["y1", "y2"]].var().min()), 1e-12))
    if noise_share > _NOISY_SHARE:
        notes.append(
            f"Labels are mostly noise for seed {seed}: noise explains about "
            f"{noise_share:.0%} of a label's variance (c is small, or the sine terms "
            "nearly cancel the linear term). Try another seed or a larger c."
        )
    info = {
        "p": p,
        "measured_correlation": measured,
        "c": c,
        "m": m,
        "d": d,
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
