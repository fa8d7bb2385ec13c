"""Slider -> prediction, response curves and landscape on /predict, against a minimal slider page, in one run.

Run from the repo root: ``python bench/bench_predict_views.py [--moves 20]`` (needs playwright and
/usr/bin/chromium). Trains the heterogeneous preset to the end on /train, opens /predict, and times key presses
on the first slider: from the keydown to the moment the page has settled, i.e. the last DOM change inside the
prediction box, the response curves (``.st-key-curves``) and the landscape (``.st-key-landscape``) before 600 ms
of quiet, with the prediction's metric text changed. The peer is ``bench/minimal_slider_app.py`` (one slider,
one text, no TensorFlow), timed the same way on its prediction box. Target: <= 1.5x the peer.
"""

from __future__ import annotations

import argparse
import statistics

from _common import ROOT, load_average
from playwright.sync_api import sync_playwright

from tests.e2e_helpers import launch, nav, play_to_the_end, streamlit_server

MINIMAL_APP = ROOT / "bench" / "minimal_slider_app.py"
VIEWPORT = {"width": 1400, "height": 1000}

# Arms one measurement: the keydown time, and the time of the last DOM change in each watched container.
ARM = """(keys) => {
    const text = () => {
        const el = document.querySelector('.st-key-prediction');
        if (!el) return null;
        const values = [...el.querySelectorAll('[data-testid=stMetricValue]')].map(v => v.innerText);
        return values.length ? values.join('|') : el.innerText;
    };
    window.__before = text();
    window.__text = text;
    window.__t0 = null;
    window.__last = {};
    if (!window.__keydown) {
        window.__keydown = true;
        document.addEventListener('keydown', () => { if (window.__t0 === null) window.__t0 = performance.now(); },
                                  true);
    }
    (window.__observers || []).forEach(o => o.disconnect());
    window.__observers = keys.map(key => {
        const observer = new MutationObserver(() => {
            if (window.__t0 !== null) window.__last[key] = performance.now();
        });
        observer.observe(document.querySelector('.st-key-' + key), {subtree: true, childList: true,
                                                                       characterData: true, attributes: true});
        return observer;
    });
}"""

SETTLED = """(keys) => {
    if (window.__t0 === null || window.__text() === window.__before) return null;
    if (!keys.every(k => window.__last[k] !== undefined)) return null;
    const last = Math.max(...keys.map(k => window.__last[k]));
    return performance.now() - last > 600 ? (last - window.__t0) / 1000 : null;
}"""


def round_trips(page, keys: list[str], moves: int) -> list[float]:
    """Seconds from a key press on the first slider to the last change in ``keys``' containers."""
    slider = page.locator(".st-key-features").get_by_role("slider").first
    slider.focus()
    times = []
    for i in range(moves):
        page.evaluate(ARM, keys)
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        try:
            times.append(page.wait_for_function(SETTLED, arg=keys, timeout=15_000).json_value())
        except Exception:  # noqa: BLE001 - a move that changed nothing shown (to 4 digits): not timed
            pass
        page.wait_for_timeout(300)
    return times


def describe(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return f"median {statistics.median(times) * 1000:6.0f} ms, p90 {p90 * 1000:6.0f} ms (n={len(times)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    print(f"load average before: {load_average()}")
    with sync_playwright() as p:
        browser = launch(p)
        with streamlit_server(MINIMAL_APP) as url:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url + "/")
            page.locator(".st-key-features").get_by_role("slider").first.wait_for()
            round_trips(page, ["prediction"], 3)  # warm-up
            floor = round_trips(page, ["prediction"], args.moves)
            page.close()
        with streamlit_server(ROOT / "app.py") as url:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(120_000)
            page.goto(url + "/")
            page.get_by_role("heading", name="MTL Playground").wait_for()
            nav(page, "train")
            play_to_the_end(page)  # the preset's epochs at full speed, then its results
            page.get_by_role("heading", name="Results").wait_for(timeout=300_000)
            nav(page, "predict")
            page.locator(".st-key-landscape .js-plotly-plot").first.wait_for()
            keys = ["prediction", "curves", "landscape"]
            round_trips(page, keys, 3)  # warm-up
            views = round_trips(page, keys, args.moves)
            browser.close()
    print(f"minimal slider page (text follows the slider):        {describe(floor)}")
    print(f"/predict (prediction + response curves + landscape):  {describe(views)}")
    ratio = statistics.median(views) / statistics.median(floor)
    print(f"ratio of medians: {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
