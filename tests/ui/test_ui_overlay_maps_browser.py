"""The evidence panel shows each map (issue 12): with a text map configured (provider clad, fused at
w = 0.5), a "Map shown" selector beside the overlay style redraws the overlay of the fused, few-shot or
text map, each captioned with its name; without a text map the selector is not there. Headless Chromium
at 1280×720 over a small ingested brick home."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from ui_test_tools import copy_home, free_port, open_page

pytestmark = pytest.mark.browser
VERDICT = re.compile("^(PASS|FAIL|NEEDS REVIEW|OUT OF DISTRIBUTION)$")


@pytest.fixture(scope="module")
def clad_app(ready_home, tmp_path_factory):
    """The chat app over a vision-only inspector whose text map is CLAD's (its heads are trained on the
    first inspection: the copied home was calibrated without a text map)."""
    from assistant.config import NormalcyConfig
    from assistant.inspector import Inspector
    from retrieval.config import RetrievalConfig, TextMapConfig
    from ui.chat_app import create_app, launch

    config = NormalcyConfig(retrieval=RetrievalConfig(text_map=TextMapConfig(provider="clad", weight=0.5)))
    inspector = Inspector(config, copy_home(ready_home, tmp_path_factory.mktemp("ui_clad") / "home"))
    app = create_app(inspector, work_dir=tmp_path_factory.mktemp("ui_clad_work"))
    _, url, _ = launch(app, "127.0.0.1", free_port(), block=False, quiet=True)
    yield url
    app.close()


def _overlay(page) -> tuple[str, Image.Image]:
    source = page.locator("#overlay img").get_attribute("src")
    return source, Image.open(io.BytesIO(page.request.get(source).body())).convert("RGB")


def _choose(page, label: str, before: str) -> tuple[str, Image.Image]:
    page.locator("#overlay-map").get_by_label(label, exact=True).check()
    expect(page.locator("#overlay img")).not_to_have_attribute("src", before)
    return _overlay(page)


def test_the_map_selector_redraws_each_map(browser, clad_app, defect_image, screenshots):
    context, page = open_page(browser, clad_app, 1280, 720)
    page.locator("#message input[type=file]").set_input_files(str(defect_image))
    expect(page.locator("#message img").first).to_be_visible()
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT, timeout=180_000)
    page.locator("#strategy").get_by_text("Strategy").click()
    expect(page.locator("#overlay-map")).to_be_visible()
    fused_src, fused = _overlay(page)
    text_src, text = _choose(page, "text", fused_src)
    screenshots(page, "m1_text_map_1280")
    _, few_shot = _choose(page, "few-shot", text_src)
    for drawn in (fused, text, few_shot):
        assert drawn.getpixel((1, 1)) == (0, 0, 0)                       # the caption's black ground
    assert len({fused.tobytes(), text.tobytes(), few_shot.tobytes()}) == 3
    context.close()


def test_no_selector_without_a_text_map(browser, served_app):
    """No text map: no map selector, and no "Acceptable here?" (a normality by text needs a text map)."""
    context, page = open_page(browser, served_app, 1280, 720)
    page.locator("#strategy").get_by_text("Strategy").click()
    expect(page.get_by_label("contour")).to_be_visible()
    expect(page.locator("#overlay-map")).to_be_hidden()
    expect(page.locator("#normality")).to_be_hidden()
    context.close()


def test_accepting_a_part_shows_the_heads_training(browser, clad_app, good_image, screenshots):
    """Accept as normal recalibrates the class, and its CLAD heads train on the new reference set: the
    browser shows that training's progress under the accept buttons, then the new threshold. Last in
    this module: it adds a reference to the app's home."""
    context, page = open_page(browser, clad_app, 1280, 720)
    page.locator("#message input[type=file]").set_input_files(str(good_image))
    expect(page.locator("#message img").first).to_be_visible()
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT, timeout=180_000)
    page.locator("#accept").click()
    page.locator("#accept-yes").click()
    expect(page.get_by_text(re.compile("training the text heads of brick")).first).to_be_visible(timeout=120_000)
    screenshots(page, "m2_heads_training_1280")
    expect(page.locator("#accept-status")).to_contain_text("Added to brick", timeout=180_000)
    context.close()
