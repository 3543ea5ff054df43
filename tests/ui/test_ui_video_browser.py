"""A video dropped into the chat (issue 15): inspected frame by frame against a class of normal clips, the
verdict names the anomalous frames by time, and the chat shows the frame sheet the model is shown, every
sampled frame with its time and score. Headless Chromium at 1280×720."""

import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ui_test_tools import open_page, served

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "inspection"))
pytest.importorskip("av")
from test_video_modality import _write  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def video_app(tmp_path_factory):
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector

    root = tmp_path_factory.mktemp("ui_video")
    for k in range(3):
        _write(root / f"calm_{k}.mp4", "static", noise_seed=k)
    _write(root / "object.mp4", "both", noise_seed=10)
    inspector = Inspector(NormalcyConfig(), Home(root / "home"))
    inspector.references.ingest([("hall", root / f"calm_{k}.mp4") for k in range(3)])
    with served(inspector, root / "work") as url:
        yield url, root / "object.mp4"


def test_a_dropped_video_shows_its_verdict_and_frame_sheet(browser, video_app, screenshots):
    url, clip = video_app
    context, page = open_page(browser, url, 1280, 720)
    page.locator("#message input[type=file]").set_input_files(str(clip))
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#verdict-card .nc-label")).to_have_text("FAIL", timeout=180_000)
    expect(page.get_by_text(re.compile("inspected the video render of")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"anomalous frames at [\d.]+ s")).first).to_be_attached()
    sheet = page.locator("#chat img").last
    expect(sheet).to_be_visible()
    width, height = sheet.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width >= 400 and height >= 400, (width, height)        # the sheet, not a thumbnail of one frame
    screenshots(page, "p1_video_1280")
    context.close()
