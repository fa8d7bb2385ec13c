"""How many rows each split gets, without splitting (no scikit-learn), and a warning when the test split is tiny."""

from __future__ import annotations

import math

from mtl_core.fields import field

#: Fewer test rows than this and a test metric mostly measures which rows the split happened to pick.
MIN_TEST_ROWS = 10


def split_sizes(n_rows: int, val_fraction: float, test_fraction: float) -> dict[str, int]:
    """Rows in the train, val and test splits, as ``prepare`` cuts them (scikit-learn's ``ceil`` rule)."""
    holdout = val_fraction + test_fraction
    if holdout == 0 or n_rows == 0:
        return {"train": n_rows, "val": 0, "test": 0}
    # train_test_split holds out ceil(fraction * n) rows; prepare cuts the holdout, then splits it in two.
    rest = math.ceil(holdout * n_rows)
    if val_fraction == 0:
        return {"train": n_rows - rest, "val": 0, "test": rest}
    if test_fraction == 0:
        return {"train": n_rows - rest, "val": rest, "test": 0}
    test = math.ceil(test_fraction / holdout * rest)
    return {"train": n_rows - rest, "val": rest - test, "test": test}


def needed_test_fraction(n_rows: int, val_fraction: float, rows: int = MIN_TEST_ROWS) -> float | None:
    """The smallest test fraction on the widget's steps giving ``rows`` test rows (None when none does)."""
    spec = field("test_fraction")
    steps = round((spec.high - spec.low) / spec.step)
    for i in range(1, steps + 1):
        fraction = round(spec.low + i * spec.step, 10)
        sizes = split_sizes(n_rows, val_fraction, fraction)
        if sizes["test"] >= rows and sizes["train"] >= 2:
            return fraction
    return None


def small_test_warning(n_rows: int, val_fraction: float, test_fraction: float, where: str = "") -> str | None:
    """A warning naming the test rows and how to get more, when there are 1 to MIN_TEST_ROWS - 1 of them.

    ``where`` says where the test fraction is set (e.g. ``" (Model & losses, More settings)"``).
    """
    n_test = split_sizes(n_rows, val_fraction, test_fraction)["test"]
    if not 0 < n_test < MIN_TEST_ROWS:
        return None
    text = (f"Only {n_test} test row{'s' if n_test != 1 else ''} (test fraction {test_fraction:g} of {n_rows} "
            "rows): a test metric on so few rows mostly reflects which rows the split picked.")
    fraction = needed_test_fraction(n_rows, val_fraction)
    if fraction is None:
        return text + (f" With {n_rows} rows no test fraction up to {field('test_fraction').high:g} gives "
                       f"{MIN_TEST_ROWS}: read the test metrics as rough, or use more rows.")
    sizes = split_sizes(n_rows, val_fraction, fraction)
    return text + (f" A test fraction of {fraction:g}{where} gives {sizes['test']} test rows, leaving "
                   f"{sizes['train']} to train on.")
