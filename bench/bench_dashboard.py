"""Dashboard speed in a real headless Chromium, each figure against a peer measured in the same run.

Run from the repo root: ``python bench/bench_dashboard.py`` (needs playwright and /usr/bin/chromium;
``--moves``, ``--epochs``, ``--loads`` make it shorter or longer). Prints:

(a) slider → prediction round trip on /predict (heterogeneous preset, trained to completion) against
    ``bench/minimal_slider_app.py`` (one slider, one text, no TensorFlow); target ≤ 1.2x. Timed inside
    the page: ``performance.now()`` at the key's keydown, and when a MutationObserver first sees the
    text of ``.st-key-prediction`` differ from before the key press.
(b) epochs per second with the live charts on screen (Train page, heterogeneous preset, many epochs)
    against ``mtl_core.training.trainer.Trainer`` alone in a subprocess with the same config; target ≥ 0.8x. Both
    rates leave out the first tenth of the epochs (the loop is traced there and chunks grow from one
    epoch to 0.1 s): on the page from the progress text's (epoch, elapsed) pairs, headless from the
    history's.
(c) time to first render of ``/``: navigation start → the "MTL Playground" title painted, in a fresh
    browser context (new session, empty cache); the first load is the server's first session (cold
    imports). Target ≤ 2 s. The minimal app's first render is printed as the floor.

The machine these run on may be shared: the load average is printed before and after.
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
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.e2e_helpers import CHROMIUM, VIEWPORT, launch, nav, play_to_the_end, streamlit_server

MINIMAL_APP = ROOT / "bench" / "minimal_slider_app.py"
MAIN = "[data-testid='stMain']"
PROGRESS = re.compile(r"Epoch (\d+)/(\d+) · ([\d.]+) s")

# Paint time of the first h1 containing the title, relative to navigation start (performance.now()).
TITLE_WATCH = """(title) => {
    const seen = () => [...document.querySelectorAll('h1')].some(
        h => h.textContent.includes(title) && h.getBoundingClientRect().height > 0);
    const observer = new MutationObserver(() => {
        if (window.__titleAt === undefined && seen()) {
            window.__titleAt = null;
            observer.disconnect();
            requestAnimationFrame(() => { window.__titleAt = performance.now(); });
        }
    });
    observer.observe(document, {subtree: true, childList: true, characterData: true});
}"""

# Arms one slider measurement: keydown time, then the first moment the prediction shown differs: the
# metric values on the Predict page (the rest of the box holds charts), the whole text on the floor app.
ARM = """() => {
    const text = () => {
        const el = document.querySelector('.st-key-prediction');
        if (!el) return null;
        const values = [...el.querySelectorAll('[data-testid=stMetricValue]')].map(v => v.innerText);
        return values.length ? values.join('|') : el.innerText;
    };
    const before = text();
    window.__t0 = null; window.__t1 = null;
    if (!window.__keydown) {
        window.__keydown = true;
        document.addEventListener('keydown', () => { if (window.__t0 === null) window.__t0 = performance.now(); },
                                  true);
    }
    if (window.__observer) window.__observer.disconnect();
    window.__observer = new MutationObserver(() => {
        if (window.__t0 !== null && window.__t1 === null && text() !== before) {
            window.__t1 = performance.now();
        }
    });
    window.__observer.observe(document.body, {subtree: true, childList: true, characterData: true});
    return before;
}"""


def first_render(browser, url: str, title: str, loads: int) -> list[float]:
    """Seconds from navigation start to the title painted, one fresh context (session) per load."""
    times = []
    for _ in range(loads):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.add_init_script(f"({TITLE_WATCH})({json.dumps(title)})")
        page.goto(url + "/", wait_until="commit")
        page.wait_for_function("() => typeof window.__titleAt === 'number'", timeout=60_000)
        times.append(page.evaluate("window.__titleAt") / 1000)
        context.close()
    return times


def slider_round_trips(page, moves: int) -> tuple[list[float], int]:
    """Seconds from a key press on the first slider to the prediction changing, and the moves that changed nothing."""
    slider = page.locator(".st-key-features").get_by_role("slider").first
    slider.focus()
    times, misses = [], 0
    for i in range(moves):
        page.evaluate(ARM)
        # Alternate directions so the slider never sticks at an end.
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        try:
            page.wait_for_function("() => window.__t1 !== null", timeout=10_000)
            times.append(page.evaluate("(window.__t1 - window.__t0) / 1000"))
        except PlaywrightTimeout:
            misses += 1  # the value moved but the prediction, to 4 digits, did not
        # Let the rest of the rerun land (and the page go idle) before the next move.
        page.wait_for_timeout(400)
    return times, misses


def progress_text(page) -> str:
    return page.locator(f"{MAIN} [data-testid='stProgress']").first.inner_text()


def train_on_page(page, epochs: int) -> list[tuple[int, float]]:
    """Set epochs on Model, train on Train, and sample the progress text's (epoch, elapsed) until done."""
    nav(page, "model")
    box = page.locator(".st-key-epochs input")
    box.fill(str(epochs))
    box.press("Enter")
    # Early stopping (on by default) would end the run long before its epochs: untick it to time them all.
    page.locator(MAIN).get_by_text("More settings: splits, early stopping, regression loss").click()
    early = page.locator(".st-key-early_stopping input")
    if early.is_checked():
        page.locator(".st-key-early_stopping label").click()
        page.wait_for_timeout(500)
    page.locator(MAIN).get_by_text("These settings are valid.").wait_for()
    nav(page, "train")
    page.locator(MAIN).get_by_text(f"{epochs} epochs").first.wait_for()
    play_to_the_end(page)
    samples: list[tuple[int, float]] = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            text = progress_text(page)
        except Exception:  # noqa: BLE001 - the bar is briefly absent while the page reruns
            text = ""
        match = PROGRESS.search(text)
        # Until the page reruns, the bar still shows the previous run (another epoch total).
        if match and int(match.group(1)) > 0 and int(match.group(2)) == epochs:
            point = (int(match.group(1)), float(match.group(3)))
            if not samples or point != samples[-1]:
                samples.append(point)
            if "completed" in text or "stopped" in text:
                return samples
        page.wait_for_timeout(250)
    raise RuntimeError(f"training on the page did not finish; last progress: {samples[-1:]}")


