"""A point cloud dropped into the chat (issue 15): with the class left on auto it is rendered for the
one class of point clouds, inspected like a photo, and the chat names the file the render is of; the
verdict's reasoning gives the region in the cloud's own coordinates, and the chat shows the cloud's views
sheet (top, front, side, oblique) with the verdict. Headless Chromium at 1280×720 over a home holding a class
of photos (brick) and a class of point clouds (plate)."""

import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ui_test_tools import copy_home, open_page, served

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from point_cloud_writers import plate, write_pcd, write_ply  # noqa: E402

pytestmark = pytest.mark.browser
VERDICT = re.compile("^(PASS|FAIL|NEEDS REVIEW|OUT OF DISTRIBUTION)$")


@pytest.fixture(scope="module")
def cloud_app(ready_home, tmp_path_factory):
    from assistant.config import NormalcyConfig
    from assistant.inspector import Inspector

    root = tmp_path_factory.mktemp("ui_clouds")
    inspector = Inspector(NormalcyConfig(), copy_home(ready_home, root / "home"))
    for k in range(10):
        write_ply(root / f"plate_{k}.ply", plate(seed=k)[0])
    inspector.references.ingest([("plate", root / f"plate_{k}.ply") for k in range(10)])
    write_pcd(root / "bump.pcd", plate(bump=0.02, seed=50)[0])
    with served(inspector, root / "work") as url:
        yield url, root / "bump.pcd"


def test_a_dropped_point_cloud_is_inspected_as_its_render(browser, cloud_app, screenshots):
    url, bump = cloud_app
    context, page = open_page(browser, url, 1280, 720)
    page.locator("#message input[type=file]").set_input_files(str(bump))
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT, timeout=180_000)
    expect(page.get_by_text(re.compile("inspected the point cloud render of")).first).to_be_visible()
    expect(page.get_by_text("bump.pcd").first).to_be_visible()
    expect(page.locator("#verdict-card .nc-label")).to_have_text("FAIL")
    expect(page.get_by_text(re.compile(r"In the point cloud: x [-\d.]+ to [-\d.]+")).first).to_be_attached()
    expect(page.locator("#overlay img")).to_be_visible()
    sheet = page.locator("#chat img").last
    sheet.scroll_into_view_if_needed()
    expect(sheet).to_be_visible()
    width, height = sheet.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert (width, height) == (512, 556), (width, height)           # the 2 x 2 views sheet, not the render
    shown = sheet.bounding_box()
    assert shown["width"] >= 200 and shown["height"] >= 200, shown  # legible in the chat at 1280 x 720
    screenshots(page, "p1_point_cloud_1280")
    context.close()
