"""``mtl tune``: add trials to a multi-objective Optuna study (one objective per task); workers may share a study."""

from __future__ import annotations

import argparse
import json
import sys

from mtl_core.cli.common import finite
from mtl_core.cli.options import add_data_arguments, add_model_arguments, config_from_args
from mtl_core.tuning.space import DEFAULT_SPACE, space_help

DEFAULT_STUDY = "default"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tune`` subcommand."""
    tune = subparsers.add_parser(
        "tune", help="search hyperparameters: a multi-objective Optuna study, one objective per task",
        description="Adds --trials trials to the study --study in --storage (created if missing). Run several "
                    "at once, on one machine or many, on the same --storage and --study to share the work.")
    add_data_arguments(tune)
    add_model_arguments(tune)
    tune.add_argument("--space", metavar="DIM,DIM", default=",".join(DEFAULT_SPACE),
                      help=f"what to search (default {','.join(DEFAULT_SPACE)}): {space_help()}")
    tune.add_argument("--trials", type=int, default=10, metavar="N", help="trials this process runs (default 10)")
    tune.add_argument("--study", default=DEFAULT_STUDY, metavar="NAME",
                      help=f"the study's name (default {DEFAULT_STUDY!r}); an existing study gets more trials")
    tune.add_argument("--storage", metavar="URL",
                      help="Optuna RDB storage: sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB "
                           "(default: env MTL_DB_URL, else studies.db in the data folder)")
    tune.add_argument("--objective", choices=("loss", "metric"), default="loss",
                      help="per task: validation loss (default) or its primary metric (accuracy, rmse)")
    tune.add_argument("--db", metavar="URL", help="the run store for the trials' runs (default: env MTL_DB_URL, "
                                                  "else runs.db in the data folder)")
    tune.add_argument("--no-prune", action="store_true", help="never stop a trial early")
    tune.add_argument("--no-models", action="store_true", help="don't keep each trial's model in the run store")
    tune.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the trials and print the study's Pareto front."""
    from mtl_core.store.urls import check_db_url
    from mtl_core.tuning.space import parse_space

    config = config_from_args(args)
    space = parse_space(args.space)
    if args.storage is not None:
        check_db_url(args.storage, param="storage")  # a bad scheme fails before the data loads
    from mtl_core.tuning.study import Tuner, TuneRequest

    request = TuneRequest(base=config, study=args.study, n_trials=args.trials, space=space,
                          objective=args.objective, storage=args.storage, db_url=args.db,
                          prune=not args.no_prune, save_models=not args.no_models)
    tuner = Tuner(request)

    def on_trial(outcome: object) -> None:
        values = ", ".join(f"{task} {v:.4g}" for task, v in outcome.values.items())
        extra = f" at epoch {outcome.pruned_at}" if outcome.pruned_at else ""
        print(f"trial {outcome.number}: {outcome.state}{extra}  {values}  ({outcome.seconds:.1f} s)",
              file=sys.stderr if args.json else sys.stdout, flush=True)

    result = tuner.run(on_trial)
    if args.json:
        print(json.dumps(finite(result)))
        return 0
    print(f"Study {result['study']!r}: {result['n_trials']} trials ({result['states']['complete']} complete, "
          f"{result['states']['pruned']} pruned); objectives: "
          + ", ".join(f"{t} {n} ({d})" for (t, n), d in zip(result["objectives"].items(), result["directions"])))
    print("Pareto front:")
    for entry in result["pareto"]:
        values = ", ".join(f"{t} {v:.4g}" for t, v in entry["values"].items())
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in entry["params"].items())
        print(f"  trial {entry['trial']}: {values}  [{params}]  run {entry['run_id']}")
    return 0
