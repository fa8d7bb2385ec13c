"""Training speed at "max" with Train's live views on screen against the same training headless, in one run.

Run from the repo root: ``python bench/bench_live_training.py [--preset heterogeneous] [--seconds 20]``
(needs playwright and /usr/bin/chromium). On the page: the preset, continuous at "max" speed, Play, and the
progress text's (epoch, elapsed) pairs sampled for ``--seconds`` while the live views (loss chart, metrics,
weights, conflict, and whatever else the page draws live) redraw; then Stop. Headless: the same config as a
continuous ``Trainer`` advanced for the same time in a fresh subprocess, once before and once after the page
(the machine's load drifts). Both rates leave out the trace and the next fifth of the time (chunks growing
from one epoch to 0.1 s). Target: on the page >= 0.8x headless. Prints the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _common import ROOT, load_average
from playwright.sync_api import sync_playwright

from tests.e2e_helpers import CHROMIUM, VIEWPORT, launch, nav, set_play, streamlit_server

MAIN = "[data-testid='stMain']"
CONTINUOUS = re.compile(r"Epoch (\d+) · ([\d.]+) s · continuous")

HEADLESS = textwrap.dedent("""
    import json, sys, time
    from mtl_core.data.registry import load_dataset
    from mtl_core.presets import PRESETS
    from mtl_core.training.trainer import Trainer
    config = PRESETS[sys.argv[1]].make_config()
    seconds, warmup = float(sys.argv[2]), float(sys.argv[3])
    trainer = Trainer(config, load_dataset(config.dataset).frame)
    trainer.continuous = True
    trainer.advance(max_seconds=warmup)  # the trace, and chunks growing to their size
    first, start = trainer.epoch, time.perf_counter()
    trainer.advance(max_seconds=seconds)
    print(json.dumps({"epochs": trainer.epoch - first, "seconds": time.perf_counter() - start}))
""")


def headless_rate(preset: str, seconds: float) -> float:
    """Epochs per second of a continuous Trainer alone, in a fresh Python process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", HEADLESS, preset, str(seconds), str(seconds / 5)], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True, timeout=600).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    return figures["epochs"] / figures["seconds"]


def page_rate(page, preset: str, seconds: float) -> tuple[float, int]:
    """Epochs per second on the Train page (continuous, max), from the progress text; and the readings used."""
    page.locator(f".st-key-preset_{preset} button").click()
    page.locator(MAIN).get_by_text("Loaded the preset").wait_for()
    nav(page, "train")
    page.get_by_role("heading", name="Train").wait_for()
    set_play(page, continuous=True, speed="max")
    page.locator(".st-key-play_button button").first.click()
    samples: list[tuple[int, float]] = []
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        try:
            text = page.locator(f"{MAIN} [data-testid='stProgress']").first.inner_text(timeout=2_000)
        except Exception:  # noqa: BLE001 - the bar is briefly absent while the page reruns
            text = ""
        match = CONTINUOUS.search(text)
        if match and int(match.group(1)) > 0:
            point = (int(match.group(1)), float(match.group(2)))
            if not samples:
                deadline = time.monotonic() + seconds * 1.2  # from the first epoch (after the trace)
            if not samples or point != samples[-1]:
                samples.append(point)
        page.wait_for_timeout(250)
    page.locator(".st-key-stop_button button").first.click()
    # From the first reading past the first epochs' chunk (its trace) and a fifth of the time.
    (e0, t0) = next(s for s in samples if s[1] >= samples[0][1] + seconds / 5)
    (e1, t1) = samples[-1]
    if t1 <= t0:
        raise RuntimeError(f"too few progress readings to time: {samples}")
    return (e1 - e0) / (t1 - t0), len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--preset", default="heterogeneous", help="the preset to train (default heterogeneous)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of training per run (default 20)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"error: {CHROMIUM} is missing (apt-get install chromium)")
    print(f"load average before: {load_average()} ({os.cpu_count()} CPUs)", flush=True)
    headless = [headless_rate(args.preset, args.seconds)]
    with streamlit_server(ROOT / "app.py") as app, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(90_000)
        page.goto(app + "/")
        page.get_by_role("heading", name="MTL Playground").wait_for()
        on_page, readings = page_rate(page, args.preset, args.seconds)
        browser.close()
    headless.append(headless_rate(args.preset, args.seconds))
    print(f"load average after:  {load_average()}")
    print(f"training speed at 'max', preset {args.preset}, continuous, {args.seconds:g} s per run")
    print(f"    Train page, live views on screen: {on_page:7.0f} epochs/s ({readings} progress readings)")
    print(f"    Trainer alone (subprocess):       {statistics.mean(headless):7.0f} epochs/s "
          f"(runs before/after: {headless[0]:.0f}, {headless[1]:.0f})")
    print(f"    ratio: {on_page / statistics.mean(headless):.2f}x headless (target >= 0.8x)")


if __name__ == "__main__":
    main()
