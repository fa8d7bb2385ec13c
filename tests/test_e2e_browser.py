"""End to end in a real headless Chromium: preset → model → train (live chart, stop) → predict (slider).

Starts ``streamlit run app.py`` on a free port and drives Debian's /usr/bin/chromium with playwright.
Pages are switched through the sidebar: ``page.goto`` opens a new websocket, i.e. a new Streamlit
session without the preset, the config or the run. Screenshots land in artifacts/screenshots/e2e-<page>.png
(or $MTL_SCREENSHOTS).
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest

from tests.e2e_helpers import (
    CHROMIUM,
    ROOT,
    VIEWPORT,
    chart_points,
    launch,
    nav,
    play_to_the_end,
    streamlit_server,
    text_of,
)
from ui.charts import LIVE_POINTS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("e2e"),  # one browser test at a time (also set by tests/conftest.py)
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

# Screenshots go to a scratch folder so that a test run leaves the checkout clean; set
# MTL_SCREENSHOTS=docs/screenshots to refresh the README's pictures.
SHOTS = ROOT / os.environ.get("MTL_SCREENSHOTS", "artifacts/screenshots")
# At ~1-3 ms per epoch the preset's 200 epochs end before the first redraw; the most the config allows
# keeps it running (minutes) until the test presses Stop.
EPOCHS = 100_000
PRESET_TITLE = "Heterogeneous: Iris species + petal width"
PROGRESS = re.compile(r"Epoch (\d+)/(\d+)")
# The Train page's own progress bar (the sidebar shows another one while a run trains).
MAIN_PROGRESS = "[data-testid='stMain'] [data-testid='stProgress']"


@pytest.fixture(scope="module")
def server():
    with streamlit_server(ROOT / "app.py") as url:
        yield url


@pytest.fixture()
def page(server):
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"e2e-{name}.png"), full_page=False)


VISIBLE_BOX = """(sel) => {
    const plot = [...document.querySelectorAll(sel + ' .js-plotly-plot')].find(p => p.offsetParent !== null);
    if (!plot) return null;
    const r = plot.getBoundingClientRect();
    return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""


def shot_with_chart(page, name: str, container_key: str, attempts: int = 10) -> None:
    """Screenshot once the chart in ``container_key`` shows on screen.

    Streamlit remounts a plotly chart at every redraw, and some frames show its area blank; retry a few.
    """
    from PIL import Image  # a Streamlit dependency

    for _ in range(attempts):
        try:
            chart_points(page, container_key, timeout=5_000)
        except sync_api.TimeoutError:
            pass  # a busy page; the screenshot is documentation, not a check
        box = page.evaluate(VISIBLE_BOX, f".st-key-{container_key}")
        png = page.screenshot(full_page=False)
        if box is None:
            continue
        image = Image.open(io.BytesIO(png)).convert("L")
        top, bottom = max(0, int(box["y"])), min(image.height, int(box["y"] + box["height"]))
        area = image.crop((int(box["x"]), top, int(box["x"] + box["width"]), bottom))
        if bottom > top and area.getextrema()[0] < 128:  # dark pixels: lines or axis labels drawn
            break
        page.wait_for_timeout(150)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"e2e-{name}.png").write_bytes(png)


def progress(page) -> tuple[str, int]:
    """The progress bar's text and the number of epochs it reports done."""
    text = page.locator(MAIN_PROGRESS).first.inner_text()
    match = PROGRESS.search(text)
    assert match, f"no 'Epoch n/N' in the progress text {text!r}"
    return text, int(match.group(1))


