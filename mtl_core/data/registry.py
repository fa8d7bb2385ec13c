"""Built-in datasets and generators, behind one registry and one missing-value policy."""

from __future__ import annotations

import copy
import functools
import importlib.util
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mtl_core.data.generators.plane import SHAPES, load_plane
from mtl_core.data.generators.relatedness import load_relatedness
from mtl_core.errors import DataError, bad_value, quoted

# Frames above this many cells are rebuilt on each call rather than kept in the cache.
_CACHE_MAX_CELLS = 2_000_000
# Per-column counts beyond this many are summarised so a note stays readable for wide CSVs.
_NOTE_MAX_COLUMNS = 8


@dataclass(frozen=True)
class ParamSpec:
    """A generator parameter with its default: a number in an inclusive range, or one of ``choices`` (kind str)."""

    name: str
    kind: type
    default: float | int | str
    low: float | int | None
    high: float | int | None
    help: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """A registry entry: how to describe a dataset and how to load it."""

    name: str
    title: str
    description: str
    suggested_tasks: tuple[str, ...]
    params: tuple[ParamSpec, ...] = ()
    loader: Callable[..., Dataset]


@dataclass
class Dataset:
    """A clean table (no missing values, RangeIndex) plus notes about how it was made."""

    name: str
    frame: pd.DataFrame
    notes: list[str]
    suggested_tasks: tuple[str, ...]
    info: dict = field(default_factory=dict)
    rows_dropped: int = 0


def drop_missing(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str], int]:
    """Drop every row with a missing value; return the clean frame, notes and the number of rows dropped."""
    missing = frame.isna()
    bad_rows = missing.any(axis=1)
    dropped = int(bad_rows.sum())
    total = len(frame)
    if dropped == 0:
        return frame.reset_index(drop=True), [], 0
    per_column = missing.sum()
    per_column = per_column[per_column > 0].sort_values(ascending=False, kind="stable")
    parts = [f"{name}: {int(count)}" for name, count in per_column.iloc[:_NOTE_MAX_COLUMNS].items()]
    if len(per_column) > _NOTE_MAX_COLUMNS:
        parts.append(f"and {len(per_column) - _NOTE_MAX_COLUMNS} more columns")
    if dropped == total:
        raise DataError(
            f"{source}: every one of the {total} rows has a missing value ({', '.join(parts)}); "
            "fill in the gaps or remove the columns that are mostly empty.",
            param=source, value=total,
        )
    clean = frame.loc[~bad_rows].reset_index(drop=True)
    note = f"Dropped {dropped} of {total} rows with missing values ({', '.join(parts)})."
    return clean, [note], dropped


def _from_arrays(name: str, data, columns, target_name: str, target, suggested: tuple[str, ...]) -> Dataset:
    frame = pd.DataFrame(data, columns=list(columns))
    frame[target_name] = target
    return Dataset(name=name, frame=frame, notes=[], suggested_tasks=suggested, info={})


