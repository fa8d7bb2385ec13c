"""String-keyed registries of weighting strategies and architectures, loaded lazily (no TensorFlow).

Each entry describes itself without importing its implementation: title, text, the numeric parameters it
takes (``ParamSpec``) and whether it uses the user's loss weights. The implementing class reads its defaults
and ranges from here, so a parameter is declared once.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

from mtl_core.errors import bad_value


@dataclass(frozen=True)
class ParamSpec:
    """A numeric parameter of a strategy: its name, default, the range it must lie in, and a help text."""

    name: str
    default: float
    low: float
    high: float
    low_open: bool = False
    help: str = ""

    def check(self, strategy: str, value: object) -> float:
        """``value`` as a float; ConfigError naming ``weighting_params[name]`` when out of range."""
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
              and self.low <= value <= self.high and not (self.low_open and value == self.low))
        if not ok:
            bound = ">" if self.low_open else ">="
            raise bad_value(f"weighting_params[{self.name!r}]", value,
                            f"expected a number {bound} {self.low:g} and <= {self.high:g} for weighting {strategy!r}")
        return float(value)


@dataclass(frozen=True)
class Entry:
    """One registry entry: a title and description for the UI, and the ``module:attribute`` that implements it."""

    name: str
    title: str
    description: str
    target: str
    params: tuple[ParamSpec, ...] = ()
    #: Whether the user's loss weights (the sliders) drive the weights; only ``fixed`` among the strategies.
    uses_user_weights: bool = False
    #: The TrainConfig fields an architecture reads besides the heads (the Model page shows their widgets).
    fields: tuple[str, ...] = ()
    #: Whether a weighting strategy changes the task gradients (PCGrad, MGDA, ...) rather than loss weights.
    changes_gradients: bool = False
    #: Whether a weighting strategy works on the shared layers' gradients, so a model without any can't use it.
    needs_shared_layers: bool = False

    @property
    def changes(self) -> str:
        """What a weighting strategy adjusts: ``"gradients"`` (PCGrad, MGDA, CAGrad, Nash-MTL) or ``"weights"``."""
        return "gradients" if self.changes_gradients else "weights"

    @property
    def sliders_note(self) -> str:
        """Why a strategy that does not use the loss-weight sliders leaves them alone (empty for ``fixed``)."""
        if self.uses_user_weights:
            return ""
        if self.changes == "gradients":
            return (f"{self.title} changes the tasks' gradients instead of weighting their losses, so the "
                    "sliders below are not used; the weights chart shows each task gradient's effective weight.")
        return f"{self.title} sets the loss weights itself, so the sliders below are not used."

    @property
    def weights_label(self) -> str:
        """What the per-epoch weights of a run with this strategy are, as the weights chart's title."""
        if self.changes == "gradients":
            return "Effective weights (each task gradient's coefficient in the update, epoch mean)"
        return "Loss weights in force"

    @property
    def weights_note(self) -> str:
        """A line under the weights chart saying how to read it (empty when the title says it all)."""
        if self.changes == "gradients":
            return (f"{self.title} changes gradients, not loss weights: each line is the coefficient of one "
                    "task's gradient in the combined update, averaged over the epoch.")
        return ""

    @property
    def param_specs(self) -> dict[str, ParamSpec]:
        """The parameters by name, in declaration order."""
        return {p.name: p for p in self.params}

    def load(self) -> object:
        """Import and return the implementing object."""
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


def _registry(*entries: Entry) -> dict[str, Entry]:
    return {e.name: e for e in entries}


