"""A server whose trainings run in the worker pool never loads TensorFlow itself, whatever its pages show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# In a process of its own (this one has TensorFlow loaded by other tests): a student trains in the pool, then
# looks at everything a finished run offers: Train's curves, landscapes and exports, then Predict.
_SCRIPT = """
import sys
from tests.apptest import open_page, press_train, training, wait_for_run
at = open_page("pages/train.py")
press_train(at)
assert type(training(at).run).__name__ == "PoolTrainingJob", type(training(at).run)
assert wait_for_run(at, 240)
at.run()
keys = {b.key for b in at.get("download_button")}
assert {"download_model", "download_tfjs"} <= keys, keys
at.switch_page("pages/predict.py").run()
assert not at.exception, at.exception
print("loaded" if "tensorflow" in sys.modules or "keras" in sys.modules else "light", flush=True)
"""


def test_the_server_draws_a_pool_runs_views_and_exports_without_tensorflow():
    done = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "light"
