"""``mtl compare``: the multi-task model against one single-task model per task (Δm), or,
with ``--study-p``, the task-relatedness study on the synthetic ``relatedness`` dataset.

    mtl compare --preset heterogeneous [--seeds 3] [--json]
    mtl compare --preset heterogeneous --strategies all [--seeds 3] [--json]     # the bake-off
    mtl compare --dataset relatedness --study-p 0,0.5,0.9,1 --study-seeds 0,1 [--json]

``--seeds K`` trains every model on the seeds ``--seed``, ``--seed`` + 1, ... (default 3 seeds) and reports the
spread: mean ± sd, a 95 % interval of each paired change and a verdict ("helps", "hurts", "no clear
difference"). ``--strategies all`` (or a comma list of weighting names) is the bake-off: every method with K
seeds against single-task models trained once per seed.

The study starts from ``relatedness_study.study_config()`` (or from ``--preset``/``--config`` when given);
network and optimiser flags (``--shared``, ``--head``, ``--experts``, ``--expert-units``, ``--lr``,
``--epochs``, ...) override it; ``--dataset-param`` sets the generator's n, c, m and d (p and seed come
from ``--study-p`` and ``--study-seeds``).
"""

from __future__ import annotations

import argparse
import math

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
    parser.add_argument("--seeds", metavar="K",
                        help=f"train every model on K seeds (--seed, --seed+1, ...) and report the spread "
                             f"(default {_default_seeds()}; the study: seeds 0..K-1 unless --study-seeds)")
    parser.add_argument("--strategies", metavar="all|M,M,...",
                        help="the bake-off: every weighting method ('all') or these, with K seeds each, against "
                             "single-task models on the same seeds")
    parser.add_argument("--study-p", metavar="P,P,...",
                        help="run the relatedness study for these task relatedness values (e.g. 0,0.5,0.9,1)")
    parser.add_argument("--study-seeds", metavar="S,S,...",
                        help="study: data and model seeds (default: --seeds K gives 0..K-1, else "
                             f"{_default_study_seeds()})")
    parser.add_argument("--study-models", metavar="M,M,...", default="single,hard,mmoe",
                        help="study: models to train (default single,hard,mmoe)")
    parser.set_defaults(func=run)


def _default_seeds() -> int:
    from mtl_core.experiments.compare import DEFAULT_SEEDS

    return DEFAULT_SEEDS


def _default_study_seeds() -> str:
    from mtl_core.experiments.relatedness_study import DEFAULT_SEEDS

    return ",".join(str(s) for s in DEFAULT_SEEDS)


def seeds_from_args(args: argparse.Namespace) -> int | None:
    """``--seeds`` as a whole number from 1 to the most allowed, None when not given; ConfigError naming ``seeds``."""
    if args.seeds is None:
        return None
    from mtl_core.experiments.compare import check_seeds

    try:
        k = int(args.seeds.strip())
    except ValueError:
        k = args.seeds
    return check_seeds(k)


def run(args: argparse.Namespace) -> int:
    """Run the comparison, the bake-off or the study and print a table or JSON."""
    seeds_from_args(args)  # a bad --seeds fails first, whatever else is asked
    if args.study_p is not None:
        if args.strategies is not None:
            raise bad_value("strategies", args.strategies, "the bake-off compares weighting methods on a setup, "
                            "not the relatedness study; leave out --study-p")
        return run_study(args)
    if args.strategies is not None:
        return run_bakeoff(args)
    return run_compare(args)


def _checked(args: argparse.Namespace) -> tuple[object, object, int]:
    """The validated config, its rows (every data error before TensorFlow loads) and the seed count."""
    config = config_from_args(args)
    from mtl_core.experiments.compare import DEFAULT_SEEDS, check_comparable, seed_list

    check_comparable(config)
    k = seeds_from_args(args) or DEFAULT_SEEDS
    seed_list(config.seed, k)
    return config, load_checked(config), k


def run_compare(args: argparse.Namespace) -> int:
    """Train the multi-task model and the single-task baselines on K seeds; print per-task changes and Δm."""
    config, data, k = _checked(args)
    from mtl_core.experiments.compare import ComparisonRun

    progress = ProgressBar()
    comparison = ComparisonRun(config, data.frame, progress.stage, seeds=k).run()
    progress.close()
    if args.json:
        print(strict_dumps(comparison.to_dict()))
        return 0
    print(format_comparison(comparison))
    for note in comparison.notes:
        print(note)
    return 0


def run_bakeoff(args: argparse.Namespace) -> int:
    """Train every chosen weighting method and the single-task models on K seeds; print one table."""
    from mtl_core.experiments.bakeoff import parse_strategies

    parse_strategies(args.strategies)
    config, data, k = _checked(args)
    from mtl_core.experiments.bakeoff import BakeOff

    progress = ProgressBar()
    result = BakeOff(config, data.frame, args.strategies, seeds=k, on_progress=progress.stage).run()
    progress.close()
    if args.json:
        print(strict_dumps(result.to_dict()))
        return 0
    print(format_bakeoff(result))
    return 0


