"""Trainer speed against its peers, measured in one process and one run (a benchmark, not a test).

Trains the heterogeneous Iris model (inputs sepal_length, sepal_width, petal_length; shared 10,10 relu;
tasks species + petal_width; batch 32; plain SGD lr 0.01) with
  (a) the mtl_core trainer, per-epoch events and validation on,
  (b) plain ``keras.Model.fit`` on the same model, with the same validation data,
  (c) the tutorial's own stack, TensorFlow.js in Node.js (pure-JS CPU backend), when Node.js and
      ``tests/tfjs/node_modules`` are there (``npm ci`` in tests/tfjs),
at 150 rows, then at 10,000 and 100,000 synthetic rows (Iris rows resampled with jitter), and prints ms per
epoch and ratios. Then the latency of a one-row prediction through the dashboard's path (``Predictor``)
against ``model.predict`` and ``model(x)``.

Usage: ``python bench/bench_trainer.py [--epochs 300] [--skip-large]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _common import IRIS_INPUTS as INPUTS
from _common import load_average, median_ms, steady_ms, tfjs_ms_per_epoch

from mtl_core._tf import keras
from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.data.registry import load_dataset
from mtl_core.io.model_info import ModelInfo
from mtl_core.models.hard_sharing import build_hard_sharing
from mtl_core.models.predict import Predictor
from mtl_core.training.trainer import Trainer


def config(epochs: int, **overrides) -> TrainConfig:
    """The benchmark's heterogeneous Iris configuration."""
    values = dict(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")], inputs=INPUTS,
                  shared=[10, 10], head=[], optimizer="sgd", lr=0.01, batch_size=32, epochs=epochs,
                  conflict_every=0, early_stopping=False)  # every epoch runs: a per-epoch cost needs them all
    values.update(overrides)
    return TrainConfig(**values)


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """Iris rows resampled with a little jitter on the measurements."""
    iris = load_dataset("iris").frame
    rng = np.random.default_rng(seed)
    frame = iris.iloc[rng.integers(0, len(iris), rows)].reset_index(drop=True)
    for col in ["sepal_length", "sepal_width", "petal_length", "petal_width"]:
        frame[col] = frame[col] + rng.normal(0, 0.05, rows)
    return frame


def time_trainer(frame: pd.DataFrame, epochs: int, **overrides) -> float:
    """ms per epoch of the mtl_core trainer with per-epoch events and validation, second half of the run."""
    stamps: list[tuple[int, float]] = []
    Trainer(config(epochs, **overrides), frame, lambda e: stamps.append((e.epoch, time.perf_counter()))).run()
    # Events arrive in chunks sharing one timestamp: start the clock at the end of the chunk that
    # reaches half-way, so tracing and warm-up stay out.
    t0 = next(t for epoch, t in stamps if epoch >= epochs // 2)
    e0 = max(epoch for epoch, t in stamps if t == t0)
    t_end = stamps[-1][1]
    return 1000 * (t_end - t0) / max(epochs - e0, 1)


def time_fit(frame: pd.DataFrame, epochs: int) -> float:
    """ms per epoch of keras Model.fit on the same model and data."""
    trainer = Trainer(config(epochs), frame)
    p = trainer.prepared
    model = build_hard_sharing(trainer.config, p)
    outputs = {t.output: t for t in p.tasks}
    losses = {name: ("sparse_categorical_crossentropy" if t.is_classification else "mse")
              for name, t in outputs.items()}
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=losses)
    y_train = {name: p.y["train"][t.name] for name, t in outputs.items()}
    y_val = {name: p.y["val"][t.name] for name, t in outputs.items()}
    stamps: list[float] = []
    stamp = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: stamps.append(time.perf_counter()))
    model.fit(p.x["train"], y_train, batch_size=32, epochs=epochs, validation_data=(p.x["val"], y_val),
              verbose=0, callbacks=[stamp], shuffle=True)
    return steady_ms(stamps)


def time_tfjs(frame: pd.DataFrame, epochs: int) -> float | None:
    """ms per epoch of the same model in TensorFlow.js (Node.js, pure-JS backend), or None if unavailable."""
    p = Trainer(config(epochs), frame).prepared
    return tfjs_ms_per_epoch(p.x["train"].tolist(), p.y["train"]["species"].tolist(),
                             p.y["train"]["petal_width"].tolist(), p.x["val"].tolist(), epochs)


def prediction_latency() -> dict[str, float]:
    """Median ms for one single-row prediction through three paths."""
    frame = load_dataset("iris").frame
    result = Trainer(config(5), frame).run()
    info = ModelInfo.from_prepared(result.prepared, {})
    predictor = Predictor(result.model, info)
    row = frame[INPUTS].iloc[0].to_dict()
    x = info.schema.encode_row(row)

    return {"Predictor.predict_one (dashboard path)": median_ms(lambda: predictor.predict_one(row), 500),
            "model(x, training=False)": median_ms(lambda: result.model(x, training=False), 200),
            "model.predict(x)": median_ms(lambda: result.model.predict(x, verbose=0), 30)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--skip-large", action="store_true", help="only the 150-row case")
    args = parser.parse_args()
    sizes = [(150, args.epochs, args.epochs)]
    if not args.skip_large:
        sizes += [(10_000, 12, 6), (100_000, 4, 3)]
    print(f"load average: {load_average()}")
    print("ms per epoch (steady state; lower is better)")
    print(f"{'rows':>8} {'mtl_core':>10} {'Model.fit':>10} {'TF.js':>10} {'fit/mtl':>8} {'tfjs/mtl':>9}")
    for rows, epochs, fit_epochs in sizes:
        frame = load_dataset("iris").frame if rows == 150 else synthetic(rows)
        ours = time_trainer(frame, epochs)
        fit = time_fit(frame, fit_epochs)
        tfjs = time_tfjs(frame, min(epochs, 50) if rows == 150 else 2) if rows <= 10_000 else None
        tfjs_text = f"{tfjs:10.2f}" if tfjs else f"{'n/a':>10}"
        ratio = f"{tfjs / ours:9.1f}x" if tfjs else f"{'':>10}"
        print(f"{rows:>8} {ours:10.3f} {fit:10.2f} {tfjs_text} {fit / ours:7.1f}x {ratio}", flush=True)
    ours_adam = time_trainer(load_dataset("iris").frame, args.epochs, optimizer="adam")
    ours_conflict = time_trainer(load_dataset("iris").frame, args.epochs, conflict_every=1)
    print(f"150 rows, adam instead of sgd: {ours_adam:.3f} ms/epoch; with the conflict monitor every epoch: "
          f"{ours_conflict:.3f} ms/epoch")
    print("\none-row prediction latency (median ms)")
    for name, ms in prediction_latency().items():
        print(f"  {name:42s} {ms:8.3f}")


if __name__ == "__main__":
    main()
