"""Let a finished training run's TensorFlow graph be freed, so a long-lived server doesn't grow with every run.

TensorFlow 2.21 keeps every traced training step forever: the Keras optimizer's gradient all-reduce goes through
``tf.custom_gradient``, which in graph mode registers its gradient closure in TensorFlow's process-wide gradient
registry under a fresh ``CustomGradient-N`` name and never removes it (tensorflow/tensorflow#97697). The closure
holds tensors of the traced graph, so the whole graph, about 12 MB for a small Trainer, outlives the run. Once a
run has finished its graph is never traced again, so those registry entries are dead; removing them lets Python
free the graph with the rest of the run.
"""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Iterator
from typing import Any

_log = logging.getLogger(__name__)
_PREFIX = "CustomGradient-"


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


def release_graphs(trainer: Any) -> int:
    """Drop the gradient-registry entries that hold ``trainer``'s traced graphs; returns how many.

    Call only after the trainer's run has finished. Entries of other trainers (other sessions training at the
    same time) hold other graphs and are left alone.
    """
    from tensorflow.python.framework import ops

    chunk = getattr(trainer, "_chunk", None)
    if chunk is None:
        return 0
    owners = {id(f.graph) for f in chunk._list_all_concrete_functions()}
    registry = ops._gradient_registry._registry
    removed = 0
    for key in [k for k in list(registry) if k.startswith(_PREFIX)]:
        entry = registry.get(key)
        tensor = next(_closure_tensors(entry["type"]), None) if entry else None
        if tensor is not None and _in_graphs(tensor.graph, owners):
            registry.pop(key, None)
            removed += 1
    return removed


def _wait_and_release(run: Any) -> None:
    run.join()
    try:
        release_graphs(run.trainer)
    except Exception:  # noqa: BLE001 - private TensorFlow internals may change; never break a run over it
        _log.warning("could not release the graph of a finished run", exc_info=True)


def release_when_finished(run: Any) -> None:
    """Free ``run``'s traced graph once it finishes (a small thread waits for it; the run itself is untouched)."""
    threading.Thread(target=_wait_and_release, args=(run,), name="mtl-release", daemon=True).start()
