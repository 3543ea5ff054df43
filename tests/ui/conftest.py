"""Fixtures for the browser chat: Inspectors over copies of the ready home (vision-only and with the
scripted backend), the app served in a thread on a free loopback port, and headless Chromium.

Browser tests need /usr/bin/chromium (Debian's package; never `playwright install`): see
`ui_test_tools.require_chromium`.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))                   # ui_test_tools

from ui_test_tools import copy_home, free_port, require_chromium  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOT_COPY = Path("/tmp/normalcy_screenshots")
VERDICT_JSON = json.dumps({"reasoning": "A dark diagonal scratch crosses two bricks in the centre.",
                           "correctness": 0})


@pytest.fixture(scope="session")
def ui_inspector(ready_home, tmp_path_factory):
    """A vision-only Inspector over a private copy of the ready home, warmed up."""
    from assistant.config import NormalcyConfig
    from assistant.inspector import Inspector

    inspector = Inspector(NormalcyConfig(), copy_home(ready_home, tmp_path_factory.mktemp("ui") / "home"))
    inspector.warm_up()
    return inspector


@pytest.fixture(scope="session")
def scripted_inspector(ready_home, tmp_path_factory):
    """An Inspector whose model is the scripted fake: a JSON verdict, then word-streamed follow-ups."""
    from scripted_backend import ScriptedBackend

    from assistant.config import NormalcyConfig
    from assistant.inspector import Inspector

    backend = ScriptedBackend([VERDICT_JSON, "The scratch runs from the lower left to the upper right."])
    home = copy_home(ready_home, tmp_path_factory.mktemp("ui_scripted") / "home")
    return Inspector(NormalcyConfig(), home, backend=backend)


@pytest.fixture
def private_inspector(ready_home, tmp_path):
    """A vision-only Inspector over its own copy (for tests that change the references or rules)."""
    from assistant.config import NormalcyConfig
    from assistant.inspector import Inspector

    return Inspector(NormalcyConfig(), copy_home(ready_home, tmp_path / "home"))


@pytest.fixture(scope="session")
def served_app(ui_inspector, tmp_path_factory):
    """The chat app over the vision-only inspector, served in this process on a free loopback port."""
    from ui.chat_app import create_app, launch

    app = create_app(ui_inspector, work_dir=tmp_path_factory.mktemp("ui_work"))
    _, url, _ = launch(app, "127.0.0.1", free_port(), block=False, quiet=True)
    yield url
    app.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright (skips without it, or fails when CI=true)."""
    require_chromium(CHROMIUM)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)   # 5 s by default: a loaded 2-core machine took longer to first paint

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory):
    """Save a page's screenshot under a temp dir and copy it to /tmp/normalcy_screenshots/."""
    folder = tmp_path_factory.mktemp("screenshots")
    SCREENSHOT_COPY.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shutil.copy(path, SCREENSHOT_COPY / path.name)
        return path

    return shoot


@pytest.fixture
def images(tmp_path):
    """Where the handlers publish the images they show."""
    from ui.image_folder import ImageFolder

    return ImageFolder(tmp_path / "shown")


@pytest.fixture
def defect_image(texture_set) -> Path:
    return sorted((texture_set / "test" / "defect").glob("*.png"))[0]


@pytest.fixture
def good_image(texture_set) -> Path:
    return sorted((texture_set / "test" / "good").glob("*.png"))[0]