def _num(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "n/a"


def _pct(value: float) -> str:
    return f"{value:+.1f}%" if math.isfinite(value) else "n/a"


def _ci(ci: object, fmt: object = None) -> str:
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "n/a"
    fmt = fmt or (lambda v: f"{v:+.1f}")
    return f"[{fmt(lo)}, {fmt(hi)}]"


def _pm(mean: float, sd: float) -> str:
    return _num(mean) + (f" ± {sd:.4f}" if math.isfinite(sd) else "")


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _seeds_text(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return f"1 seed ({seeds[0]}): no interval, so no verdict"
    return f"{len(seeds)} seeds ({seeds[0]}..{seeds[-1]})"


def format_comparison(comparison: object) -> str:
    """A plain-text table of the comparison: per task mean ± sd of both models, the change with its 95 %
    interval, the paired p-value and the verdict; then the Δm line."""
    rows = [("task", "metric", "multi-task", "single-task", "change", "95% CI", "p", "verdict")]
    for c in comparison.tasks.values():
        spread = c.spread
        p = f"{spread.p_value:.3f}" if math.isfinite(spread.p_value) else "n/a"
        rows.append((c.task, c.metric, _pm(c.mtl, c.mtl_sd), _pm(c.single, c.single_sd), _pct(spread.mean),
                     _ci(spread.ci), p, spread.verdict))
    lines = _table(rows)
    dm = comparison.delta_m_spread
    lines.append("")
    if dm.n >= 2:
        lines.append(f"Δm = {dm.mean:+.2f}% (95% CI {_ci(dm.ci, lambda v: f'{v:+.2f}')}, p = {dm.p_value:.3f}) over "
                     f"{_seeds_text(comparison.seeds)}: {dm.verdict}")
    else:
        lines.append(f"Δm = {dm.mean:+.2f}% over {_seeds_text(comparison.seeds)}: {dm.verdict}")
    lines.append("(change = (-1)^l * (MTL - single) / single * 100 per seed, l = 1 where lower is better; "
                 "positive = MTL better; Δm = mean change; mean ± sd and Student-t intervals over seeds; verdict "
                 "\"helps\"/\"hurts\" when the interval lies above/below 0)")
    if comparison.stopped:
        lines.append("Stopped before every model finished.")
    return "\n".join(lines)


def format_bakeoff(result: object) -> str:
    """The bake-off as a plain-text table: one row per method (and the single-task models), per task the test
    metric's mean and 95 % interval, then Δm with its interval and verdict; * marks the best of each column."""
    from mtl_core.experiments import stats
    from mtl_core.experiments.bakeoff import DELTA_M

    best = result.best()
    header = ["method"] + [f"{task} {metric} ({'lower' if lower else 'higher'} better)"
                           for task, metric, lower in result.tasks] + ["Δm", "Δm 95% CI", "verdict"]
    rows = [tuple(header)]
    for name, comparison in result.comparisons.items():
        cells = [name]
        for task, c in comparison.tasks.items():
            mark = "*" if name in best[task] else " "
            cells.append(f"{_num(c.mtl)}{mark} {_ci(stats.interval(c.mtl_runs), lambda v: f'{v:.4f}')}")
        dm = comparison.delta_m_spread
        cells += [_pct(dm.mean) + ("*" if name in best[DELTA_M] else ""), _ci(dm.ci), dm.verdict]
        rows.append(tuple(cells))
    first = next(iter(result.comparisons.values()))
    single = ["single-task"] + [f"{_num(c.single)}  {_ci(stats.interval(c.single_runs), lambda v: f'{v:.4f}')}"
                                for c in first.tasks.values()] + ["", "", ""]
    rows.append(tuple(single))
    lines = [f"Bake-off: {len(result.comparisons)} weighting methods on {_seeds_text(result.seeds)}, "
             f"{result.seconds:.0f} s of training", ""]
    lines += _table(rows)
    lines.append("")
    lines.append("(task columns: test metric, mean over seeds [95% CI]; Δm vs the single-task models on the same "
                 "seeds, positive = MTL better; * = best in its column)")
    for name, reason in result.skipped.items():
        lines.append(f"Left out {name}: {reason}")
    for name, comparison in result.comparisons.items():
        for note in comparison.notes:
            lines.append(f"{name}: {note}")
    if result.stopped:
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


def study_seeds(args: argparse.Namespace) -> list[int]:
    """``--study-seeds``, else ``--seeds K`` as 0..K-1, else the study's default seeds."""
    from mtl_core.experiments.relatedness_study import DEFAULT_SEEDS

    if args.study_seeds is not None:
        if args.seeds is not None:
            raise bad_value("seeds", args.seeds, "give either --seeds or --study-seeds, not both")
        return _csv("study_seeds", args.study_seeds, int)
    k = seeds_from_args(args)
    return list(range(k)) if k is not None else list(DEFAULT_SEEDS)


def run_study(args: argparse.Namespace) -> int:
    """Run the relatedness study; print the markdown table or JSON."""
    p_values = _csv("study_p", args.study_p, float)
    seeds = study_seeds(args)
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
