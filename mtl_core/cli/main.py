"""The command line: ``python -m mtl_core datasets|train|predict``; bad input exits 2 with one line."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from pathlib import Path

from mtl_core.config import TaskSpec, TrainConfig, parse_sizes, validate_config
from mtl_core.errors import ConfigError, MTLError, bad_value
from mtl_core.presets import PRESETS, TUTORIAL_FLOWERS, get_preset
from mtl_core.registries import ARCHITECTURES, WEIGHTINGS

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """An argparse error, re-raised so that ``main`` prints it on one line."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, not a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise instead of printing usage and exiting."""
        raise UsageError(f"{self.prog}: {message}")


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


def finite(value: object) -> object:
    """Recursively replace NaN and infinities by None so the output is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class ProgressBar:
    """A one-line progress bar on stderr (only on a terminal), redrawn at most ten times a second."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self._last = 0.0

    def update(self, fraction: float, text: str = "") -> None:
        """Redraw the bar at ``fraction`` (0..1) followed by ``text``."""
        now = time.perf_counter()
        if not self.enabled or (now - self._last < 0.1 and fraction < 1):
            return
        self._last = now
        filled = int(30 * min(max(fraction, 0.0), 1.0))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {now - self.start:5.1f}s  {text}\033[K")
        sys.stderr.flush()

    def stage(self, stage: str, fraction: float) -> None:
        """An ``on_progress(stage, fraction)`` callback for comparisons and studies."""
        self.update(fraction, f"{fraction:4.0%} {stage}")

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            sys.stderr.write("\n")


def format_metrics(test_metrics: dict[str, dict[str, float]]) -> str:
    """A plain-text table of test metrics."""
    rows = [("task", "metric", "value")]
    for task, metrics in test_metrics.items():
        rows.extend((task, name, f"{value:.4f}") for name, value in metrics.items())
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_datasets(args: argparse.Namespace) -> int:
    """List the built-in datasets with their columns and suggested tasks."""
    from mtl_core.data.registry import DATASETS, load_dataset

    for name, spec in DATASETS.items():
        data = load_dataset(name)
        print(f"{name}: {spec.title} ({len(data.frame)} rows)")
        print(f"  columns: {', '.join(data.frame.columns)}")
        print(f"  suggested tasks: {', '.join(spec.suggested_tasks)}")
        if spec.params:
            print(f"  parameters: {', '.join(f'{p.name}={p.default}' for p in spec.params)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model and report its history and test metrics."""
    config = config_from_args(args)
    from mtl_core.data.sources import load_source
    from mtl_core.training.trainer import EpochEvent, Trainer

    data = load_source(config)
    progress = ProgressBar()

    def on_epoch(event: EpochEvent) -> None:
        losses = " ".join(f"{k}={v:.4f}" for k, v in event.loss.items())
        progress.update(event.epoch / config.epochs, f"epoch {event.epoch}/{config.epochs}  {losses}")

    result = Trainer(config, data.frame, on_epoch).run()
    progress.close()
    if args.save:
        from mtl_core.io.model_info import ModelInfo
        from mtl_core.io.saving import save_model

        save_model(result.model, ModelInfo.from_prepared(result.prepared, result.config.to_dict()), args.save)
    flowers = _tutorial_predictions(result) if args.preset == "seed" else None
    if args.json:
        out = result.to_dict()
        if flowers is not None:
            out["tutorial_predictions"] = flowers
        print(json.dumps(finite(out)))
        return 0
    for note in data.notes + result.prepared.notes:
        print(note)
    print(result.message)
    if result.history:
        weights = result.history[-1].weights
        print(f"Loss weights in the last epoch ({config.weighting}): "
              + ", ".join(f"{task} {w:.3g}" for task, w in weights.items()))
    if result.test_metrics:
        print(format_metrics(result.test_metrics))
    else:
        print("No test split (test_fraction=0): final training losses: "
              + ", ".join(f"{k} {v:.4f}" for k, v in result.history[-1].loss.items()))
    if flowers is not None:
        print("Predicted class probabilities for the tutorial's flowers:")
        for label, probs in flowers.items():
            print(f"  {label}: " + ", ".join(f"{c} {p:.3f}" for c, p in probs.items()))
    if args.save:
        print(f"Saved the model to {args.save}")
    return 0


def _tutorial_predictions(result: object) -> dict[str, dict[str, float]]:
    from mtl_core.io.model_info import ModelInfo
    from mtl_core.models.predict import Predictor
    from mtl_core.presets import IRIS_MEASUREMENTS

    predictor = Predictor(result.model, ModelInfo.from_prepared(result.prepared, {}))
    return {label: predictor.predict_one(dict(zip(IRIS_MEASUREMENTS, row)))["species"].probabilities
            for label, row in TUTORIAL_FLOWERS.items()}


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict every task of a saved model for one row."""
    from mtl_core.io.saving import load_model, read_info
    from mtl_core.models.predict import Predictor, parse_row

    info = read_info(args.model)
    row = parse_row(args.row, info.schema.columns)
    model, info = load_model(args.model)
    predictions = Predictor(model, info).predict_one(row)
    if args.json:
        print(json.dumps(finite({k: vars(v) for k, v in predictions.items()})))
    else:
        for prediction in predictions.values():
            print(prediction.text())
    return 0


#: Modules that add a subcommand: each has ``register(subparsers)`` that sets ``func`` as a default.
SUBCOMMAND_MODULES: tuple[str, ...] = ("mtl_core.cli.export", "mtl_core.cli.compare")


def build_parser() -> Parser:
    """The full argument parser."""
    parser = Parser(prog="python -m mtl_core", description="MTL Playground: multi-task learning from the shell.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    sub.add_parser("datasets", help="list the built-in datasets").set_defaults(func=cmd_datasets)
    train = sub.add_parser("train", help="train a multi-task model")
    add_data_arguments(train)
    add_model_arguments(train)
    train.add_argument("--save", metavar="PATH.keras", help="save the trained model")
    train.set_defaults(func=cmd_train)
    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("--model", required=True, metavar="PATH.keras")
    predict.add_argument("--row", required=True, metavar="v1,v2,...",
                         help="input values in the model's input column order")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=cmd_predict)
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (MTLError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