WEIGHTINGS: dict[str, Entry] = _registry(
    Entry("fixed", "Fixed weights", "Your own loss weights, changeable while training runs.",
          "mtl_core.training.weighting.fixed:FixedWeighting", uses_user_weights=True),
    Entry("uncertainty", "Uncertainty weighting",
          "Learns each task's noise level; noisier tasks get less weight (Kendall et al., 2018).",
          "mtl_core.training.weighting.uncertainty:UncertaintyWeighting"),
    Entry("gradnorm", "GradNorm",
          "Balances gradient norms on the last shared layer; slower tasks get more weight (Chen et al., 2018).",
          "mtl_core.training.weighting.gradnorm:GradNormWeighting", needs_shared_layers=True,
          params=(ParamSpec("alpha", 1.5, 0.0, 10.0, help="asymmetry: how strongly slow tasks are pulled up"),
                  ParamSpec("lr", 0.025, 0.0, 10.0, low_open=True, help="learning rate of the weights"))),
    Entry("dwa", "Dynamic Weight Average",
          "Each epoch, more weight to the tasks whose loss fell least (Liu et al., 2019).",
          "mtl_core.training.weighting.dwa:DynamicWeightAverage",
          params=(ParamSpec("temperature", 2.0, 0.0, 1e3, low_open=True,
                            help="tau: higher values flatten the weights towards 1"),)),
    Entry("pcgrad", "PCGrad (gradient surgery)",
          "Changes gradients: removes the conflicting part of each task's shared-layer gradient (Yu et al., 2020).",
          "mtl_core.training.weighting.pcgrad:PCGradWeighting", changes_gradients=True, needs_shared_layers=True),
    Entry("rlw", "Random Loss Weighting",
          "Fresh random loss weights every step, a softmax of Gaussian noise (Lin et al., 2022).",
          "mtl_core.training.weighting.rlw:RandomLossWeighting"),
    Entry("mgda", "MGDA-UB",
          "Changes gradients: the min-norm combination of the shared-layer gradients, a step that lowers every "
          "task's loss (Sener & Koltun, 2018).",
          "mtl_core.training.weighting.mgda:MGDAWeighting", changes_gradients=True, needs_shared_layers=True),
    Entry("cagrad", "CAGrad",
          "Changes gradients: the step near the mean gradient that most helps the worst-off task "
          "(Liu et al., 2021).",
          "mtl_core.training.weighting.cagrad:CAGradWeighting", changes_gradients=True, needs_shared_layers=True,
          params=(ParamSpec("c", 0.5, 0.0, 10.0,
                            help="how far the step may leave the mean gradient, times its norm (0 = the mean)"),)),
    Entry("nashmtl", "Nash-MTL",
          "Changes gradients: the tasks bargain over the shared-layer step (Nash bargaining; Navon et al., 2022).",
          "mtl_core.training.weighting.nashmtl:NashMTLWeighting", changes_gradients=True, needs_shared_layers=True),
    Entry("famo", "FAMO",
          "More weight to the tasks whose loss falls slowest, from one extra loss evaluation per step and no "
          "per-task gradients (Liu et al., 2023).",
          "mtl_core.training.weighting.famo:FAMOWeighting",
          params=(ParamSpec("lr", 0.025, 0.0, 10.0, low_open=True, help="learning rate of the weights' logits"),
                  ParamSpec("gamma", 0.01, 0.0, 10.0, help="decay of the logits towards equal weights"))),
)

ARCHITECTURES: dict[str, Entry] = _registry(
    Entry("hard", "Hard parameter sharing", "A shared trunk of dense layers, then one head per task.",
          "mtl_core.models.hard_sharing:build_hard_sharing", fields=("shared",)),
    Entry("mmoe", "Multi-gate Mixture-of-Experts",
          "Shared experts mixed by one softmax gate per task, then a tower per task (Ma et al., KDD 2018).",
          "mtl_core.models.mmoe:build_mmoe", fields=("experts", "expert_units")),
)


def weighting_names() -> list[str]:
    """Names of the registered weighting strategies."""
    return list(WEIGHTINGS)


def architecture_names() -> list[str]:
    """Names of the registered architectures."""
    return list(ARCHITECTURES)


def check_weighting_params(strategy: str, params: dict[str, object]) -> dict[str, float]:
    """``params`` checked against the strategy's specs (as floats); ConfigError naming the first bad one."""
    specs = WEIGHTINGS[strategy].param_specs
    unknown = sorted(set(params) - set(specs))
    if unknown:
        valid = ", ".join(specs) if specs else "none"
        raise bad_value(f"weighting_params[{unknown[0]!r}]", params[unknown[0]],
                        f"not a parameter of weighting {strategy!r} (valid: {valid})")
    return {name: specs[name].check(strategy, value) for name, value in params.items()}


def resolve_weighting_params(strategy: str, params: dict[str, object]) -> dict[str, float]:
    """Every parameter of the strategy: its defaults overridden by the checked ``params``."""
    values = {name: spec.default for name, spec in WEIGHTINGS[strategy].param_specs.items()}
    values.update(check_weighting_params(strategy, params))
    return values
