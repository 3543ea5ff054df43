"""Roles: a login is an operator or an engineer. In headless Chromium an operator sees no accept-as-normal,
no "Acceptable here?" and no rule editing; over the API (what a hand-made request would do) the server refuses
them anyway.
An engineer sees and may use both; without logins the one local user is an engineer. History: an
operator login sees its own inspections (with thumbnails), not another login's."""

import re

import pytest
from ui_test_tools import free_port
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
LOGINS = {"olga": ("pw-olga", "operator"), "otto": ("pw-otto", "operator"), "emil": ("pw-emil", "engineer")}


@pytest.fixture(scope="module")
def served_with_logins(ui_inspector, tmp_path_factory):
    from ui.chat_app import create_app, launch

    app = create_app(ui_inspector, work_dir=tmp_path_factory.mktemp("ui_roles"),
                     roles={user: role for user, (_, role) in LOGINS.items()})
    _, url, _ = launch(app, "127.0.0.1", free_port(), [(u, pw) for u, (pw, _) in LOGINS.items()], block=False,
                       quiet=True)
    yield url
    app.close()


def _sign_in(browser, url, user):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(LOGINS[user][0])
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#message textarea")).to_be_visible()
    return context, page


def _text(result) -> str:
    """An endpoint's outputs as one plain string (Markdown escapes dropped)."""
    parts = [result] if isinstance(result, str) else list(result)
    return " ".join(str(p) for p in parts).replace("\\", "")


def test_an_operator_cannot_accept_or_edit_rules_even_over_the_api(browser, served_with_logins, ui_inspector,
                                                                   defect_image, screenshots):
    from gradio_client import Client, handle_file

    context, page = _sign_in(browser, served_with_logins, "olga")
    expect(page.locator("#thumbs-up")).to_be_visible()
    expect(page.locator("#accept")).to_be_hidden()
    expect(page.locator("#normality")).to_be_hidden()
    page.get_by_role("tab", name="Rules").click()
    expect(page.locator("#rules-table")).to_contain_text("shipped (read-only)")
    expect(page.locator("#rule-save")).to_be_hidden()
    expect(page.locator("#rule-delete")).to_be_hidden()
    expect(page.locator("#rule-text")).to_be_hidden()
    expect(page.locator("#rules-read-only")).to_contain_text("rules are read-only here")
    screenshots(page, "r1_operator_rules_tab")
    context.close()

    client = Client(served_with_logins, auth=("olga", "pw-olga"), verbose=False, analytics_enabled=False)
    client.predict(message={"text": "", "files": [handle_file(str(defect_image))]}, class_choice="brick",
                   switches=["rules"], reference_count=0, overlay_style="all", api_name="/send_message")
    before = ui_inspector.classes()["brick"]
    refused = _text(client.predict(api_name="/request_accept"))
    assert "Only an engineer may accept an image as normal" in refused
    assert "Only an engineer" in _text(client.predict(api_name="/confirm_accept"))
    assert ui_inspector.classes()["brick"] == before
    status = client.predict(rule_id="", class_name="brick", text="Operators may not add this.", kind="defect",
                            severity="major", api_name="/save_rule")[0]
    assert "Only an engineer may add or change rules" in _text(status)
    assert "Operators may not add this." not in {r.text for r in ui_inspector.rule_book.list("brick")}


def test_an_engineer_sees_accept_and_rule_editing(browser, served_with_logins, served_app, screenshots):
    context, page = _sign_in(browser, served_with_logins, "emil")
    expect(page.locator("#accept")).to_be_visible()
    expect(page.locator("#normality")).to_be_hidden()      # this app has no text map ("Acceptable here?" needs one)
    page.get_by_role("tab", name="Rules").click()
    expect(page.locator("#rule-save")).to_be_visible()
    context.close()
    local = browser.new_context(viewport={"width": 1280, "height": 720})     # no logins: the local engineer
    page = local.new_page()
    page.goto(served_app)
    expect(page.locator("#accept")).to_be_visible()
    local.close()


def _owned_by(inspector, user) -> set[str]:
    return {r["inspection"] for r in inspector.log.records() if r["kind"] == "owner" and r["owner"] == f"user:{user}"}


def test_each_operator_login_sees_its_own_history_with_thumbnails(browser, served_with_logins, ui_inspector,
                                                                   defect_image, good_image, screenshots):
    pages = {}
    for user, image in (("olga", defect_image), ("otto", good_image)):
        context, page = _sign_in(browser, served_with_logins, user)
        page.locator("#message input[type=file]").set_input_files(str(image))
        expect(page.locator("#message img").first).to_be_visible()
        page.locator("#message textarea").press("Enter")
        expect(page.locator("#verdict-card .nc-label")).to_have_text(re.compile("PASS|FAIL"))
        pages[user] = (context, page)
    for user, other in (("olga", "otto"), ("otto", "olga")):
        context, page = pages[user]
        page.get_by_role("tab", name="History").click()
        table = page.locator("#history-table")
        for inspection_id in _owned_by(ui_inspector, user):
            expect(table).to_contain_text(inspection_id)
        expect(table.get_by_role("row")).to_have_count(1 + len(_owned_by(ui_inspector, user)))   # + the header
        assert not any(i in table.inner_text() for i in _owned_by(ui_inspector, other))
        thumb = table.get_by_role("row").nth(1).locator("img.nc-thumb")
        expect(thumb).to_have_attribute("src", re.compile("^data:image/jpeg;base64,"))
        assert 0 < thumb.bounding_box()["height"] <= 100
    screenshots(pages["olga"][1], "r2_operator_history_1280")
    for context, _ in pages.values():
        context.close()
