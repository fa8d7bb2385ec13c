"""End to end in a real headless Chromium: a run trained in a notebook is listed on /runs after a server restart.

The server's store is a SQLite file in a tmp folder (MTL_DATA_DIR, passed on to the server); the notebook id
travels in the URL (``?nb=``), as a bookmark keeps it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from mtl_core.presets import PRESETS
from mtl_core.store import open_store
from tests.e2e_helpers import CHROMIUM, ROOT, launch, nav, play_to_the_end, streamlit_server, wait_shown

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("e2e"),  # one browser test at a time (also set by tests/conftest.py)
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

NB = "e2enotebook42"
VIEWPORT = {"width": 1400, "height": 1000}
RUN_NAME = "iris · hard · fixed"  # the recorder's name for the default preset's training


def _full_run_link() -> str:
    """The default preset's setup with early stopping off (on by default), so its run is recorded 'completed'."""
    from ui.share import config_to_params, query_string
    from ui.state import DEFAULT_PRESET

    config = PRESETS[DEFAULT_PRESET].make_config()
    config.early_stopping = False
    return query_string({**config_to_params(config), "nb": NB})


def _recorded(data_dir: Path, timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    with open_store(f"sqlite:///{data_dir / 'runs.db'}") as store:
        while time.monotonic() < deadline:
            runs = store.list_runs(notebook=NB)
            if runs:
                return runs
            time.sleep(0.2)
    return []


def test_a_trained_run_is_listed_for_its_notebook_after_a_server_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("MTL_DATA_DIR", str(tmp_path))  # the servers inherit the environment
    monkeypatch.delenv("MTL_DB_URL", raising=False)
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            with streamlit_server(ROOT / "app.py") as url:
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(60_000)
                page.goto(f"{url}/?{_full_run_link()}")
                page.get_by_role("heading", name="MTL Playground").wait_for()
                nav(page, "train")
                page.get_by_role("heading", name="Train").wait_for()
                assert f"nb={NB}" in page.url  # kept across pages
                play_to_the_end(page)
                # TensorFlow loads and the step compiles first: over a minute on a loaded 2-core machine.
                wait_shown(page, page.get_by_role("heading", name="Results"), timeout=180_000,
                           what="the Results of a 200-epoch run")
                (run,) = _recorded(tmp_path)
                assert (run.status, run.dataset, run.name) == ("completed", "iris", RUN_NAME)
                page.close()
            # A new server process over the same data folder; a new browser session opens the bookmark.
            with streamlit_server(ROOT / "app.py") as url:
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(60_000)
                page.goto(f"{url}/runs?nb={NB}")
                page.get_by_role("heading", name="Runs", exact=True).wait_for()
                main = page.locator("[data-testid='stMain']")
                main.get_by_text("1 of 1 runs").wait_for()
                # The run picker (a searchable select box) holds the newest run: this one.
                # The picker mounts after the table's caption; under load that took over expect's 5 s default.
                sync_api.expect(page.locator(".st-key-runs_target input")).to_have_value(
                    re.compile(re.escape(RUN_NAME) + r" · \d{4}-\d\d-\d\d \d\d:\d\d · " + run.id[:6]),
                    timeout=60_000)
                assert f"nb={NB}" in page.url
                # Another notebook does not see it.
                other = browser.new_page(viewport=VIEWPORT)
                other.goto(f"{url}/runs?nb=someoneelse1")
                other.get_by_role("heading", name="Runs", exact=True).wait_for()
                other.get_by_text("No runs yet").wait_for()
        finally:
            browser.close()
