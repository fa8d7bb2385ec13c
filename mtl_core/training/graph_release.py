"""Let a finished Trainer's traced TensorFlow graphs be freed, so a long-lived process doesn't grow with every run.

TensorFlow 2.21 keeps every traced training step forever: the Keras optimizer's gradient all-reduce goes through
``tf.custom_gradient``, which in graph mode registers its gradient closure in TensorFlow's process-wide gradient
registry under a fresh ``CustomGradient-N`` name and never removes it (tensorflow/tensorflow#97697). The closure
holds tensors of the traced graph, so the whole graph, about 12 MB for a small Trainer, outlives the run. Once a
run has finished its graph is never traced again, so those registry entries are dead; removing them lets Python
free the graph with the rest of the run.

This is the one module that touches TensorFlow's private internals for it; ``tests/test_graph_release.py`` fails
loudly when a TensorFlow upgrade changes them.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator
from typing import Any

_log = logging.getLogger(__name__)
PREFIX = "CustomGradient-"


def gradient_registry() -> dict:
    """TensorFlow's process-wide gradient registry (private); RuntimeError saying what changed if it is gone."""
    from tensorflow.python.framework import ops

    from mtl_core._tf import tf  # TensorFlow loads (quietly) through the one place that imports it

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        raise RuntimeError(f"TensorFlow {tf.__version__} has no dict at tensorflow.python.framework.ops."
                           "_gradient_registry._registry; mtl_core/training/graph_release.py must be updated, or "
                           "every finished Trainer keeps its traced graph (about 12 MB) for the process's life")
    return registry


def trainer_graphs(trainer: Any) -> set[int]:
    """The ids of the graphs traced for ``trainer``'s compiled chunk of epochs (empty before the first run)."""
    chunk = trainer._chunk  # the Trainer's tf.function
    listing = getattr(chunk, "_list_all_concrete_functions", None)
    if listing is None:
        raise RuntimeError("tf.function has no _list_all_concrete_functions(); mtl_core/training/graph_release.py "
                           "must be updated")
    return {id(f.graph) for f in listing()}


def _closure_tensors(fn: Any, depth: int = 0) -> Iterator[Any]:
    """Graph tensors a registered gradient function holds through its (nested) closures."""
    if depth > 3 or not isinstance(fn, types.FunctionType):
        return
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, types.FunctionType):
                yield from _closure_tensors(item, depth + 1)
            elif type(item).__name__ == "SymbolicTensor":
                yield item


def _in_graphs(graph: Any, owners: set[int]) -> bool:
    while graph is not None:
        if id(graph) in owners:
            return True
        graph = getattr(graph, "outer_graph", None)
    return False


def owned_entries(trainer: Any) -> list[str]:
    """The registry's ``CustomGradient-`` keys whose gradient closures hold tensors of ``trainer``'s graphs."""
    owners = trainer_graphs(trainer)
    if not owners:
        return []
    registry = gradient_registry()
    owned = []
    for key in [k for k in list(registry) if k.startswith(PREFIX)]:
        entry = registry.get(key)
        tensor = next(_closure_tensors(entry["type"]), None) if entry else None
        if tensor is not None and _in_graphs(tensor.graph, owners):
            owned.append(key)
    return owned


def release_graphs(trainer: Any) -> int:
    """Drop the gradient-registry entries that hold ``trainer``'s traced graphs; returns how many.

    Call only after the trainer's run has finished. Entries of other trainers (other jobs training at the
    same time) hold other graphs and are left alone.
    """
    registry = gradient_registry()
    keys = owned_entries(trainer)
    for key in keys:
        registry.pop(key, None)
    return len(keys)


def release_quietly(trainer: Any) -> int:
    """``release_graphs``, logging a warning instead of raising: a change in TensorFlow's internals must never
    break a run (it only costs memory; the test suite reports it)."""
    try:
        return release_graphs(trainer)
    except Exception:  # noqa: BLE001 - private TensorFlow internals may change
        _log.warning("could not release the traced graphs of a finished Trainer", exc_info=True)
        return 0
