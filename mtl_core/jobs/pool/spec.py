"""What a page hands the pool: a picklable description of the work, built in the worker process."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

#: Kinds of work, by the per-session limit they count against.
TRAINING = "training"
EXPERIMENT_KINDS = ("compare", "study", "tuning")


@dataclass
class WorkSpec:
    """``factory(*args, **kwargs)`` makes the ``Work`` (a ``TrainingJob`` for a training) in the worker."""

    kind: str
    factory: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = "Work"

    @classmethod
    def of(cls, kind: str, factory: type, *args: Any, **kwargs: Any) -> WorkSpec:
        """The spec of ``factory(*args, **kwargs)`` (a class importable by its module and name)."""
        return cls(kind, f"{factory.__module__}:{factory.__qualname__}", args, kwargs,
                   getattr(factory, "label", factory.__name__))

    def load(self) -> Any:
        """The factory itself (imported in the worker)."""
        module, _, name = self.factory.partition(":")
        return getattr(importlib.import_module(module), name)

    @property
    def group(self) -> str:
        """The per-session limit the work counts against: "training" or "experiment"."""
        return TRAINING if self.kind == TRAINING else "experiment"
