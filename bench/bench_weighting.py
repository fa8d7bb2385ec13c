"""Cost of each loss-weighting strategy per epoch, relative to ``fixed``, measured in one run.

Steady state only: the first compiled chunk (which includes tracing) is skipped; epoch times come from the
``on_epoch`` timestamps of the later chunks. Also the cost of the gradient-conflict monitor
(``conflict_every=1`` against ``0``). Target: the methods that take one gradient per task (gradnorm, pcgrad,
mgda, cagrad, nashmtl) and the monitor within (T+1)x fixed; rlw and famo (one backward pass) near 1x.

    python bench/bench_weighting.py [--epochs 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import copy
import time

from _common import load_average

from mtl_core.config import TrainConfig
from mtl_core.data.registry import load_dataset
from mtl_core.presets import PRESETS
from mtl_core.registries import WEIGHTINGS
from mtl_core.training.trainer import Trainer

MONITOR = "fixed + monitor"


def steady_ms_per_epoch(config: TrainConfig, frame) -> float:
    """Milliseconds per epoch after the first chunk, from the times the epoch events arrive."""
    stamps: list[tuple[float, int, float]] = []
    Trainer(config, frame, lambda e: stamps.append((time.perf_counter(), e.epoch, e.elapsed))).run()
    first_chunk = stamps[0][2]
    later = [s for s in stamps if s[2] != first_chunk]
    if len(later) < 2:
        raise SystemExit(f"too few chunks to measure {config.weighting}; raise --epochs")
    start = max(s for s in stamps if s[2] == first_chunk)
    return 1000 * (later[-1][0] - start[0]) / (later[-1][1] - start[1])


def setups(epochs: int) -> dict[str, TrainConfig]:
    """The benchmark models: heterogeneous Iris (T=2), penguins (T=3) and Linnerud (T=3, 20 rows)."""
    iris = PRESETS["heterogeneous"].make_config()
    penguins = PRESETS["penguins"].make_config()
    linnerud = PRESETS["homogeneous"].make_config()
    for config in (iris, penguins, linnerud):
        config.epochs = epochs
        config.conflict_every = 0
        config.early_stopping = False  # every method runs all its epochs: the cost is per epoch
    return {"iris (species + petal_width)": iris, "penguins (species, sex, body_mass_g)": penguins,
            "linnerud (Weight, Waist, Pulse)": linnerud}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="repeat every case; the fastest round counts")
    parser.add_argument("--only", default="", help="comma-separated setups by first word, e.g. iris,penguins")
    args = parser.parse_args()
    variants = [*WEIGHTINGS, MONITOR]
    chosen = {w.strip() for w in args.only.split(",") if w.strip()}
    print(f"load average: {load_average()}")
    for title, base in setups(args.epochs).items():
        if chosen and title.split()[0] not in chosen:
            continue
        frame = load_dataset(base.dataset).frame
        best: dict[str, float] = {}
        for _ in range(args.rounds):  # rounds interleave the cases, so background load hits them alike
            for name in variants:
                config = copy.deepcopy(base)
                config.weighting = "fixed" if name == MONITOR else name
                config.conflict_every = 1 if name == MONITOR else 0
                ms = steady_ms_per_epoch(config, frame)
                best[name] = min(best.get(name, float("inf")), ms)
        n_tasks = len(base.tasks)
        print(f"\n{title}: T={n_tasks}, target <= {n_tasks + 1}x fixed for the per-task-gradient methods "
              "and the monitor")
        print(f"{'strategy':<18}{'ms/epoch':>10}{'x fixed':>10}")
        for name in variants:
            print(f"{name:<18}{best[name]:>10.2f}{best[name] / best['fixed']:>10.2f}")
        print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
