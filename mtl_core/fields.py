"""The field table of ``TrainConfig``: for each field its type, range, URL key, CLI flag and widget step.

One row per field, read by validation (``config.validate_config``), share links (``ui/share.py``), the CLI
parser (``cli/options.py``, ``cli/compare.py``) and the page widgets, so a bound or a name is written once.
No TensorFlow, no Streamlit. The default of each field is the dataclass default (``Field.default``).

Kinds: ``int``, ``float``, ``str``, ``bool`` are plain settings (generic everywhere); ``"sizes"`` is a list
of layer sizes; ``"pairs"`` a mapping written ``KEY=VALUE`` on the command line; ``"data"`` the fields that
choose rows and tasks, which the data flags and pages handle themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TASK_KINDS = ("regression", "binary", "multiclass")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu", "selu", "swish", "linear")
REGRESSION_LOSSES = ("mse", "huber")
MAX_LAYER_UNITS = 4096
#: The most hidden layers a trunk or a head may have (the /model editor draws one box per layer).
MAX_LAYERS = 6
MAX_EPOCHS = 100_000
MAX_SEED = 2**31 - 1


def _architectures() -> tuple[str, ...]:
    from mtl_core.registries import ARCHITECTURES

    return tuple(ARCHITECTURES)


def _weightings() -> tuple[str, ...]:
    from mtl_core.registries import WEIGHTINGS

    return tuple(WEIGHTINGS)


@dataclass(frozen=True)
class Field:
    """One TrainConfig field: how it is typed, bounded, spelled in a link and on the command line, and stepped."""

    name: str
    kind: type | str
    low: float | None = None
    high: float | None = None
    #: True when ``low`` itself is not allowed (``lr > 0``).
    low_open: bool = False
    #: The allowed strings (a tuple, or a function of none for registry-backed choices).
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    #: The short key in a share link (``?lr=0.01``), None when links don't carry the field.
    url: str | None = None
    #: The command-line flag (``--batch-size``), None when there is none.
    flag: str | None = None
    #: The label of one item in CLI messages (``loss_weight['species']``), for ``"pairs"`` fields.
    item: str | None = None
    #: The widget step, and a widget maximum when it is tighter than the validation range (sliders).
    step: float | None = None
    widget_high: float | None = None
    help: str = ""
    metavar: str | None = None
    #: Whether the relatedness study takes the flag (``compare --study-p``; its seeds and models have own flags).
    study: bool = False
    #: The most layers a ``"sizes"`` field may list.
    max_layers: int | None = None

    @property
    def default(self) -> Any:
        """The dataclass default of the field."""
        import dataclasses

        from mtl_core.config import TrainConfig

        spec = next(f for f in dataclasses.fields(TrainConfig) if f.name == self.name)
        return spec.default_factory() if spec.default is dataclasses.MISSING else spec.default

    @property
    def scalar(self) -> bool:
        """A plain int, float, str or bool setting."""
        return self.kind in (int, float, str, bool)

    @property
    def dest(self) -> str | None:
        """The argparse attribute of the flag (``--batch-size`` -> ``batch_size``)."""
        return self.flag[2:].replace("-", "_") if self.flag else None

    def options(self) -> tuple[str, ...]:
        """The allowed strings of a choice field."""
        return self.choices() if callable(self.choices) else tuple(self.choices or ())

    def cli_help(self) -> str | None:
        """The flag's help text, with the choices where there are some."""
        parts = [self.help] if self.help else []
        if self.choices is not None:
            parts.append(", ".join(self.options()))
        return ": ".join(parts) or None

    def widget_bounds(self) -> dict[str, Any]:
        """``min_value``, ``max_value`` and ``step`` for a Streamlit number input or slider."""
        cast = int if self.kind in (int, "sizes") else float  # layer sizes are whole numbers
        out: dict[str, Any] = {}
        if self.low is not None:
            out["min_value"] = cast(self.low)
        high = self.widget_high if self.widget_high is not None else self.high
        if high is not None and math.isfinite(high):
            out["max_value"] = cast(high)
        if self.step is not None:
            out["step"] = cast(self.step)
        return out


