"""Time to first render of the dashboard's home page in Chromium, against a one-line Streamlit app.

Run from the repo root: ``python bench/bench_home_render.py`` (needs playwright and /usr/bin/chromium).
Starts two headless servers, opens each page in a fresh browser tab several times (the first load of
a server includes its cold imports), and prints median seconds until the page's text is visible and
the ratio to the one-line app measured in the same run. Target: home within 2 s.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import ROOT, load_average
from playwright.sync_api import sync_playwright

LOADS = 5
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(script: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            cwd=script.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"streamlit did not start on port {port}")


def load_times(browser, url: str, text: str) -> list[float]:
    times = []
    for _ in range(LOADS):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        start = time.perf_counter()
        page.goto(url)
        page.get_by_text(text).first.wait_for(timeout=60_000)
        times.append(time.perf_counter() - start)
        page.close()
    return times


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print(f"load average: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text('import streamlit as st\nst.title("Hello")\nst.write("Current setup")\n')
        servers = []
        try:
            ours, peer = free_port(), free_port()
            servers = [serve(ROOT / "app.py", ours), serve(hello, peer)]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                home = load_times(browser, f"http://127.0.0.1:{ours}/", "Current setup")
                base = load_times(browser, f"http://127.0.0.1:{peer}/", "Current setup")
                browser.close()
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(10)
    print(f"home page: first load {home[0]:.2f} s, median of {LOADS} {statistics.median(home):.2f} s")
    print(f"one-line app: first load {base[0]:.2f} s, median of {LOADS} {statistics.median(base):.2f} s")
    print(f"ratio (median): {statistics.median(home) / statistics.median(base):.2f}x")


if __name__ == "__main__":
    main()
