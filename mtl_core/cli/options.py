"""The flags that build a TrainConfig (shared by train and compare), and reading a saved config file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mtl_core.config import TaskSpec, TrainConfig, parse_sizes, validate_config
from mtl_core.errors import bad_value
from mtl_core.fields import FIELDS, Field
from mtl_core.presets import PRESETS, get_preset


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _add_flag(parser: argparse.ArgumentParser, spec: Field) -> None:
    """One flag from its row of the field table."""
    if spec.kind is bool:
        # --early-stopping / --no-early-stopping: a default that is on needs a way to turn it off.
        parser.add_argument(spec.flag, action=argparse.BooleanOptionalAction, default=None, help=spec.cli_help())
    elif spec.kind in (int, float):
        parser.add_argument(spec.flag, type=spec.kind, help=spec.cli_help())
    elif spec.kind == "pairs" or spec.name in _REPEATED:
        parser.add_argument(spec.flag, action="append", type=_key_value if spec.kind == "pairs" else None,
                            default=[], metavar=spec.metavar, help=spec.cli_help())
    else:
        parser.add_argument(spec.flag, metavar=spec.metavar, help=spec.cli_help())


# Data fields whose flag is given once per item (``--task a --task b``).
_REPEATED = ("tasks",)
_DATA_FIELDS = ("dataset", "dataset_params", "tasks", "inputs")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that choose the rows and the tasks (shared by train and compare)."""
    source = parser.add_mutually_exclusive_group()
    _add_flag(source, FIELDS["dataset"])
    source.add_argument("--csv", metavar="PATH", help="a CSV file of your own")
    for name in _DATA_FIELDS[1:]:
        _add_flag(parser, FIELDS[name])


def model_fields() -> list[Field]:
    """The rows of the field table with a flag of ``add_model_arguments``, in table order."""
    return [f for f in FIELDS.values() if f.flag and f.name not in _DATA_FIELDS]


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that shape the network and the optimisation (shared by train and compare), from the field table."""
    parser.add_argument("--preset", help=f"start from a preset: {', '.join(PRESETS)}")
    parser.add_argument("--config", metavar="FILE", help="start from a saved run's config JSON")
    for spec in model_fields():
        _add_flag(parser, spec)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _number(param: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise bad_value(param, text, "expected a number") from None


def apply_model_flags(config: TrainConfig, args: argparse.Namespace, names: list[str] | None = None) -> None:
    """Copy every model flag given (not None/empty) onto ``config``; ``names`` limits which fields."""
    for spec in model_fields():
        if names is not None and spec.name not in names:
            continue
        value = getattr(args, spec.dest)
        if spec.kind == "sizes":
            if value is not None:
                setattr(config, spec.name, parse_sizes(spec.name, value))
        elif spec.kind == "pairs":
            target = getattr(config, spec.name)
            for key, text in value:
                target[key] = _number(f"{spec.item}[{key!r}]", text)
        elif value is not None:
            setattr(config, spec.name, value)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Build and validate a config: preset or config file first, then every flag given."""
    if args.preset and args.config:
        raise bad_value("config", args.config, "use either --preset or --config, not both")
    if args.config:
        config = read_config_file(args.config)
    elif args.preset:
        config = get_preset(args.preset).make_config()
    else:
        config = TrainConfig(dataset="")
    if args.dataset:
        config.dataset = args.dataset
        if not args.preset:
            config.dataset_params = {}
    if args.csv:
        config.dataset = f"csv:{args.csv}"
    for key, value in args.dataset_param:
        config.dataset_params[key] = value
    if args.task:
        config.tasks = [TaskSpec.parse(t) for t in args.task]
        config.loss_weights = {}
        config.heads = {}
    if args.inputs is not None:
        config.inputs = [c.strip() for c in args.inputs.split(",") if c.strip()] or None
    apply_model_flags(config, args)
    if not config.dataset:
        raise bad_value("dataset", None, "choose a dataset with --dataset NAME, --csv PATH or --preset NAME")
    return validate_config(config)


def read_config_file(path: str) -> TrainConfig:
    """Read a config JSON: either a bare config or a run's JSON with a ``config`` key."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise bad_value("config", path, "no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_value("config", path, f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(type(data), "a number")
        raise bad_value("config", path, f"expected a JSON object (a config or a run's JSON), the file holds {kind}")
    if isinstance(data.get("config"), dict):
        data = data["config"]
    return TrainConfig.from_dict(data)
