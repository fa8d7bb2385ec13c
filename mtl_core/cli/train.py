"""``mtl train``: train a multi-task model and report its history and test metrics."""

from __future__ import annotations

import argparse

from mtl_core.cli.common import ProgressBar, format_metrics, load_checked, strict_dumps
from mtl_core.cli.options import add_data_arguments, add_model_arguments, config_from_args
from mtl_core.presets import TUTORIAL_FLOWERS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    train = subparsers.add_parser("train", help="train a multi-task model")
    add_data_arguments(train)
    add_model_arguments(train)
    train.add_argument("--save", metavar="PATH.keras", help="save the trained model")
    train.add_argument("--server-limits", action="store_true",
                       help="refuse a run over the dashboard's limits (MTL_MAX_RUN_SIZE, MTL_MAX_RUN_STEPS, "
                            "MTL_MAX_PARAMETERS, MTL_MAX_DATA_CELLS, or their defaults); no limit without it")
    train.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train a model and report its history and test metrics."""
    config = config_from_args(args)
    if args.server_limits:
        from mtl_core.limits import RunLimits, check_data, check_run

        limits = RunLimits.from_env()
        check_data(config.dataset, config.dataset_params, limits)  # before a huge table is made
    data = load_checked(config)
    if args.server_limits:
        check_run(config, data.frame, limits)
    from mtl_core.training.trainer import EpochEvent, Trainer

    progress = ProgressBar()

    def on_epoch(event: EpochEvent) -> None:
        fraction = event.epoch / config.epochs
        if progress.due(fraction):  # the text costs more than the epoch on small data: build it only to draw
            losses = " ".join(f"{k}={v:.4f}" for k, v in event.loss.items())
            progress.update(fraction, f"epoch {event.epoch}/{config.epochs}  {losses}")

    # No bar (stderr is not a terminal, e.g. `--json > run.json`): no per-epoch callback at all.
    result = Trainer(config, data.frame, on_epoch if progress.enabled else None).run()
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
        print(strict_dumps(out))
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
