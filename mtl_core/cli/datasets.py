"""``mtl datasets``: the built-in datasets with their columns and suggested tasks."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``datasets`` subcommand."""
    subparsers.add_parser("datasets", help="list the built-in datasets").set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
