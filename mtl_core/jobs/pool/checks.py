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
    elif name in ("mtl_core.experiments.relatedness_study:RelatednessStudy", "mtl_core.tuning.job:Tuning"):
        # Their constructors only validate (a tuning run's also opens its study's storage), without TensorFlow.
        factory(*args, **kwargs)


def check_shared_layers(config: Any) -> None:
    """The ConfigError a strategy on shared-layer gradients raises when the model is built with none (hard
    sharing with no trunk layer), raised here without TensorFlow; MMoE's experts are always shared."""
    from mtl_core.errors import bad_value
    from mtl_core.registries import WEIGHTINGS

    entry = WEIGHTINGS.get(config.weighting)
    if entry is not None and entry.needs_shared_layers and config.arch == "hard" and not config.shared:
        raise bad_value("weighting", config.weighting, SHARED_LAYERS_NEEDED)


#: Why a strategy on shared-layer gradients can't train a model without shared layers (also raised at build).
SHARED_LAYERS_NEEDED = ("this strategy compares the tasks' gradients on the shared layers, and the model has "
                        "none; add a shared layer (e.g. shared=[16]) or use 'fixed'")


def warm() -> None:
    """Import what a press of Train needs in the page (data preparation, scikit-learn's splitter) ahead of time."""
    import sklearn.model_selection  # noqa: F401

    import mtl_core.data.prepare  # noqa: F401
