"""Test tools for the UI suite (a uniquely named module, so tests import it, never conftest)."""

import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path


def copy_home(ready_home, target: Path):
    """A private copy of a data home (tests that write to it never touch the shared one)."""
    from assistant.home import Home

    shutil.copytree(ready_home.root, target)
    return Home(target)


def open_page(browser, url: str, width: int = 1280, height: int = 720):
    """-> (context, page): a fresh browser context at that viewport, on the app, once its message box shows."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    expect(page.locator("#message textarea")).to_be_visible()
    return context, page


@contextmanager
def served(inspector, work_dir: Path):
    """The chat app of `inspector` served on a free loopback port while the block runs: yields its url."""
    from ui.chat_app import create_app, launch

    app = create_app(inspector, work_dir=work_dir)
    _, url, _ = launch(app, "127.0.0.1", free_port(), block=False, quiet=True)
    try:
        yield url
    finally:
        app.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def require_chromium(path: Path) -> None:
    """Browser tests need Debian's chromium: without it they skip, saying why — or fail when CI=true,
    where a missing browser is a broken runner, not a choice."""
    import os

    import pytest

    if not Path(path).is_file():
        message = f"{path} is missing: apt-get install -y chromium (never `playwright install`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def export_report(page, target: Path) -> Path:
    """Click Export in the chat page, download the report the app offers, save it to `target`."""
    from playwright.sync_api import expect

    page.locator("#export").click()
    link = page.locator("#report-file a").first
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    download.value.save_as(target)
    return target


def wait_until_served(url: str, process, timeout: float = 180.0) -> None:
    """Poll `url` until a started `normalcy serve` answers 200 (its output is in the error if it died)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{process.stdout.read()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"serve did not answer on {url} within {timeout} s")