# Loaders import sklearn and palmerpenguins lazily: importing this module must stay cheap
# because the dashboard's home page lists the registry before anything is loaded.
def _sklearn_data_file(name: str) -> Path | None:
    """A data file bundled with scikit-learn, found without importing it (its import costs a second or two)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / name
    return path if path.is_file() else None


def _load_iris() -> Dataset:
    columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    bundled = _sklearn_data_file("iris.csv")
    if bundled is not None:
        # The file load_iris reads: a header "150,4,setosa,versicolor,virginica", then four values and a class
        # index per row. Read directly, a CLI mistake on the default dataset is reported in well under a second.
        with bundled.open() as handle:
            names = handle.readline().strip().split(",")[2:]
            raw = pd.read_csv(handle, header=None)
        species = [names[int(t)] for t in raw[4]]
        return _from_arrays("iris", raw.iloc[:, :4].to_numpy(dtype=float), columns, "species", species,
                            ("species", "petal_width"))
    from sklearn.datasets import load_iris

    raw = load_iris()
    species = [str(raw.target_names[t]) for t in raw.target]
    return _from_arrays("iris", raw.data, columns, "species", species, ("species", "petal_width"))


def _load_penguins() -> Dataset:
    from palmerpenguins import load_penguins

    frame, notes, dropped = drop_missing(load_penguins(), "penguins")
    return Dataset(
        name="penguins",
        frame=frame,
        notes=notes,
        suggested_tasks=("species", "sex", "body_mass_g"),
        info={},
        rows_dropped=dropped,
    )


def _load_wine() -> Dataset:
    from sklearn.datasets import load_wine

    raw = load_wine()
    cultivar = [str(raw.target_names[t]) for t in raw.target]
    return _from_arrays(
        "wine",
        raw.data,
        raw.feature_names,
        "cultivar",
        cultivar,
        ("cultivar", "alcohol"),
    )


def _load_linnerud() -> Dataset:
    from sklearn.datasets import load_linnerud

    raw = load_linnerud()
    frame = pd.concat(
        [
            pd.DataFrame(raw.data, columns=list(raw.feature_names)),
            pd.DataFrame(raw.target, columns=list(raw.target_names)),
        ],
        axis=1,
    )
    return Dataset(
        name="linnerud",
        frame=frame,
        notes=[],
        suggested_tasks=("Weight", "Waist", "Pulse"),
        info={},
    )


def _load_diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes

    raw = load_diabetes(scaled=True)
    return _from_arrays(
        "diabetes",
        raw.data,
        raw.feature_names,
        "progression",
        raw.target,
        ("progression",),
    )


def _load_breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer()
    diagnosis = [str(raw.target_names[t]) for t in raw.target]
    return _from_arrays(
        "breast_cancer",
        raw.data,
        raw.feature_names,
        "diagnosis",
        diagnosis,
        ("diagnosis",),
    )


_RELATEDNESS_PARAMS = (
    ParamSpec(
        "p",
        float,
        0.8,
        -1.0,
        1.0,
        "Task relatedness: cosine similarity of the two tasks' weight vectors.",
    ),
    ParamSpec("c", float, 1.0, 0.01, 10.0, "Scale of the weight vectors."),
    ParamSpec("m", int, 3, 0, 50, "Number of sine terms that make the labels non-linear."),
    ParamSpec("d", int, 16, 2, 256, "Number of input features."),
    ParamSpec("noise", float, 1.0, 0.0, 10.0, "Standard deviation of each label's own noise."),
    ParamSpec("n", int, 4000, 10, 200_000, "Number of rows."),
    ParamSpec("seed", int, 0, 0, 2**31 - 1, "Random seed; the same seed gives the same data."),
)

_PLANE_PARAMS = (
    ParamSpec("shape", str, "gauss", None, None, "Task y1's shape: circle, xor, gauss or spiral (two classes), "
              "or surface (a regression).", choices=SHAPES),
    ParamSpec("shape2", str, "same", None, None, "Task y2's shape before it is rotated; same: y1's shape.",
              choices=("same",) + SHAPES),
    ParamSpec("angle", float, 0.0, 0.0, 180.0, "Relatedness: y2's pattern is y1's rotated by this many degrees; "
              "0 is the same task, 90 unrelated (xor is unrelated at 45; a circle is the same at every angle)."),
    ParamSpec("noise", float, 0.1, 0.0, 1.0, "Input noise: its standard deviation as a fraction of the plane's "
              "half-width (6)."),
    ParamSpec("n", int, 500, 10, 200_000, "Number of rows."),
    ParamSpec("seed", int, 0, 0, 2**31 - 1, "Random seed; the same seed gives the same data."),
)

DATASETS: dict[str, DatasetSpec] = {
    "iris": DatasetSpec(
        name="iris",
        title="Iris flowers",
        description="150 iris flowers with four measurements each; classify the species or regress a measurement.",
        suggested_tasks=("species", "petal_width"),
        loader=_load_iris,
    ),
    "penguins": DatasetSpec(
        name="penguins",
        title="Palmer penguins",
        description="Penguins of three species on three Antarctic islands (Gorman et al., 2014); "
        "rows with missing values are dropped.",
        suggested_tasks=("species", "sex", "body_mass_g"),
        loader=_load_penguins,
    ),
    "wine": DatasetSpec(
        name="wine",
        title="Wine cultivars",
        description="Chemical analysis of 178 Italian wines from three cultivars.",
        suggested_tasks=("cultivar", "alcohol"),
        loader=_load_wine,
    ),
    "linnerud": DatasetSpec(
        name="linnerud",
        title="Linnerud fitness",
        description="20 middle-aged men: three exercise counts as inputs and three body measurements as targets, "
        "a small homogeneous multi-output regression.",
        suggested_tasks=("Weight", "Waist", "Pulse"),
        loader=_load_linnerud,
    ),
    "diabetes": DatasetSpec(
        name="diabetes",
        title="Diabetes progression",
        description="442 diabetes patients with ten scaled baseline variables; regress disease progression "
        "one year later.",
        suggested_tasks=("progression",),
        loader=_load_diabetes,
    ),
    "breast_cancer": DatasetSpec(
        name="breast_cancer",
        title="Breast cancer diagnosis",
        description="569 breast tumour biopsies described by 30 cell-nucleus features; classify malignant or benign.",
        suggested_tasks=("diagnosis",),
        loader=_load_breast_cancer,
    ),
    "relatedness": DatasetSpec(
        name="relatedness",
        title="Synthetic task relatedness",
        description="Two regression tasks whose relatedness p you control, as in the MMoE paper (Ma et al., KDD 2018).",
        suggested_tasks=("y1", "y2"),
        params=_RELATEDNESS_PARAMS,
        loader=load_relatedness,
    ),
    "plane": DatasetSpec(
        name="plane", title="Two tasks on a plane",
        description="Two inputs and two tasks drawn from TensorFlow Playground's shapes; y2 is y1 rotated by an "
        "angle you choose (0°: the same task, 90°: unrelated).",
        suggested_tasks=("y1", "y2"), params=_PLANE_PARAMS, loader=load_plane,
    ),
}


def dataset_names() -> list[str]:
    """Registry keys in display order."""
    return list(DATASETS)


def get_spec(name: str) -> DatasetSpec:
    """Look up a dataset by name; raise DataError naming `dataset` and listing the valid names."""
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in DATASETS:
        valid = ", ".join(repr(n) for n in sorted(DATASETS))
        raise bad_value("dataset", name, f"expected one of {valid}", DataError)
    return DATASETS[key]


def _convert(spec: ParamSpec, value: object) -> float | int | str:
    label = f"dataset_param '{spec.name}'"
    if spec.choices:
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in spec.choices:
            raise bad_value(label, value, f"expected one of {', '.join(repr(c) for c in spec.choices)}", DataError)
        return text
    expected = f"expected {'an integer' if spec.kind is int else 'a number'} in [{spec.low:g}, {spec.high:g}]"
    number: float | None = None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif hasattr(value, "item") and not isinstance(value, bool):
        # numpy scalars arrive from sliders and arrays; .item() turns them into Python numbers.
        item = value.item()
        number = float(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else None
    if number is None or not math.isfinite(number):
        raise bad_value(label, value, expected, DataError)
    if spec.kind is int and not number.is_integer():
        raise bad_value(label, value, expected, DataError)
    # Every range fits well inside float precision, so going through float loses nothing.
    converted: float | int = int(number) if spec.kind is int else number
    if not spec.low <= converted <= spec.high:
        raise bad_value(label, value, expected, DataError)
    return converted


def _resolve_params(spec: DatasetSpec, params: Mapping | None) -> tuple[tuple[str, float | int], ...]:
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise bad_value(
            "dataset_params",
            params,
            "expected a mapping of parameter names to values",
            DataError,
        )
    by_name = {p.name: p for p in spec.params}
    for key in params:
        if key not in by_name:
            valid = (
                ", ".join(repr(n) for n in by_name) if by_name else f"none: dataset '{spec.name}' takes no parameters"
            )
            raise DataError(
                f"dataset_param {quoted(key)} is not a parameter of dataset '{spec.name}': valid keys are {valid}.",
                param=f"dataset_param {key!r}", value=params[key],
            )
    return tuple((p.name, _convert(p, params[p.name]) if p.name in params else p.default) for p in spec.params)


@functools.lru_cache(maxsize=16)
def _load_cached(name: str, values: tuple[tuple[str, float | int], ...]) -> Dataset:
    return DATASETS[name].loader(**dict(values))


def _copy(dataset: Dataset) -> Dataset:
    return Dataset(
        name=dataset.name,
        frame=dataset.frame.copy(deep=True),
        notes=list(dataset.notes),
        suggested_tasks=tuple(dataset.suggested_tasks),
        info=copy.deepcopy(dataset.info),
        rows_dropped=dataset.rows_dropped,
    )


def load_dataset(name: str, params: dict | None = None) -> Dataset:
    """Load a registered dataset, validating generator params; the returned frame is always a fresh copy."""
    spec = get_spec(name)
    values = _resolve_params(spec, params)
    as_dict = dict(values)
    # Only generators have n (rows) and d (features); a 200000 x 256 frame is too big to keep around.
    cells = int(as_dict.get("n", 0)) * (int(as_dict.get("d", 0)) + 2)
    if cells > _CACHE_MAX_CELLS:
        return spec.loader(**as_dict)
    return _copy(_load_cached(spec.name, values))
