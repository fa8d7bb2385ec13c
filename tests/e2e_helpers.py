"""Helpers for driving the dashboard in Debian's headless Chromium (the e2e test and bench/bench_dashboard.py)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# No sandbox (containers run as root), no GPU, and nothing that phones home or downloads components.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(script: Path, *, timeout: float = 60.0) -> Iterator[str]:
    """Run ``streamlit run script`` headless on a free port; yield its base URL; always terminate it."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, proc, log, timeout)
            try:
                yield url
            except BaseException:
                log.seek(0)  # a failed test shows what the server said (pytest prints a failure's stderr)
                tail = log.read().decode(errors="replace")[-4000:]
                print(f"--- the streamlit server's log (last 4000 characters) ---\n{tail}", file=sys.stderr)
                raise
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    log.seek(0)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {timeout:.0f} s:\n"
                       f"{log.read().decode(errors='replace')}")


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless (never a downloaded browser)."""
    from playwright.sync_api import expect

    # Assertions wait up to 30 s, not Playwright's 5 s: in the two-process suite an element mounting late
    # (a picker after a restart, a widget after a page switch) once took longer than 5 s.
    expect.set_options(timeout=30_000)
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def nav(page: Any, url_path: str) -> None:
    """Switch page through the sidebar, inside the same Streamlit session (``goto`` would start a new one)."""
    page.locator(f"[data-testid='stSidebarNav'] a[href*='/{url_path}']").first.click()
    # The app may keep its settings in the query string (/train?ds=iris&…).
    page.wait_for_url(re.compile(rf"^[^?]*/{re.escape(url_path)}(\?.*)?$"))


# Plotly.js keeps decoded traces in ``_fullData`` (``data`` holds plotly's base64 arrays as sent).
_CHART_POINTS = """(sel) => {
    const plot = [...document.querySelectorAll(sel + ' .js-plotly-plot')].find(p => p.offsetParent !== null);
    const trace = plot && plot._fullData && plot._fullData[0];
    if (!trace || !trace.x || !trace.x.length) return null;
    return [trace.x.length, Number(trace.x[trace.x.length - 1])];
}"""


def chart_points(page: Any, container_key: str, *, timeout: float = 30_000) -> tuple[int, float]:
    """(points in the first trace, its last x) of the plotly chart drawn inside ``.st-key-<container_key>``.

    Waits for a drawn chart: Streamlit remounts a plotly chart whenever its figure changes, so a live
    chart is briefly absent at each redraw.
    """
    handle = page.wait_for_function(_CHART_POINTS, arg=f".st-key-{container_key}", timeout=timeout)
    n, last = handle.json_value()
    return int(n), float(last)


def wait_shown(page: Any, locator: Any, *, timeout: float, what: str) -> None:
    """Wait for ``locator`` to be visible; on a timeout, fail with what the page showed instead (for CI's log)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.wait_for(timeout=timeout)
    except PlaywrightTimeout:
        main = " ".join(page.locator("[data-testid='stMain']").first.inner_text(timeout=5_000).split())
        side = " ".join(page.locator("[data-testid='stSidebar']").first.inner_text(timeout=5_000).split())
        # The head and the tail of the page: how far its last run got is at the end.
        shown = main if len(main) <= 3000 else f"{main[:1500]} [...] {main[-1500:]}"
        raise AssertionError(f"{what} did not show within {timeout / 1000:.0f} s; the page showed: {shown} | "
                             f"sidebar: {side[:400]}") from None


def text_of(page: Any, container_key: str) -> str:
    """The visible text inside ``.st-key-<container_key>``."""
    return page.locator(f".st-key-{container_key}").first.inner_text()


def epoch_shown(page: Any) -> int:
    """The number in the Train page's epoch counter ("Epoch N")."""
    text = text_of(page, "epoch_counter").strip()
    match = re.fullmatch(r"Epoch (\d+)", text)
    assert match, f"the epoch counter reads {text!r}"
    return int(match.group(1))


def set_play(page: Any, *, continuous: bool, speed: str) -> None:
    """Set Train's play controls: continuous (until paused) or the configured epochs, and the speed label."""
    toggle = page.locator(".st-key-continuous input")
    if toggle.is_checked() != continuous:
        page.locator(".st-key-continuous label").click()
        page.wait_for_function("(want) => document.querySelector('.st-key-continuous input').checked === want",
                               arg=continuous)
    choice = page.locator(".st-key-speed button").filter(has_text=re.compile(rf"^{re.escape(speed)}(/s)?$"))
    if choice.get_attribute("aria-checked") != "true" and choice.get_attribute("kind") != "segmented_controlActive":
        choice.click()
    page.wait_for_timeout(300)  # the rerun that applies them


def play_to_the_end(page: Any) -> None:
    """Press Play for a run of the configured epochs at full speed (the page's default is continuous, 10/s)."""
    set_play(page, continuous=False, speed="max")
    page.locator(".st-key-play_button button").first.click()
