"""The CLI's own speed: per-epoch cost of ``mtl train --json`` against the tutorial's TF.js stack, in one run.

Runs ``python -m mtl_core train --preset heterogeneous --optimizer sgd --conflict-every 0 --no-early-stopping
--epochs N --json`` (the peer's own training: SGD, every epoch run, and no gradient-conflict probe, which TF.js
does not compute; default settings
otherwise, so a validation pass every epoch that the peer skips; stdout captured as a script would) for a
short and a long run, several rounds interleaved so background load
hits both alike. The CLI's per-epoch cost is (fastest long - fastest short) / (long_epochs - short_epochs)
wall seconds: process start, TensorFlow's import and tracing cancel out. Also, for context, the same difference
in-process (``Trainer`` on the same config), and with ``--preset-defaults`` the preset as it is (adam and the
conflict probe every epoch; early stopping still off, so both runs train their epochs), which is the dashboard's
default rather than the peer's work. The peer is
bench/tfjs_train.mjs (TensorFlow.js in Node.js,
pure-JS CPU backend, the same heterogeneous Iris network). Prints both figures, the ratio and the load
average before and after. Target: TF.js / CLI >= 10.

    python bench/bench_cli.py [--short 100] [--long 1100] [--rounds 5] [--tfjs-epochs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from _common import IRIS_INPUTS, ROOT, load_average, tfjs_ms_per_epoch

PRESET = "heterogeneous"
#: What the TF.js peer does: SGD (lr 0.01, the preset's), every epoch (early stopping would end the long run
#: early and leave nothing to time), and no gradient-conflict probe.
FULL_RUN = ("--no-early-stopping",)
PEER_FLAGS = ("--optimizer", "sgd", "--conflict-every", "0", *FULL_RUN)


def cli_seconds(epochs: int, flags: tuple[str, ...] = PEER_FLAGS) -> float:
    """Wall seconds of one ``train --json`` process (stdout captured, stderr not a terminal)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mtl_core", "train", "--preset", PRESET, *flags, "--epochs",
                           str(epochs), "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=1200)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"mtl train failed: {proc.stderr.strip()[-500:]}")
    return seconds


def in_process_seconds(epochs: int) -> float:
    """Wall seconds of ``Trainer(...).run()`` on the preset's config in this process (model build included)."""
    from mtl_core.data.registry import load_dataset
    from mtl_core.presets import get_preset
    from mtl_core.training.trainer import Trainer

    config = get_preset(PRESET).make_config()
    config.epochs, config.optimizer, config.conflict_every = epochs, "sgd", 0  # PEER_FLAGS
    config.early_stopping = False
    frame = load_dataset(config.dataset).frame
    start = time.perf_counter()
    Trainer(config, frame).run()
    return time.perf_counter() - start


def per_epoch_ms(timer, short: int, long: int, rounds: int) -> tuple[float, list[float]]:
    """(fastest long - fastest short) / (long - short epochs) in ms, and each round's own difference.

    The fastest of each is the run least disturbed by other work on the machine: on a shared machine a
    single process start varies by more than the 1,000 epochs cost, so one round's difference is noisy.
    """
    shorts, longs = [], []
    for _ in range(rounds):
        shorts.append(timer(short))
        longs.append(timer(long))
    per_round = [1000 * (b - a) / (long - short) for a, b in zip(shorts, longs)]
    return 1000 * (min(longs) - min(shorts)) / (long - short), per_round


def tfjs_peer(epochs: int) -> float | None:
    """TF.js ms per epoch on the same encoded Iris training rows."""
    from mtl_core.config import TaskSpec, TrainConfig
    from mtl_core.data.prepare import prepare
    from mtl_core.data.registry import load_dataset

    config = TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")], inputs=IRIS_INPUTS)
    p = prepare(load_dataset("iris").frame, config)
    return tfjs_ms_per_epoch(p.x["train"].tolist(), p.y["train"]["species"].tolist(),
                             p.y["train"]["petal_width"].tolist(), p.x["val"].tolist(), epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=100, help="epochs of the short run (default 100)")
    parser.add_argument("--long", type=int, default=1100, help="epochs of the long run (default 1100)")
    parser.add_argument("--rounds", type=int, default=5, help="short/long pairs (default 5)")
    parser.add_argument("--tfjs-epochs", type=int, default=200, help="epochs of the TF.js run (default 200)")
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process figure")
    parser.add_argument("--preset-defaults", action="store_true",
                        help="also time the preset as it is (adam, conflict probe every epoch)")
    args = parser.parse_args()
    if args.long <= args.short:
        parser.error("--long must be greater than --short")
    print(f"load average before: {load_average()}")
    tfjs = tfjs_peer(args.tfjs_epochs)
    cli, cli_rounds = per_epoch_ms(cli_seconds, args.short, args.long, args.rounds)
    print(f"mtl train --preset {PRESET} {' '.join(PEER_FLAGS)} --json: {cli:.3f} ms/epoch  "
          f"(rounds: {', '.join(f'{f:.3f}' for f in cli_rounds)})")
    if args.preset_defaults:
        own, own_rounds = per_epoch_ms(lambda n: cli_seconds(n, FULL_RUN), args.short, args.long, args.rounds)
        print(f"mtl train --preset {PRESET} --json (adam, conflict probe): {own:.3f} ms/epoch  "
              f"(rounds: {', '.join(f'{f:.3f}' for f in own_rounds)})")
    if not args.no_in_process:
        inproc, rounds = per_epoch_ms(in_process_seconds, args.short, args.long, args.rounds)
        print(f"Trainer in-process:                 {inproc:.3f} ms/epoch  "
              f"(rounds: {', '.join(f'{f:.3f}' for f in rounds)})")
    tfjs_after = tfjs_peer(args.tfjs_epochs)
    if tfjs is None or tfjs_after is None:
        print("TF.js peer: n/a (needs node and `npm ci` in tests/tfjs)")
    else:
        peer = statistics.mean([tfjs, tfjs_after])  # measured before and after, to straddle the load
        print(f"TF.js (Node.js, pure-JS CPU):       {peer:.3f} ms/epoch  (before {tfjs:.3f}, after {tfjs_after:.3f})")
        if cli <= 0 or cli > 2 * statistics.median(cli_rounds):
            print("ratio TF.js / CLI: n/a: the machine's load varies more than 1,000 epochs cost; rerun when it "
                  "is quieter, or raise --long and --rounds")
        else:
            print(f"ratio TF.js / CLI: {peer / cli:.1f}x (target >= 10x)")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
