"""What every benchmark in bench/ shares: the repo root on ``sys.path``, timers, the load average, the TF.js peer.

Each script runs as ``python bench/NAME.py`` (so bench/ is on ``sys.path``) and imports this module first:
``from _common import ROOT, ...``; importing it puts the repository root on ``sys.path`` so that
``mtl_core``, ``ui`` and ``tests`` import from the checkout. Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TFJS_DIR = ROOT / "tests" / "tfjs"
#: The heterogeneous Iris inputs that every speed peer (Model.fit, TF.js) trains on.
IRIS_INPUTS = ["sepal_length", "sepal_width", "petal_length"]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, printed with results because the machine may be shared."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def median_ms(call: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``call()`` in milliseconds over ``repeats`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def steady_ms(stamps: list[float]) -> float:
    """ms per epoch over the second half of a run's epoch-end timestamps (tracing and warm-up left out)."""
    half = stamps[len(stamps) // 2:]
    return 1000 * (half[-1] - half[0]) / max(len(half) - 1, 1)


def tfjs_available() -> bool:
    """Node.js and tests/tfjs/node_modules (``npm ci`` in tests/tfjs) are there."""
    return shutil.which("node") is not None and (TFJS_DIR / "node_modules" / "@tensorflow" / "tfjs").is_dir()


def tfjs_ms_per_epoch(x: list, species: list, width: list, val_x: list, epochs: int) -> float | None:
    """ms per epoch of the heterogeneous Iris model in TensorFlow.js (Node.js, pure-JS CPU backend), or None.

    The tutorial's own stack as the peer: bench/tfjs_train.mjs trains shared 10,10 relu, a softmax species
    head and a linear petal_width head with SGD lr 0.01, batch 32, on the encoded training rows given.
    """
    if not tfjs_available():
        return None
    payload = {"x": x, "species": species, "width": width, "epochs": epochs, "val_x": val_x}
    proc = subprocess.run(["node", str(ROOT / "bench" / "tfjs_train.mjs")], input=json.dumps(payload),
                          capture_output=True, text=True, cwd=TFJS_DIR, timeout=3600)
    if proc.returncode != 0:
        print("  (tfjs run failed:", proc.stderr.strip().splitlines()[-1:], ")")
        return None
    return float(json.loads(proc.stdout)["ms_per_epoch"])
