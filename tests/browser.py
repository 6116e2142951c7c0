"""Real headless Chromium (Debian's) driven by Playwright, against a live server on loopback."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from waitress import create_server

from geo.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "var" / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def live_server(app, threads: int = 4) -> Iterator[str]:
    # poll(), not select(): closing the listening socket under a running loop then ends the loop instead
    # of raising EBADF in its thread.
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, asyncore_use_poll=True)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@dataclass
class PageVisit:
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def visit(
    browser,
    base: str,
    path: str,
    screenshot: str,
    token: str | None = None,
    ready: str = ".leaflet-container",
) -> tuple[object, PageVisit]:
    """Open ``path`` and wait until ``ready`` shows (the map drawn); record errors and any request leaving
    the machine."""
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    if token:
        page.set_extra_http_headers({"Authorization": f"Bearer {token}"})
    seen = PageVisit()
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))

    def on_request(route, request):
        seen.requests.append(request.url)
        if request.url.startswith(base) or request.url.startswith("data:"):
            route.continue_()
        else:
            seen.outside.append(request.url)
            route.abort()

    page.route("**/*", on_request)
    page.goto(base + path, wait_until="networkidle")
    page.wait_for_selector(ready)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(SCREENSHOTS) / screenshot))
    return page, seen
