"""Landscape refresh cost against one-row predictions, measured in one process and one run (not a test).

Builds the heterogeneous Iris model (preset ``heterogeneous``: species + petal width, shared 10,10), trains it
a few epochs, then times
  (a) one refresh of the live views: ``LandscapeProbe.landscape`` at 60 x 60, every task plus the pictures of
      the trunk's units and each task's head usage, all through one compiled call (target <= 5 ms),
  (b) the response curves of every input (``LandscapeProbe.curves``, 50 points each),
against the peers (c) ``Predictor.predict_one`` on one row and (d) ``model(x)`` on one row (eager Keras), and
prints each time with its ratio to (c). The same for an MMoE model (4 experts of 16 units, gates included).

Usage: ``python bench/bench_landscape.py [--repeats 200]``
"""

from __future__ import annotations

import argparse

from _common import load_average, median_ms

from mtl_core._tf import tf
from mtl_core.data.registry import load_dataset
from mtl_core.models.landscape import LandscapeProbe
from mtl_core.models.landscape_data import RESOLUTION, default_axes
from mtl_core.presets import PRESETS
from mtl_core.training.trainer import Trainer


def measure(arch: str, repeats: int) -> None:
    """Print the four timings for the heterogeneous preset with ``arch``."""
    config = PRESETS["heterogeneous"].make_config()
    config.arch, config.epochs, config.early_stopping = arch, 5, False
    frame = load_dataset(config.dataset).frame
    trainer = Trainer(config, frame)
    result = trainer.run()
    from mtl_core.io.model_info import ModelInfo
    from mtl_core.models.predict import Predictor

    predictor = Predictor(result.model, ModelInfo.from_prepared(result.prepared, config.to_dict()))
    probe = LandscapeProbe(predictor)
    schema = predictor.info.schema
    held = {c: float(frame[c].median()) for c in schema.columns}
    axes = default_axes(schema)
    view = probe.landscape(result.prepared, held, *axes)
    row = tf.constant(schema.encode_row(held))
    times = {
        f"landscape {RESOLUTION}x{RESOLUTION}, {len(view.tasks)} tasks + {len(view.unit_index)} trunk units"
        + (f" + gates of {len(view.gates)} tasks" if view.gates else ""):
            median_ms(lambda: probe.landscape(result.prepared, held, *axes), repeats, warmup=5),
        f"response curves, {len(schema.columns)} inputs":
            median_ms(lambda: probe.curves(result.prepared, held), repeats, warmup=5),
        "Predictor.predict_one (one row, peer)": median_ms(lambda: predictor.predict_one(held), repeats, warmup=5),
        "model(x) (one row, eager, peer)": median_ms(lambda: result.model(row, training=False), repeats, warmup=5),
    }
    peer = times["Predictor.predict_one (one row, peer)"]
    print(f"\n{arch}: {config.task_names}, inputs {schema.columns}, axes {axes}")
    for name, ms in times.items():
        print(f"  {name:<62} {ms:7.2f} ms   {ms / peer:5.2f}x predict_one")
    landscape_ms = next(iter(times.values()))
    print(f"  target: landscape <= 5 ms per refresh: {'met' if landscape_ms <= 5 else 'NOT met'} "
          f"({landscape_ms:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(f"load average before: {load_average()}")
    for arch in ("hard", "mmoe"):
        measure(arch, args.repeats)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