def page_rate(samples: list[tuple[int, float]], warmup: int) -> float:
    """Epochs per second from the first progress reading at or past epoch ``warmup`` to the last."""
    (e0, t0), (e1, t1) = next(s for s in samples if s[0] >= warmup), samples[-1]
    if t1 <= t0:
        raise RuntimeError(f"too few progress readings to time: {samples}")
    return (e1 - e0) / (t1 - t0)


HEADLESS = textwrap.dedent("""
    import json, sys
    from mtl_core.data.registry import load_dataset
    from mtl_core.presets import PRESETS
    from mtl_core.training.trainer import Trainer
    config = PRESETS["heterogeneous"].make_config()
    config.epochs, config.early_stopping = int(sys.argv[1]), False
    warmup = int(sys.argv[2])
    history = Trainer(config, load_dataset(config.dataset).frame).run().history
    # Every event of a chunk carries the chunk's end time: start at the first chunk end past the warm-up.
    ends = [e for e, after in zip(history, history[1:]) if after.elapsed != e.elapsed]
    first = next(e for e in ends if e.epoch >= warmup)
    last = history[-1]
    print(json.dumps({"epochs": last.epoch - first.epoch, "seconds": last.elapsed - first.elapsed}))
""")


def headless_rate(epochs: int, warmup: int) -> float:
    """Epochs per second of the Trainer alone, in a fresh Python process, same config as the page."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", HEADLESS, str(epochs), str(warmup)], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=600).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    return figures["epochs"] / figures["seconds"]


def describe(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return f"median {statistics.median(times) * 1000:6.0f} ms, p90 {p90 * 1000:6.0f} ms (n={len(times)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--moves", type=int, default=25, help="slider moves per side (default 25)")
    parser.add_argument("--epochs", type=int, default=8000, help="epochs for the training-speed runs")
    parser.add_argument("--loads", type=int, default=5, help="home page loads (default 5)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"error: {CHROMIUM} is missing (apt-get install chromium)")
    print(f"load average before: {load_average()} ({os.cpu_count()} CPUs)", flush=True)

    with streamlit_server(ROOT / "app.py") as app, streamlit_server(MINIMAL_APP) as floor, \
            sync_playwright() as p:
        browser = launch(p)
        # (c) first, while the dashboard's server is still cold.
        home = first_render(browser, app, "MTL Playground", args.loads)
        floor_home = first_render(browser, floor, "Minimal slider", args.loads)

        # (a) slider round trips: the floor app, then the Predict page with a trained model.
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(floor + "/")
        page.locator(".st-key-prediction").get_by_text("petal_width").wait_for(timeout=60_000)
        floor_trips, floor_misses = slider_round_trips(page, args.moves)
        page.close()

        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(60_000)
        page.goto(app + "/")
        page.locator(".st-key-preset_heterogeneous button").click()
        page.locator(MAIN).get_by_text("Loaded the preset").wait_for()
        nav(page, "train")
        play_to_the_end(page)
        page.locator(f"{MAIN} [data-testid='stProgress']").filter(has_text="completed").wait_for(timeout=120_000)
        nav(page, "predict")
        page.locator(".st-key-prediction").get_by_text("petal_width").first.wait_for()
        page.wait_for_timeout(1000)
        app_trips, app_misses = slider_round_trips(page, args.moves)

        # (b) training speed: headless, on the page, headless again (the machine's load drifts). Both rates
        # start after a tenth of the epochs: the first chunks trace the loop and grow from 1 epoch to 0.1 s.
        warmup = args.epochs // 10
        headless = [headless_rate(args.epochs, warmup)]
        samples = train_on_page(page, args.epochs)
        headless.append(headless_rate(args.epochs, warmup))
        on_page = page_rate(samples, warmup)
        browser.close()

    print(f"load average after:  {load_average()}")
    print()
    floor_median, app_median = statistics.median(floor_trips), statistics.median(app_trips)
    print("(a) slider -> prediction round trip")
    print(f"    Predict page:          {describe(app_trips)}, {app_misses} moves left the prediction unchanged")
    print(f"    minimal slider app:    {describe(floor_trips)}, {floor_misses} moves left the text unchanged")
    print(f"    ratio of medians: {app_median / floor_median:.2f}x the floor (target <= 1.2x)")
    print(f"(b) training speed, heterogeneous preset, {args.epochs} epochs")
    print(f"    Train page, live charts on screen: {on_page:7.0f} epochs/s "
          f"(epochs {next(x for x in samples if x[0] >= warmup)[0]}..{samples[-1][0]}, "
          f"{len(samples)} progress readings)")
    print(f"    Trainer alone (subprocess):        {statistics.mean(headless):7.0f} epochs/s "
          f"(runs before/after: {headless[0]:.0f}, {headless[1]:.0f})")
    print(f"    ratio: {on_page / statistics.mean(headless):.2f}x headless (target >= 0.8x)")
    print("(c) time to first render of / (navigation start -> title painted), fresh session each")
    print(f"    dashboard home:     first (cold server) {home[0]:.2f} s, "
          f"median of the next {len(home) - 1}: {statistics.median(home[1:] or home):.2f} s (target <= 2 s)")
    print(f"    minimal slider app: first {floor_home[0]:.2f} s, "
          f"median of the next {len(floor_home) - 1}: {statistics.median(floor_home[1:] or floor_home):.2f} s")


if __name__ == "__main__":
    main()
