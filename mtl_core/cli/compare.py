"""``mtl compare``: the multi-task model against one single-task model per task (Δm), or,
with ``--study-p``, the task-relatedness study on the synthetic ``relatedness`` dataset.

    mtl compare --preset heterogeneous [--json]
    mtl compare --dataset relatedness --study-p 0,0.5,0.9,1 --study-seeds 0,1 [--json]

The study starts from ``relatedness_study.study_config()`` (or from ``--preset``/``--config`` when given);
network and optimiser flags (``--shared``, ``--head``, ``--experts``, ``--expert-units``, ``--lr``,
``--epochs``, ...) override it; ``--dataset-param`` sets the generator's n, c, m and d (p and seed come
from ``--study-p`` and ``--study-seeds``).
"""

from __future__ import annotations

import argparse

from mtl_core.cli.common import ProgressBar, load_checked, strict_dumps
from mtl_core.cli.options import add_data_arguments, add_model_arguments, apply_model_flags, config_from_args
from mtl_core.config import validate_config
from mtl_core.errors import bad_value
from mtl_core.fields import FIELDS

# Flags copied onto the study's default config when given (argparse leaves the others at None): the field
# table's study rows, and the layer sizes.
_STUDY_FLAGS = (*(f.name for f in FIELDS.values() if f.study), "shared", "head")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand."""
    parser = subparsers.add_parser("compare", help="multi-task vs single-task models (Δm), or the relatedness study")
    add_data_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--study-p", metavar="P,P,...",
                        help="run the relatedness study for these task relatedness values (e.g. 0,0.5,0.9,1)")
    parser.add_argument("--study-seeds", metavar="S,S,...", default="0",
                        help="study: data and model seeds (default 0)")
    parser.add_argument("--study-models", metavar="M,M,...", default="single,hard,mmoe",
                        help="study: models to train (default single,hard,mmoe)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the comparison or the study and print a table or JSON."""
    if args.study_p is not None:
        return run_study(args)
    return run_compare(args)


def run_compare(args: argparse.Namespace) -> int:
    """Train the multi-task model and the single-task baselines; print per-task changes and Δm."""
    config = config_from_args(args)
    from mtl_core.experiments.compare import ComparisonRun, check_comparable

    check_comparable(config)
    data = load_checked(config)  # every data error before ComparisonRun imports TensorFlow
    progress = ProgressBar()
    comparison = ComparisonRun(config, data.frame, progress.stage).run()
    progress.close()
    if args.json:
        print(strict_dumps(comparison.to_dict()))
        return 0
    print(format_comparison(comparison))
    for note in comparison.notes:
        print(note)
    return 0


def format_comparison(comparison: object) -> str:
    """A plain-text table of the comparison, with "helps"/"hurts" per task and the Δm line."""
    rows = [("task", "metric", "multi-task", "single-task", "change", "verdict")]
    for c in comparison.tasks.values():
        change = c.relative_change
        verdict = {True: "helps", False: "hurts", None: "no change" if change == 0 else "n/a"}[c.helps]
        rows.append((c.task, c.metric, f"{c.mtl:.4f}", f"{c.single:.4f}", f"{change:+.1f}%", verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    dm = comparison.delta_m
    verdict = ("multi-task learning helps on average" if dm > 0 else "multi-task learning hurts on average"
               if dm < 0 else "no verdict")
    lines.append("")
    lines.append(f"Δm = {dm:+.2f}%: {verdict}")
    lines.append("(change = (-1)^l * (MTL - single) / single * 100, l = 1 where lower is better; "
                 "positive = MTL better; Δm = mean change)")
    if comparison.stopped:
        lines.append("Stopped before every model finished.")
    return "\n".join(lines)


def _csv(param: str, text: str, cast: type) -> list:
    try:
        values = [cast(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        kind = "numbers" if cast is float else "whole numbers"
        raise bad_value(param, text, f"expected comma-separated {kind}") from None
    if not values:
        raise bad_value(param, text, "expected at least one value")
    return values


def study_base_config(args: argparse.Namespace) -> tuple[object, int]:
    """The study's base config and row count from the flags given."""
    from mtl_core.experiments.relatedness_study import DATASET, DEFAULT_N, study_config

    if args.csv or (args.dataset and args.dataset != DATASET):
        raise bad_value("dataset", args.dataset or f"csv:{args.csv}",
                        f"the relatedness study runs on the {DATASET!r} dataset")
    if args.task or args.inputs:
        raise bad_value("task" if args.task else "inputs", args.task or args.inputs,
                        "the relatedness study's tasks are y1 and y2 and its inputs x0..x(d-1); leave them out")
    params = dict(args.dataset_param)
    for key in ("p", "seed"):
        if key in params:
            raise bad_value(f"dataset_param {key!r}", params[key], f"set by --study-{'p' if key == 'p' else 'seeds'}")
    n = _csv("dataset_param 'n'", params.pop("n"), int)[0] if "n" in params else DEFAULT_N
    if args.preset or args.config:
        if not args.dataset:
            args.dataset = DATASET
        args.task = ["y1", "y2"]
        args.dataset_param = list(params.items())
        config = config_from_args(args)
    else:
        config = study_config()
        config.dataset_params = params
        apply_model_flags(config, args, _STUDY_FLAGS)
        config = validate_config(config)
    return config, n


def run_study(args: argparse.Namespace) -> int:
    """Run the relatedness study; print the markdown table or JSON."""
    p_values = _csv("study_p", args.study_p, float)
    seeds = _csv("study_seeds", args.study_seeds, int)
    models = [m.strip() for m in args.study_models.split(",") if m.strip()]
    config, n = study_base_config(args)
    from mtl_core.experiments.relatedness_study import RelatednessStudy

    progress = ProgressBar()
    result = RelatednessStudy(p_values, seeds, config, n=n, models=models, on_progress=progress.stage).run()
    progress.close()
    if args.json:
        print(strict_dumps(result.to_dict()))
        return 0
    c = result.config
    train = 1 - c.val_fraction - c.test_fraction
    print(f"Relatedness study: n={n} rows per dataset ({train:.0%} train, {c.test_fraction:.0%} test); "
          "test loss = test MSE of the standardised target (lower is better); gain = (single - model) / single, "
          "positive = sharing helps.\n")
    print(result.to_markdown())
    return 0
