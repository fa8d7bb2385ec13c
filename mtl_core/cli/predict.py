"""``mtl predict``: every task's prediction of a saved model for one row."""

from __future__ import annotations

import argparse
import json

from mtl_core.cli.common import finite


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` subcommand."""
    predict = subparsers.add_parser("predict", help="predict with a saved model")
    predict.add_argument("--model", required=True, metavar="PATH.keras")
    predict.add_argument("--row", required=True, metavar="v1,v2,...",
                         help="input values in the model's input column order")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