def test_preset_train_stop_predict(server, page):
    start = time.monotonic()

    def phase(name: str) -> None:  # shown by pytest when the test fails: where the time went
        print(f"[{time.monotonic() - start:5.1f} s] {name}")

    # ---- Home: pick the heterogeneous preset ----------------------------------------------------------
    page.goto(server + "/")
    page.get_by_role("heading", name="MTL Playground").wait_for()
    page.get_by_text(PRESET_TITLE, exact=True).wait_for()  # its card's title
    preset = page.locator(".st-key-preset_heterogeneous button")
    preset.click()
    page.get_by_text(f"Loaded the preset “{PRESET_TITLE}”").wait_for()
    sync_api.expect(preset).to_contain_text("In use")
    shot(page, "home")
    phase("home done")

    # ---- Model & losses: enough epochs to still be training when we look -----------------------------
    nav(page, "model")
    page.get_by_role("heading", name="Model & losses").wait_for()
    epochs = page.locator(".st-key-epochs input")
    sync_api.expect(epochs).to_have_value("200")  # the preset's value, carried over from Home
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    page.get_by_text("These settings are valid.").wait_for()  # the core accepted the new value
    epochs.blur()
    # Only the Stop button should end this run: early stopping (on by default) is unticked.
    page.locator("[data-testid='stMain']").get_by_text("More settings: splits, early stopping, regression loss").click()
    early = page.locator(".st-key-early_stopping input")
    sync_api.expect(early).to_be_checked()
    page.locator(".st-key-early_stopping label").click()
    sync_api.expect(early).not_to_be_checked()
    page.get_by_role("heading", name="Model & losses").scroll_into_view_if_needed()
    shot(page, "model")
    phase("model done")

    # ---- Train: start, watch the live chart grow, stop ------------------------------------------------
    nav(page, "train")
    page.get_by_role("heading", name="Train").wait_for()
    # The session kept the preset and the new epochs across both page switches.
    page.get_by_text(f"tasks species, petal_width · Hard parameter sharing · Fixed weights · adam lr 0.01 · "
                     f"{EPOCHS} epochs").wait_for()
    # Streamlit 1.67 draws these buttons twice: the shown one first, then a hidden (zero-width) copy.
    train, stop = page.locator(".st-key-play_button button").first, page.locator(".st-key-stop_button button").first
    sync_api.expect(stop).to_be_disabled()
    play_to_the_end(page)
    # TensorFlow loads and the training step compiles on the first click: allow a minute on a busy machine.
    page.locator(".st-key-loss_chart .js-plotly-plot").first.wait_for(state="attached", timeout=60_000)
    sync_api.expect(stop).to_be_enabled()
    sync_api.expect(train).to_be_disabled()

    phase("training, chart drawn")
    first = chart_points(page, "loss_chart")
    _, done_before = progress(page)
    # The chart redraws once a second; wait for a redraw that plots later epochs.
    deadline = time.monotonic() + 20
    second = first
    while second[1] <= first[1] and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        second = chart_points(page, "loss_chart")
    # While training the chart thins to LIVE_POINTS evenly spaced epochs (the last one always), so the
    # number of points stops growing there; the last plotted epoch keeps growing while training runs.
    assert second[1] > first[1], f"the live loss chart did not gain epochs: {first} then {second}"
    assert 2 <= second[0] <= LIVE_POINTS and (second[0] > first[0] or second[1] > LIVE_POINTS), (first, second)
    # The progress line redraws on its own rhythm, not in step with the chart: wait for it to advance too.
    text, done_running = progress(page)
    while done_running <= done_before and time.monotonic() < deadline + 10:
        page.wait_for_timeout(250)
        text, done_running = progress(page)
    assert done_running > done_before and done_running < EPOCHS and "left" in text, text
    phase("chart grew")
    shot_with_chart(page, "train", "loss_chart")

    phase("train screenshot taken")

    stop.click()
    stopped = page.locator(MAIN_PROGRESS).filter(has_text="stopped")
    stopped.wait_for(timeout=30_000)
    page.locator("[data-testid='stMain']").get_by_text(re.compile(r"^Stopped by request after epoch \d+")).wait_for()
    sync_api.expect(stop).to_be_disabled()
    sync_api.expect(train).to_be_enabled()
    _, done_stopped = progress(page)
    assert done_running <= done_stopped < EPOCHS
    # Stopped means stopped: the count stays put.
    page.wait_for_timeout(1500)
    assert progress(page)[1] == done_stopped
    phase("stopped")

    # ---- Predict: a slider moves the predictions --------------------------------------------------------
    nav(page, "predict")
    page.get_by_role("heading", name="Predict").wait_for()
    page.get_by_text(f"epoch {done_stopped}/{EPOCHS}").wait_for()
    prediction = page.locator(".st-key-prediction")
    prediction.get_by_text("petal_width").first.wait_for()
    assert "(live)" not in text_of(page, "prediction")  # the run stopped, so nothing else changes the text
    phase("predict page drawn")
    before = text_of(page, "prediction")
    # Streamlit's slider is an <input type=range> (implicit ARIA role slider) inside a react-aria group.
    slider = page.locator(".st-key-features").get_by_role("slider", name="sepal_length")
    value_before = float(slider.input_value())
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    page.wait_for_function("([sel, old]) => document.querySelector(sel)?.innerText !== old",
                           arg=[".st-key-prediction", before], timeout=30_000)
    assert float(slider.input_value()) > value_before
    # Let the rerun for the last key press land before reading the final text.
    page.wait_for_timeout(1000)
    after = text_of(page, "prediction")
    assert after != before
    assert "species" in after and "petal_width" in after
    shot(page, "predict")
    phase("prediction changed")
