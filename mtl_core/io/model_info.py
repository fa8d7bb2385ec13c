"""What a saved model carries beside its weights: its tasks, input schema and the config that made it."""

from __future__ import annotations

from dataclasses import dataclass, field

from mtl_core.data.prepare import InputSchema, Prepared
from mtl_core.data.tasks import Task

FORMAT = "mtl_core/1"


@dataclass
class ModelInfo:
    """Tasks (with classes and units), the input schema, and the run's config as a dict."""

    tasks: list[Task]
    schema: InputSchema
    config: dict = field(default_factory=dict)

    @classmethod
    def from_prepared(cls, prepared: Prepared, config: dict) -> ModelInfo:
        """The info of a model trained on ``prepared``."""
        return cls(list(prepared.tasks), prepared.schema, config)

    @property
    def task_names(self) -> list[str]:
        """Task names in order."""
        return [t.name for t in self.tasks]

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"format": FORMAT, "tasks": [t.to_dict() for t in self.tasks], "inputs": self.schema.to_dict(),
                "config": self.config}

    @classmethod
    def from_dict(cls, data: dict) -> ModelInfo:
        """Inverse of ``to_dict``."""
        return cls([Task.from_dict(t) for t in data["tasks"]], InputSchema.from_dict(data["inputs"]),
                   dict(data.get("config", {})))