# In the order of share links and CLI help (the URL's key order is part of what a link looks like).
_TABLE = (
    Field("dataset", "data", url="ds", flag="--dataset", help="a built-in dataset (see `datasets`)"),
    Field("dataset_params", "pairs", url="d.", flag="--dataset-param", item="dataset_param", metavar="KEY=VALUE",
          help="a generator parameter, e.g. p=0.9 (repeatable)"),
    Field("tasks", "data", url="t", flag="--task", metavar="COL[:KIND]",
          help="a target column, optionally :regression, :binary or :multiclass (repeatable)"),
    Field("inputs", "data", url="in", flag="--inputs", metavar="COL,COL",
          help="input columns (default: every other column)"),
    Field("arch", str, choices=_architectures, url="a", flag="--arch", help="architecture"),
    Field("shared", "sizes", low=1, high=MAX_LAYER_UNITS, step=1, max_layers=MAX_LAYERS, url="sh",
          flag="--shared", metavar="32,16",
          help="shared trunk layer sizes"),
    Field("head", "sizes", low=1, high=MAX_LAYER_UNITS, step=1, max_layers=MAX_LAYERS, url="hd",
          flag="--head", metavar="8",
          help="each task head's hidden layer sizes ('' for none)"),
    Field("heads", "sizes", low=1, high=MAX_LAYER_UNITS, step=1, max_layers=MAX_LAYERS, url="h."),
    Field("experts", int, 1, 64, step=1, url="ex", flag="--experts", help="MMoE: number of experts", study=True),
    Field("expert_units", int, 1, MAX_LAYER_UNITS, step=1, url="eu", flag="--expert-units",
          help="MMoE: units per expert", study=True),
    Field("activation", str, choices=ACTIVATIONS, url="act", flag="--activation", study=True),
    Field("dropout", float, 0.0, 0.95, step=0.05, url="do", flag="--dropout", study=True),
    Field("l2", float, 0.0, 10.0, step=0.0001, url="l2", flag="--l2", study=True),
    Field("optimizer", str, choices=OPTIMIZERS, url="opt", flag="--optimizer", study=True),
    Field("lr", float, 0.0, 100.0, low_open=True, step=0.001, url="lr", flag="--lr", study=True),
    Field("batch_size", int, 1, 1_000_000, step=8, url="bs", flag="--batch-size", study=True),
    Field("epochs", int, 1, MAX_EPOCHS, step=10, url="ep", flag="--epochs", study=True),
    Field("loss_weights", "pairs", 0.0, math.inf, step=0.05, widget_high=5.0, url="w", flag="--loss-weight",
          item="loss_weight", metavar="COL=W"),
    Field("weighting", str, choices=_weightings, url="wt", flag="--weighting", help="loss weighting", study=True),
    Field("weighting_params", "pairs", url="wp.", flag="--weighting-param", item="weighting_param",
          metavar="KEY=VALUE"),
    Field("regression_loss", str, choices=REGRESSION_LOSSES, url="rl", flag="--regression-loss", study=True),
    Field("early_stopping", bool, url="es", flag="--early-stopping", study=True,
          help="end when the validation loss has not improved for --patience epochs and keep the best epoch's "
               "weights (on by default)"),
    Field("patience", int, 1, MAX_EPOCHS, step=1, url="pat", flag="--patience", study=True,
          help="epochs without a better validation loss before early stopping ends the run"),
    Field("val_fraction", float, 0.0, 0.5, step=0.05, url="vf"),
    Field("test_fraction", float, 0.0, 0.5, step=0.05, url="tf"),
    Field("standardize_inputs", bool, url="std"),
    Field("conflict_every", int, 0, MAX_EPOCHS, step=1, url="ce", flag="--conflict-every",
          help="gradient conflict every k epochs (0: off)"),
    Field("seed", int, 0, MAX_SEED, step=1, url="seed", flag="--seed"),
)

FIELDS: dict[str, Field] = {f.name: f for f in _TABLE}


def field(name: str) -> Field:
    """The table row of one TrainConfig field."""
    return FIELDS[name]


def scalar_fields() -> list[Field]:
    """The plain int/float/str/bool settings, in table order."""
    return [f for f in FIELDS.values() if f.scalar]


def widget_bounds(name: str) -> dict[str, Any]:
    """``min_value``, ``max_value`` and ``step`` of a field's widget (see ``Field.widget_bounds``)."""
    return FIELDS[name].widget_bounds()
