"""``mtl runs list|show|delete``: the runs recorded in the run store (SQLite by default, or PostgreSQL)."""

from __future__ import annotations

import argparse
from datetime import datetime

from mtl_core.cli.common import format_metrics, strict_dumps

#: Characters of a run id shown in tables; any unique prefix is accepted where an id is asked for.
SHORT_ID = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``runs`` subcommand with ``list``, ``show`` and ``delete``."""
    from mtl_core.store.record import KINDS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db-url", metavar="URL", default=None,
                        help="the run store (default: env MTL_DB_URL, else a SQLite file in MTL_DATA_DIR "
                             "or .mtl-playground/)")
    runs = subparsers.add_parser("runs", help="list, show or delete recorded runs")
    actions = runs.add_subparsers(dest="runs_command", metavar="{list,show,delete}", required=True,
                                 parser_class=type(runs))
    listing = actions.add_parser("list", parents=[common], help="the recorded runs, newest first")
    listing.add_argument("--notebook", help="only this notebook's runs and shared ones")
    listing.add_argument("--kind", choices=KINDS, help="only runs of this kind")
    listing.add_argument("--study", help="only the trials of this Optuna study")
    listing.add_argument("--limit", type=int, help="at most this many runs")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", parents=[common], help="one run: config, metrics, history")
    show.add_argument("run_id", metavar="ID", help="a run id, or a unique start of one")
    show.add_argument("--json", action="store_true", help="print JSON (with the whole history)")
    show.set_defaults(func=run_show)
    delete = actions.add_parser("delete", parents=[common], help="delete a run with its history and model")
    delete.add_argument("run_id", metavar="ID", help="a run id, or a unique start of one")
    delete.set_defaults(func=run_delete)


def _open(args: argparse.Namespace):
    from mtl_core.store import open_store

    return open_store(args.db_url)


def run_list(args: argparse.Namespace) -> int:
    """Print the runs as a table or as JSON."""
    with _open(args) as store:
        records = store.list_runs(notebook=args.notebook, kind=args.kind, study=args.study, limit=args.limit)
    if args.json:
        rows = []
        for record in records:
            row = record.to_dict()
            del row["history"], row["weight_changes"]  # not loaded by a list query
            rows.append(row)
        print(strict_dumps({"runs": rows}))
        return 0
    if not records:
        print(f"No runs in {_where(store)}.")
        return 0
    header = ("id", "name", "kind", "status", "started (UTC)", "dataset", "tasks", "epochs", "test metrics")
    rows = [(r.id[:SHORT_ID], _cut(r.name, 28), r.kind, r.status, _when(r.started_at), _cut(r.dataset, 16),
             _cut(", ".join(r.tasks), 28), "" if r.epochs_run is None else str(r.epochs_run),
             _main_metrics(r.test_metrics)) for r in records]
    print(_table(header, rows))
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one run, as text or JSON."""
    with _open(args) as store:
        record = store.get_run(store.resolve_id(args.run_id))
    if args.json:
        print(strict_dumps(record.to_dict()))
        return 0
    lines = [("id", record.id), ("name", record.name), ("kind", record.kind),
             ("status", record.status + (f": {record.message}" if record.message else "")),
             ("dataset", record.dataset), ("tasks", ", ".join(record.tasks)),
             ("started (UTC)", _when(record.started_at)), ("ended (UTC)", _when(record.ended_at)),
             ("epochs", "" if record.epochs_run is None else str(record.epochs_run)),
             ("model", "kept (.keras)" if record.has_model else "none"),
             ("notebook", (record.notebook or "-") + (" (shared)" if record.shared else ""))]
    if record.study is not None:
        lines.append(("study", f"{record.study} (trial {record.trial})"))
    width = max(len(k) for k, _ in lines)
    print("\n".join(f"{k.ljust(width)}  {v}" for k, v in lines))
    if record.config:
        print("\nconfig")
        print("\n".join(f"  {k} = {strict_dumps(v)}" for k, v in record.config.items()))
    if record.test_metrics:
        print("\ntest metrics")
        print(format_metrics(record.test_metrics))
    if record.weight_changes:
        print("\nweight changes during the run")
        for change in record.weight_changes:
            weights = ", ".join(f"{t} {w:.3g}" for t, w in change.get("weights", {}).items())
            print(f"  epoch {change.get('epoch')}: {weights}")
    if record.history:
        last = record.history[-1]
        losses = ", ".join(f"{t} {v:.4g}" for t, v in last.get("loss", {}).items())
        print(f"\nlast epoch ({last.get('epoch')}): loss {losses}")
    if record.summary:
        print(f"\nsummary {strict_dumps(record.summary)}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    """Delete one run."""
    with _open(args) as store:
        run_id = store.resolve_id(args.run_id)
        name = store.get_run(run_id).name
        store.delete(run_id)
    print(f"Deleted run {run_id} ({name}).")
    return 0


def _where(store) -> str:
    from mtl_core.store.urls import shown

    return shown(store.url)


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _main_metrics(test_metrics: dict) -> str:
    """Each task's first (main) test metric, e.g. ``species accuracy 0.933``."""
    parts = []
    for task, metrics in test_metrics.items():
        if metrics:
            metric, value = next(iter(metrics.items()))
            parts.append(f"{task} {metric} {value:.4g}" if isinstance(value, (int, float)) else f"{task} {metric} -")
    return "; ".join(parts)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
