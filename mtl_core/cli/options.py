"""The flags that build a TrainConfig (shared by train and compare), and reading a saved config file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mtl_core.config import TaskSpec, TrainConfig, parse_sizes, validate_config
from mtl_core.errors import bad_value
from mtl_core.presets import PRESETS, get_preset
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that choose the rows and the tasks (shared by train and compare)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", help="a built-in dataset (see `datasets`)")
    source.add_argument("--csv", metavar="PATH", help="a CSV file of your own")
    parser.add_argument("--dataset-param", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                        help="a generator parameter, e.g. p=0.9 (repeatable)")
    parser.add_argument("--task", action="append", default=[], metavar="COL[:KIND]",
                        help="a target column, optionally :regression, :binary or :multiclass (repeatable)")
    parser.add_argument("--inputs", metavar="COL,COL", help="input columns (default: every other column)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that shape the network and the optimisation (shared by train and compare)."""
    parser.add_argument("--preset", help=f"start from a preset: {', '.join(PRESETS)}")
    parser.add_argument("--config", metavar="FILE", help="start from a saved run's config JSON")
    parser.add_argument("--arch", help=f"architecture: {', '.join(ARCHITECTURES)}")
    parser.add_argument("--shared", metavar="32,16", help="shared trunk layer sizes")
    parser.add_argument("--head", metavar="8", help="each task head's hidden layer sizes ('' for none)")
    parser.add_argument("--experts", type=int, help="MMoE: number of experts")
    parser.add_argument("--expert-units", type=int, help="MMoE: units per expert")
    parser.add_argument("--activation")
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--l2", type=float)
    parser.add_argument("--optimizer")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--loss-weight", action="append", type=_key_value, default=[], metavar="COL=W")
    parser.add_argument("--weighting", help=f"loss weighting: {', '.join(WEIGHTINGS)}")
    parser.add_argument("--weighting-param", action="append", type=_key_value, default=[], metavar="KEY=VALUE")
    parser.add_argument("--regression-loss", help="mse or huber")
    parser.add_argument("--early-stopping", action="store_true", default=None)
    parser.add_argument("--patience", type=int)
    parser.add_argument("--conflict-every", type=int, help="gradient conflict every k epochs (0: off)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _number(param: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise bad_value(param, text, "expected a number") from None


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
    if args.shared is not None:
        config.shared = parse_sizes("shared", args.shared)
    if args.head is not None:
        config.head = parse_sizes("head", args.head)
    simple = {"arch": "arch", "experts": "experts", "expert_units": "expert_units", "activation": "activation",
              "dropout": "dropout", "l2": "l2", "optimizer": "optimizer", "lr": "lr", "batch_size": "batch_size",
              "epochs": "epochs", "weighting": "weighting", "regression_loss": "regression_loss",
              "early_stopping": "early_stopping", "patience": "patience", "conflict_every": "conflict_every",
              "seed": "seed"}
    for arg, field_name in simple.items():
        value = getattr(args, arg)
        if value is not None:
            setattr(config, field_name, value)
    for task, weight in args.loss_weight:
        config.loss_weights[task] = _number(f"loss_weight[{task!r}]", weight)
    for key, value in args.weighting_param:
        config.weighting_params[key] = _number(f"weighting_param[{key!r}]", value)
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
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]
    return TrainConfig.from_dict(data)
