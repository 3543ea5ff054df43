"""The chat's "Acceptable here?" over a real Inspector with a text map (the projected test space): an engineer's
typed normality is added for the inspection's class and the image re-scored; an operator is refused, and so
is a request without an inspection. In headless Chromium: an engineer adds one and sees the score change."""

import json
import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from projected_text_space import install, text_map_config
from ui_test_tools import copy_home, free_port, open_page

from assistant.inspector import Inspector
from ui.chat_handlers import NO_INSPECTION, ChatHandlers
from ui.chat_state import ChatState
from ui.operator_actions import OperatorActions
from ui.roles import Roles

LINES = "thin dark lines along the mortar are normal"
SCORES = re.compile(r"Anomaly score of this image: ([\d.]+) -> ([\d.]+)")


@pytest.fixture
def nand_inspector(ready_home, tmp_path, monkeypatch):
    install(monkeypatch)
    return Inspector(text_map_config(), copy_home(ready_home, tmp_path / "home"))


def _inspect(inspector, images, image):
    message = {"text": "", "files": [str(image)]}
    return list(ChatHandlers(inspector, images).send_message(message, ChatState(owner="t"), "brick", ["rules"], 0,
                                                             "heatmap"))[-1][2]


def test_an_engineer_adds_a_normality_and_the_image_is_rescored(nand_inspector, defect_image, tmp_path, images):
    state = _inspect(nand_inspector, images, defect_image)
    status = OperatorActions(nand_inspector, tmp_path).acceptable_here(LINES, state)
    before, after = map(float, SCORES.search(status).groups())
    assert after < before and "brick" in status
    (added,) = nand_inspector.normalities.list("brick")
    assert (added.text, added.who) == (LINES, "local engineer") and added.id in status
    regenerated = json.loads(list(ChatHandlers(nand_inspector, images).regenerate(state, ["rules"], 0, "all"))[-1][8])
    assert regenerated["anomaly_score"] == pytest.approx(after, abs=1e-3), "the new verdict rests on the new score"


def test_an_operator_and_a_request_without_inspection_are_refused(nand_inspector, defect_image, tmp_path, images):
    state = _inspect(nand_inspector, images, defect_image)
    operator = OperatorActions(nand_inspector, tmp_path, Roles({"olga": "operator"}))
    assert "Only an engineer may add a normality" in operator.acceptable_here(LINES, state,
                                                                             SimpleNamespace(username="olga"))
    assert NO_INSPECTION[:20] in OperatorActions(nand_inspector, tmp_path).acceptable_here(LINES, ChatState())
    assert nand_inspector.normalities.list() == []


@pytest.mark.browser
def test_acceptable_here_in_the_browser(browser, nand_inspector, defect_image, tmp_path, screenshots):
    from ui.chat_app import create_app, launch

    app = create_app(nand_inspector, work_dir=tmp_path / "work")
    _, url, _ = launch(app, "127.0.0.1", free_port(), block=False, quiet=True)
    try:
        context, page = open_page(browser, url)
        expect(page.locator("#acceptable")).to_be_disabled()            # nothing to call acceptable yet
        page.locator("#message input[type=file]").set_input_files(str(defect_image))
        expect(page.locator("#message img").first).to_be_visible()
        page.locator("#message textarea").press("Enter")
        expect(page.locator("#verdict-card .nc-label")).to_be_visible()
        page.locator("#normality-text textarea").fill(LINES)
        expect(page.locator("#acceptable")).to_be_enabled(timeout=60_000)
        page.locator("#acceptable").click()
        expect(page.locator("#normality-status")).to_contain_text("Anomaly score of this image", timeout=60_000)
        before, after = map(float, SCORES.search(page.locator("#normality-status").inner_text()).groups())
        assert after < before and [n.text for n in nand_inspector.normalities.list()] == [LINES]
        screenshots(page, "n1_acceptable_here")
        context.close()
    finally:
        app.close()
