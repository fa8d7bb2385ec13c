"""End to end in headless Chromium, against a server whose pool is one worker with one slot (MTL_WORKERS=1,
MTL_JOBS_PER_WORKER=1): two sessions queued behind a busy pool both finish, and closing a session's browser stops
its run (the run store then holds it as stopped).

One server and one browser serve the module; each test opens its own contexts (sessions).
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from mtl_core.store import open_store
from tests.e2e_helpers import CHROMIUM, ROOT, VIEWPORT, launch, streamlit_server, wait_shown

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("e2e"),  # one browser test at a time (also set by tests/conftest.py)
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

MAIN = "[data-testid='stMain']"
PROGRESS = f"{MAIN} [data-testid='stProgress']"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("pool-store")
    saved = {k: os.environ.get(k) for k in ("MTL_WORKERS", "MTL_JOBS_PER_WORKER", "MTL_DATA_DIR")}
    os.environ.update(MTL_WORKERS="1", MTL_JOBS_PER_WORKER="1", MTL_DATA_DIR=str(data))
    try:
        with streamlit_server(ROOT / "app.py", timeout=120) as url:
            yield url, data
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def browser(server):
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def link(url: str, epochs: int, seed: int) -> str:
    from mtl_core.presets import PRESETS
    from ui.share import config_to_params, query_string

    cfg = PRESETS["heterogeneous"].make_config()
    cfg.epochs, cfg.early_stopping, cfg.seed = epochs, False, seed
    return f"{url}/train?{query_string(config_to_params(cfg))}"


def student(browser, url: str, *, continuous: bool):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(180_000)
    page.goto(url)
    page.locator(".st-key-play_button button").first.wait_for()
    toggle = page.locator(".st-key-continuous input").first
    if toggle.is_checked() != continuous:
        page.locator(".st-key-continuous label").first.click()
        page.wait_for_timeout(300)
    page.locator(".st-key-speed").first.get_by_text("max", exact=True).click()
    page.wait_for_timeout(300)
    return context, page


@contextmanager
def sessions():
    """Opened contexts, all closed at the end even when the test fails: a busy run left playing would hold the
    only slot and fail the next test too."""
    opened = []
    try:
        yield opened
    finally:
        for context in opened:
            context.close()


def test_two_sessions_queued_behind_a_busy_pool_both_finish(server, browser):
    url, _ = server
    with sessions() as opened:
        busy_context, busy = student(browser, link(url, 100_000, 1), continuous=True)
        opened.append(busy_context)
        busy.locator(".st-key-play_button button").first.click()
        busy.locator(PROGRESS).filter(has_text=re.compile(r"Epoch [1-9]")).wait_for(timeout=300_000)
        queued = []
        # One after the other: two Play presses sent together may reach the pool in either order.
        for place, seed in enumerate((2, 3), start=1):
            context, page = student(browser, link(url, 40, seed), continuous=False)
            opened.append(context)
            queued.append(page)
            page.locator(".st-key-play_button button").first.click()
            # It waits while the only slot trains the busy run, and says so.
            wait_shown(page, page.locator(PROGRESS).filter(has_text=f"number {place} in the queue"),
                       timeout=60_000, what=f"place {place} in the queue")
        busy.locator(".st-key-stop_button button").first.click()
        for page in queued:
            wait_shown(page, page.locator(PROGRESS).filter(has_text="completed"), timeout=180_000,
                       what="the queued run completed")
            page.locator(MAIN).get_by_text(re.compile(r"^Completed 40 epochs")).wait_for()
            # The heading above it as well: it used to stay missing for seconds after the run, or for good, when
            # the live views' fragments crossed the page's last rerun.
            wait_shown(page, page.get_by_role("heading", name="Results"), timeout=15_000, what="the Results heading")


def test_closing_a_sessions_browser_stops_its_run(server, browser):
    url, data = server
    with sessions() as opened:
        context, page = student(browser, link(url, 100_000, 4), continuous=True)
        opened.append(context)
        page.locator(".st-key-play_button button").first.click()
        wait_shown(page, page.locator(PROGRESS).filter(has_text=re.compile(r"Epoch [1-9]")), timeout=300_000,
                   what="the first epoch")
        context.close()
    closed = time.monotonic()
    stopped = []
    with open_store(f"sqlite:///{data / 'runs.db'}") as store:
        while time.monotonic() - closed < 40 and not stopped:
            stopped = [r for r in store.list_runs() if r.status == "stopped" and r.config.get("seed") == 4]
            time.sleep(0.5)
    assert stopped, "the run of a closed session was not stopped within 40 s"
    assert time.monotonic() - closed < 30 + 5  # the watcher's period and grace are well below 30 s
