"""The TF-free checks a page runs before handing work to the pool, so bad input raises in the page as it would
when the work is built there (the work itself is built in the worker)."""

from __future__ import annotations

from typing import Any


def precheck(factory: type, *args: Any, **kwargs: Any) -> None:
    """Raise the MTLError that building ``factory(*args, **kwargs)`` would raise, without TensorFlow."""
    name = f"{factory.__module__}:{factory.__qualname__}"
    if name == "mtl_core.experiments.compare:ComparisonRun":
        from mtl_core.data.prepare import prepare
        from mtl_core.experiments.compare import check_comparable

        config, frame = args[0], args[1]
        prepare(frame, check_comparable(config))
    elif name == "mtl_core.experiments.relatedness_study:RelatednessStudy":
        factory(*args, **kwargs)  # its constructor only validates


def warm() -> None:
    """Import what a press of Train needs in the page (data preparation, scikit-learn's splitter) ahead of time."""
    import sklearn.model_selection  # noqa: F401

    import mtl_core.data.prepare  # noqa: F401
