"""``mtl export``: turn a saved ``.keras`` model into another format (TensorFlow.js)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mtl_core.errors import bad_value

#: Export formats and what each writes.
EXPORT_FORMATS = {"tfjs": "a TensorFlow.js layers model: model.json plus float32 weight shards"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser("export", help="export a saved model (TensorFlow.js)")
    parser.add_argument("--model", required=True, metavar="PATH.keras", help="a model saved by `train --save`")
    parser.add_argument("--format", default="tfjs", help=f"export format: {', '.join(EXPORT_FORMATS)} (default tfjs)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write (created if needed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the arguments before loading TensorFlow, then export."""
    if args.format not in EXPORT_FORMATS:
        raise bad_value("format", args.format, f"expected one of {', '.join(repr(f) for f in EXPORT_FORMATS)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise bad_value("out", args.out, "is a file; give a directory for model.json and its weight shards")
    from mtl_core.io.saving import load_model, read_info

    read_info(args.model)  # a missing or foreign file fails here, before TensorFlow's import
    from mtl_core.io.export_tfjs import export_tfjs

    model, info = load_model(args.model)
    target = export_tfjs(model, info, out)
    manifest = json.loads(target.read_text())["weightsManifest"]
    files = [target.name] + [p for group in manifest for p in group["paths"]]
    size = sum((out / f).stat().st_size for f in files)
    if args.json:
        print(json.dumps({"format": args.format, "out": str(out), "files": files, "bytes": size,
                          "outputs": [t.output for t in info.tasks]}))
    else:
        print(f"Exported {args.model} to {out}/ as TensorFlow.js ({', '.join(files)}; {size:,} bytes).")
        print("Load it with tf.loadLayersModel; outputs: " + ", ".join(t.output for t in info.tasks))
    return 0
