"""String-keyed registries of weighting strategies and architectures, loaded lazily (no TensorFlow)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One registry entry: a title and description for the UI, and the ``module:attribute`` that implements it."""

    name: str
    title: str
    description: str
    target: str

    def load(self) -> object:
        """Import and return the implementing object."""
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


def _registry(*entries: Entry) -> dict[str, Entry]:
    return {e.name: e for e in entries}


WEIGHTINGS: dict[str, Entry] = _registry(
    Entry("fixed", "Fixed weights", "Your own loss weights, changeable while training runs.",
          "mtl_core.training.weighting.fixed:FixedWeighting"),
    Entry("uncertainty", "Uncertainty weighting",
          "Learns each task's noise level; noisier tasks get less weight (Kendall et al., 2018).",
          "mtl_core.training.weighting.uncertainty:UncertaintyWeighting"),
    Entry("gradnorm", "GradNorm",
          "Balances gradient norms on the last shared layer; slower tasks get more weight (Chen et al., 2018).",
          "mtl_core.training.weighting.gradnorm:GradNormWeighting"),
    Entry("dwa", "Dynamic Weight Average",
          "Each epoch, more weight to the tasks whose loss fell least (Liu et al., 2019).",
          "mtl_core.training.weighting.dwa:DynamicWeightAverage"),
    Entry("pcgrad", "PCGrad (gradient surgery)",
          "Removes the conflicting part of each task's shared-layer gradient (Yu et al., 2020).",
          "mtl_core.training.weighting.pcgrad:PCGradWeighting"),
)

ARCHITECTURES: dict[str, Entry] = _registry(
    Entry("hard", "Hard parameter sharing", "A shared trunk of dense layers, then one head per task.",
          "mtl_core.models.hard_sharing:build_hard_sharing"),
    Entry("mmoe", "Multi-gate Mixture-of-Experts",
          "Shared experts mixed by one softmax gate per task, then a tower per task (Ma et al., KDD 2018).",
          "mtl_core.models.mmoe:build_mmoe"),
)


def weighting_names() -> list[str]:
    """Names of the registered weighting strategies."""
    return list(WEIGHTINGS)


def architecture_names() -> list[str]:
    """Names of the registered architectures."""
    return list(ARCHITECTURES)
