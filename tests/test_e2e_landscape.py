"""End to end in a real headless Chromium: the live landscapes change while a run trains, on Train and Predict.

One Streamlit server and one browser page for the module. A plotly chart may hold its arrays as typed arrays
({dtype, bdata}) in ``.data``; comparing the serialized ``.data`` of a chart tells whether its figure changed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e_helpers import CHROMIUM, ROOT, epoch_shown, launch, nav, streamlit_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("e2e"),  # one browser test at a time (also set by tests/conftest.py)
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

TASKS = ("y1", "y2")
VIEWPORT = {"width": 1400, "height": 1000}

# The serialized data of the drawn plotly chart inside ``.st-key-<key>`` (null while it is being redrawn).
_FIGURE = """(sel) => {
    const plot = [...document.querySelectorAll(sel + ' .js-plotly-plot')].find(p => p.offsetParent !== null);
    return plot && plot.data ? JSON.stringify(plot.data) : null;
}"""


def figure(page, key: str, timeout: float = 60_000) -> str:
    """The serialized data of chart ``key`` once drawn."""
    return page.wait_for_function(_FIGURE, arg=f".st-key-{key}", timeout=timeout).json_value()


def changed(page, key: str, before: str, timeout: float = 30.0) -> str | None:
    """The chart's data once it differs from ``before`` (None if it did not within ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = page.evaluate(_FIGURE, f".st-key-{key}")
        if now is not None and now != before:
            return now
        page.wait_for_timeout(250)
    return None


@pytest.fixture(scope="module")
def page():
    """The dashboard on a fresh server, the 'Two related tasks' preset applied, training in continuous mode."""
    with sync_api.sync_playwright() as p, streamlit_server(ROOT / "app.py") as url:
        browser = launch(p)
        try:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.set_default_timeout(60_000)
            tab.goto(url + "/")
            tab.get_by_role("heading", name="MTL Playground").wait_for()
            tab.locator(".st-key-preset_plane-related button").click()
            tab.wait_for_timeout(500)
            nav(tab, "train")
            tab.get_by_role("heading", name="Train").wait_for()
            play = tab.locator(".st-key-play_button button, .st-key-train_button button").first
            continuous = tab.locator(".st-key-continuous input")
            if continuous.count() and not continuous.is_checked():
                tab.locator(".st-key-continuous label").click()  # run until paused: it outlives the test
                tab.wait_for_timeout(500)
            play.click()
            yield tab
        finally:
            browser.close()


def test_each_task_landscape_changes_while_training(page):
    # The run trains once TensorFlow has loaded and the step has compiled: a minute or more on a loaded machine.
    page.wait_for_function("() => /Epoch [1-9]/.test(document.querySelector('.st-key-epoch_counter')?.innerText)",
                           timeout=180_000)
    assert epoch_shown(page) >= 1
    first = {task: figure(page, f"landscape_{task}", timeout=120_000) for task in TASKS}
    for task in TASKS:
        assert changed(page, f"landscape_{task}", first[task]) is not None, f"landscape_{task} never changed"
    # The trunk's unit pictures are there, one per unit of the last shared layer (8).
    assert page.locator(".st-key-trunk_units img").count() == 8


def test_predict_slider_moves_the_curves_and_the_landscape_point(page):
    nav(page, "predict")
    page.get_by_role("heading", name="Predict").wait_for()
    before = {key: figure(page, key) for key in ("curves_y1", "landscape_y2")}
    slider = page.locator(".st-key-features").get_by_role("slider").first
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    for key, data in before.items():
        assert changed(page, key, data) is not None, f"{key} did not follow the slider"
