"""What the landscape views are drawn over, without TensorFlow: axes, ranges, grid and sweep rows, data points.

A landscape is every task's prediction over a plane of two numeric inputs, the other inputs held at given raw
values; response curves sweep one input at a time. The rows built here are encoded as the model reads them
(``InputSchema.encode_row``), so ``mtl_core.models.landscape`` only has to run them through the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtl_core.data.prepare import SPLITS, InputSchema, Prepared
from mtl_core.errors import DataError, bad_value

#: Cells along each axis of a landscape.
RESOLUTION = 60
#: Points along each numeric input's response curve.
CURVE_POINTS = 50
#: Share of an input's data range added on each side of a landscape's axis, so points at the edge show.
MARGIN = 0.05


def axis_inputs(schema: InputSchema) -> list[str]:
    """The inputs a landscape can use as an axis: the numeric ones (a category has no axis between values)."""
    return [c for c in schema.columns if c not in schema.categories]


def default_axes(schema: InputSchema) -> tuple[str, str] | None:
    """The first two numeric inputs, or None when there are fewer than two."""
    numeric = axis_inputs(schema)
    return (numeric[0], numeric[1]) if len(numeric) >= 2 else None


def _column(schema: InputSchema, column: str) -> int:
    if column not in axis_inputs(schema):
        raise bad_value("axis", column, f"expected a numeric input: one of {axis_inputs(schema)}", DataError)
    return schema.encoded_names.index(column)


def input_bounds(prepared: Prepared, column: str, margin: float = MARGIN) -> tuple[float, float]:
    """The smallest and largest value of a numeric input over every split, widened by ``margin`` of the range."""
    index = _column(prepared.schema, column)
    values = np.concatenate([prepared.x[s][:, index] for s in SPLITS])
    low, high = float(values.min()), float(values.max())
    if high <= low:  # a constant input: a unit-wide range around it, so the axis still has a width
        return low - 0.5, high + 0.5
    pad = (high - low) * margin
    return low - pad, high + pad


@dataclass(frozen=True)
class Grid:
    """A plane of ``resolution`` x ``resolution`` encoded rows; row ``iy * resolution + ix`` is (x[ix], y[iy])."""

    x_name: str
    y_name: str
    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray

    @property
    def resolution(self) -> int:
        """Cells along each axis."""
        return len(self.x)


def grid_rows(schema: InputSchema, held: dict[str, object], x_name: str, y_name: str,
              x_bounds: tuple[float, float], y_bounds: tuple[float, float], resolution: int = RESOLUTION) -> Grid:
    """The encoded rows of a plane over two numeric inputs, every other input at its ``held`` raw value."""
    if x_name == y_name:
        raise bad_value("axis", y_name, "expected two different inputs", DataError)
    ix, iy = _column(schema, x_name), _column(schema, y_name)
    # Any value stands in for the axes' own inputs: they are overwritten below.
    base = schema.encode_row({**held, x_name: 0.0, y_name: 0.0})
    x = np.linspace(*x_bounds, resolution, dtype=np.float32)
    y = np.linspace(*y_bounds, resolution, dtype=np.float32)
    rows = np.repeat(base, resolution * resolution, axis=0)
    rows[:, ix] = np.tile(x, resolution)
    rows[:, iy] = np.repeat(y, resolution)
    return Grid(x_name, y_name, x, y, rows)


@dataclass(frozen=True)
class Sweep:
    """Rows that move one input at a time through its values, the others held; ``spans[c]`` slices c's rows."""

    values: dict[str, np.ndarray | list[str]]
    spans: dict[str, slice]
    rows: np.ndarray


def sweep_rows(prepared: Prepared, held: dict[str, object], points: int = CURVE_POINTS,
               columns: list[str] | None = None) -> Sweep:
    """For each input (``columns``, default all): its range in ``points`` steps (numeric, no margin) or each
    category, the others held."""
    schema = prepared.schema
    values: dict[str, np.ndarray | list[str]] = {}
    parts, spans, start = [], {}, 0
    for column in schema.columns if columns is None else columns:
        if column in schema.categories:
            column_values: np.ndarray | list[str] = list(schema.categories[column])
            block = np.concatenate([schema.encode_row({**held, column: v}) for v in column_values])
        else:
            column_values = np.linspace(*input_bounds(prepared, column, margin=0.0), points, dtype=np.float32)
            block = np.repeat(schema.encode_row({**held, column: 0.0}), points, axis=0)
            block[:, schema.encoded_names.index(column)] = column_values
        values[column] = column_values
        spans[column] = slice(start, start + len(block))
        start += len(block)
        parts.append(block)
    return Sweep(values, spans, np.concatenate(parts).astype(np.float32))


@dataclass(frozen=True)
class Points:
    """The data's rows on a plane: their two axis values and each task's target (class index or value)."""

    x: np.ndarray
    y: np.ndarray
    targets: dict[str, np.ndarray]


def data_points(prepared: Prepared, x_name: str, y_name: str, splits: tuple[str, ...] = ("train",)) -> Points:
    """The rows of ``splits`` placed on the (x_name, y_name) plane, with every task's target."""
    ix, iy = _column(prepared.schema, x_name), _column(prepared.schema, y_name)
    x = np.concatenate([prepared.x[s][:, ix] for s in splits])
    y = np.concatenate([prepared.x[s][:, iy] for s in splits])
    targets = {t.name: np.concatenate([prepared.y[s][t.name] for s in splits]) for t in prepared.tasks}
    return Points(x, y, targets)
