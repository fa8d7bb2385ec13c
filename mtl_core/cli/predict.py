"""``mtl predict``: every task's prediction of a saved model for one row."""

from __future__ import annotations

import argparse

from mtl_core.cli.common import strict_dumps
from mtl_core.errors import DataError, bad_value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` subcommand."""
    predict = subparsers.add_parser("predict", help="predict with a saved model")
    predict.add_argument("--model", required=True, metavar="PATH.keras")
    predict.add_argument("--row", required=True, metavar="v1,v2,...",
                         help="input values in the model's input column order")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=run)


def parse_row(text: str, columns: list[str]) -> dict[str, object]:
    """Parse ``"v1,v2,..."`` into ``{column: value}`` (numbers where possible)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != len(columns):
        raise bad_value("row", text, f"expected {len(columns)} comma-separated values for {columns}", DataError)
    row: dict[str, object] = {}
    for col, part in zip(columns, parts):
        try:
            row[col] = float(part)
        except ValueError:
            row[col] = part
    return row


def run(args: argparse.Namespace) -> int:
    """Predict every task of a saved model for one row; the file and the row are checked before TensorFlow."""
    from mtl_core.io.saving import load_model, read_info

    info = read_info(args.model)
    row = parse_row(args.row, info.schema.columns)
    info.schema.encode_row(row)  # a bad category or number fails here, before TensorFlow's import
    from mtl_core.models.predict import Predictor

    model, info = load_model(args.model)
    predictions = Predictor(model, info).predict_one(row)
    if args.json:
        print(strict_dumps({k: vars(v) for k, v in predictions.items()}))
    else:
        for prediction in predictions.values():
            print(prediction.text())
    return 0
