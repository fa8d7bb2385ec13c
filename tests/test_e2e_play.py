"""End to end in headless Chromium: Train's Step, Play (continuous), Pause and Play again, read off "Epoch N".

One server and one browser page for the module; the tutorial preset (one small task, 10 epochs) at "max" speed
keeps it short.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e_helpers import CHROMIUM, ROOT, VIEWPORT, epoch_shown, launch, nav, set_play, streamlit_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("e2e"),  # one browser test at a time (also set by tests/conftest.py)
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

PRESET = "seed"
PRESET_EPOCHS = 10


def wait_epoch(page, ok, timeout: float = 60) -> int:
    """Wait until the counter's number satisfies ``ok``; return it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            shown = epoch_shown(page)
        except AssertionError:
            shown = -1  # between two redraws
        if shown >= 0 and ok(shown):
            return shown
        assert time.monotonic() < deadline, f"the epoch counter stayed at {shown}"
        page.wait_for_timeout(100)


@pytest.fixture(scope="module")
def page():
    with streamlit_server(ROOT / "app.py") as url, sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(60_000)
            page.goto(url + "/")
            page.get_by_role("heading", name="MTL Playground").wait_for()
            page.locator(f".st-key-preset_{PRESET} button").click()
            page.locator("[data-testid='stMain']").get_by_text("Loaded the preset").wait_for()
            nav(page, "train")
            page.get_by_role("heading", name="Train").wait_for()
            set_play(page, continuous=True, speed="max")
            yield page
        finally:
            browser.close()


def test_step_from_a_fresh_start_then_again(page):
    page.locator(".st-key-step_button button").first.click()
    # The first step compiles the training step (in a worker process): minutes on a loaded 2-core machine.
    assert wait_epoch(page, lambda n: n >= 1, timeout=240) == 1
    page.wait_for_timeout(1500)  # a fragment redraw later: still one epoch (paused after it)
    assert epoch_shown(page) == 1
    page.locator(".st-key-step_button button").first.click()
    assert wait_epoch(page, lambda n: n >= 2) == 2
    page.wait_for_timeout(1500)
    assert epoch_shown(page) == 2


def test_continuous_play_runs_past_the_presets_epochs_pause_holds_and_play_resumes(page):
    play = page.locator(".st-key-play_button button").first
    pause = page.locator(".st-key-pause_button button").first
    play.click()
    sync_api.expect(pause).to_be_enabled(timeout=30_000)
    wait_epoch(page, lambda n: n > PRESET_EPOCHS + 5)
    pause.click()
    sync_api.expect(play).to_be_enabled(timeout=30_000)
    page.locator(".st-key-epoch_status").get_by_text("paused", exact=False).wait_for()
    page.wait_for_timeout(1200)  # epochs in flight when Pause was pressed have landed
    held = epoch_shown(page)
    page.wait_for_timeout(2500)  # two redraws of the live fragment
    assert epoch_shown(page) == held, "the counter moved while paused"
    play.click()
    # The same run goes on: the counter never goes back below where it paused, and grows.
    resumed = wait_epoch(page, lambda n: n != held)
    assert resumed > held
    pause.click()
    sync_api.expect(play).to_be_enabled()
