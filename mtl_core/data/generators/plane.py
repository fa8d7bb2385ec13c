"""Two inputs, two tasks on a plane, as in TensorFlow Playground: circle, xor, gauss, spiral, and a surface.

Points are drawn uniformly on the square [-6, 6]²; each task's label is a shape read at the clean point, task 2's
at the point rotated by ``angle`` degrees about the origin (task 2 = task 1 rotated), and the inputs the network
sees are the points plus Gaussian noise. So at 0° both tasks have identical labels, and rotating the pattern a
quarter turn makes gauss, spiral and surface labels unrelated to the unrotated ones (a quarter turn mirrors xor,
which is unrelated at 45°; a circle centred on the origin is the same at every angle).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mtl_core.errors import DataError, bad_value

if TYPE_CHECKING:
    from mtl_core.data.registry import Dataset

#: Half the side of the square the points are drawn on (TensorFlow Playground's range).
HALF_WIDTH = 6.0
CLASSIFICATION_SHAPES = ("circle", "xor", "gauss", "spiral")
REGRESSION_SHAPES = ("surface",)
SHAPES = CLASSIFICATION_SHAPES + REGRESSION_SHAPES
#: The two classes, named after TensorFlow Playground's colours (positive blue, negative orange).
CLASSES = ("blue", "orange")
INPUTS = ("x1", "x2")
TASKS = ("y1", "y2")
# Radius splitting the square into two nearly equal areas (pi r^2 = half of 12^2 would leave the corners out).
_CIRCLE_RADIUS = 4.0
# Turns of the spiral per unit of radius.
_SPIRAL_TWIST = 0.9


def _score(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A signed score whose sign is the class (classification shapes) or the value itself (surface)."""
    if shape == "circle":
        return _CIRCLE_RADIUS - np.hypot(x, y)
    if shape == "xor":
        return x * y
    if shape == "gauss":
        # The nearer of two Gaussian clusters centred on (2, 2) and (-2, -2): a straight boundary between them.
        return x + y
    if shape == "spiral":
        return np.sin(np.arctan2(y, x) + _SPIRAL_TWIST * np.hypot(x, y))
    # A tilted plane with a ripple along its slope; cos(pi u / 6) averages to zero over the square, so a quarter
    # turn of this surface is uncorrelated with it.
    return (x + y) / HALF_WIDTH + 0.5 * np.cos(math.pi * (x - y) / HALF_WIDTH)


def shape_labels(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The labels of ``shape`` at points (x, y): class names for a classification shape, numbers for surface."""
    score = _score(shape, x, y)
    if shape in REGRESSION_SHAPES:
        return np.round(score, 6)
    return np.where(score >= 0, CLASSES[0], CLASSES[1])


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise bad_value(name, value, f"expected one of {', '.join(repr(c) for c in choices)}", DataError)
    return value


def _check_real(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not low <= float(value) <= high:
        raise bad_value(name, value, f"expected a number in [{low:g}, {high:g}]", DataError)
    return float(value)


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < low:
        raise bad_value(name, value, f"expected an integer >= {low}", DataError)
    return int(value)


def generate_plane(
    shape: str = "gauss",
    shape2: str = "same",
    angle: float = 0.0,
    noise: float = 0.1,
    n: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Generate n rows of inputs x1, x2 and tasks y1 (``shape``) and y2 (``shape2``, rotated by ``angle`` degrees).

    ``noise`` is the standard deviation of the Gaussian noise added to each input, as a fraction of the half-width
    of the square (6); labels are read at the clean points, so noise blurs the boundary without relabelling.
    """
    shape = _check_choice("shape", shape, SHAPES)
    shape2 = _check_choice("shape2", shape2, ("same",) + SHAPES)
    angle = _check_real("angle", angle, -360.0, 360.0)
    noise = _check_real("noise", noise, 0.0, math.inf)
    n = _check_int("n", n, 1)
    seed = _check_int("seed", seed, 0)

    rng = np.random.default_rng(seed)
    points = rng.uniform(-HALF_WIDTH, HALF_WIDTH, size=(n, 2))
    jitter = rng.normal(0.0, noise * HALF_WIDTH, size=(n, 2))
    x, y = points[:, 0], points[:, 1]
    # Reading the shape at the point rotated by -angle draws the pattern rotated by +angle.
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    x_rot, y_rot = cos * x + sin * y, -sin * x + cos * y
    inputs = points + jitter
    frame = pd.DataFrame({INPUTS[0]: inputs[:, 0], INPUTS[1]: inputs[:, 1]})
    frame[TASKS[0]] = shape_labels(shape, x, y)
    frame[TASKS[1]] = shape_labels(shape if shape2 == "same" else shape2, x_rot, y_rot)
    return frame


def task_agreement(frame: pd.DataFrame) -> float:
    """How alike the two tasks' labels are: share of equal classes, or the Pearson correlation of numbers.

    Both classification: share of rows with equal labels (1 = identical, 0.5 = unrelated, 0 = swapped).
    Otherwise: the correlation of the labels read as numbers (blue = 1, orange = 0).
    """
    first, second = frame[TASKS[0]], frame[TASKS[1]]
    numeric = [pd.api.types.is_numeric_dtype(s) for s in (first, second)]
    if not any(numeric):
        return float((first == second).mean())
    as_numbers = [s.astype(float) if is_number else s.eq(CLASSES[0]).astype(float)
                  for s, is_number in zip((first, second), numeric)]
    if len(frame) < 2 or min(float(s.std()) for s in as_numbers) == 0:
        return float("nan")
    return float(np.corrcoef(as_numbers[0], as_numbers[1])[0, 1])


def load_plane(
    shape: str = "gauss",
    shape2: str = "same",
    angle: float = 0.0,
    noise: float = 0.1,
    n: int = 500,
    seed: int = 0,
) -> Dataset:
    """Load the plane generator as a Dataset, with how alike its two tasks came out in info and notes."""
    # Imported here because the registry imports this module to build itself.
    from mtl_core.data.registry import Dataset

    frame = generate_plane(shape=shape, shape2=shape2, angle=angle, noise=noise, n=n, seed=seed)
    second = shape if shape2 == "same" else shape2
    agreement = task_agreement(frame)
    both_classes = shape in CLASSIFICATION_SHAPES and second in CLASSIFICATION_SHAPES
    measured = f"labels equal on {agreement:.0%} of rows" if both_classes else f"label correlation {agreement:.2f}"
    notes = [f"y1 is {shape}, y2 is {second} rotated by {angle:g}°: {measured}."]
    if second == shape == "circle":
        notes.append("A circle centred on the origin looks the same at every angle: choose another shape2 "
                     "to make the tasks differ.")
    info = {"shape": shape, "shape2": second, "angle": angle, "noise": noise, "n": n, "seed": seed,
            "agreement": agreement}
    return Dataset(name="plane", frame=frame, notes=notes, suggested_tasks=TASKS, info=info)
