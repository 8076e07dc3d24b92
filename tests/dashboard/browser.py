"""A real `streamlit run` server on a free loopback port, and headless Debian Chromium via Playwright.

Used by the end-to-end tests and by benchmarks/dashboard.py. Never downloads a browser.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
PAGES = {  # url path -> title ("" is the default page, Overview)
    "": "Overview",
    "outcomes": "Outcomes",
    "safety": "Safety",
    "boosters": "Boosters",
    "capacity": "Capacity",
    "data-quality": "Data quality",
}
CHART_SELECTOR = ".js-plotly-plot .main-svg"
STATUS_SELECTOR = '[data-testid="stStatusWidget"]'
EXCEPTION_SELECTOR = '[data-testid="stException"]'
APP_IDLE_SELECTOR = '[data-testid="stApp"][data-test-script-state="notRunning"]'


VIEWPORT = {"width": 1440, "height": 900}


def full_screenshot(page, path, max_height: int = 12000) -> None:
    """A full-length screenshot: Streamlit scrolls inside its main block, so grow the viewport first."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 900")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height) + 40, max_height)})
    page.wait_for_timeout(500)  # let Plotly react to the resize before the picture
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)


def no_exception(page, where: str) -> None:
    assert page.locator(EXCEPTION_SELECTOR).count() == 0, where


def url_params(page) -> dict:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(page.url).query)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db: str | os.PathLike, log_path: Path | None = None, timeout: float = 90) -> Iterator[str]:
    """Start `streamlit run streamlit_app.py` against the warehouse pointer `db`; yield its base URL."""
    env = {**os.environ, "CLINIC_ANALYTICS_DB": str(db), "PYTHONUNBUFFERED": "1"}
    with running_app(env, log_path, timeout=timeout) as url:
        yield url


@contextlib.contextmanager
def running_app(env: dict, log_path: Path | None, port: int | None = None, address: str = "127.0.0.1",
                extra_args: tuple[str, ...] = (), timeout: float = 90) -> Iterator[str]:
    """The app as `make run` starts it (`python -m dashboard.serve`: `streamlit run streamlit_app.py`
    and its warm-up) with `env`; yields its loopback URL once /_stcore/health answers, and stops it
    afterwards. Everything else (headless, no usage statistics, no file watcher) comes from the
    project's .streamlit/config.toml, as for `make run`, so the tests and benchmarks measure that."""
    port = port or free_port()
    cmd = [
        sys.executable, "-m", "dashboard.serve",
        "--server.address", address, "--server.port", str(port), *extra_args,
    ]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer on {url} within {timeout} s")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def wait_until_drawn(page, timeout_ms: float = 60_000, charts: bool = True) -> None:
    """Wait until the app's script run is over and every chart on the page is drawn.

    The app root carries the run state (`data-test-script-state`: initial, running, rerunRequested,
    notRunning); after it reads notRunning and the status widget ("Running...") is gone, every chart
    container must hold a drawn Plotly SVG."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout_ms)
    page.wait_for_selector(APP_IDLE_SELECTOR, timeout=timeout_ms)
    if charts:
        page.wait_for_selector(CHART_SELECTOR, timeout=timeout_ms)
    page.wait_for_selector(STATUS_SELECTOR, state="detached", timeout=timeout_ms)
    page.wait_for_selector(APP_IDLE_SELECTOR, timeout=timeout_ms)
    if charts:
        page.wait_for_function(
            """() => {
                const plots = document.querySelectorAll('[data-testid="stPlotlyChart"]');
                if (plots.length === 0) return false;
                return Array.from(plots).every(p => p.querySelector('.js-plotly-plot .main-svg'));
            }""",
            timeout=timeout_ms,
        )


def choose(page, multiselect, option: str) -> None:
    """Pick an option of a multiselect (the first click after a rerun sometimes only focuses it)."""
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(4):
        multiselect.locator("input").click()
        try:
            wanted.wait_for(timeout=3_000)
            break
        except Exception:  # noqa: BLE001 - not open yet: click again
            page.keyboard.press("Escape")
    wanted.click()
    page.keyboard.press("Escape")


def chart_titles(page) -> list[str]:
    """The titles of the Plotly charts on the page (SVG text: Playwright's inner_text gives none)."""
    return page.locator(".gtitle").evaluate_all("els => els.map(e => e.textContent)")
