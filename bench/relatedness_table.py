"""The task-relatedness study as a markdown table: test loss per task for single-task models, hard sharing
and MMoE as the tasks' relatedness p rises (mean ± sd over seeds), with the measured label correlation.

    python bench/relatedness_table.py [--p 0,0.5,1] [--seeds 0,1,2,3] [--n 3000] [--epochs 150]
                                      [--train-fraction 0.1] [--lr 0.01]

The defaults are the study's own (``relatedness_study.DEFAULT_P``, ``DEFAULT_SEEDS``, ``DEFAULT_N``,
``study_config()``), i.e. the table in the README. Test loss = test MSE of the standardised target (1.0 =
predicting the training mean); its sd over seeds is partly the datasets' own spread (each seed draws new
weight-vector directions, inputs and noise). "gain" is (single - model) / single * 100 on the same dataset,
averaged over the tasks, then its mean over seeds with a 95 % Student-t interval and a verdict: positive =
sharing helps. The wall time and the load average are printed with it (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import time

import _common  # noqa: F401  (puts the repository root on sys.path)

from mtl_core.experiments.relatedness_study import (
    DEFAULT_N,
    DEFAULT_P,
    DEFAULT_SEEDS,
    TRAIN_FRACTION,
    relatedness_study,
    study_config,
)


def main() -> None:
    """Run the study and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p", default=",".join(f"{p:g}" for p in DEFAULT_P))
    parser.add_argument("--seeds", default=",".join(str(s) for s in DEFAULT_SEEDS))
    parser.add_argument("--n", type=int, default=DEFAULT_N)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--train-fraction", type=float, default=TRAIN_FRACTION)
    parser.add_argument("--lr", type=float, default=None)
    args = parser.parse_args()
    p_values = [float(v) for v in args.p.split(",")]
    seeds = [int(v) for v in args.seeds.split(",")]
    config = study_config(args.epochs, args.train_fraction)
    if args.lr is not None:
        config.lr = args.lr
    load = os.getloadavg()[0]
    start = time.perf_counter()
    result = relatedness_study(p_values, seeds, config, n=args.n)
    seconds = time.perf_counter() - start
    c = result.config
    train = 1 - c.val_fraction - c.test_fraction
    print(f"Relatedness study: n={args.n} rows per dataset ({train:.0%} train, {c.val_fraction:.0%} validation "
          f"for early stopping, {c.test_fraction:.0%} test), seeds {seeds}, up to {c.epochs} epochs "
          f"(patience {c.patience}), lr {c.lr:g}, batch {c.batch_size}; hard sharing {c.shared} + head {c.head}, "
          f"MMoE {c.experts}x{c.expert_units} experts + tower {c.head}; single-task = hard-sharing network "
          f"with one task. {len(result.records)} test losses in {seconds:.0f} s (load average {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores).\n")
    print(result.to_markdown())


if __name__ == "__main__":
    main()
